"""The truth about persons (everyone, not only the operator's subscribers).

Rules (DESIGN.md, "Report and truth"; wire/report.py for the rows):

- `presence`: persons in each zone at the midpoint of each hour (hh:30:00 UTC) of the
  scenario, one row per zone and hour (`seconds` 3600), zeros included;
- `visitors`: distinct persons seen in the zone at the midpoint of at least one bin
  (`bin_seconds`) of the window: each event day's hours (every zone) and the whole
  scenario; `by_country` counts the foreigners among them;
- `residents`: people whose home is the zone (the census);
- `overnight`: visitors (non-residents) in a zone at 04:00 local whose stay there, measured
  on bin midpoints around 04:00, lasts at least 5 hours; `date` is the local date of that
  04:00.

`Whereabouts` is what these need from a model: the zone of persons lo..hi at an instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulator.scenario import Scenario
from wire.report import overnight_row, presence_row, residents_row, visitors_row

OVERNIGHT_AT = 4 * 3600        # local time of the overnight rule
OVERNIGHT_MIN = 5 * 3600


@dataclass(frozen=True, slots=True)
class Whereabouts:
    """Persons 0..n-1: `zone_at(t, lo, hi)` (-1 away), home zone (-1: not a resident),
    country index into `countries` (-1: domestic); residents come before visitors."""

    zone_at: Callable[[int, int, int], np.ndarray]
    home: np.ndarray
    country: np.ndarray
    countries: tuple[str, ...]

    @property
    def n(self) -> int:
        """Number of persons."""
        return len(self.home)

    @property
    def first_visitor(self) -> int:
        """Index of the first non-resident (n when there is none)."""
        away = np.flatnonzero(self.home < 0)
        return int(away[0]) if len(away) else self.n


def sections(scn: Scenario, w: Whereabouts, windows: list[tuple[int, int]]) -> dict:
    """{"presence", "visitors", "residents", "overnight"} rows; `windows` are the event
    windows [start, end) (the whole scenario is added)."""
    zones = [z.id for z in scn.zones]
    return {"presence": presence(scn, w, zones),
            "visitors": [row for lo, hi in dict.fromkeys([*windows, (scn.start, scn.end)])
                         for row in visitors(scn, w, zones, lo, hi)],
            "residents": [residents_row(z, int(n)) for z, n in zip(
                zones, np.bincount(w.home[w.home >= 0], minlength=len(zones)), strict=True)],
            "overnight": overnight(scn, w, zones)}


def presence(scn: Scenario, w: Whereabouts, zones: list[str]) -> list[dict]:
    """Persons per zone at each hour's midpoint."""
    rows = []
    for hour in range(scn.start - scn.start % 3600, scn.end, 3600):
        if scn.start <= hour + 1800 < scn.end:
            counts = _count(w.zone_at(hour + 1800, 0, w.n), len(zones))
            rows += [presence_row(z, hour, 3600, int(n)) for z, n in zip(zones, counts,
                                                                           strict=True)]
    return rows


def _count(zone: np.ndarray, n_zones: int) -> np.ndarray:
    return np.bincount(zone[zone >= 0], minlength=n_zones)


def samples(scn: Scenario, lo: int, hi: int) -> range:
    """Bin midpoints within [lo, hi)."""
    half = scn.bin_seconds // 2
    first = lo - lo % scn.bin_seconds + half
    return range(first if first >= lo else first + scn.bin_seconds, hi, scn.bin_seconds)


def visitors(scn: Scenario, w: Whereabouts, zones: list[str], lo: int, hi: int) -> list[dict]:
    """Distinct persons per zone over [lo, hi), with the foreigners by country."""
    seen = np.zeros(w.n, np.uint64)
    for t in samples(scn, max(lo, scn.start), min(hi, scn.end)):
        z = w.zone_at(t, 0, w.n)
        seen |= np.where(z >= 0, np.left_shift(np.uint64(1), np.maximum(z, 0).astype(np.uint64)),
                         np.uint64(0))
    rows = []
    foreign = w.country >= 0
    for k, zone in enumerate(zones):
        there = (seen >> np.uint64(k)) & np.uint64(1) == 1
        by = np.bincount(w.country[there & foreign], minlength=len(w.countries))
        rows.append(visitors_row(zone, lo, hi, int(there.sum()),
                                 {c: int(n) for c, n in zip(w.countries, by, strict=True) if n}))
    return rows


def overnight(scn: Scenario, w: Whereabouts, zones: list[str]) -> list[dict]:
    """Visitors staying the night, by zone and local date."""
    lo, rows = w.first_visitor, []
    if lo == w.n:
        return rows
    for d in range(scn.days + 1):
        t4 = scn.first_midnight + d * 86400 + OVERNIGHT_AT
        if not scn.start <= t4 < scn.end:
            continue
        z4 = w.zone_at(t4, lo, w.n)
        run = np.zeros(len(z4), np.int64)
        for direction in (1, -1):
            alive = z4 >= 0
            t = t4 - t4 % scn.bin_seconds + scn.bin_seconds // 2
            t = t if direction == 1 or t < t4 else t - scn.bin_seconds
            t = t if direction == -1 or t >= t4 else t + scn.bin_seconds
            while alive.any() and scn.start <= t < scn.end:
                alive &= w.zone_at(t, lo, w.n) == z4
                run += alive
                t += direction * scn.bin_seconds
        stayed = (z4 >= 0) & (run * scn.bin_seconds >= OVERNIGHT_MIN)
        date = dt.datetime.fromtimestamp(t4 + scn.utc_offset, dt.UTC).strftime("%Y-%m-%d")
        country = w.country[lo:]
        for k, zone in enumerate(zones):
            here = stayed & (z4 == k)
            by = np.bincount(country[here & (country >= 0)], minlength=len(w.countries))
            rows.append(overnight_row(zone, date, int(here.sum()), {
                c: int(n) for c, n in zip(w.countries, by, strict=True) if n}))
    return rows


def from_tracks(scn: Scenario, tracks) -> Whereabouts:
    """Whereabouts of a flat-population scenario (`tiny`): everyone a resident of their home
    zone, found in the zone of their track's cell."""
    index = {z.id: k for k, z in enumerate(scn.zones)}

    def zone_at(t: int, lo: int, hi: int) -> np.ndarray:
        return np.asarray([index[tr.cell_at(t).zone] for tr in tracks[lo:hi]], np.int16)

    home = np.asarray([index[tr.person.home_zone] for tr in tracks], np.int16)
    return Whereabouts(zone_at, home, np.full(len(tracks), -1, np.int16), ())


def from_schedule(sched) -> Whereabouts:
    """Whereabouts of a city-model scenario (`schedule.Schedule`)."""
    a = sched.agents
    return Whereabouts(sched.zone_at, a.home, a.country, a.countries)
