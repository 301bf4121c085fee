"""The edge analytics beside presence: zones, M2M exclusion, home, stays and dwell,
overnight, recurrence, flows and residents (DESIGN.md, "Edge state and tallies").

`EdgeAnalytics.close_bin` is the presence state's `on_close` hook: for each closed bin it
gets the present devices' cells, pseudonyms, home MCCs and presence slots, and

1. leaves out M2M devices (collector.m2m);
2. maps cells to zones (collector.zones) and gives each device its segment code: domestic,
   `home:<zone>` once its home is detected (collector.home), or its home MCC;
3. feeds the night zone counters (night bins), the stays (collector.stays: dwell classes,
   overnight stays, flows) and the recurrence masks (collector.recurrence);
4. hands the presence and sketch part to the tally, with the zone tally rows.

Time of day is local (`timezone`, default UTC, through zoneinfo): the night window, the
04:00 of the overnight rule and the days of recurrence and M2M behaviour.  A night
closes at the first bin after it, which decides homes and emits the `residents` rows
for that bin's UTC day; `finish` closes the open stays and emits them again (end of input).
With subscriber profiles (`AnalyticsConfig.profiles`, collector.profiles) the residents rows
are per home zone and age band (looked up by pseudonym when the rows are made), and the
presence and sketch rows per segment and age band (the band of a device looked up once,
at the first bin it is present in, and kept in a column: the aggregator weighs each band
with its own weight).

State per device: the columns of each part (home 34 bytes, stays 12, recurrence 24, M2M 7,
segment 2, age band 1: 80 bytes), numpy arrays indexed by the presence slot.  A device whose presence ended is
kept (dormant) while it was present within the last `retention` days (the home and
recurrence windows); then its slot is freed.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from collector.columns import Columns
from collector.home import HomeDetector
from collector.m2m import M2MTracker
from collector.profiles import Profiles
from collector.recurrence import RecurrenceTracker
from collector.stays import StayTracker, dwell_class, overnight_days
from collector.zones import ZoneMap
from wire.tally import (
    DWELL_CLASSES,
    RECURRENCE_CLASSES,
    RESIDENT_BANDS,
    FlowRow,
    OvernightRow,
    RecurrenceRow,
    ResidentRow,
    StayRow,
)

DAY = 86400
NO_BAND = -2  # the band column of a device whose profile is not looked up yet
_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def pin_mmap_threshold(size: int = 1 << 20) -> None:
    """The numpy temporaries of a bin close are megabytes at a million devices, freed at
    once; after such a free glibc raises its mmap threshold (up to 32 MiB), so the next
    ones come from the heap and stay in the process's RSS (measured: +90 bytes/device).
    A fixed threshold keeps big blocks mmapped and given back.  No-op elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, size)


@dataclass(frozen=True)
class AnalyticsConfig:
    """Parameters of the edge analytics (DESIGN.md defaults)."""

    timezone: str = "UTC"
    night_start: int = 20          # local hour the night window opens
    night_end: int = 7             # local hour it closes
    home_window: int = 30          # nights
    home_min_nights: int = 5
    home_min_share: float = 0.5
    home_night_hours: float = 3.0  # presence in a night that makes it an observed night
    min_stay: int = 900            # seconds
    overnight_hour: int = 4
    overnight_hours: float = 5.0
    recurrence_days: int = 28
    regular_days: int = 4
    # subscriber profiles (collector.profiles, --profiles): residents by age band
    profiles: Profiles | None = field(default=None, compare=False, repr=False)

    def tz(self) -> dt.tzinfo:
        """The zoneinfo of `timezone`; ValueError names it when unknown."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r} (an IANA name such as "
                             "Europe/Paris)") from None


class EdgeAnalytics:
    """Per-device analytics over the presence state's slots; rows into the tally."""

    def __init__(self, presence, tally, zones: ZoneMap, cfg: AnalyticsConfig) -> None:
        self.presence, self.tally, self.zones, self.cfg = presence, tally, zones, cfg
        pin_mmap_threshold()
        tally.zones = zones
        self.bin_seconds = presence.bin
        self._tz = cfg.tz()
        self.home = HomeDetector(cfg.home_window, cfg.home_min_nights, cfg.home_min_share,
                                 max(1, math.ceil(cfg.home_night_hours * 3600
                                                  / self.bin_seconds)))
        self.stays = StayTracker(cfg.min_stay)
        self.recurrence = RecurrenceTracker(cfg.recurrence_days, cfg.regular_days)
        self.m2m = M2MTracker()
        self.profiles = cfg.profiles
        # segment code without home (-1 domestic, else the home MCC, 0: unknown); age band
        # index of the profile (-1: none or unknown, NO_BAND: not looked up yet)
        self.cols = Columns({"seg": (np.int16, 0), "band": (np.int8, NO_BAND)})
        self._parts = (self.cols, self.home.cols, self.stays.cols, self.recurrence.cols,
                       self.m2m.cols)
        self.retention = DAY * (max(cfg.home_window, cfg.recurrence_days) + 1)
        self._open_night: int | None = None
        self._last_night: int | None = None
        self._day: int | None = None
        self._last_end = 0
        presence.on_close = self.close_bin
        presence.retain = self.retain

    # -- time -----------------------------------------------------------------------

    def offset(self, t: float) -> int:
        """Local UTC offset (seconds) at time t."""
        off = dt.datetime.fromtimestamp(t, self._tz).utcoffset()
        return int(off.total_seconds()) if off else 0

    def _night(self, local: int) -> int | None:
        """The night a local time is in (a number: its evening's local day), or None."""
        tod = local % DAY
        s, e = self.cfg.night_start * 3600, self.cfg.night_end * 3600
        inside = (tod >= s or tod < e) if s > e else (s <= tod < e)
        return (local - e) // DAY if inside else None

    # -- the hooks ------------------------------------------------------------------

    def close_bin(self, start: int, cells: list, cell_index: np.ndarray, keys: np.ndarray,
                  mccs: np.ndarray, slots: np.ndarray) -> None:
        """The presence state closed the bin at `start` (its on_close)."""
        end = start + self.bin_seconds
        n = len(self.presence._key)
        for part in self._parts:
            part.ensure(n)
        local = start + self.offset(start)
        night, day = self._night(local), local // DAY
        if self._open_night is not None and night != self._open_night:
            self._close_night(start, n)
        if self._day is None:
            self._day = day
        elif day != self._day:
            self._close_day(day, n)
        flags = np.frombuffer(self.presence._flags, dtype=np.uint8)[slots]
        keep = self.m2m.bin(slots, cell_index, flags)
        s, ci = slots[keep], cell_index[keep]
        zones = self.zones.of_cells(cells, ci)
        seg = self.tally.segment_codes(cells, ci, mccs[keep])
        home = self.home.cols.home[s]
        code = np.where((seg == -1) & (home >= 0), -2 - home, seg)
        self.cols.seg[s] = seg
        if night is not None:
            self._open_night = night
            self.home.night_bin(s, zones)
        (fs, origin, dest), closed = self.stays.bin(start, end, s, zones, n)
        rows: list = []
        rows += self._flows(start, fs, origin, dest)
        for c in closed:
            rows += self._closed_stays(c)
        at, cls = self.recurrence.bin(s, zones)
        rows += [RecurrenceRow(day * DAY, self.zones.plmn(z), self.zones.name(z),
                               self.tally.segment(k), RECURRENCE_CLASSES[c], m)
                 for (z, k, c), m in _count(zones[at], code[at], cls)]
        self.tally.add(rows)
        self._last_end = end
        self.tally.close_bin(start, cells, ci, keys[keep], mccs[keep], codes=code,
                             bands=self._bands(s, keys[keep]))

    def retain(self, slots: np.ndarray, now: float) -> np.ndarray:
        """The presence state's `retain`: of the devices whose presence ended (`slots`),
        those to free (not present within `retention`); their columns are reset."""
        for part in self._parts:
            part.ensure(len(self.presence._key))
        free = slots[self.stays.cols.end[slots].astype(np.int64) + self.retention <= now]
        open_stays = free[self.stays.cols.zone[free] >= 0]  # after a gap in the input
        if len(open_stays):
            self.tally.add(self._closed_stays(self.stays.take(open_stays)))
        for part in self._parts:
            part.reset(free)
        return free

    def finish(self) -> None:
        """End of input: close the open stays, emit the residents as of the last bin."""
        n = min(len(self.presence._key), self.cols.size)
        rows = self._closed_stays(self.stays.close_all(n))
        if self._last_end:
            day_start = (self._last_end - 1) // DAY * DAY
            rows += self._residents(day_start, n)
        self.tally.add(rows)

    # -- snapshot (collector.snapshot) ---------------------------------------------

    _SCALARS = ("_open_night", "_last_night", "_day", "_last_end")

    def state(self) -> dict:
        """Per-device columns of every part, the zones interned, the clocks of nights and
        days and the M2M counts, for a snapshot."""
        zones = self.zones
        return {"parts": [part.state() for part in self._parts],
                "m2m": [self.m2m.by_tac, self.m2m.by_behaviour, self.m2m.by_psm],
                "zones": [list(zones._keys), zones._cell_zone],
                **{name: getattr(self, name) for name in self._SCALARS}}

    def restore(self, state: dict) -> None:
        """Take back a `state()`."""
        if len(state["parts"]) != len(self._parts):
            raise ValueError("the snapshot's analytics have other parts")
        for part, saved in zip(self._parts, state["parts"], strict=True):
            part.restore(saved)
        self.m2m.by_tac, self.m2m.by_behaviour, *psm = state["m2m"]
        self.m2m.by_psm = psm[0] if psm else 0  # (a snapshot made before PSM was read)
        keys, cell_zone = state["zones"]
        self.zones._keys = [tuple(k) for k in keys]
        self.zones._ids = {k: i for i, k in enumerate(self.zones._keys)}
        self.zones._cell_zone = cell_zone
        for name in self._SCALARS:
            setattr(self, name, state[name])

    # -- parts ----------------------------------------------------------------------

    def _close_night(self, start: int, n: int) -> None:
        last = self._last_night
        elapsed = 1 if last is None else self._open_night - last
        self.home.close_night(elapsed, n)
        self._last_night, self._open_night = self._open_night, None
        self.tally.add(self._residents(start - start % DAY, n))

    def _close_day(self, day: int, n: int) -> None:
        flags = np.frombuffer(self.presence._flags, dtype=np.uint8)
        try:
            self.m2m.close_day(DAY // self.bin_seconds, flags, n)
        finally:
            del flags  # the array may grow again
        self.recurrence.new_day(day - self._day, n)
        self._day = day

    def _residents(self, day_start: int, n: int) -> list[ResidentRow]:
        home = self.home.cols.home[:n]
        mine = (home >= 0) & (self.cols.seg[:n] == -1) & (self.m2m.cols.m2m[:n] == 0)
        if self.profiles is None:
            band = np.full(int(mine.sum()), -1, dtype=np.int64)
        else:  # the age band of each resident from its profile (-1: none, or unknown)
            band = self.profiles.bands(np.frombuffer(self.presence._key, np.uint64)[:n][mine])
        return [ResidentRow(day_start, self.zones.plmn(z), self.zones.name(z), m,
                            RESIDENT_BANDS[b + 1]) for (z, b), m in _count(home[mine], band)]

    def _bands(self, slots: np.ndarray, keys: np.ndarray) -> np.ndarray | None:
        """Age band index of the devices of `slots` (pseudonyms `keys`), -1 for none; the
        profiles are searched only for the devices not looked up yet.  None without
        profiles."""
        if self.profiles is None:
            return None
        band = self.cols.band[slots]
        new = band == NO_BAND
        if new.any():
            band[new] = self.profiles.bands(keys[new])
            self.cols.band[slots[new]] = band[new]
        return band

    def _codes(self, slots: np.ndarray) -> np.ndarray:
        """Segment codes (with the home) of devices by slot."""
        seg, home = self.cols.seg[slots].astype(np.int64), self.home.cols.home[slots]
        return np.where((seg == -1) & (home >= 0), -2 - home.astype(np.int64), seg)

    def _flows(self, start: int, slots, origin, dest) -> list[FlowRow]:
        code = self._codes(slots)
        return [FlowRow(start, self.zones.plmn(b), self.zones.name(a), self.zones.name(b),
                        self.tally.segment(k), m) for (a, b, k), m in _count(origin, dest, code)]

    def _closed_stays(self, c) -> list:
        if not len(c.slot):
            return []
        code = self._codes(c.slot)
        z = self.zones
        rows: list = [StayRow(st, z.plmn(zone), z.name(zone), self.tally.segment(k),
                              DWELL_CLASSES[d], m)
                      for (st, zone, k, d), m in _count(c.start, c.zone, code,
                                                       dwell_class(c.seconds))]
        night = (code > -2) & (c.seconds >= self.cfg.overnight_hours * 3600)
        nights: dict[tuple, int] = {}
        for st, secs, zone, k in zip(c.start[night].tolist(), c.seconds[night].tolist(),
                                     c.zone[night].tolist(), code[night].tolist(), strict=True):
            for day in overnight_days(st, st + secs, self.offset, self.cfg.overnight_hour):
                nights[(day, zone, k)] = nights.get((day, zone, k), 0) + 1
        rows += [OvernightRow(day, z.plmn(zone), z.name(zone), self.tally.segment(k), m)
                 for (day, zone, k), m in sorted(nights.items())]
        return rows


def _count(*columns: np.ndarray) -> list[tuple[tuple[int, ...], int]]:
    """Distinct tuples of the columns (int arrays of one length) and how many of each."""
    if not len(columns[0]):
        return []
    keys, counts = np.unique(np.stack([c.astype(np.int64) for c in columns]), axis=1,
                             return_counts=True)
    return list(zip((tuple(k) for k in keys.T.tolist()), counts.tolist(), strict=True))
