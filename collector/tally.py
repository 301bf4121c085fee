"""Per-bin tallies turned into versioned batches (Telegraf's aggregator contract:
`add` / `push` / `reset`, never called concurrently).
"""

from __future__ import annotations

from wire.tally import MAX_ROWS, PresenceRow, TallyBatch


class PresenceTally:
    """Collects closed presence bins and hands them out as numbered batches."""

    __slots__ = ("collector", "epoch", "bin_seconds", "seq", "_rows")

    def __init__(self, collector: str, epoch: int, bin_seconds: int, seq: int = 0) -> None:
        self.collector, self.epoch, self.bin_seconds, self.seq = collector, epoch, bin_seconds, seq
        self._rows: list[PresenceRow] = []

    def add(self, bin_start: int, counts: dict[tuple[str, int, int], int]) -> None:
        """Add the devices per (plmn, tac, cell) of one closed bin."""
        for (plmn, tac, cell), n in sorted(counts.items()):
            self._rows.append(PresenceRow(bin_start, plmn, tac, cell, n))

    def push(self) -> list[TallyBatch]:
        """The rows added since the last push, as batches of at most MAX_ROWS rows."""
        out = []
        for i in range(0, len(self._rows), MAX_ROWS):
            out.append(TallyBatch(self.collector, self.epoch, self.seq, self.bin_seconds,
                                  tuple(self._rows[i:i + MAX_ROWS])))
            self.seq += 1
        self.reset()
        return out

    def reset(self) -> None:
        """Forget rows not pushed."""
        self._rows = []
