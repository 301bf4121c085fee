"""Presence of each device per cell per time bin (DESIGN.md, "Edge state").

A device is *present* in a bin in the cell where it spent most of the bin's
on-time.  Its position is the cell of its last location-bearing event; it is
on from its first event until a detach, or until `timeout` seconds after its
last event.  Ties go to the cell entered first in the bin.  Bins close when
capture time passes their end plus `lateness`; an event older than what a
device has already accounted is counted `late` and ignored.

This is the spine's version (one small object per device); compact arrays
come with the speed issue.
"""

from __future__ import annotations

from collections.abc import Hashable

CellKey = Hashable  # (plmn, tac, cell) in the collector


class _Device:
    __slots__ = ("cell", "since", "last", "acc")

    def __init__(self, t: float) -> None:
        self.cell: CellKey | None = None
        self.since = t          # time up to which on-time has been accounted
        self.last = t           # time of the last location-bearing event
        self.acc: dict[int, dict[CellKey, float]] = {}  # bin start -> cell -> seconds


class PresenceState:
    """Per-device position and on-time; closes bins into {cell: devices}."""

    __slots__ = ("bin", "timeout", "lateness", "_devices", "_open_from", "_watermark", "late")

    def __init__(self, bin_seconds: int = 900, timeout: float = 7200.0,
                 lateness: float = 60.0) -> None:
        self.bin, self.timeout, self.lateness = bin_seconds, timeout, lateness
        self._devices: dict[int, _Device] = {}
        self._open_from: int | None = None  # start of the oldest bin not yet closed
        self._watermark = float("-inf")
        self.late = 0

    def __len__(self) -> int:
        return len(self._devices)

    def observe(self, device: int, t: float, cell: CellKey | None) -> bool:
        """Record that `device` is in `cell` at time `t` (cell None: it left the network).

        Returns False (and counts `late`) when the event is older than what is accounted.
        """
        if self._open_from is None or (not self._devices and t >= self._open_from + self.bin):
            # nothing is pending: skip the empty bins of a gap in the input at once
            self._open_from = max(self._open_from or 0, int(t // self.bin) * self.bin)
        dev = self._devices.get(device)
        if dev is None:
            if t < self._open_from:
                self.late += 1
                return False
            dev = self._devices[device] = _Device(t)
        elif t < dev.since:
            self.late += 1
            return False
        self._account(dev, t)
        dev.cell, dev.since = cell, t
        if cell is not None:
            dev.last = t
        self._watermark = max(self._watermark, t)
        return True

    def _account(self, dev: _Device, until: float) -> None:
        """Add the on-time [dev.since, until) in dev.cell to its per-bin accumulators."""
        end = min(until, dev.last + self.timeout)
        t = dev.since
        if dev.cell is None or end <= t:
            return
        while t < end:
            start = int(t // self.bin) * self.bin
            stop = min(end, start + self.bin)
            cells = dev.acc.setdefault(start, {})
            cells[dev.cell] = cells.get(dev.cell, 0.0) + (stop - t)
            t = stop

    def advance(self, now: float) -> list[tuple[int, dict[CellKey, int]]]:
        """Close every bin whose end + lateness is at or before `now`."""
        self._watermark = max(self._watermark, now)
        out = []
        while self._open_from is not None and self._open_from + self.bin + self.lateness <= now:
            out.append((self._open_from, self._close(self._open_from)))
        return out

    def flush(self) -> list[tuple[int, dict[CellKey, int]]]:
        """Close all bins up to the one holding the latest event (end of input)."""
        out = []
        while self._open_from is not None and self._open_from <= self._watermark:
            out.append((self._open_from, self._close(self._open_from)))
        return out

    def _close(self, start: int) -> dict[CellKey, int]:
        end = start + self.bin
        counts: dict[CellKey, int] = {}
        gone = []
        for key, dev in self._devices.items():
            if dev.since < end:
                self._account(dev, end)
                dev.since = max(dev.since, end)
            cells = dev.acc.pop(start, None)
            if cells:
                best = max(cells, key=cells.__getitem__)  # first entered wins a tie
                counts[best] = counts.get(best, 0) + 1
            if not dev.acc and (dev.cell is None or dev.last + self.timeout <= end):
                gone.append(key)
        for key in gone:
            del self._devices[key]
        self._open_from = end
        return counts
