"""`signalling.stream` over several processes (`simulator generate --workers N`).

The phones are split into N shards (`shards`); each shard runs in a forked process (the
scenario and timelines are inherited, not pickled) and sends its messages, ten simulated
minutes at a time, as columns (one list per `Message` field: pickling a few long lists
costs a fraction of pickling millions of named tuples).  The parent merges each period's
lists by time (stable: shard order on ties), adds the Diameter watchdog over the merged
S6a traffic and yields the lists as `signalling.stream` does.  At its end each shard sends
its phones' network-visible steps (`visible`, three columns), which the parent merges
under the phones' indexes in the whole run.  The output is deterministic for a seed and a
number of workers; the truth about persons does not depend on either.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
from collections.abc import Iterator
from multiprocessing.connection import Connection

import numpy as np

from simulator.mme_peers import MMEPeers
from simulator.mobility import PhoneTimeline
from simulator.population import rng
from simulator.procedures import Message
from simulator.progress import Progress
from simulator.scenario import Scenario
from simulator.shards import Shard, parent, plan
from simulator.templates import Templates
from simulator.visible import VisibleSteps
from simulator.watchdog import Watchdog


def stream(scn: Scenario, timelines: tuple[PhoneTimeline, ...], seed: int, workers: int,
           templates: Templates | None = None, progress: Progress | None = None,
           seen: VisibleSteps | None = None) -> Iterator[list[Message]]:
    """The messages of the run split over `workers` processes, in time order, a period at
    a time (`progress` advances by simulated hour); `seen` gets the shards' visible steps
    at the end."""
    ctx = multiprocessing.get_context("fork")
    frozen = gc.get_freeze_count()
    gc.freeze()  # the children do not copy the inherited objects by collecting them
    procs, conns = [], []
    try:
        for shard in plan(workers):
            recv, send = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_shard, name=f"simulator-shard-{shard.k}", daemon=True,
                            args=(scn, timelines, seed, shard, workers, templates, send,
                                  seen is not None))
            p.start()
            send.close()
            procs.append(p)
            conns.append(recv)
        if not frozen:  # as it was (`gcmode.bulk` unfreezes at the end of a generation)
            gc.unfreeze()
        watchdog = None
        if scn.network.core_signalling:
            peers = MMEPeers(scn.network, rng(seed, "core-peers", "watchdog", workers),
                             templates, parent(workers))
            watchdog = Watchdog(peers, rng(seed, "watchdog"))
        while True:
            parts = [_receive(c, p) for c, p in zip(conns, procs, strict=True)]
            if all(x is None for x in parts):
                break
            if any(x is None for x in parts) or len({x[0] for x in parts}) != 1:
                raise RuntimeError("simulator: the shards' periods differ")
            until, _, hour = parts[0]
            if until is None:  # the last word of every shard: its visible steps
                for shard, (_, columns, _) in zip(plan(workers), parts, strict=True):
                    seen.extend(columns, shard.k, workers)
                continue
            ready = _merge([cols for _, cols, _ in parts])
            if watchdog is not None:
                ready = watchdog.fill(ready, until)
            if hour and progress is not None:
                progress.advance()
            yield ready
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()
        for c in conns:
            c.close()


def _receive(conn: Connection, proc) -> tuple | None:
    """(until µs, columns, hour ended) of the next period of one shard, None at its end."""
    try:
        data = conn.recv_bytes()
    except EOFError:
        proc.join()
        if proc.exitcode:
            raise RuntimeError(f"simulator: {proc.name} failed (exit code {proc.exitcode})"
                               ) from None
        return None
    return pickle.loads(data)


def _merge(columns: list[tuple]) -> list[Message]:
    """The messages of every shard's period (columns), sorted by time, ties in shard
    order."""
    rows: list[Message] = []
    for cols in columns:
        if cols:
            rows.extend(map(Message._make, zip(*cols, strict=True)))
    if not rows:
        return rows
    t = np.fromiter((m.t_us for m in rows), dtype=np.int64, count=len(rows))
    return [rows[i] for i in np.argsort(t, kind="stable").tolist()]


def _shard(scn: Scenario, timelines: tuple[PhoneTimeline, ...], seed: int, shard: Shard,
           workers: int, templates: Templates | None, conn: Connection, visible: bool
           ) -> None:
    """One shard's run (in its own process): phones `shard.k`, `shard.k + workers`, ...;
    the first shard also sets the eNBs up.  Sends (until, columns, hour ended) per
    period, then with `visible` (None, the visible steps' columns, False)."""
    from simulator.signalling import run_shard  # the parent imported it already: no cycle

    seen = VisibleSteps() if visible else None
    for until, chunk, hour in run_shard(scn, timelines[shard.k::workers], seed, shard,
                                        templates, seen):
        cols = tuple(zip(*chunk, strict=True)) if chunk else ()
        conn.send_bytes(pickle.dumps((until, cols, hour), protocol=pickle.HIGHEST_PROTOCOL))
    if seen is not None:
        conn.send_bytes(pickle.dumps((None, seen.columns(), False),
                                     protocol=pickle.HIGHEST_PROTOCOL))
    conn.close()
