"""IP fragment reassembly: IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5).

Fragments of one datagram may come in any order and more than once.  An
overlap that repeats the same bytes (a retransmission) is harmless; an overlap
with different bytes makes the datagram ambiguous and it is dropped whole as
`fragment_overlap`, as RFC 5722 requires for IPv6 (and Linux does for IPv4 too):
no choice of copy could be justified.  A fragment that cannot belong to a valid
datagram (a non-final fragment whose length is not a multiple of 8, an end beyond
65,535 bytes, two different final fragments) drops its datagram as `bad_fragment`.

State is bounded: at most `max_datagrams` datagrams and `max_bytes` bytes are held;
the oldest goes first (`fragment_overflow`).  A datagram not complete `timeout`
seconds (capture time) after its first fragment is abandoned (`fragment_timeout`,
RFC 8200 §4.5 gives 60 s at most; 30 s is Linux's ipfrag_time), and so is one still
incomplete at the end of the input.  Drops count the fragments held.
"""

from __future__ import annotations

from collections import OrderedDict

from collector.framing.ip import Fragment, Packet, skip_ipv6_extensions
from collector.telemetry import Counters

_MAX_DATAGRAM = 65_535  # IPv4 total length and IPv6 payload length are 16-bit fields


class _Datagram:
    """The fragments of one datagram received so far."""

    __slots__ = ("first", "pieces", "total", "held", "proto", "src", "dst")

    def __init__(self, first: float, frag: Fragment) -> None:
        self.first = first
        self.pieces: dict[int, bytes] = {}  # offset -> data
        self.total: int | None = None       # known once the last fragment (M = 0) is seen
        self.held = 0
        self.proto: int | None = None       # from the first fragment (offset 0)
        self.src, self.dst = frag.src, frag.dst


class FragmentReassembler:
    """`(fragment, capture time) -> whole packet or None`; drops are counted at stage `framing`."""

    __slots__ = ("_counters", "_pending", "_held", "_max_datagrams", "_max_bytes", "_timeout",
                 "_now")

    def __init__(self, counters: Counters, max_datagrams: int = 4096,
                 max_bytes: int = 32 * 1024 * 1024, timeout: float = 30.0) -> None:
        if max_datagrams < 1 or max_bytes < _MAX_DATAGRAM or not timeout > 0:
            raise ValueError("fragment limits: max_datagrams >= 1, max_bytes >= 65535, timeout > 0")
        self._counters = counters
        self._pending: OrderedDict[tuple, _Datagram] = OrderedDict()  # oldest first
        self._held = 0
        self._max_datagrams, self._max_bytes, self._timeout = max_datagrams, max_bytes, timeout
        self._now = float("-inf")

    def __call__(self, frag: Fragment, now: float) -> Packet | None:
        """Add one fragment; the reassembled (source, destination, protocol, payload) when complete."""
        self.expire(now)
        dgram = self._pending.get(frag.key)
        if dgram is None:
            dgram = self._pending[frag.key] = _Datagram(self._now, frag)
            while len(self._pending) > self._max_datagrams:
                self._abandon(next(iter(self._pending)), "fragment_overflow")
        reason = self._add(dgram, frag)
        if reason is not None:  # the offending fragment is counted with those held
            self._abandon(frag.key, reason, extra=1)
            return None
        while self._held > self._max_bytes:
            self._abandon(next(iter(self._pending)), "fragment_overflow")
        if frag.key not in self._pending:
            return None
        whole = _assemble(dgram)
        if whole is None:
            return None
        self._forget(frag.key)
        if frag.key[0] == 4:
            return dgram.src, dgram.dst, dgram.proto, whole
        walked = skip_ipv6_extensions(dgram.proto, whole, 0, len(whole))
        if isinstance(walked, str):
            self._counters.drop("framing", walked)
            return None
        return dgram.src, dgram.dst, walked[0], whole[walked[1]:]

    def flush(self) -> None:
        """End of input: count every incomplete datagram as `fragment_timeout`."""
        while self._pending:
            self._abandon(next(iter(self._pending)), "fragment_timeout")

    def __len__(self) -> int:
        return len(self._pending)

    def _add(self, dgram: _Datagram, frag: Fragment) -> str | None:
        """Place one fragment in its datagram; a reason when the datagram must be dropped."""
        start, data = frag.offset, frag.data
        end = start + len(data)
        if end > _MAX_DATAGRAM or (frag.more and len(data) % 8):
            return "bad_fragment"
        if not frag.more:
            if dgram.total not in (None, end) or any(s + len(d) > end
                                                     for s, d in dgram.pieces.items()):
                return "bad_fragment"
            dgram.total = end
        elif dgram.total is not None and end > dgram.total:
            return "bad_fragment"
        for s, d in dgram.pieces.items():  # overlaps must repeat the same bytes
            lo, hi = max(s, start), min(s + len(d), end)
            if lo < hi and d[lo - s:hi - s] != data[lo - start:hi - start]:
                return "fragment_overlap"
        if start == 0:
            dgram.proto = frag.proto
        old = dgram.pieces.get(start, b"")
        if old and len(old) >= len(data):
            return None  # a repeat of bytes held already
        grown = len(data) - len(old)
        if dgram.held + grown > 2 * _MAX_DATAGRAM:  # only repeats could hold this much
            return "bad_fragment"
        dgram.pieces[start] = data
        dgram.held += grown
        self._held += grown
        return None

    def expire(self, now: float) -> None:
        """Abandon the datagrams whose first fragment is older than the timeout at `now`."""
        self._now = max(self._now, now)
        while self._pending:
            key, oldest = next(iter(self._pending.items()))
            if self._now - oldest.first <= self._timeout:
                return
            self._abandon(key, "fragment_timeout")

    def _abandon(self, key: tuple, reason: str, extra: int = 0) -> None:
        dgram = self._forget(key)
        self._counters.drop("framing", reason, len(dgram.pieces) + extra)

    def _forget(self, key: tuple) -> _Datagram:
        dgram = self._pending.pop(key)
        self._held -= dgram.held
        return dgram

    def __repr__(self) -> str:  # sizes only
        return f"FragmentReassembler({len(self._pending)} datagrams, {self._held} bytes)"


def _assemble(dgram: _Datagram) -> bytes | None:
    """The datagram's payload if its fragments cover 0 .. total without a hole (RFC 815)."""
    if dgram.total is None or dgram.proto is None:
        return None
    covered = 0
    for start in sorted(dgram.pieces):
        if start > covered:
            return None
        covered = max(covered, start + len(dgram.pieces[start]))
    if covered < dgram.total:
        return None
    out = bytearray(dgram.total)
    for start, data in dgram.pieces.items():
        out[start:start + len(data)] = data
    return bytes(out)
