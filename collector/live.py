"""`collector live`: the edge pipeline on a network interface, until stopped.

Frames come from an AF_PACKET socket (`collector.sources.live`) with their kernel
timestamps and go through the same framing, decoding, presence and tallies as a
replay.  On a quiet link, bins are closed by the wall clock (`tick`).  SIGTERM or
SIGINT (or `--duration`) ends the run cleanly: reassembly is flushed, every open
bin is closed and shipped, and the sender drains its acknowledgements.
"""

from __future__ import annotations

import logging
import signal
import time

from collector.app import EdgeConfig, EdgePipeline, ReplaySummary, ship_into
from collector.framing.messages import Framer
from collector.sources.live import LiveCapture
from collector.telemetry import Counters
from wire.pseudonym import Pseudonymizer

log = logging.getLogger("collector")
POLL_SECONDS = 0.5
DRAIN_SECONDS = 2.0  # at a stop, what the socket holds is read for at most this long


class Drain:
    """A stop of a live capture: what the socket already holds is read first (a busy
    link: for at most DRAIN_SECONDS), then the run ends; frames captured before the stop
    are not left unread."""

    __slots__ = ("until",)

    def __init__(self) -> None:
        self.until: float | None = None

    def stopping(self, requested: bool) -> bool:
        """Whether the run is stopping (`requested` now, or earlier): poll without waiting."""
        if requested and self.until is None:
            self.until = time.monotonic() + DRAIN_SECONDS
        return self.until is not None

    def over(self, emptied: bool) -> bool:
        """Whether to end now: stopping, and the last poll read the socket empty
        (`emptied`) or the drain time is up."""
        return self.until is not None and (emptied or time.monotonic() >= self.until)


class StopSignals:
    """Set by SIGTERM/SIGINT; the loop ends at its next turn."""

    def __init__(self) -> None:
        self.requested = False
        self._old = {}

    def __enter__(self) -> StopSignals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._old[sig] = signal.signal(sig, self._set)
        return self

    def _set(self, signum, _frame) -> None:
        log.info("stopping on %s", signal.Signals(signum).name)
        self.requested = True

    def __exit__(self, *_exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def run_live(interface: str, cfg: EdgeConfig, pseudonymizer: Pseudonymizer, sender=None,
             duration: float | None = None, ready=None, state=None,
             buffer_bytes: int = 32 << 20, metrics=None) -> ReplaySummary:
    """Capture on `interface` until stopped (or `duration` seconds); the run's summary.
    `metrics` (collector.metrics.CollectorMetrics) reads the run's counts at each scrape.

    With `state` (collector.snapshot.StateDir): restore the snapshot at start, snapshot
    every `interval` seconds of wall time, and on a stop snapshot instead of closing the
    open bins (the next run goes on with them)."""
    counters = Counters()
    pipe = EdgePipeline(cfg, pseudonymizer, counters)
    where = {"kind": "live", "interface": interface}
    if state is not None and state.restore(pipe, "live") is not None:
        log.info("state restored state=%s", state.path)
    summary = ReplaySummary(counters)
    if metrics is not None:
        metrics.watch(summary, pipe)
    ship = ship_into(summary, sender)
    framer = Framer(counters)
    capture = LiveCapture(interface, buffer_bytes=buffer_bytes)
    deadline = None if duration is None else time.monotonic() + duration
    log.info("capturing interface=%s", interface)
    if ready is not None:
        ready()
    try:
        with StopSignals() as stop:
            drain = Drain()
            while True:
                stopping = drain.stopping(stop.requested or (deadline is not None
                                                             and time.monotonic() >= deadline))
                read = 0
                for frame_no, ts, linktype, data in capture.poll(0 if stopping else POLL_SECONDS):
                    read += 1
                    counters.frames += 1
                    for msg in framer(linktype, data, ts):
                        ship(pipe.feed(frame_no, ts, msg))
                if drain.over(emptied=not read):
                    break
                ship(pipe.tick(time.time()))
                count_kernel_drops(capture, counters)
                if state is not None and state.due(time.monotonic()):
                    state.save(pipe, where, time.monotonic())
    finally:
        count_kernel_drops(capture, counters)
        capture.close()
    if state is not None:  # reassembly in flight is lost; the state goes on next time
        state.save(pipe, where)
        log.info("stopped, state saved state=%s", state.path)
        summary.stopped = True
        pipe.summarise(summary)
        summary.add_fallbacks(pipe.decode.fallbacks())
        return summary
    framer.flush()
    ship(pipe.finish())
    pipe.summarise(summary)
    summary.add_fallbacks(pipe.decode.fallbacks())
    return summary


def count_kernel_drops(capture: LiveCapture, counters: Counters) -> None:
    """Count (and log) the frames the kernel dropped since the last look: the collector
    was too slow for the link, or its socket buffer too small."""
    drops = capture.kernel_drops()
    if drops:
        counters.drop("capture", "kernel_drop", drops)
        log.warning("kernel dropped frames interface=%s dropped=%d total=%d",
                    capture.interface, drops, capture.dropped)
