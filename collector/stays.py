"""Stays, dwell classes, overnight stays and flows between zones (DESIGN.md, "Edge state").

Built on the presence bins: a device's *stay* is a run of consecutive bins in which it
is present in the same zone; it starts at the start of its first bin and ends at the end
of its last (so its length is a whole number of bins).  It closes when the device is
present in another zone, or in no zone for a bin (or at the end of input).  A closed
stay of at least `min_stay` seconds (default 15 min: one bin at the default 15-min bins)
is tallied by dwell class of its length (`wire.tally.DWELL_CLASSES`: <30 min, 30-60 min,
1-2 h, 2-4 h, >= 4 h; a bound belongs to the longer class), by the bin it started in.

*Overnight*: a closed stay of a device without a detected home that includes the instant
04:00 local time (start <= 04:00 < end) and lasts at least 5 h counts once for each
04:00 it includes, by the local date of that 04:00.

*Flows*: a device present in zone A in one bin and in zone B != A in the next counts one
move A -> B at the second bin.  A device absent for a bin between makes no flow.

Per device: zone, start and end of the open stay, 12 bytes (`end` stays as the end of
the device's last bin present after the stay closed: the edge analytics' retention).
"""

from __future__ import annotations

import numpy as np

from collector.columns import Columns
from wire.tally import DWELL_LIMITS

_COLUMNS = {
    "zone": (np.int32, -1),     # zone of the open stay, or -1
    "start": (np.uint32, 0),    # its start (a bin start; seconds since 1970, to 2106)
    "end": (np.uint32, 0),      # its end so far (the end of its last bin)
}


class ClosedStays:
    """Stays closed at one bin: zone, start, length (s), slot of each."""

    __slots__ = ("zone", "start", "seconds", "slot")

    def __init__(self, zone, start, seconds, slot) -> None:
        self.zone, self.start, self.seconds, self.slot = zone, start, seconds, slot


class StayTracker:
    """Open stays per presence slot; closes them bin by bin."""

    def __init__(self, min_stay: int = 900) -> None:
        self.min_stay = min_stay
        self.cols = Columns(_COLUMNS)

    def bin(self, start: int, end: int, slots: np.ndarray, zones: np.ndarray, n: int
            ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], list[ClosedStays]]:
        """One closed bin [start, end) with the devices present at `slots` in `zones`;
        `n`: slots in use.  Returns the flows (slot, from zone, to zone) and the stays
        closed (those left for another zone, then those without presence in this bin)."""
        c = self.cols
        prev, prev_end = c.zone[slots], c.end[slots]
        same = (prev == zones) & (prev_end == start)
        moved = ~same & (prev >= 0) & (prev_end == start)
        flows = (slots[moved], prev[moved], zones[moved])
        new = ~same
        closed = [self.take(slots[new & (prev >= 0)])]
        s = slots[new]
        c.zone[s], c.start[s] = zones[new], start
        c.end[slots] = end
        # stays not extended by this bin: their device is absent (or off the state)
        closed.append(self.take(np.flatnonzero((c.zone[:n] >= 0) & (c.end[:n] < end))))
        return flows, closed

    def close_all(self, n: int) -> ClosedStays:
        """Close every open stay (end of input)."""
        return self.take(np.flatnonzero(self.cols.zone[:n] >= 0))

    def take(self, slots: np.ndarray) -> ClosedStays:
        """Close the open stays of `slots`; those of at least `min_stay`."""
        c = self.cols
        start = c.start[slots].astype(np.int64)
        out = ClosedStays(c.zone[slots], start, c.end[slots] - start, slots)
        c.zone[slots] = -1
        keep = out.seconds >= self.min_stay
        return ClosedStays(out.zone[keep], out.start[keep], out.seconds[keep], slots[keep])


def dwell_class(seconds: np.ndarray) -> np.ndarray:
    """Index in DWELL_CLASSES of each stay length."""
    return np.searchsorted(np.asarray(DWELL_LIMITS), seconds, side="right")


def overnight_days(start: int, end: int, offset, hour: int = 4) -> list[int]:
    """Local dates (as the UTC midnight of the same calendar date) of each `hour`:00 local
    time in [start, end); `offset(t)` is the local UTC offset in seconds at time t."""
    days = []
    first, last = (start + offset(start)) // 86400, (end + offset(end)) // 86400
    for day in range(first, last + 1):
        local = day * 86400 + hour * 3600
        t = local - offset(local - offset(start))  # the UTC instant of hour:00 that day
        if start <= t < end:
            days.append(day * 86400)
    return days
