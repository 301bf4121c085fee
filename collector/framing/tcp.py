"""TCP (RFC 9293) byte streams cut into Diameter messages (RFC 6733 §2.1, §3).

Each direction of a connection is one byte stream, put in order by sequence
number: segments may come out of order, again (retransmissions) or overlapping;
bytes already placed win over a later copy.  The stream is cut at Diameter
message boundaries, read from the 3-byte Message Length of a version-1 header:
a message may span segments and a segment may hold several messages.

A stream seen from its middle (no SYN in the capture) or one whose bytes stop
looking like Diameter is resynchronised on the next plausible header (version 1,
length a multiple of 4, reserved flags clear, a well-formed first AVP); the bytes
skipped are counted once as `bad_stream`.  Bytes that never arrive (a segment lost
before the capture) are skipped when the out-of-order store fills up or the
stream ends, counted as `stream_gap`.  State is bounded: `max_streams` directions
(least recently used evicted, `stream_overflow`), `max_message` bytes of one
message, `max_out_of_order` bytes of early segments; a direction is forgotten after
its FIN, on RST (both directions) and after `idle` seconds without a segment.
"""

from __future__ import annotations

from collections import OrderedDict

from collector.telemetry import Counters

_SYN, _RST, _FIN = 0x02, 0x04, 0x01
_HALF = 1 << 31
_MAX_SEGMENTS = 64  # early segments kept per direction


def parse_tcp(l4: bytes) -> tuple[int, int, int, int, bytes] | str:
    """(source port, destination port, sequence number, flags, payload) or a reason."""
    if len(l4) < 20:
        return "truncated"
    doff = (l4[12] >> 4) * 4
    if doff < 20 or doff > len(l4):
        return "bad_tcp"
    return ((l4[0] << 8) | l4[1], (l4[2] << 8) | l4[3], int.from_bytes(l4[4:8], "big"),
            l4[13], l4[doff:])


def plausible_header(buf: bytes | bytearray, i: int, max_message: int, strong: bool) -> bool:
    """Whether a Diameter header (RFC 6733 §3) can start at `buf[i]` (20 bytes, 28 if `strong`).

    `strong` also asks for a command code, no E flag on a request and a first
    AVP header (§4.1) that fits, for resynchronising inside unknown bytes.
    """
    if buf[i] != 1 or buf[i + 4] & 0x0F:
        return False
    length = int.from_bytes(buf[i + 1:i + 4], "big")
    if length < 20 or length % 4 or length > max_message:
        return False
    if not strong:
        return True
    if buf[i + 4] & 0xA0 == 0xA0 or not any(buf[i + 5:i + 8]):
        return False
    if length == 20:
        return True
    if len(buf) < i + 28:
        return False
    avp_len = int.from_bytes(buf[i + 25:i + 28], "big")
    return buf[i + 24] & 0x1F == 0 and 8 <= avp_len <= length - 20


class _Direction:
    """One direction of a connection: bytes in order not yet cut, and early segments."""

    __slots__ = ("isn", "next_seq", "buf", "early", "early_bytes", "synced", "fin_seq")

    def __init__(self, next_seq: int, synced: bool, isn: int | None = None) -> None:
        self.isn = isn  # initial sequence number of the SYN, when seen
        self.next_seq = next_seq
        self.buf = bytearray()
        self.early: dict[int, bytes] = {}  # sequence number -> payload
        self.early_bytes = 0
        self.synced = synced  # buf starts at a message boundary
        self.fin_seq: int | None = None

    def pending(self) -> bool:
        """Whether bytes are held that no message has taken yet."""
        return bool(self.buf or self.early)


def _after(seq: int, ref: int) -> int:
    """Signed distance from `ref` to `seq` in sequence space (RFC 9293 §3.4)."""
    return ((seq - ref + _HALF) & 0xFFFFFFFF) - _HALF


class TCPStreams:
    """`(source, destination, TCP segment, capture time) -> Diameter messages completed`."""

    __slots__ = ("_counters", "_dirs", "_max_streams", "_max_message", "_max_early", "_idle")

    def __init__(self, counters: Counters, max_streams: int = 1024, max_message: int = 65_536,
                 max_out_of_order: int = 65_536, idle: float = 300.0) -> None:
        if max_streams < 1 or max_message < 20 or max_out_of_order < 1 or not idle > 0:
            raise ValueError("TCP limits: max_streams >= 1, max_message >= 20, "
                             "max_out_of_order >= 1, idle > 0")
        self._counters = counters
        self._dirs: OrderedDict[tuple, tuple[_Direction, float]] = OrderedDict()  # LRU first
        self._max_streams, self._max_message = max_streams, max_message
        self._max_early, self._idle = max_out_of_order, idle

    def __call__(self, src: bytes, dst: bytes, sport: int, dport: int, seq: int, flags: int,
                 payload: bytes, now: float) -> list[bytes]:
        """Messages completed by one segment of the direction (src, sport) -> (dst, dport)."""
        self.expire(now)
        key = (src, sport, dst, dport)
        if flags & _RST:
            self._close(key)
            self._close((dst, dport, src, sport))
            return []
        entry = self._dirs.pop(key, None)
        if flags & _SYN:  # a new connection on these ports, unless the SYN is a repeat
            if entry is None or entry[0].isn != seq:
                if entry is not None and entry[0].pending():
                    self._counters.drop("framing", "stream_gap")
                entry = (_Direction((seq + 1) & 0xFFFFFFFF, True, seq), now)
            seq = (seq + 1) & 0xFFFFFFFF
        elif entry is None:
            if not payload:
                return []
            entry = (_Direction(seq, False), now)
        d = entry[0]
        self._dirs[key] = (d, now)
        while len(self._dirs) > self._max_streams:
            self._dirs.popitem(last=False)
            self._counters.drop("framing", "stream_overflow")
        if flags & _FIN:
            d.fin_seq = (seq + len(payload)) & 0xFFFFFFFF
        out = self._place(d, seq, payload)
        if d.fin_seq is not None and d.next_seq == d.fin_seq:
            self._close(key)
        return out

    def expire(self, now: float) -> None:
        """Forget the directions idle for longer than `idle` seconds at `now`."""
        while self._dirs:
            key, (_d, last) = next(iter(self._dirs.items()))
            if now - last <= self._idle:
                return
            self._close(key)

    def flush(self) -> None:
        """End of input: forget every direction, counting unfinished bytes as `stream_gap`."""
        while self._dirs:
            self._close(next(iter(self._dirs)))

    def __len__(self) -> int:
        return len(self._dirs)

    def _close(self, key: tuple) -> None:
        entry = self._dirs.pop(key, None)
        if entry is not None and entry[0].pending():
            self._counters.drop("framing", "stream_gap")

    def _place(self, d: _Direction, seq: int, payload: bytes) -> list[bytes]:
        """Put a segment in order (or aside), then cut the complete messages."""
        if payload:
            self._early(d, seq, payload)
        while d.early:  # segments that now start at or before the next byte expected
            ready = [s for s in d.early if _after(s, d.next_seq) <= 0]
            if not ready:
                if d.early_bytes <= self._max_early and len(d.early) <= _MAX_SEGMENTS:
                    break
                self._skip_gap(d)
                continue
            for s in ready:
                data = d.early.pop(s)
                d.early_bytes -= len(data)
                self._append(d, s, data)
        return self._cut(d)

    def _early(self, d: _Direction, seq: int, payload: bytes) -> None:
        if _after(seq, d.next_seq) <= 0:
            self._append(d, seq, payload)
            return
        old = d.early.get(seq, b"")
        if len(payload) > len(old):
            d.early[seq] = payload
            d.early_bytes += len(payload) - len(old)

    def _append(self, d: _Direction, seq: int, data: bytes) -> None:
        skip = -_after(seq, d.next_seq)  # bytes of this segment already placed
        if skip < len(data):
            d.buf += data[skip:]
            d.next_seq = (d.next_seq + len(data) - skip) & 0xFFFFFFFF

    def _skip_gap(self, d: _Direction) -> None:
        """Bytes are missing before every early segment: give them up, restart at the first."""
        self._counters.drop("framing", "stream_gap")
        d.buf.clear()
        d.synced = False
        d.next_seq = min(d.early, key=lambda s: _after(s, d.next_seq))

    def _cut(self, d: _Direction) -> list[bytes]:
        out, buf, skipped = [], d.buf, False
        while len(buf) >= 20:
            if not d.synced:
                i = self._find_header(buf)
                if i:
                    del buf[:i]
                    skipped = True
                if len(buf) < 28 or not plausible_header(buf, 0, self._max_message, True):
                    break
                d.synced = True
            if not plausible_header(buf, 0, self._max_message, False):
                d.synced = False
                del buf[:1]
                skipped = True
                continue
            length = int.from_bytes(buf[1:4], "big")
            if len(buf) < length:
                break
            out.append(bytes(buf[:length]))
            del buf[:length]
        if skipped:
            self._counters.drop("framing", "bad_stream")
        return out

    def _find_header(self, buf: bytearray) -> int:
        """Offset of the first plausible header, or where one could still begin.

        A candidate is judged with its first AVP header, so on 28 bytes.
        """
        i = buf.find(1)
        while i != -1 and i + 28 <= len(buf):
            if plausible_header(buf, i, self._max_message, True):
                return i
            i = buf.find(1, i + 1)
        return len(buf) if i == -1 else i

    def __repr__(self) -> str:  # sizes only
        return f"TCPStreams({len(self._dirs)} directions)"
