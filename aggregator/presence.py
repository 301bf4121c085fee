"""People per zone and hour (`presence`): the hour's devices by segment, the residents'
weights calibrated to the residents present that hour, and the unknown-home devices that
are residents taken off (README, "Report": "Presence per hour").  Figures keep
`raw_devices` for publish.suppress."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping

from aggregator.estimate import (
    DAY,
    HOUR,
    Weights,
    figure,
    is_foreign,
    less_undetected,
    stratum,
)
from aggregator.extrapolate import _floor
from aggregator.uniques import unique_by_group


def presence_figures(store, zone_of: Mapping[tuple[str, int], str],
                     weights_at: Callable[[int], Weights], start: int | None = None,
                     end: int | None = None, zones: set[str] | None = None,
                     shares: Mapping[int, float] | None = None) -> list[dict]:
    """People per zone and hour (hours starting in [start, end)): the hour's devices by
    stratum (segment and age band, estimate.stratum) are the mean over its bins (those with
    any row in the store) of the zone's devices per bin, less the unknown-home residents (`shares`, the `undetected_shares` of
    the store, computed here for the days of [start, end) when not given), then weighted by
    `weights_at(hour)` calibrated to the residents present that hour (`Weights.calibrated`;
    both counted over every cell and every hour of the day, whatever the filters)."""
    sums: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    homes: dict[int, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    bins: dict[int, set[int]] = defaultdict(set)
    lo = None if start is None else start - start % DAY
    hi = None if end is None else end - end % DAY + DAY
    for bin_start, _seconds, plmn, cell, segment, band, devices in store.presence_by_segment(
            lo, hi, bands=True):
        hour = bin_start - bin_start % HOUR
        bins[hour].add(bin_start)
        if segment.startswith("home:"):
            homes[hour][(segment[5:], band)] += devices
        zone = zone_of.get((plmn, cell))
        inside = (start is None or hour >= start) and (end is None or hour < end)
        if inside and zone is not None and (zones is None or zone in zones):
            sums[(zone, hour)][stratum(segment, band)] += devices
    share = undetected_shares(store, start, end) if shares is None else shares
    out, hourly = [], {}
    for (zone, hour), by_segment in sorted(sums.items()):
        n_bins = len(bins[hour])
        if hour not in hourly:
            hourly[hour] = weights_at(hour).calibrated(
                {h: d / n_bins for h, d in homes[hour].items()})
        counts = {s: d / n_bins for s, d in sorted(by_segment.items())}
        raw = sum(counts.values())
        counts = less_undetected(counts, share.get(hour - hour % DAY, 0.0))
        one = figure({"section": "presence", "zone": zone, "start": hour,
                      "seconds": HOUR}, counts, hourly[hour], 0.0)
        one["raw_devices"] = max(one["raw_devices"], _floor(raw))
        out.append(one)
    return out


def _undetected_share(homed: Mapping[int, float], unknown: Mapping[int, float]
                      ) -> dict[int, float]:
    """{UTC day: r}, r = the least ratio, over the day's hours, of the distinct domestic
    devices of unknown home to the distinct devices of a detected home seen in that hour
    (all cells): at that quiet hour (before the visitors arrive, or at night) the unknown
    ones are taken for residents whose home is not detected yet, already stood for by the
    calibrated home weights.  Distinct devices of the hour, not the mean over its bins: a
    phone switched on during the hour (night-off phones in the morning) is a resident
    present for the rest of the day, and counting it by its minutes made r too small."""
    out: dict[int, float] = {}
    for hour, n in homed.items():
        if n >= 1.0:
            day = hour - hour % DAY
            out[day] = min(out.get(day, math.inf), unknown.get(hour, 0.0) / n)
    return out


def undetected_shares(store, start: int | None = None, end: int | None = None
                      ) -> dict[int, float]:
    """{UTC day: r} of `_undetected_share` over the store's sketches of the days of
    [start, end) (all of them when None), every cell: the distinct homed and unknown-home
    devices of each hour are HLL unions."""
    lo = None if start is None else start - start % DAY
    hi = None if end is None else end - end % DAY + DAY
    by_key: dict[tuple[int, str], list] = defaultdict(list)  # {(hour, kind): sketch rows}
    for row in store.sketches(lo, hi):
        if not is_foreign(row[4]):
            kind = "homed" if row[4].startswith("home:") else "unknown"
            by_key[(row[0] - row[0] % HOUR, kind)].append(row)
    counts: dict[str, dict[int, float]] = {"homed": {}, "unknown": {}}
    for (hour, kind), rows in by_key.items():
        counts[kind][hour] = unique_by_group(rows, {(r[1], r[3]): kind for r in rows})[kind].devices
    return _undetected_share(counts["homed"], counts["unknown"])
