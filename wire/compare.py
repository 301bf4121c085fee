"""A report against the simulator's truth, figure by figure (README demo and bench/accuracy).

Both documents are in the schema of `wire.report`; the lines printed are the issue's
measures: MAPE of zone-hour presence (zones of at least `min_people`), error of unique
visitors per zone and period, the top foreign countries side by side, and how often the
report's 95 % intervals hold the true figure.
"""

from __future__ import annotations

import statistics

from wire.report import parse_iso


def _pct(xs: list[float]) -> str:
    return f"{100 * statistics.mean(xs):.1f} %" if xs else "n/a"


def compare(doc: dict, truth: dict, min_people: float, since: int | None = None
            ) -> list[str]:
    """The figures of the report `doc` against `truth`, as printable lines; with `since`
    (epoch seconds), only the figures that start then or later (after a warm-up)."""
    if since is not None:
        truth = {**truth, **{k: [r for r in truth[k] if parse_iso(r["start"]) >= since]
                             for k in ("presence", "visitors")}}
    got_p = {(r["zone"], r["start"]): r for r in doc["presence"]}
    ape_big, ape_all, cover = [], [], []
    for r in truth["presence"]:
        g = got_p.get((r["zone"], r["start"]))
        if r["people"] <= 0:
            continue
        est = g["people"] if g else 0.0
        ape = abs(est - r["people"]) / r["people"]
        ape_all.append(ape)
        if r["people"] >= min_people:
            ape_big.append(ape)
        cover.append(bool(g) and g["ci95"][0] <= r["people"] <= g["ci95"][1])
    got_v = {(r["zone"], r["start"], r["end"]): r for r in doc["visitors"]}
    err_v, cover_v = [], []
    for r in truth["visitors"]:
        g = got_v.get((r["zone"], r["start"], r["end"]))
        if r["people"] <= 0:
            continue
        err_v.append(abs((g["people"] if g else 0.0) - r["people"]) / r["people"])
        cover_v.append(bool(g) and g["ci95"][0] <= r["people"] <= g["ci95"][1])
    lines = []
    if "cell_presence" in doc and "cell_presence" in truth:
        got_n = sum(r["devices"] or 0 for r in doc["cell_presence"])
        want_n = sum(r["devices"] for r in truth["cell_presence"])
        lines.append(f"operator   device-bins report {got_n:,} / truth {want_n:,}"
                     f" ({100 * (got_n - want_n) / max(want_n, 1):+.1f} %: what the collector"
                     " saw of the operator's phones)")
    lines += [
        f"presence   zone-hours >= {min_people:g} people: {len(ape_big)}, MAPE {_pct(ape_big)};"
        f" all {len(ape_all)}: MAPE {_pct(ape_all)},"
        f" median APE {100 * statistics.median(ape_all) if ape_all else 0:.1f} %",
        f"visitors   zone-periods: {len(err_v)}, mean abs error {_pct(err_v)},"
        f" max {100 * max(err_v, default=0):.1f} %",
    ]
    span = max(((r["start"], r["end"]) for r in truth["visitors"]),
               key=lambda p: parse_iso(p[1]) - parse_iso(p[0]), default=None)
    for name, source in (("truth", truth["visitors"]), ("report", doc["visitors"])):
        by = {}
        for r in source:
            if (r["start"], r["end"]) == span:
                for c, n in r["by_country"].items():
                    by[c] = by.get(c, 0.0) + (n or 0.0)
        top = sorted(by.items(), key=lambda kv: -kv[1])[:5]
        lines.append(f"countries  {name:6} " + ", ".join(f"{c} {n:.0f}" for c, n in top)
                     + "   (sum over zones, whole run)")
    every = cover + cover_v
    lines.append(f"coverage   95 % intervals hold the truth for {_pct(every)} of {len(every)}"
                 f" figures (presence {_pct(cover)}, visitors {_pct(cover_v)})")
    return lines
