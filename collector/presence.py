"""Presence of each device per cell per time bin (DESIGN.md, "Edge state").

A device is *present* in a bin in the cell where it spent most of the bin's
on-time.  Its position is the cell of its last location-bearing event; it is
on from its first event until a detach, or until a hold time after its last
location-bearing event: `timeout` seconds, or with a `hold` rule (`NightHold`) the
rule's value at the time of that event (DESIGN: 2 h by day, 8 h at night).  Ties go
to the cell entered first in the bin.  Bins close when capture time passes their end
plus `lateness`; an event older than what a device has already accounted is counted
`late` and ignored.

State is compact: one dict maps a pseudonym to a slot, and each slot is a row of
typed arrays (`array.array`, viewed by numpy when a bin closes): its cell (an
index into the interned cells), the time accounted up to, the time of its last
location, and the on-time of the one (bin, cell) a device usually holds.  A
device that holds more — it moved within an open bin, or spans two open bins —
keeps its full {bin: {cell: seconds}} in a small overflow dict until those bins
close.  Closing a bin is vectorised over all slots; freed slots are reused.

The edge analytics (collector.edge) keep their per-device columns beside these, indexed
by the same slots: `on_close` hands them the present devices' slots with each closed bin,
`retain` may keep a device's slot after its presence ended (its home and recurrence
history lives on while it is quiet; it is then *dormant*: off, nothing accounted), and
`observe(..., flags=...)` ORs event facts (M2M hints) into a byte per slot, `flags`.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable

import numpy as np

CellKey = Hashable  # (plmn, tac, cell) in the collector
NONE = -1           # no cell (off the network) / no bin held


class PresenceState:
    """Per-device position and on-time; closes bins into {cell: devices}."""

    __slots__ = ("bin", "timeout", "lateness", "late", "_slot", "_free", "_cells", "_cell_ids",
                 "_key", "_used", "_cell", "_since", "_last", "_acc_bin", "_acc_cell",
                 "_acc_secs", "_overflow", "_open_from", "_watermark", "_mcc", "on_close",
                 "retain", "_flags", "_quiet_until", "created", "hold", "_hold", "moved")

    def __init__(self, bin_seconds: int = 900, timeout: float = 7200.0,
                 lateness: float = 60.0, on_close=None, retain=None, hold=None) -> None:
        self.bin, self.timeout, self.lateness = bin_seconds, timeout, lateness
        # hold(t) -> seconds a device stays on after a location event at t (None: timeout)
        self.hold = hold
        # on_close(bin start, cells, cell index, pseudonym, home MCC, slot), the last four
        # numpy arrays with one entry per device present in the bin (called for every bin
        # closed, present or not): what tallies by segment, sketches and the edge analytics
        # need beyond the counts `advance` returns
        self.on_close = on_close
        # retain(slots, time) -> the slots of `slots` (devices whose presence ended) to free
        self.retain = retain
        self.created = 0                        # slots given to a new device, ever
        self.late = 0
        self._slot: dict[int, int] = {}         # pseudonym -> slot
        self._free: list[int] = []              # slots of devices gone, to reuse
        self._cells: list[CellKey] = []         # cell index -> cell key
        self._cell_ids: dict[CellKey, int] = {}
        self._key = array("Q")                  # slot -> pseudonym
        self._used = array("b")                 # slot holds a device
        self._cell = array("i")                 # current cell index, NONE when off
        self._since = array("d")                # on-time accounted up to this time
        self._last = array("d")                 # time of the last location-bearing event
        self._acc_bin = array("q")              # the bin of the one (bin, cell) held, or NONE
        self._acc_cell = array("i")
        self._acc_secs = array("d")
        self._mcc = array("H")                  # home MCC as a number (0: not known)
        self._flags = array("B")                # facts ORed in by observe (edge analytics)
        self._hold = array("f")                 # seconds on after the last location event
        self._overflow: dict[int, dict[int, dict[int, float]]] = {}  # slot -> bin -> cell -> s
        self._open_from: int | None = None      # start of the oldest bin not yet closed
        self._watermark = float("-inf")
        self._quiet_until = float("-inf")       # no device is on at or after this time
        # old pseudonym -> new, for devices carried over to a new key epoch (collector.keyring)
        # while a correlation table may still name them by the old one; emptied when the
        # overlap ends
        self.moved: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._slot)

    def mark(self, device: int, flags: int) -> None:
        """OR `flags` into the flag byte of a device already tracked (an event without a
        location: nothing else about the device changes)."""
        slot = self._slot.get(device)
        if slot is not None:
            self._flags[slot] |= flags

    def carry(self, old: int, new: int) -> None:
        """The device known as `old` is `new` under the new key epoch: its slot (and so
        every column indexed by it) is renamed; later events naming `old` go to `new`."""
        slot = self._slot.get(old)
        if slot is None or new in self._slot:
            return
        del self._slot[old]
        self._slot[new] = slot
        self._key[slot] = new
        self.moved[old] = new

    def observe(self, device: int, t: float, cell: CellKey | None, mcc: int = 0,
                flags: int = 0) -> bool:
        """Record that `device` is in `cell` at time `t` (cell None: it left the network);
        `mcc`, when not 0, is the home MCC of its subscription (kept for its segment);
        `flags` are ORed into the slot's flag byte.

        Returns False (and counts `late`) when the event is older than what is accounted.
        """
        if self._open_from is None or (t >= self._open_from + self.bin and (
                not self._slot or (self.retain is not None
                                   and self._quiet_until <= self._open_from))):
            # nothing is pending (no device on; with `retain`, dormant devices may be
            # held): skip the empty bins of a gap at once
            self._open_from = max(self._open_from or 0, int(t // self.bin) * self.bin)
        slot = self._slot.get(device)
        if slot is None and self.moved:
            device = self.moved.get(device, device)
            slot = self._slot.get(device)
        if slot is None:
            if t < self._open_from:
                self.late += 1
                return False
            slot = self._new(device, t)
        elif t < self._since[slot] or t < self._open_from:  # (a bin skipped as empty)
            self.late += 1
            return False
        else:
            self._account(slot, t)
        if mcc:
            self._mcc[slot] = mcc
        if flags:
            self._flags[slot] |= flags
        if cell is None:
            self._cell[slot] = NONE
        else:
            cid = self._cell_ids.get(cell)
            if cid is None:
                cid = self._cell_ids[cell] = len(self._cells)
                self._cells.append(cell)
            self._cell[slot] = cid
            self._last[slot] = t
            hold = self._hold[slot] = self.timeout if self.hold is None else self.hold(t)
            if t + hold > self._quiet_until:
                self._quiet_until = t + hold
        self._since[slot] = t
        if t > self._watermark:
            self._watermark = t
        return True

    def _new(self, device: int, t: float) -> int:
        if self._free:
            slot = self._free.pop()
            self._key[slot], self._used[slot] = device, 1
            self._cell[slot], self._since[slot], self._last[slot] = NONE, t, t
            self._acc_bin[slot], self._acc_cell[slot], self._acc_secs[slot] = NONE, NONE, 0.0
            self._mcc[slot], self._flags[slot], self._hold[slot] = 0, 0, self.timeout
        else:
            slot = len(self._key)
            for arr, value in ((self._key, device), (self._used, 1), (self._cell, NONE),
                               (self._since, t), (self._last, t), (self._acc_bin, NONE),
                               (self._acc_cell, NONE), (self._acc_secs, 0.0), (self._mcc, 0),
                               (self._flags, 0), (self._hold, self.timeout)):
                arr.append(value)
        self._slot[device] = slot
        self.created += 1
        return slot

    def _account(self, slot: int, until: float) -> None:
        """Add the on-time [since, until) in the slot's cell to its per-bin on-time."""
        cid = self._cell[slot]
        t = self._since[slot]
        end = min(until, self._last[slot] + self._hold[slot])
        if cid == NONE or end <= t:
            return
        size = self.bin
        while t < end:
            start = int(t // size) * size
            stop = min(end, start + size)
            self._add(slot, start, cid, stop - t)
            t = stop

    def _add(self, slot: int, start: int, cid: int, seconds: float) -> None:
        held = self._overflow.get(slot)
        if held is None:
            acc_bin = self._acc_bin[slot]
            if acc_bin == NONE:
                self._acc_bin[slot], self._acc_cell[slot], self._acc_secs[slot] = \
                    start, cid, seconds
                return
            if acc_bin == start and self._acc_cell[slot] == cid:
                self._acc_secs[slot] += seconds
                return
            held = self._overflow[slot] = {acc_bin: {self._acc_cell[slot]: self._acc_secs[slot]}}
            self._acc_bin[slot] = NONE
        cells = held.setdefault(start, {})
        cells[cid] = cells.get(cid, 0.0) + seconds

    def advance(self, now: float) -> list[tuple[int, dict[CellKey, int]]]:
        """Close every bin whose end + lateness is at or before `now`."""
        if now > self._watermark:
            self._watermark = now
        start = self._open_from  # most calls close nothing: answer those at once
        if start is None or start + self.bin + self.lateness > now:
            return []
        out = []
        self._skip_quiet(now - self.lateness)
        while self._open_from is not None and self._open_from + self.bin + self.lateness <= now:
            start = self._open_from  # (read before _close moves it on: compiled, a tuple's
            out.append((start, self._close(start)))  # items may be read in any order)
            self._skip_quiet(now - self.lateness)
        return out

    def _skip_quiet(self, until: float) -> None:
        """With hooks (edge analytics; dormant devices held, so the state is seldom empty):
        when no device is on from the oldest open bin, the bins before the one of `until`
        are empty; skip them at once rather than closing them one by one (a gap between
        captures of different years is hundreds of thousands of bins)."""
        if (self.retain is not None and self._open_from is not None and not self._overflow
                and (not self._slot or self._quiet_until <= self._open_from)):
            self._open_from = max(self._open_from, int(until // self.bin) * self.bin - self.bin)

    def flush(self) -> list[tuple[int, dict[CellKey, int]]]:
        """Close all bins up to the one holding the latest event (end of input)."""
        out = []
        self._skip_quiet(self._watermark)
        while self._open_from is not None and self._open_from <= self._watermark:
            start = self._open_from
            out.append((start, self._close(start)))
            self._skip_quiet(self._watermark)
        return out

    def _close(self, start: int) -> dict[CellKey, int]:
        end = start + self.bin
        self._open_from = end
        n = len(self._key)
        if not self._slot:
            if self.on_close is not None:
                empty = np.zeros(0, dtype=np.int64)
                self.on_close(start, self._cells, empty, empty.astype(np.uint64),
                              empty.astype(np.uint16), empty)
            return {}
        winners = np.full(n, NONE, dtype=np.int64)
        odd = np.zeros(n, dtype=bool)
        for slot in self._overflow:
            odd[slot] = True
        with _views(self) as v:  # the slots holding at most one (bin, cell): vectorised
            used = (v.used == 1) & ~odd
            tail_end = np.minimum(end, v.last + v.hold)
            tail = np.where(used & (v.since < end) & (v.cell != NONE), tail_end - v.since, 0.0)
            has_tail = tail > 0
            held = used & (v.acc_bin == start)
            other = held & has_tail & (v.acc_cell != v.cell)
            winners[has_tail] = v.cell[has_tail]
            winners[held] = v.acc_cell[held]
            wins_tail = other & (tail > v.acc_secs)  # a tie goes to the cell entered first
            winners[wins_tail] = v.cell[wins_tail]
            v.acc_bin[held] = NONE
            v.since[used & (v.since < end)] = end
            gone = used & (v.acc_bin == NONE) & (
                (v.cell == NONE) | (v.last + v.hold <= end))
            gone_slots = np.flatnonzero(gone).tolist()
        for slot in list(self._overflow):  # the others, one by one
            if self._since[slot] < end:
                self._account(slot, end)
                self._since[slot] = end
            cells = self._overflow[slot].pop(start, None)
            if cells:
                winners[slot] = max(cells, key=cells.__getitem__)  # first entered wins a tie
            if not self._overflow[slot]:
                del self._overflow[slot]
                if self._cell[slot] == NONE or self._last[slot] + self._hold[slot] <= end:
                    gone_slots.append(slot)
        present_slots = np.flatnonzero(winners != NONE)
        present = winners[present_slots]
        if self.on_close is not None:  # before the slots of devices gone are freed
            self.on_close(start, self._cells, present,
                          np.frombuffer(self._key, dtype=np.uint64)[present_slots],
                          np.frombuffer(self._mcc, dtype=np.uint16)[present_slots],
                          present_slots)
        if self.retain is not None and gone_slots:
            gone_slots = self.retain(np.asarray(gone_slots, dtype=np.int64), end).tolist()
        for slot in gone_slots:
            del self._slot[self._key[slot]]
            self._used[slot] = 0
            self._since[slot] = float("inf")
            self._free.append(slot)
        counts = np.bincount(present, minlength=0) if present.size else np.zeros(0, np.int64)
        return {self._cells[c]: int(k) for c, k in enumerate(counts.tolist()) if k}

    # -- snapshot (collector.snapshot) ---------------------------------------------

    _ARRAYS = ("_key", "_used", "_cell", "_since", "_last", "_acc_bin", "_acc_cell",
               "_acc_secs", "_mcc", "_flags", "_hold")
    _SCALARS = ("late", "created", "_free", "_cells", "_overflow", "_open_from", "_watermark",
                "_quiet_until")

    def state(self) -> dict:
        """Everything needed to go on after a restart (the hooks and parameters aside)."""
        out = {name: getattr(self, name) for name in self._ARRAYS + self._SCALARS}
        out["_cells"] = list(self._cells)
        out["moved"] = [[old, new] for old, new in self.moved.items()]  # (key epochs)
        return out

    def restore(self, state: dict) -> None:
        """Take back a `state()` (the pseudonym and cell indexes are rebuilt)."""
        for name in self._ARRAYS:
            arr = array(getattr(self, name).typecode)
            arr.frombytes(state[name].tobytes())
            setattr(self, name, arr)
        for name in self._SCALARS:
            setattr(self, name, state[name])
        self._free = list(state["_free"])
        self._cells = [tuple(c) for c in state["_cells"]]
        self._cell_ids = {c: i for i, c in enumerate(self._cells)}
        self.moved = {old: new for old, new in state.get("moved", ())}
        self._slot = {self._key[i]: i for i in np.flatnonzero(
            np.frombuffer(self._used, dtype=np.int8) == 1).tolist()}


class NightHold:
    """The hold time of a location event at time t: `night` seconds when t is in the
    night window (local hours `start` to `end`, as home detection's), else `day`.

    Cached per 15-minute UTC slot: UTC offsets are whole quarter hours, so a slot is all
    night or all day."""

    __slots__ = ("day", "night", "start", "end", "offset", "_cache")

    def __init__(self, day: float, night: float, start: int, end: int, offset) -> None:
        self.day, self.night, self.start, self.end = day, night, start, end
        self.offset = offset  # offset(t) -> local UTC offset in seconds at t
        self._cache: dict[int, float] = {}

    def __call__(self, t: float) -> float:
        slot = int(t // 900)
        value = self._cache.get(slot)
        if value is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            start = slot * 900
            tod = (start + self.offset(start)) % 86400
            s, e = self.start * 3600, self.end * 3600
            inside = (tod >= s or tod < e) if s > e else (s <= tod < e)
            value = self._cache[slot] = self.night if inside else self.day
        return value


class _views:
    """numpy views of a state's arrays for one vectorised step (no copy; released after,
    so the arrays may grow again)."""

    def __init__(self, state: PresenceState) -> None:
        self._state = state

    def __enter__(self) -> _views:
        s = self._state
        self.used = np.frombuffer(s._used, dtype=np.int8)
        self.cell = np.frombuffer(s._cell, dtype=np.int32)
        self.since = np.frombuffer(s._since, dtype=np.float64)
        self.last = np.frombuffer(s._last, dtype=np.float64)
        self.acc_bin = np.frombuffer(s._acc_bin, dtype=np.int64)
        self.acc_cell = np.frombuffer(s._acc_cell, dtype=np.int32)
        self.acc_secs = np.frombuffer(s._acc_secs, dtype=np.float64)
        self.hold = np.frombuffer(s._hold, dtype=np.float32)
        return self

    def __exit__(self, *_exc) -> None:
        for name in ("used", "cell", "since", "last", "acc_bin", "acc_cell", "acc_secs", "hold"):
            setattr(self, name, None)
