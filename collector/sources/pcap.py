"""pcap and pcapng file reading, struct-based (no per-packet dissection objects).

Formats: classic pcap in both byte orders with µs or ns timestamps
(magics a1b2c3d4 / a1b23c4d), and pcapng (draft-ietf-opsawg-pcapng):
Section Header, Interface Description (linktype, if_tsresol, if_tsoffset),
Enhanced Packet, Simple Packet and obsolete Packet blocks; other blocks are
skipped.  A capture cut short counts one `truncated_capture` drop and ends.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator

from collector.telemetry import Counters

Frame = tuple[int, float, int, bytes]  # (frame number, time, linktype, bytes)

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"


class CaptureError(Exception):
    """A capture that cannot be read at all; the message names the file."""


def read_capture(path: str, counters: Counters) -> Iterator[Frame]:
    """Yield (frame number, time, linktype, frame bytes) for each packet of a capture."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        raise CaptureError(f"{path}: {e.strerror}") from None
    try:
        size = os.fstat(fd).st_size
        if size < 4:
            raise CaptureError(f"{path}: not a pcap or pcapng file (too short)")
        buf = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as e:
        raise CaptureError(f"{path}: cannot map file: {e}") from None
    finally:
        os.close(fd)
    try:
        magic = buf[:4]
        if magic in _PCAP_MAGICS:
            yield from _read_pcap(path, buf, counters)
        elif magic == _PCAPNG_SHB:
            yield from _read_pcapng(path, buf, counters)
        else:
            raise CaptureError(f"{path}: not a pcap or pcapng file (magic {magic.hex()})")
    finally:
        buf.close()


def _read_pcap(path: str, buf: mmap.mmap, counters: Counters) -> Iterator[Frame]:
    endian, scale = _PCAP_MAGICS[buf[:4]]
    if len(buf) < 24:
        raise CaptureError(f"{path}: pcap header truncated")
    linktype = struct.unpack_from(endian + "I", buf, 20)[0] & 0x0FFFFFFF
    rec = struct.Struct(endian + "IIII")
    off, end, n = 24, len(buf), 0
    while off < end:
        if off + 16 > end:
            counters.drop("capture", "truncated_capture")
            return
        sec, frac, incl, _orig = rec.unpack_from(buf, off)
        off += 16
        if off + incl > end:
            counters.drop("capture", "truncated_capture")
            return
        n += 1
        yield n, sec + frac * scale, linktype, buf[off:off + incl]
        off += incl


def _tsresol(opts: bytes, endian: str) -> tuple[float, float]:
    """(seconds per tick, offset seconds) from the options of an IDB."""
    scale, offset, i = 1e-6, 0.0, 0
    while i + 4 <= len(opts):
        code, length = struct.unpack_from(endian + "HH", opts, i)
        if code == 0:
            break
        val = opts[i + 4:i + 4 + length]
        if code == 9 and length >= 1:
            v = val[0]
            scale = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
        elif code == 14 and length >= 8:
            offset = float(struct.unpack_from(endian + "q", val)[0])
        i += 4 + ((length + 3) & ~3)
    return scale, offset


def _read_pcapng(path: str, buf: mmap.mmap, counters: Counters) -> Iterator[Frame]:
    off, end, n = 0, len(buf), 0
    endian = "<"
    ifaces: list[tuple[int, float, float]] = []  # (linktype, scale, offset)
    while off < end:
        if off + 12 > end:
            counters.drop("capture", "truncated_capture")
            return
        btype_raw = buf[off:off + 4]
        if btype_raw == _PCAPNG_SHB:
            bom = buf[off + 8:off + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                endian = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                endian = ">"
            else:
                raise CaptureError(f"{path}: pcapng section header has a bad byte-order magic")
            ifaces = []
        btype, blen = struct.unpack_from(endian + "II", buf, off)
        if blen < 12 or blen % 4:
            if n == 0 and off == 0:
                raise CaptureError(f"{path}: pcapng section header is corrupt")
            counters.drop("capture", "bad_record")
            return
        if off + blen > end:
            counters.drop("capture", "truncated_capture")
            return
        body = off + 8
        if btype == 1:  # Interface Description Block
            linktype = struct.unpack_from(endian + "H", buf, body)[0]
            scale, offset = _tsresol(buf[body + 8:off + blen - 4], endian)
            ifaces.append((linktype, scale, offset))
        elif btype in (6, 2):  # Enhanced Packet Block, obsolete Packet Block
            if btype == 6:
                ifid, hi, lo, incl, _orig = struct.unpack_from(endian + "IIIII", buf, body)
            else:
                ifid, _drops, hi, lo, incl, _orig = struct.unpack_from(
                    endian + "HHIIII", buf, body)
            data = body + 20
            if ifid >= len(ifaces) or data + incl > off + blen:
                counters.drop("capture", "bad_record")
            else:
                linktype, scale, offset = ifaces[ifid]
                n += 1
                yield n, ((hi << 32) | lo) * scale + offset, linktype, buf[data:data + incl]
        elif btype == 3 and ifaces:  # Simple Packet Block: no timestamp
            orig = struct.unpack_from(endian + "I", buf, body)[0]
            incl = min(orig, blen - 16)
            n += 1
            yield n, 0.0, ifaces[0][0], buf[body + 4:body + 4 + incl]
        off += blen


def check_capture(path: str) -> None:
    """Raise CaptureError unless `path` is a readable pcap or pcapng file."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise CaptureError(f"{path}: {e.strerror}") from None
    if magic not in _PCAP_MAGICS and magic != _PCAPNG_SHB:
        raise CaptureError(f"{path}: not a pcap or pcapng file")
