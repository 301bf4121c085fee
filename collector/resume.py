"""A replay under `--state-dir`: restore, skip what the snapshot accounted, snapshot
every `interval` seconds of capture time, stop cleanly on SIGTERM/SIGINT.

The position of a replay is the index of the next message in the merged message
stream (collector.order: one total order, the same for one process and for
`--workers N`, so a snapshot of either goes on in either) with the identity of the
captures (real paths and sizes).  A restarted replay reads and frames the captures from
the start (reassembly needs it) but does not decode or attribute the messages before
the position.  On a stop the current message is finished, the snapshot written and the
open bins left open: the next run closes them as an uninterrupted run would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from collector.live import StopSignals
from collector.snapshot import StateDir, captures_identity

log = logging.getLogger("collector")


class ResumableReplay:
    """Drives a pipeline over a message stream with snapshots in a StateDir."""

    __slots__ = ("state", "pipe", "where", "skip", "index", "stopped")

    def __init__(self, state: StateDir, pipe, paths: list[str]) -> None:
        self.state, self.pipe = state, pipe
        self.where = {"kind": "replay", "captures": captures_identity(paths)}
        position = state.restore(pipe, "replay", self.where["captures"]) or {}
        self.skip = self.index = position.get("index", 0)
        self.stopped = False
        if self.skip:
            log.info("state restored, skipping messages=%d epoch=%d state=%s", self.skip,
                     pipe.tally.epoch, state.path)

    def run(self, stream: Iterable[tuple[float, tuple]], feed: Callable, ship: Callable) -> bool:
        """Feed `stream` ((time, arguments of `feed`) per message, in replay order) from the
        position on; True when stopped by a signal (the snapshot is then written)."""
        state, skip = self.state, self.skip
        with StopSignals() as stop:
            for i, (ts, args) in enumerate(stream, 1):
                if i <= skip:
                    continue
                batches = feed(*args)
                if batches:
                    ship(batches)
                self.index = i
                if stop.requested:
                    break
                if state.due(ts):
                    state.save(self.pipe, {**self.where, "index": i}, ts)
            self.stopped = stop.requested
        if self.stopped:
            state.save(self.pipe, {**self.where, "index": self.index})
            log.info("stopped, state saved messages=%d state=%s", self.index, state.path)
        return self.stopped

    def finished(self) -> None:
        """The input was replayed to its end (and the pipeline finished): a last snapshot
        that refuses to replay these captures again."""
        self.state.save(self.pipe, {**self.where, "index": self.index, "finished": True})
