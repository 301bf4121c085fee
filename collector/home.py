"""Home detection: the usual night zone of a device (DESIGN.md, "Edge state").

A *night* is the window from `night_start` to `night_end` local time (default 20:00 to
07:00); a device's zone of a night is the zone where it was present in the most bins of
that night, and the night counts as *observed* for it when it was present in at least
`min_night_bins` of them (default: 3 hours' worth).  Its home is the zone that was its
night zone on at least `min_share` (default half) of its observed nights over the last
`window` nights (default 30, at most 32), once it has at least `min_nights` (default 5)
observed nights in the window.  Homes are decided each time a night closes (the first
bin after it closes) and hold until the next.

Compact per device (34 bytes): the zone of the night is counted with two counters
(space-saving: a third zone replaces the counter with fewer bins and takes its count + 1),
exact whenever one zone holds more than half the night's bins, and the candidate homes
are two (zone, bit mask of the nights it was the night zone) pairs beside a mask of the
observed nights (bit 0: the latest night closed); a night zone that is neither candidate
replaces the weaker one.  The zone that is the night zone on at least half of the
observed nights is always one of the two candidates when the nights arrive in any
order that gives it the majority of each prefix; other orders are an approximation.
"""

from __future__ import annotations

import numpy as np

from collector.columns import Columns

_COLUMNS = {
    "nz1": (np.int32, -1), "nz2": (np.int32, -1),    # zones of the open night
    "nc1": (np.uint8, 0), "nc2": (np.uint8, 0),      # their bins (space-saving counts)
    "c1": (np.int32, -1), "c2": (np.int32, -1),      # candidate homes
    "m1": (np.uint32, 0), "m2": (np.uint32, 0),      # nights each was the night zone
    "seen": (np.uint32, 0),                          # nights observed
    "home": (np.int32, -1),                          # detected home zone, or -1
}


def popcount(a: np.ndarray) -> np.ndarray:
    """Set bits of each element."""
    return np.bitwise_count(a).astype(np.int64)


class HomeDetector:
    """Night zone counters and home candidates per presence slot."""

    def __init__(self, window: int = 30, min_nights: int = 5, min_share: float = 0.5,
                 min_night_bins: int = 12) -> None:
        if not 1 <= window <= 32:
            raise ValueError("the home window is 1 to 32 nights")
        self.window, self.min_nights, self.min_share = window, min_nights, min_share
        self.min_night_bins = min_night_bins
        self._mask = np.uint32((1 << window) - 1)
        self.cols = Columns(_COLUMNS)

    def night_bin(self, slots: np.ndarray, zones: np.ndarray) -> None:
        """The devices at `slots` were present in `zones` in one bin of the open night."""
        c = self.cols
        a = c.nz1[slots] == zones
        b = ~a & (c.nz2[slots] == zones)
        c.nc1[slots[a]] = np.minimum(c.nc1[slots[a]].astype(np.int64) + 1, 255)
        c.nc2[slots[b]] = np.minimum(c.nc2[slots[b]].astype(np.int64) + 1, 255)
        rest = ~a & ~b
        e1 = rest & (c.nz1[slots] == -1)
        c.nz1[slots[e1]], c.nc1[slots[e1]] = zones[e1], 1
        e2 = rest & ~e1 & (c.nz2[slots] == -1)
        c.nz2[slots[e2]], c.nc2[slots[e2]] = zones[e2], 1
        full = rest & ~e1 & ~e2  # a third zone: replaces the smaller counter, count + 1
        s, z = slots[full], zones[full]
        first = c.nc1[s] < c.nc2[s]
        s1, s2 = s[first], s[~first]
        c.nz1[s1], c.nc1[s1] = z[first], np.minimum(c.nc1[s1].astype(np.int64) + 1, 255)
        c.nz2[s2], c.nc2[s2] = z[~first], np.minimum(c.nc2[s2].astype(np.int64) + 1, 255)

    def close_night(self, elapsed: int, n: int) -> None:
        """The open night closed, `elapsed` nights after the one closed before (1: the next);
        `n`: slots in use.  Updates candidates and decides every home."""
        c = self.cols
        shift = min(max(elapsed, 1), 32)
        for name in ("m1", "m2", "seen"):
            col = getattr(c, name)[:n]
            col[:] = 0 if shift >= self.window else (
                (col.astype(np.uint64) << np.uint64(shift)) & np.uint64(self._mask))
        bins = c.nc1[:n].astype(np.int64) + c.nc2[:n]
        s = np.flatnonzero(bins >= self.min_night_bins)
        z = np.where(c.nc1[s] >= c.nc2[s], c.nz1[s], c.nz2[s])  # a tie: the zone counted first
        c.seen[s] |= np.uint32(1)
        is1 = c.c1[s] == z
        is2 = ~is1 & (c.c2[s] == z)
        c.m1[s[is1]] |= np.uint32(1)
        c.m2[s[is2]] |= np.uint32(1)
        new = s[~is1 & ~is2]
        c.c2[new], c.m2[new] = z[~is1 & ~is2], 1
        swap = s[popcount(c.m2[s]) > popcount(c.m1[s])]
        c.c1[swap], c.c2[swap] = c.c2[swap], c.c1[swap].copy()
        c.m1[swap], c.m2[swap] = c.m2[swap], c.m1[swap].copy()
        c.nz1[:n], c.nz2[:n], c.nc1[:n], c.nc2[:n] = -1, -1, 0, 0
        seen, hits = popcount(c.seen[:n]), popcount(c.m1[:n])
        ok = (seen >= self.min_nights) & (hits >= self.min_share * seen) & (seen > 0)
        c.home[:n] = np.where(ok, c.c1[:n], -1)
