"""Where the presence error of `bench/accuracy.py` comes from (`--breakdown`): per zone and
period of the local day, the truth against the report, split into what the collector
placed wrong (the operator's devices per zone, the truth's `cell_presence` against the
report's) and what the weights did (people per device, the truth's against the report's),
plus the truth by kind of person (residents, visitors from other regions, foreigners) from
the simulator's agents, rebuilt in-process from the scenario and seed.

    error = (1 + device error) × (1 + weight error) − 1

A diagnostic for issue 7, not a test: the truth is the simulator's, the figures the
aggregator's, and nothing here feeds back into either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from wire.report import parse_iso

PERIODS = (("night 0-7", 0, 7), ("day 7-18", 7, 18), ("evening 18-24", 18, 24))
KINDS = ("resident", "domestic visitor", "foreign")


def _zone_hours(rows: list[dict], zone_of: Mapping[tuple[str, int], str], key: str
                ) -> dict[tuple[str, int], float]:
    """{(zone, hour): mean over the hour's bins of the zone's `key` summed over cells}."""
    sums: dict[tuple[str, int], float] = defaultdict(float)
    bins: dict[int, set[int]] = defaultdict(set)
    for r in rows:
        t = parse_iso(r["start"])
        hour = t - t % 3600
        bins[hour].add(t)
        zone = zone_of.get((r["plmn"], r["cell"]))
        if zone is not None and r[key] is not None:
            sums[(zone, hour)] += r[key]
    return {(z, h): v / len(bins[h]) for (z, h), v in sums.items()}


def _by_kind(scenario: Path, seed: int, scale: float, days: int | None,
             hours: list[int]) -> dict[tuple[str, int], dict[str, float]]:
    """{(zone, hour): {kind: people}} from the simulator's schedule (mean of the hour's
    four quarter-hour midpoints)."""
    from simulator import agents, schedule
    from simulator.scenario import load, resize

    scn = resize(load(str(scenario)), scale, days)
    if scn.city is None:
        return {}
    crowd = agents.build(scn, seed)
    sched = schedule.plan(scn, crowd, seed)
    ids = [z.id for z in scn.zones]
    out: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for hour in hours:
        for q in range(4):
            where = sched.zone_at(hour + 450 + 900 * q)
            for k, kind in enumerate(KINDS):
                counts = np.bincount(where[(where >= 0) & (crowd.kind == k)],
                                     minlength=len(ids))
                for z, n in enumerate(counts):
                    if n:
                        out[(ids[z], hour)][kind] += n / 4
    return out


def _pct(a: float, b: float) -> str:
    return f"{100 * (a - b) / b:+6.1f}" if b > 0 else "   n/a"


def breakdown(report: dict, truth: dict, zone_of: Mapping[tuple[str, int], str],
              utc_offset: int, scenario: Path | None = None, seed: int = 1,
              scale: float = 1.0, days: int | None = None) -> list[str]:
    """Printable lines: per zone and local period, people (truth, report, error), the
    operator's devices (error), people per device (error), truth's mix of kinds."""
    true_p = {(r["zone"], parse_iso(r["start"])): r["people"] for r in truth["presence"]}
    got_p = {(r["zone"], parse_iso(r["start"])): r["people"] or 0.0 for r in report["presence"]}
    true_d = _zone_hours(truth.get("cell_presence", []), zone_of, "devices")
    got_d = _zone_hours(report.get("cell_presence", []), zone_of, "devices")
    hours = sorted({h for _, h in true_p})
    kinds = _by_kind(scenario, seed, scale, days, hours) if scenario is not None else {}
    cells: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (zone, hour), people in true_p.items():
        local = ((hour + utc_offset) // 3600) % 24
        name = next(n for n, lo, hi in PERIODS if lo <= local < hi)
        c = cells[(zone, name)]
        c["true"] += people
        c["got"] += got_p.get((zone, hour), 0.0)
        c["true_d"] += true_d.get((zone, hour), 0.0)
        c["got_d"] += got_d.get((zone, hour), 0.0)
        c["n"] += 1
        for kind, n in kinds.get((zone, hour), {}).items():
            c[kind] += n
    lines = ["breakdown  zone / local period: mean people truth, report, error %; operator "
             "devices error %; people per device error %; truth's residents / domestic "
             "visitors / foreign %"]
    for (zone, name), c in sorted(cells.items()):
        n = c["n"]
        w_true = c["true"] / c["true_d"] if c["true_d"] else 0.0
        w_got = c["got"] / c["got_d"] if c["got_d"] else 0.0
        mix = " / ".join(f"{100 * c[k] / c['true']:3.0f}" if c["true"] else "  -"
                         for k in KINDS)
        lines.append(f"  {zone:15} {name:14} {c['true'] / n:9.0f} {c['got'] / n:9.0f}"
                     f" {_pct(c['got'], c['true'])}   dev {_pct(c['got_d'], c['true_d'])}"
                     f"   w {_pct(w_got, w_true)}   mix {mix}")
    return lines + _visitors(report, truth)


def _visitors(report: dict, truth: dict) -> list[str]:
    """Visitors per zone and period: truth, report, error %, interval, foreign part."""
    got = {(r["zone"], r["start"], r["end"]): r for r in report["visitors"]}
    lines = ["breakdown  visitors per zone and period: truth, report, error %, 95 % interval,"
             " foreign truth / report"]
    for r in sorted(truth["visitors"], key=lambda r: (r["start"], r["end"], r["zone"])):
        g = got.get((r["zone"], r["start"], r["end"]))
        if g is None or not r["people"]:
            continue
        lo, hi = g.get("ci95") or (0.0, 0.0)
        foreign_t = sum(r["by_country"].values())
        foreign_g = sum(v or 0.0 for v in g["by_country"].values())
        lines.append(f"  {r['zone']:15} {r['start'][5:13]}-{r['end'][5:13]} {r['people']:8.0f}"
                     f" {g['people'] or 0:8.0f} {_pct(g['people'] or 0.0, r['people'])}"
                     f"  [{lo:7.0f}, {hi:7.0f}]  {foreign_t:6.0f} / {foreign_g:6.0f}")
    return lines
