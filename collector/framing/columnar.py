"""The framing fast path over a batch of packets at once, with numpy.

`Framer.__call__` reads the common frames of an MME's links at fixed offsets, one frame
at a time (live capture).  A replay has the whole capture in memory, so the same tests
run here over a batch of packets (`collector.sources.pcap.Records`) as array operations:
Ethernet, IPv4 without options or fragmentation, then SCTP with one DATA chunk holding a
whole user message (B and E flags) or UDP.  For each packet: its kind (`SCTP`, `UDP`, or
`GENERAL`: anything else, or any doubt, for the general path), the span of its payload
and the SCTP payload protocol identifier.  No per-packet object is made here.
"""

from __future__ import annotations

import numpy as np

GENERAL, SCTP, UDP = 0, 1, 2


def fast_spans(view: np.ndarray, offsets: list[int], lengths: list[int],
               linktypes: list[int]) -> tuple[list[int], list[int], list[int], list[int]]:
    """(kind, payload start, payload end, PPID) of each packet, as lists; `view` is the
    capture's bytes (uint8) and packet i is `view[offsets[i]:offsets[i] + lengths[i]]`."""
    off = np.asarray(offsets, dtype=np.int64)
    size = np.asarray(lengths, dtype=np.int64)
    last = len(view) - 1

    def at(k: int) -> np.ndarray:  # byte k of every packet (clamped inside the buffer)
        return view[np.minimum(off + k, last)].astype(np.int64)

    ip = ((np.asarray(linktypes) == 1) & (size >= 42) & (at(12) == 8) & (at(13) == 0)
          & (at(14) == 0x45) & (at(20) & 0x3F == 0) & (at(21) == 0))
    end = 14 + ((at(16) << 8) | at(17))
    proto = at(23)
    clen = (at(48) << 8) | at(49)
    sctp = (ip & (proto == 132) & (size >= 62) & (at(46) == 0) & (at(47) & 3 == 3)
            & (clen >= 16) & (46 + ((clen + 3) & ~3) == end) & (end <= size))
    udp = ip & (proto == 17) & (end >= 42) & (end <= size)
    kind = np.where(sctp, SCTP, np.where(udp, UDP, GENERAL))
    start = off + np.where(sctp, 62, 42)
    stop = off + np.where(sctp, 46 + clen, end)
    ppid = np.where(sctp, (at(58) << 24) | (at(59) << 16) | (at(60) << 8) | at(61), 0)
    return kind.tolist(), start.tolist(), stop.tolist(), ppid.tolist()
