"""Each phone's network-visible steps: when the network learns the cell it is in.

An idle phone reselects cells silently within its tracking area (TS 36.304 §5.2.4, TS
38.304 §5.2.4): the network learns the cell it camps on only from its next procedure (a
Service Request, a paging response, a periodic or new-TA TAU or registration, a detach).
What an operator can know of its subscribers' phones, and so what the truth's operator
sections (`cell_presence`, `zone_devices`) count, follows these steps, not the phones' true
positions.

`Core` records a step at every location-bearing message (the S1AP / NGAP messages that
carry the UE's TAI and cell: Initial UE Message, Uplink NAS Transport, Location Report,
Path Switch Request) whose cell differs from the last one the network saw, at that
message's microsecond; and a step to None (off) at a UE-originated Detach or
Deregistration Request (switch-off), which the collector reads as the device leaving,
whatever cell it names.  The messages that follow within a procedure (GTPv2-C Modify
Bearer with a ULI, the NGAP release after a switch-off) never name another cell first.

Columns (16 bytes a step, no Python object per step): the UE's index in its run, the time
in µs and the cell's index in `Scenario.cells` (-1: off).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

import numpy as np

from simulator.scenario import CellSpec, Scenario

OFF = -1

Steps = list[tuple[int, "CellSpec | None"]]  # one phone's (µs, cell or None), in time order


class VisibleSteps:
    """The steps of one run (or, merged, of every shard of a split run)."""

    __slots__ = ("ue", "t_us", "cell")

    def __init__(self) -> None:
        self.ue, self.t_us, self.cell = array("i"), array("q"), array("i")

    def __len__(self) -> int:
        return len(self.ue)

    def add(self, ue: int, t_us: int, cell: int) -> None:
        """UE `ue` is seen in cell index `cell` (OFF: it switched off) from `t_us`."""
        self.ue.append(ue)
        self.t_us.append(t_us)
        self.cell.append(cell)

    def columns(self) -> tuple[bytes, bytes, bytes]:
        """The three columns as bytes (what a shard sends its parent)."""
        return self.ue.tobytes(), self.t_us.tobytes(), self.cell.tobytes()

    def extend(self, columns: tuple[bytes, bytes, bytes], k: int = 0, stride: int = 1) -> None:
        """Add a shard's `columns`, its UE i being phone k + i * stride of the whole run
        (`split`: phone i goes to shard i mod N)."""
        ue = np.frombuffer(columns[0], dtype=np.int32) * np.int32(stride) + np.int32(k)
        self.ue.frombytes(ue.astype(np.int32).tobytes())
        self.t_us.frombytes(columns[1])
        self.cell.frombytes(columns[2])

    def per_phone(self, scn: Scenario, phones: int) -> Iterator[Steps]:
        """Each phone's steps in time order (maybe none), phone 0 first, one list at a time:
        a whole run's as Python tuples would take about 100 bytes a step."""
        ue = np.frombuffer(self.ue, dtype=np.int32)
        t = np.frombuffer(self.t_us, dtype=np.int64)
        order = np.lexsort((t, ue))  # by phone, then time (stable)
        ue, t = ue[order], t[order]
        cell = np.frombuffer(self.cell, dtype=np.int32)[order]
        bounds = np.searchsorted(ue, np.arange(phones + 1)).tolist()
        cells = (*scn.cells, None)  # index -1 (OFF): None
        for lo, hi in zip(bounds, bounds[1:], strict=False):
            yield list(zip(t[lo:hi].tolist(), [cells[c] for c in cell[lo:hi].tolist()],
                           strict=True))
