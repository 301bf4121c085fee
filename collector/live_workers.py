"""`collector live --workers N`: capture and decoding spread over processes.

Each worker opens its own AF_PACKET socket in one fanout group: the kernel gives
each packet to one worker by a symmetric hash of its flow (both directions of an
SCTP association or a TCP stream to the same worker; IP fragments reassembled
before the hash).  A worker frames its packets and runs the pure half of decoding
(`DecodeStage.facts`), then sends the facts in batches with a *watermark*: no packet
it sends later has an earlier kernel timestamp.  The parent releases records in
timestamp order up to the lowest watermark of all workers and applies the ordered
half (correlation, presence, tallies) exactly as one process does; it closes bins
on that watermark, so a quiet worker never holds the others back for long.

Stop: SIGTERM/SIGINT to the parent (systemd sends SIGTERM to every process of the
unit; workers stop on it too): workers flush and send what they hold, the parent
releases everything and closes every bin.

Key epochs (`--key-dir`) as in `collector.workers`: each worker's own ring follows its
packets' times, its records carry the ring's phase and the pairs carried; the parent's
ring keeps the time of the released order and applies the pairs there.
"""

from __future__ import annotations

import heapq
import logging
import multiprocessing
import os
import queue
import signal
import time

from collector.app import EdgeConfig, EdgePipeline, ReplaySummary, ship_into
from collector.framing.messages import Framer
from collector.live import POLL_SECONDS, Drain, StopSignals, count_kernel_drops
from collector.sources.live import LiveCapture, LiveError
from collector.telemetry import Counters
from collector.workers import WorkerEnd, WorkerFailed, warn_key_skew, worker_stage
from wire.pseudonym import Pseudonymizer

log = logging.getLogger("collector")
BATCH = 512
IN_FLIGHT = 0.05  # seconds a packet may take from its kernel timestamp to the socket
COUNTS_SECONDS = 5.0  # with metrics: how often a worker reports its counters to the parent


class _WorkerStop:
    requested = False


class WorkerCounts:
    """A worker's counters so far (frames, framing drops), sent every COUNTS_SECONDS when
    metrics are served: the parent adds the latest of each worker to its own until the
    workers' final counters are merged at the end."""

    __slots__ = ("index", "counters")

    def __init__(self, index: int, counters: Counters) -> None:
        self.index, self.counters = index, counters


def _work(index: int, interface: str, group: int, pseudonymizer: Pseudonymizer,
          out: multiprocessing.Queue, ready: multiprocessing.Queue,
          buffer_bytes: int = 32 << 20, counts_every: float | None = None) -> None:
    stop = _WorkerStop()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; SIGTERM ends us
    signal.signal(signal.SIGTERM, lambda *_: setattr(stop, "requested", True))
    counters = Counters()
    try:
        capture = LiveCapture(interface, buffer_bytes=buffer_bytes, fanout=group)
    except LiveError as e:
        ready.put(str(e))
        return
    except Exception as e:  # noqa: BLE001 - the parent reports it and stops
        ready.put(f"{interface}: cannot join the capture group ({type(e).__name__})")
        return
    ready.put(None)
    try:
        (stage, tap), framer = worker_stage(pseudonymizer, counters), Framer(counters)
        keys = None  # with key epochs: as collector.workers, phase and pairs per record
        seq, last = 0, float("-inf")
        report_at = time.monotonic() if counts_every else float("inf")
        drain = Drain()
        while True:
            draining = drain.stopping(stop.requested)
            batch = []
            for _n, ts, linktype, data in capture.poll(0 if draining else POLL_SECONDS):
                counters.frames += 1
                last = ts if ts > last else last
                for msg in framer(linktype, data, ts):
                    if tap is not None:
                        tap.advance(ts)
                    read = stage.facts(msg)
                    if tap is not None:
                        keys = tap.keys()
                    seq += 1
                    batch.append((ts, index, seq, msg.proto if read is not None else None,
                                  msg.assoc, msg.dst, read, keys))
                if len(batch) >= BATCH:
                    break
            count_kernel_drops(capture, counters)
            drained = not batch  # an empty poll: the socket was empty just now
            mark = max(last, time.time() - IN_FLIGHT) if drained else last
            out.put((index, batch, mark))
            if time.monotonic() >= report_at:
                out.put(WorkerCounts(index, counters.copy()))
                report_at = time.monotonic() + counts_every
            if drain.over(emptied=len(batch) < BATCH):  # a poll short of BATCH emptied it
                break
        count_kernel_drops(capture, counters)
        capture.close()
        framer.flush()
        out.put((index, [], float("inf")))
        out.put(WorkerEnd(counters, stage.fallbacks()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        out.put(WorkerEnd(None, error=type(exc).__name__))


def run_live_parallel(interface: str, cfg: EdgeConfig, pseudonymizer: Pseudonymizer,
                      workers: int, sender=None, duration: float | None = None,
                      buffer_bytes: int = 32 << 20, metrics=None, state=None) -> ReplaySummary:
    """`run_live` with capture and decoding over `workers` processes; `metrics` as in
    `run_live`, the workers' counters reported every COUNTS_SECONDS added.

    `state` as in `run_live`: the state is the parent's (correlation, presence, analytics,
    the key ring); it is restored before the workers are forked (their key rings start
    from the restored one), saved every `interval` seconds between released records, and
    on a stop saved once the workers have sent and the parent released everything (the
    open bins go on next time)."""
    counters = Counters()
    pipe = EdgePipeline(cfg, pseudonymizer, counters)
    where = {"kind": "live", "interface": interface}
    if state is not None and state.restore(pipe, "live") is not None:
        log.info("state restored state=%s", state.path)
    ctx = multiprocessing.get_context("fork")
    out, ready = ctx.Queue(maxsize=256), ctx.Queue()
    group = os.getpid() & 0xFFFF
    every = COUNTS_SECONDS if metrics is not None else None
    procs = [ctx.Process(target=_work, args=(i, interface, group, pseudonymizer, out, ready,
                                             buffer_bytes, every),
                         name=f"collector-live-{i}", daemon=True) for i in range(workers)]
    for p in procs:
        p.start()
    errors = [e for e in (ready.get(timeout=30) for _ in procs) if e]
    if errors:
        for p in procs:
            p.terminate()
        raise LiveError(errors[0])
    summary = ReplaySummary(counters)
    reported: dict[int, Counters] = {}  # worker index -> its latest WorkerCounts
    if metrics is not None:
        metrics.watch(summary, pipe, reported)
    ship = ship_into(summary, sender)
    marks = [float("-inf")] * workers
    pending: list[tuple] = []
    ends: list[WorkerEnd] = []
    deadline = None if duration is None else time.monotonic() + duration
    log.info("capturing interface=%s workers=%d", interface, workers)

    def release(upto: float) -> None:
        while pending and pending[0][0] <= upto:
            ts, _i, _seq, proto, assoc, dst, read, keys = heapq.heappop(pending)
            ship(pipe.feed_facts(0, ts, proto, assoc, dst, read, keys))
        if upto != float("inf"):
            ship(pipe.tick(upto))

    stopping = False
    with StopSignals() as stop:
        while len(ends) < workers:
            if not stopping and (stop.requested or (deadline and time.monotonic() >= deadline)):
                stopping = True
                for p in procs:
                    if p.pid is not None:
                        os.kill(p.pid, signal.SIGTERM)
            try:
                item = out.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if stopping and not any(p.is_alive() for p in procs):
                    break
                continue
            if isinstance(item, WorkerEnd):
                ends.append(item)
                continue
            if isinstance(item, WorkerCounts):
                reported[item.index] = item.counters
                continue
            index, batch, mark = item
            for rec in batch:
                heapq.heappush(pending, rec)
            marks[index] = max(marks[index], mark)
            release(min(marks))
            if state is not None and state.due(time.monotonic()):
                state.save(pipe, where, time.monotonic())
    for p in procs:
        p.join(timeout=10)
    release(float("inf"))
    failed = [e.error for e in ends if e.error is not None]
    if failed or len(ends) < workers:
        raise WorkerFailed(f"{len(failed) or workers - len(ends)} worker(s) failed: "
                           f"{', '.join(failed) or 'exited without a result'}")
    if state is not None:  # as run_live: reassembly in flight is lost, the state goes on
        state.save(pipe, where)
        log.info("stopped, state saved state=%s", state.path)
        summary.stopped = True
    else:
        ship(pipe.finish())
    reported.clear()  # the final counters replace the reports
    for end in ends:
        counters.merge(end.counters)
        summary.add_fallbacks(end.fallbacks)
    pipe.summarise(summary)
    warn_key_skew(pipe)
    return summary
