"""Decoding spread over processes: `collector replay --workers N`.

The N-1 child processes read every capture but frame and decode only the frames of
their shard — the frames whose unordered (source, destination) IP address pair hashes
to it (`collector.order.shard_of`), so an SCTP association, a TCP stream and the
fragments of a datagram stay in one worker.  A worker runs the expensive, pure half of
decoding (`DecodeStage.facts`: framing, APER/TLV walk, NAS, pseudonymisation) and sends
the facts of its messages in batches to the parent.  The parent decodes nothing: it
merges the workers' streams back into the order a single process reads them
(`collector.order`) and applies the stateful half — correlation
(`DecodeStage.attribute`), presence state, tallies — in that order, so the counts are
those of one worker, exactly.  (Measured: that ordered half and the merge are about
half of the parent's former load, so a parent that also decoded a share was the
bottleneck and two processes ran no faster than one.)

Facts hold pseudonyms, never identity digits (each decoder drops them in `facts`):
what crosses the process boundary is what the parent may hold.

Key epochs (`--key-dir`): each worker pseudonymises with its own copy of the key ring
(`KeyRing.for_worker`), advanced by the capture times of its messages as one process
advances it.  A record carries the worker ring's phase and the (old, new) pairs that
reading the message carried; the parent advances the real ring (which destroys key files
and clears the carried names when an overlap ends) by the merged order's times and
applies the pairs at the record's place, before attributing it — as one process does.
Both rings follow the latest capture time each has seen; they can disagree only where
capture times step back across a key change, and the parent counts such records
(`EdgePipeline.key_skew`, warned about at the end).
"""

from __future__ import annotations

import gc
import heapq
import logging
import multiprocessing
import pickle
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter

from collector.app import EdgeConfig, EdgePipeline, ReplaySummary, ship_into
from collector.decode.stage import DecodeStage
from collector.keyring import KeyRing
from collector.order import Shard, keyed_messages, shards
from collector.resume import ResumableReplay
from collector.telemetry import Counters
from wire.pseudonym import Pseudonymizer

log = logging.getLogger("collector")
BATCH = 2048       # messages per inter-process batch
QUEUE_DEPTH = 64   # batches a worker may run ahead of the parent


class WorkerEnd:
    """The last item a worker sends: its counters, or the error that stopped it."""

    __slots__ = ("counters", "fallbacks", "error")

    def __init__(self, counters: Counters | None, fallbacks: dict | None = None,
                 error: str | None = None) -> None:
        self.counters, self.fallbacks, self.error = counters, fallbacks or {}, error


class WorkerFailed(RuntimeError):
    """A worker process stopped with an error (the replay cannot be complete)."""


class RingTap:
    """A worker's own key ring around `facts`: `advance(t)` before a message of time t (as
    one process advances its ring), `keys()` after it: the record's (ring phase, the
    (old, new) pairs carried while reading it, or None)."""

    __slots__ = ("ring", "_carried")

    def __init__(self, ring: KeyRing) -> None:
        self.ring, self._carried = ring, []
        ring.carry = lambda old, new: self._carried.append((old, new))

    def advance(self, t: float) -> None:
        if t >= self.ring.next_change:
            self.ring.advance(t)

    def keys(self) -> tuple:
        carried = self._carried
        out = (self.ring.phase, tuple(carried) if carried else None)
        carried.clear()
        return out


def _records(stage: DecodeStage, messages: Iterator[tuple], tap: RingTap | None = None
             ) -> Iterator[tuple]:
    """`(key, time, frame, proto, assoc, receiver, facts, keys)` of keyed messages (proto
    None: dropped by `facts`, its reason counted; the ordered half still sees its time);
    `keys`: `tap.keys()` with a key ring, else None."""
    keys = None
    for key, ts, frame, msg in messages:
        if tap is not None:
            tap.advance(ts)
        read = stage.facts(msg)
        if tap is not None:
            keys = tap.keys()
        if read is None:
            yield key, ts, frame, None, None, None, None, keys
        else:
            yield key, ts, frame, msg.proto, msg.assoc, msg.dst, read, keys


def worker_stage(pseudonymizer: Pseudonymizer, counters: Counters
                 ) -> tuple[DecodeStage, RingTap | None]:
    """A worker's decode stage and the tap of its own key ring (None with one key)."""
    if not isinstance(pseudonymizer, KeyRing):
        return DecodeStage(pseudonymizer, counters), None
    ring = pseudonymizer.for_worker()
    return DecodeStage(ring, counters), RingTap(ring)


def _work(paths: list[str], shard: Shard, pseudonymizer: Pseudonymizer,
          out: multiprocessing.Queue, deaf: bool = False) -> None:
    """A worker's life: facts of the shard's messages, in batches, then its counters.
    `deaf`: ignore SIGTERM/SIGINT (the parent stops at a message boundary and kills us)."""
    if deaf:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
    counters = Counters()
    try:
        stage, tap = worker_stage(pseudonymizer, counters)
        batch: list[tuple] = []
        for rec in _records(stage, keyed_messages(paths, counters, shard), tap):
            batch.append(rec)
            if len(batch) >= BATCH:
                out.put(_pack(batch))
                batch = []
        if batch:
            out.put(_pack(batch))
        out.put(WorkerEnd(counters, stage.fallbacks()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        out.put(WorkerEnd(None, error=type(exc).__name__))  # the type only: never a value


def _pack(batch: list[tuple]) -> bytes:
    """A batch of records as bytes.  S1AP facts (`S1APRead`, a named tuple that
    `S1APDecoder.attribute` reads by position only) cross as plain tuples: a named tuple is
    rebuilt by a Python call per record (measured on the bench capture: dumps 1.13 -> 0.55 s,
    loads 0.51 -> 0.31 s, the conversion 0.15 s)."""
    plain = [r[:6] + (tuple(r[6]),) + r[7:] if r[3] == "s1ap" else r for r in batch]
    with _no_gc():
        return pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL)


def _drain(queue: multiprocessing.Queue, ends: list[WorkerEnd]) -> Iterator[tuple]:
    while True:
        item = queue.get()
        if isinstance(item, WorkerEnd):
            ends.append(item)
            return
        with _no_gc():
            batch = pickle.loads(item)
        yield from batch


@contextmanager
def _no_gc() -> Iterator[None]:
    """Without the cyclic GC: a batch is thousands of small tuples at once, and the
    collections they would trigger cost more than the (un)pickling itself (measured: 3×)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def plan(workers: int) -> list[Shard]:
    """The bucket ranges of the `workers` - 1 children (the parent decodes none)."""
    return shards([1.0] * (workers - 1))


def replay_parallel(paths: list[str], cfg: EdgeConfig, pseudonymizer: Pseudonymizer,
                    workers: int, sender=None, state=None) -> ReplaySummary:
    """`replay` with decoding spread over `workers` processes (this one included); same
    summary and tallies as one process.  With `state` (a StateDir) as `replay`: the
    position is the same index in the same merged order, so a snapshot of one process
    goes on with N and the other way round; the workers then ignore SIGTERM/SIGINT and
    the parent stops them once it has stopped at a message boundary."""
    if workers < 2:
        raise ValueError("replay_parallel needs 2 workers or more")
    counters = Counters()
    pipe = EdgePipeline(cfg, pseudonymizer, counters)
    # restored before the children fork: a key ring goes to them at the snapshot's time
    resumable = None if state is None else ResumableReplay(state, pipe, paths)
    summary = ReplaySummary(counters)
    ship = ship_into(summary, sender)
    theirs = plan(workers)
    ctx = multiprocessing.get_context("fork")  # the children inherit the loaded decoders
    queues = [ctx.Queue(maxsize=QUEUE_DEPTH) for _ in theirs]
    procs = [ctx.Process(target=_work, args=(paths, shard, pseudonymizer, q, state is not None),
                         name=f"collector-worker-{i + 1}", daemon=True)
             for i, (shard, q) in enumerate(zip(theirs, queues, strict=True))]
    for p in procs:
        p.start()
    ends: list[WorkerEnd] = []
    try:
        streams = [_drain(q, ends) for q in queues]
        merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=itemgetter(0))
        feed = pipe.feed_facts
        if resumable is None:
            for _key, ts, frame, proto, assoc, dst, read, keys in merged:
                ship(feed(frame, ts, proto, assoc, dst, read, keys))
        else:
            summary.stopped = resumable.run(((r[1], (r[2], r[1], *r[3:])) for r in merged),
                                            feed, ship)
    finally:
        for p in procs:
            if p.is_alive() and (len(ends) < len(procs) or summary.stopped):
                p.kill()
            p.join()
    if summary.stopped:
        pipe.summarise(summary)
        return summary
    failed = [e.error for e in ends if e.error is not None]
    if failed or len(ends) < len(procs):
        raise WorkerFailed(f"{len(failed) or len(procs) - len(ends)} worker(s) failed: "
                           f"{', '.join(failed) or 'exited without a result'}")
    ship(pipe.finish())
    if resumable is not None:
        resumable.finished()
    for end in ends:
        counters.merge(end.counters)
        summary.add_fallbacks(end.fallbacks)
    pipe.summarise(summary)
    summary.add_fallbacks(pipe.decode.fallbacks())
    warn_key_skew(pipe)
    return summary


def warn_key_skew(pipe: EdgePipeline) -> None:
    """Say so when workers pseudonymised messages in another key phase than the order
    gives (counts may then differ from one process's)."""
    if pipe.key_skew:
        log.warning("capture times step back across a key change: messages=%d were "
                    "pseudonymised by a worker under another key phase than one process "
                    "would use", pipe.key_skew)
