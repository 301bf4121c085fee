"""pcap and pcapng file reading, struct-based (no per-packet dissection objects).

Formats: classic pcap in both byte orders with µs or ns timestamps
(magics a1b2c3d4 / a1b23c4d), and pcapng (draft-ietf-opsawg-pcapng):
Section Header, Interface Description (linktype, if_tsresol, if_tsoffset),
Enhanced Packet, Simple Packet and obsolete Packet blocks; other blocks are
skipped.  A capture cut short counts one `truncated_capture` drop and ends.
"""

from __future__ import annotations

import contextlib
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


class Records:
    """A batch of consecutive packets of one capture, as columns: no per-packet object.

    `buf` is the capture mapped in memory (valid while the reader is not resumed past the
    end of the file); packet i is `buf[offsets[i]:offsets[i] + lengths[i]]`, captured at
    `times[i]` on a link of type `linktypes[i]`, frame number `first + i`."""

    __slots__ = ("buf", "first", "times", "linktypes", "offsets", "lengths")

    def __init__(self, buf: mmap.mmap, first: int) -> None:
        self.buf, self.first = buf, first
        self.times: list[float] = []
        self.linktypes: list[int] = []
        self.offsets: list[int] = []
        self.lengths: list[int] = []

    def __len__(self) -> int:
        return len(self.offsets)


BATCH = 16384  # packets per Records batch


def read_capture(path: str, counters: Counters) -> Iterator[Frame]:
    """Yield (frame number, time, linktype, frame bytes) for each packet of a capture."""
    for rec in read_records(path, counters):
        buf = rec.buf
        for i, (ts, linktype, off, size) in enumerate(zip(rec.times, rec.linktypes, rec.offsets,
                                                           rec.lengths, strict=True)):
            yield rec.first + i, ts, linktype, buf[off:off + size]


def read_records(path: str, counters: Counters, batch: int = BATCH) -> Iterator[Records]:
    """The packets of a capture in batches of at most `batch` (`Records`)."""
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
            yield from _read_pcap(path, buf, counters, batch)
        elif magic == _PCAPNG_SHB:
            yield from _read_pcapng(path, buf, counters, batch)
        else:
            raise CaptureError(f"{path}: not a pcap or pcapng file (magic {magic.hex()})")
    finally:
        with contextlib.suppress(BufferError):  # a numpy view of a batch still held
            buf.close()


def _read_pcap(path: str, buf: mmap.mmap, counters: Counters, batch: int
               ) -> Iterator[Records]:
    endian, scale = _PCAP_MAGICS[buf[:4]]
    if len(buf) < 24:
        raise CaptureError(f"{path}: pcap header truncated")
    linktype = struct.unpack_from(endian + "I", buf, 20)[0] & 0x0FFFFFFF
    unpack = struct.Struct(endian + "IIII").unpack_from
    off, first = 24, 1
    while off >= 0:
        rec = Records(buf, first)
        off = _pcap_records(buf, off, unpack, scale, rec, batch)
        first += len(rec)
        if off == _TRUNCATED:
            counters.drop("capture", "truncated_capture")
        if rec.offsets:
            rec.linktypes = [linktype] * len(rec.offsets)
            yield rec


_TRUNCATED, _END = -1, -2  # what _pcap_records returns instead of where to go on


def _pcap_records(buf: mmap.mmap, off: int, unpack, scale: float, rec: Records,
                  batch: int) -> int:
    """Up to `batch` pcap records from `off` into `rec`; the offset to go on from, or
    _END (the file read to its end) or _TRUNCATED (it ends inside a record)."""
    end = len(buf)
    times, offsets, lengths = rec.times, rec.offsets, rec.lengths
    while off < end:
        if off + 16 > end:
            return _TRUNCATED
        sec, frac, incl, _orig = unpack(buf, off)
        off += 16
        if off + incl > end:
            return _TRUNCATED
        times.append(sec + frac * scale)
        offsets.append(off)
        lengths.append(incl)
        off += incl
        if len(offsets) >= batch:
            return off if off < end else _END
    return _END


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


def _read_pcapng(path: str, buf: mmap.mmap, counters: Counters, batch: int
                 ) -> Iterator[Records]:
    rec = Records(buf, 1)
    for ts, linktype, off, size in _pcapng_packets(path, buf, counters):
        rec.times.append(ts)
        rec.linktypes.append(linktype)
        rec.offsets.append(off)
        rec.lengths.append(size)
        if len(rec) >= batch:
            yield rec
            rec = Records(buf, rec.first + len(rec))
    if len(rec):
        yield rec


def _pcapng_packets(path: str, buf: mmap.mmap, counters: Counters
                    ) -> Iterator[tuple[float, int, int, int]]:
    """(time, linktype, offset, length) of each packet of a pcapng file."""
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
                yield ((hi << 32) | lo) * scale + offset, linktype, data, incl
        elif btype == 3 and ifaces:  # Simple Packet Block: no timestamp
            orig = struct.unpack_from(endian + "I", buf, body)[0]
            incl = min(orig, blen - 16)
            n += 1
            yield 0.0, ifaces[0][0], body + 4, incl
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
