"""Build the aggregator's report from the store (DESIGN.md "Report and truth").

Sections:
- with the reference cells (zones), the published figures in persons: `presence` (per zone
  and hour) and `visitors` (per zone and period, with `by_country`), extrapolated by
  aggregator.estimate, then put through the publication rules of aggregator.publish (k raw
  devices, suppression by difference and by nested periods, optional Laplace noise).  Each
  carries `ci95` and `suppressed`; a suppressed figure has `people` and `ci95` null, a
  suppressed country is left out of `by_country`;
- only with `raw`: `cell_presence`, the operator's devices per cell and bin summed over
  collectors, and `zone_devices`, distinct devices per zone (HLL unions), both k-suppressed
  (a cell-bin under k reads null; a zone's segments that a total would give back go).

Filters (`ReportOptions`): zones, and [start, end) on bins, hours and the visitors' period;
`periods` the visitors' periods (default [start, end)).
Rendering (json, table, csv) is in aggregator.render.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregator.estimate import REST, Basis, data_span, visitors_figures, weights
from aggregator.presence import presence_figures, undetected_shares
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
    raw: bool = False


def build_report(store: Store, options: ReportOptions | None = None) -> dict:
    """The report document of `store` under `options` (module docstring)."""
    o = options or ReportOptions()
    zone_of = ({(c.plmn, c.cell): c.zone for c in o.cells if c.zone}
               if o.cells is not None else None)
    rows = None
    if o.raw:
        rows = [cell_presence_row(p.plmn, p.tac, p.cell, p.start, p.seconds, p.devices)
                for p in store.cell_presence(o.start, o.end)
                if zone_of is None or o.zones is None
                or zone_of.get((p.plmn, p.cell)) in o.zones]
        rows = _suppress_cells(rows, o.k)
    if zone_of is None:
        return new_report(rows)
    span = data_span(store)
    if span is None:
        return new_report(rows, [] if o.raw else None, presence=[], visitors=[])
    lo = o.start if o.start is not None else span[0]
    hi = o.end if o.end is not None else span[1]
    group_of = {k: z for k, z in zone_of.items() if o.zones is None or z in o.zones}
    zones = None
    if o.raw:
        zones = _suppress_zones([
            zone_devices_row(zone, lo, hi, u.devices, u.by_segment, u.ci95)
            for zone, u in unique_by_group(store.sketches(lo, hi), group_of).items()], o.k)
    by_day: dict[object, object] = {}

    def weights_at(hour: int):
        """The weights of the residents day of `hour` (one computation per day)."""
        key = hour - hour % 86400
        if key not in by_day:
            by_day[key] = weights(store, o.basis, hour, span[1])
        return by_day[key]

    periods = list(o.periods) if o.periods is not None else [(lo, hi)]
    shares = undetected_shares(store)  # (HLL unions of every hour: made once for both)
    figures = presence_figures(store, zone_of, weights_at, o.start, o.end, o.zones, shares)
    for period in periods:  # homes accumulate: a period's homed devices are its last day's
        figures += visitors_figures(store, zone_of, weights_at(min(period[1], span[1]) - 1),
                                    [period], o.zones, shares)
    noise = None
    if o.epsilon is not None:
        hours = len({f["start"] for f in figures if f["section"] == "presence"})
        noise = LaplaceNoise(o.epsilon, max(1, hours + 2 * len(group_of) * len(periods)),
                             o.noise_seed)
    published = (suppress(figures, o.k, noise=noise, nested=nested_periods(figures))
                 if o.k > 0 else  # k = 0: measurement
                 [{**{k: v for k, v in f.items() if k != "raw_devices"}, "suppressed": False}
                  for f in figures])
    presence, visitors = _rows(published)
    return new_report(rows, zones, presence=presence, visitors=visitors)


def nested_periods(figures: list[dict]) -> list[tuple[int, int]]:
    """(outer, inner) indices of visitors figures of one zone and country label whose
    periods nest (inner within outer, not equal): publish.suppress's `nested` rule."""
    by_key: dict[tuple, list[int]] = {}
    for i, f in enumerate(figures):
        if f["section"] == "visitors":
            by_key.setdefault((f["zone"], f["country"]), []).append(i)
    pairs = []
    for members in by_key.values():
        for i in members:
            for j in members:
                a, b = figures[i], figures[j]
                if (i != j and a["start"] <= b["start"] and b["end"] <= a["end"]
                        and (a["start"], a["end"]) != (b["start"], b["end"])):
                    pairs.append((i, j))
    return pairs


def _suppress_cells(rows: list[dict], k: int) -> list[dict]:
    """cell_presence rows of fewer than k devices: `devices` null, `suppressed` true (no
    totals are printed beside them, so nothing gives them back by difference)."""
    if k <= 0:
        return rows
    out = []
    for r in rows:
        hidden = r["devices"] < k
        out.append({**r, "devices": None if hidden else r["devices"], "suppressed": hidden})
    return out


def _suppress_zones(rows: list[dict], k: int) -> list[dict]:
    """zone_devices rows through the publication rules: the total and its segments form an
    aggregate (publish.suppress), a suppressed segment is left out of `by_segment`, a
    suppressed total has `devices` and `ci95` null."""
    if k <= 0:
        return rows
    figures = []
    for i, r in enumerate(rows):
        figures.append({"row": i, "segment": None, "people": r["devices"],
                        "raw_devices": int(r["devices"])})
        figures += [{"row": i, "segment": s, "people": n, "raw_devices": int(n)}
                    for s, n in r["by_segment"].items()]
    out = [{**r, "by_segment": {}} for r in rows]
    for f in suppress(figures, k):
        row = out[f["row"]]
        if f["segment"] is not None:
            if not f["suppressed"]:
                row["by_segment"][f["segment"]] = f["people"]
        elif f["suppressed"]:
            row.update(devices=None, ci95=None, suppressed=True)
        else:
            row["suppressed"] = False
    return out


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
