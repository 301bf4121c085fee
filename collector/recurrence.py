"""Recurrence: on how many of the last N days a device was present in a zone.

The first time a device is present in a zone on a (local) day, it is counted once for
that day and zone by the number d of *earlier* days, among the last N (default 28), on
which it was present there:

- `first`: d = 0, a first visit (within the window);
- `returning`: 1 <= d < `regular_days` (default 4);
- `regular`: d >= `regular_days`, about weekly or more often over four weeks.

Per device (16 bytes) two zones are remembered, each with a mask of days (bit 0: today,
bit k: k days ago; N <= 31).  A third zone replaces the one seen on fewer days (on a tie,
the second), so the history of a device moving among more than two zones is partial and
a zone it forgot counts as a first visit again: recurrence is exact for a device's two
usual zones (home and work, or home and a venue it keeps going to), an under-estimate
beyond.
"""

from __future__ import annotations

import numpy as np

from collector.columns import Columns
from collector.home import popcount

_COLUMNS = {
    "z1": (np.int32, -1), "z2": (np.int32, -1),
    "d1": (np.uint32, 0), "d2": (np.uint32, 0),
}
FIRST, RETURNING, REGULAR = 0, 1, 2


class RecurrenceTracker:
    """Two (zone, day mask) pairs per presence slot."""

    def __init__(self, days: int = 28, regular_days: int = 4) -> None:
        if not 1 <= days <= 31:
            raise ValueError("the recurrence window is 1 to 31 days")
        self.days, self.regular_days = days, regular_days
        self._earlier = np.uint32(((1 << days) - 1) << 1)
        self.cols = Columns(_COLUMNS)

    def new_day(self, elapsed: int, n: int) -> None:
        """The local day changed, `elapsed` days after the last one (n: slots in use)."""
        for name in ("d1", "d2"):
            col = getattr(self.cols, name)[:n]
            col[:] = 0 if elapsed >= 32 else (col.astype(np.uint64) << np.uint64(elapsed)
                                              ) & np.uint64(0xFFFFFFFF)

    def bin(self, slots: np.ndarray, zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The devices at `slots` present in `zones` in one bin of today: the positions
        (in slots) of the first presences of the day in their zone, and their classes."""
        c = self.cols
        a = c.z1[slots] == zones
        b = ~a & (c.z2[slots] == zones)
        cls = np.full(len(slots), -1, dtype=np.int64)
        for hit, mask in ((a, c.d1), (b, c.d2)):
            s = slots[hit]
            fresh = (mask[s] & np.uint32(1)) == 0
            earlier = popcount(mask[s] & self._earlier)
            cls[np.flatnonzero(hit)[fresh]] = np.where(
                earlier[fresh] >= self.regular_days, REGULAR,
                np.where(earlier[fresh] > 0, RETURNING, FIRST))
            mask[s] |= np.uint32(1)
        other = ~a & ~b
        s = slots[other]
        into1 = (c.z1[s] == -1) | ((c.z2[s] != -1) & (popcount(c.d1[s]) < popcount(c.d2[s])))
        s1, s2 = s[into1], s[~into1]
        c.z1[s1], c.d1[s1] = zones[other][into1], 1
        c.z2[s2], c.d2[s2] = zones[other][~into1], 1
        cls[other] = FIRST
        at = np.flatnonzero(cls >= 0)
        return at, cls[at]
