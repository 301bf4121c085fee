"""SCTP (RFC 9260) DATA chunks, several per packet, with user messages split over
several chunks (B/E flags, §3.3.1) put back together per association, stream
and direction.

The checksum is not verified (captures taken on the sending host carry a
zero or offloaded CRC).  Chunks other than DATA are ignored.
"""

from __future__ import annotations

import struct

Chunk = tuple[int, int, bytes]  # (stream id, payload protocol id, user message)
_MAX_PARTIAL = 64 * 1024  # bytes buffered for one unfinished user message
_MAX_PENDING = 4096       # unfinished messages kept at once


class SCTPReassembler:
    """Yields complete user messages from DATA chunks; keeps bounded partial state."""

    __slots__ = ("_partial",)

    def __init__(self) -> None:
        self._partial: dict[tuple, list[bytes]] = {}

    def __call__(self, flow: tuple, packet: bytes) -> tuple[list[Chunk], str | None]:
        """(complete user messages, drop reason or None) of one SCTP packet of `flow`.

        A bad chunk ends the walk of its packet; messages before it are kept.
        """
        if len(packet) < 12:
            return [], "truncated"
        out: list[Chunk] = []
        off, end = 12, len(packet)
        while off + 4 <= end:
            ctype, flags, clen = packet[off], packet[off + 1], (packet[off + 2] << 8) | packet[off + 3]
            if clen < 4 or off + clen > end or (ctype == 0 and clen < 16):
                return out, "bad_chunk"
            if ctype == 0:  # DATA
                stream, _ssn, ppid = struct.unpack_from("!HHI", packet, off + 8)
                data = packet[off + 16:off + clen]
                msg = self._add(flow, stream, flags, data)
                if msg is not None:
                    out.append((stream, ppid, msg))
            off += (clen + 3) & ~3
        return out, None

    def _add(self, flow: tuple, stream: int, flags: int, data: bytes) -> bytes | None:
        begin, last = flags & 0x02, flags & 0x01
        if begin and last:
            return data
        key = (flow, stream)
        if begin:
            if len(self._partial) >= _MAX_PENDING:
                self._partial.pop(next(iter(self._partial)))
            self._partial[key] = [data]
            return None
        parts = self._partial.get(key)
        if parts is None:
            return None  # middle or end without its beginning: nothing to rebuild
        parts.append(data)
        if last:
            del self._partial[key]
            return b"".join(parts)
        if sum(map(len, parts)) > _MAX_PARTIAL:
            del self._partial[key]
        return None
