"""People per zone and hour (`presence`): the hour's devices by segment, the residents'
weights calibrated to the residents present that hour, and the unknown-home devices that
are residents taken off (README, "Report": "Presence per hour").  Figures keep
`raw_devices` for publish.suppress."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping

from aggregator.estimate import DAY, HOUR, Weights, figure, is_foreign, less_undetected
from aggregator.extrapolate import _floor


def presence_figures(store, zone_of: Mapping[tuple[str, int], str],
                     weights_at: Callable[[int], Weights], start: int | None = None,
                     end: int | None = None, zones: set[str] | None = None) -> list[dict]:
    """People per zone and hour (hours starting in [start, end)): the hour's devices by
    segment are the mean over its bins (those with any row in the store) of the zone's
    devices per bin, less the unknown-home residents (`_undetected_share`), then weighted by
    `weights_at(hour)` calibrated to the residents present that hour (`Weights.calibrated`;
    both counted over every cell and every hour of the day, whatever the filters)."""
    sums: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    homes: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    unknown: dict[int, float] = defaultdict(float)
    bins: dict[int, set[int]] = defaultdict(set)
    lo = None if start is None else start - start % DAY
    hi = None if end is None else end - end % DAY + DAY
    for bin_start, _seconds, plmn, cell, segment, devices in store.presence_by_segment(lo, hi):
        hour = bin_start - bin_start % HOUR
        bins[hour].add(bin_start)
        if segment.startswith("home:"):
            homes[hour][segment[5:]] += devices
        elif not is_foreign(segment):
            unknown[hour] += devices
        zone = zone_of.get((plmn, cell))
        inside = (start is None or hour >= start) and (end is None or hour < end)
        if inside and zone is not None and (zones is None or zone in zones):
            sums[(zone, hour)][segment] += devices
    share = _undetected_share(homes, unknown)
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


def _undetected_share(homes: Mapping[int, Mapping[str, float]],
                      unknown: Mapping[int, float]) -> dict[int, float]:
    """{UTC day: r}, r = the least ratio, over the day's hours, of domestic devices of unknown
    home to devices of a detected home present (all cells): at that quiet hour (before the
    visitors arrive, or at night) the unknown ones are taken for residents whose home is not
    detected yet, already stood for by the calibrated home weights."""
    out: dict[int, float] = {}
    for hour, by_home in homes.items():
        present = sum(by_home.values())
        if present >= 1.0:
            day = hour - hour % DAY
            out[day] = min(out.get(day, math.inf), unknown.get(hour, 0.0) / present)
    return out


def undetected_shares(store, start: int | None = None, end: int | None = None
                      ) -> dict[int, float]:
    """{UTC day: r} of `_undetected_share` over the store's presence rows of the days of
    [start, end) (all of them when None), every cell: for the visitors figures."""
    homes: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    unknown: dict[int, float] = defaultdict(float)
    lo = None if start is None else start - start % DAY
    hi = None if end is None else end - end % DAY + DAY
    for bin_start, _seconds, _plmn, _cell, segment, devices in store.presence_by_segment(lo, hi):
        hour = bin_start - bin_start % HOUR
        if segment.startswith("home:"):
            homes[hour][segment[5:]] += devices
        elif not is_foreign(segment):
            unknown[hour] += devices
    return _undetected_share(homes, unknown)
