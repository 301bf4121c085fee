"""Build the aggregator's report from the store (DESIGN.md "Report and truth").

Sections:
- `cell_presence`: the operator's devices per cell and bin, summed over collectors (raw,
  before extrapolation; the end-to-end test compares it with the simulator's truth);
- with the reference cells (zones): `zone_devices`, distinct devices per zone (HLL unions,
  raw), and the published figures in persons: `presence` (per zone and hour) and `visitors`
  (per zone over a period, with `by_country`), extrapolated by aggregator.estimate, then put
  through the publication rules of aggregator.publish (k raw devices, suppression by
  difference, optional Laplace noise).  Each carries `ci95` and `suppressed`; a suppressed
  figure has `people` and `ci95` null, a suppressed country is left out of `by_country`.

Filters (`ReportOptions`): zones, and [start, end) on bins, hours and the visitors' period.
Rendering (json, table, csv) is in aggregator.render.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregator.estimate import REST, Basis, data_span, presence_figures, visitors_figures, weights
from aggregator.publish import LaplaceNoise, suppress
from aggregator.render import RENDERERS  # noqa: F401 - re-exported for app and tests
from aggregator.store import Store
from aggregator.uniques import unique_by_group
from wire.reference import Cell
from wire.report import cell_presence_row, new_report, presence_row, visitors_row, zone_devices_row

DEFAULT_K = 20


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What to report: reference cells (None: cell_presence only), the weights' basis, the
    filters, the publication rule's k (0: no rule, for bench/accuracy.py only; the command
    line takes k >= 1) and optional differential-privacy budget; `periods`
    of the visitors section (default: [start, end), open ends from the stored data)."""

    cells: list[Cell] | None = None
    basis: Basis = field(default_factory=Basis)
    zones: frozenset[str] | None = None
    start: int | None = None
    end: int | None = None
    k: int = DEFAULT_K
    epsilon: float | None = None
    noise_seed: int | None = None
    periods: tuple[tuple[int, int], ...] | None = None


def build_report(store: Store, options: ReportOptions | None = None) -> dict:
    """The report document of `store` under `options` (module docstring)."""
    o = options or ReportOptions()
    zone_of = ({(c.plmn, c.cell): c.zone for c in o.cells if c.zone}
               if o.cells is not None else None)
    rows = [cell_presence_row(p.plmn, p.tac, p.cell, p.start, p.seconds, p.devices)
            for p in store.cell_presence(o.start, o.end)
            if zone_of is None or o.zones is None or zone_of.get((p.plmn, p.cell)) in o.zones]
    if zone_of is None:
        return new_report(rows)
    span = data_span(store)
    if span is None:
        return new_report(rows, [], presence=[], visitors=[])
    lo = o.start if o.start is not None else span[0]
    hi = o.end if o.end is not None else span[1]
    group_of = {k: z for k, z in zone_of.items() if o.zones is None or z in o.zones}
    zones = [zone_devices_row(zone, lo, hi, u.devices, u.by_segment, u.ci95)
             for zone, u in unique_by_group(store.sketches(lo, hi), group_of).items()]
    w = weights(store, o.basis, o.end)
    periods = list(o.periods) if o.periods is not None else [(lo, hi)]
    figures = (presence_figures(store, zone_of, w, o.start, o.end, o.zones)
               + visitors_figures(store, zone_of, w, periods, o.zones))
    noise = None
    if o.epsilon is not None:
        hours = len({f["start"] for f in figures if f["section"] == "presence"})
        noise = LaplaceNoise(o.epsilon, max(1, hours + 2 * len(group_of) * len(periods)),
                             o.noise_seed)
    published = (suppress(figures, o.k, noise=noise) if o.k > 0 else  # k = 0: measurement
                 [{**{k: v for k, v in f.items() if k != "raw_devices"}, "suppressed": False}
                  for f in figures])
    presence, visitors = _rows(published)
    return new_report(rows, zones, presence=presence, visitors=visitors)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _ci(f: dict) -> list[float] | None:
    return None if f["ci95"] is None else [_round(f["ci95"][0]), _round(f["ci95"][1])]


def _rows(published: list[dict]) -> tuple[list[dict], list[dict]]:
    """The `presence` and `visitors` rows of published figures (wire.report's shapes);
    `ci95` and `suppressed` on every row, suppressed countries and the rest left out."""
    presence, visitors, countries = [], {}, {}
    for f in published:
        if f["section"] == "presence":
            row = presence_row(f["zone"], f["start"], f["seconds"], _round(f["people"]),
                               suppressed=f["suppressed"])
            row["ci95"] = _ci(f)
            presence.append(row)
        elif f["country"] is None:
            key = (f["zone"], f["start"], f["end"])
            visitors[key] = f
        elif f["country"] != REST and not f["suppressed"]:
            key = (f["zone"], f["start"], f["end"])
            countries.setdefault(key, {})[f["country"]] = _round(f["people"])
    rows = []
    for key, f in visitors.items():
        row = visitors_row(*key, _round(f["people"]), countries.get(key, {}),
                           suppressed=f["suppressed"])
        row["ci95"] = _ci(f)
        rows.append(row)
    return presence, rows
