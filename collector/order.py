"""The order in which a replay reads messages, one contract for one process and many.

One capture: frame order.  Several captures: merged by capture time, each capture's
time taken as the running maximum of its frames' timestamps (a capture whose clock
steps back keeps its own frame order), ties to the capture named first, then frame
order.  This is a total order that does not depend on which frames a process frames:
a worker that frames only its shard (`bucket_of`) still reads every frame's timestamp,
so the keys it gives its messages are the keys one process gives them.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterator
from itertools import accumulate
from operator import itemgetter

from collector.framing.link import ip_offset
from collector.framing.messages import Framer, TransportMessage
from collector.sources.pcap import read_records
from collector.telemetry import Counters

Keyed = tuple[object, float, int, TransportMessage]  # (order key, time, frame, message)


BUCKETS = 1000
Shard = tuple[int, int]  # frames whose bucket is in [first, stop)
EVERYTHING: Shard = (0, BUCKETS)


def bucket_of(linktype: int, frame: bytes) -> int:
    """The bucket (0..999) of a frame: a stable hash of its unordered (source, destination)
    IP address pair, so both directions, every fragment and every segment of a stream fall
    in one bucket; a frame without an IP packet is in bucket 0 (framing counts it)."""
    where = ip_offset(linktype, frame)
    if isinstance(where, str):
        return 0
    off, version = where
    a, b = ((frame[off + 12:off + 16], frame[off + 16:off + 20]) if version == 4
            else (frame[off + 8:off + 24], frame[off + 24:off + 40]))
    return zlib.crc32(a + b if a <= b else b + a) % BUCKETS


def shards(shares: list[float]) -> list[Shard]:
    """Bucket ranges in proportion to `shares` (one per process), covering every bucket."""
    total, edges, acc = sum(shares), [0], 0.0
    for share in shares[:-1]:
        acc += share
        edges.append(round(BUCKETS * acc / total))
    edges.append(BUCKETS)
    return list(zip(edges[:-1], edges[1:], strict=True))


def _capture(path: str, cap: int | None, counters: Counters, shard: Shard) -> Iterator[Keyed]:
    first, stop = shard
    whole = shard == EVERYTHING
    framer = Framer(counters)
    clock = float("-inf")
    # what is wrong with the file itself is counted by the process reading shard 0 only
    # (every process reads every frame)
    for rec in read_records(path, counters if first == 0 else Counters()):
        n0, times = rec.first, rec.times
        clocks = None
        if cap is not None:  # (keys of several captures) the capture's clock at each packet:
            clocks = list(accumulate(times, max, initial=clock))  # its timestamps' running max
            clock = clocks[-1]
        if whole:
            counters.frames += len(rec)
            for i, msg in framer.batch(rec):
                yield n0 + i if cap is None else (clocks[i + 1], cap, n0 + i), times[i], n0 + i, msg
            continue
        buf = rec.buf
        for i, (linktype, off, size) in enumerate(zip(rec.linktypes, rec.offsets, rec.lengths,
                                                      strict=True)):
            frame = buf[off:off + size]
            if not first <= bucket_of(linktype, frame) < stop:
                continue
            counters.frames += 1
            key = n0 + i if cap is None else (clocks[i + 1], cap, n0 + i)
            for msg in framer(linktype, frame, times[i]):
                yield key, times[i], n0 + i, msg
    framer.flush()


def keyed_messages(paths: list[str], counters: Counters,
                   shard: Shard = EVERYTHING) -> Iterator[Keyed]:
    """The messages of the captures (of one shard of their frames), in replay order."""
    if len(paths) == 1:
        return _capture(paths[0], None, counters, shard)
    return heapq.merge(*(_capture(p, cap, counters, shard) for cap, p in enumerate(paths)),
                       key=itemgetter(0))
