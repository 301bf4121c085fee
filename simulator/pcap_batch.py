"""Many messages framed at once: the bytes of `pcap.SCTPAssociation.frame` and
`pcap.UDPFlow.frame` for a whole batch, with numpy doing the per-packet arithmetic.

Per batch the Python work per message is a few list comprehensions; counters (TSN, stream
sequence numbers, IP identification) are running counts per direction and stream, headers
are one structured array, the IPv4 and UDP checksums are sums modulo 0xFFFF, and the
SCTP CRC32c is computed for every packet at once a 32-bit word at a time (slicing by 4).
The association objects are advanced as if `frame` had been called for each message, so
both paths can be mixed and give the same capture (tested).
"""

from __future__ import annotations

import numpy as np

from simulator.pcap import (
    CRC32C_TABLES,
    DIAMETER_PPID,
    NGAP_PORT,
    NGAP_PPID,
    S1AP_PPID,
    Direction,
    PcapWriter,
    SCTPAssociation,
    UDPFlow,
)

BATCH = 65536
_CRC = tuple(np.array(t, dtype=np.uint32) for t in CRC32C_TABLES)  # never written
_RECORD = [("sec", "<u4"), ("usec", "<u4"), ("incl", "<u4"), ("orig", "<u4"), ("eth", "S14"),
           ("ver", "u1"), ("tos", "u1"), ("total", ">u2"), ("ident", ">u2"), ("frag", ">u2"),
           ("ttl", "u1"), ("proto", "u1"), ("ipsum", ">u2"), ("src", "S4"), ("dst", "S4"),
           ("sport", ">u2"), ("dport", ">u2")]
_SCTP = np.dtype(_RECORD + [("vtag", ">u4"), ("crc", "<u4"), ("type", "u1"), ("flags", "u1"),
                            ("length", ">u2"), ("tsn", ">u4"), ("stream", ">u2"),
                            ("ssn", ">u2"), ("ppid", ">u4")])
_UDP = np.dtype(_RECORD + [("ulen", ">u2"), ("usum", ">u2")])
_PADS = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")  # by length % 4


def crc32c_rows(flat: bytes, lengths: np.ndarray) -> np.ndarray:
    """CRC32c of each of the consecutive rows of `flat` (`lengths` octets, multiples of 4).

    Rows sorted longest first: at word k the rows still running are a prefix."""
    if np.any(lengths % 4):
        raise ValueError("crc32c_rows: every row must be a multiple of 4 octets")
    words = np.frombuffer(flat, dtype="<u4")
    nwords = lengths // 4
    order = np.argsort(-nwords, kind="stable")
    starts = (np.cumsum(nwords) - nwords)[order]
    running = np.searchsorted(-nwords[order], -np.arange(int(nwords.max(initial=0))),
                              side="left")
    crc = np.full(len(lengths), 0xFFFFFFFF, dtype=np.uint32)
    t0, t1, t2, t3 = _CRC
    for k, n in enumerate(running):
        x = crc[:n] ^ words[starts[:n] + k]
        crc[:n] = t3[x & 0xFF] ^ t2[(x >> 8) & 0xFF] ^ t1[(x >> 16) & 0xFF] ^ t0[x >> 24]
    out = np.empty_like(crc)
    out[order] = crc ^ np.uint32(0xFFFFFFFF)
    return out


def _running(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rank of each element among the equal keys before it, distinct keys, their counts)."""
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    first = np.r_[True, ranked[1:] != ranked[:-1]]
    idx = np.arange(len(keys))
    rank = np.empty_like(idx)
    rank[order] = idx - np.maximum.accumulate(np.where(first, idx, 0))
    distinct, counts = np.unique(ranked, return_counts=True)
    return rank, distinct, counts


class _Directions:
    """Every direction of every link, numbered: 2k, 2k + 1 are SCTP association k towards
    and from the MME; the last two the UDP flow."""

    def __init__(self, s1: dict[int, SCTPAssociation], s11: UDPFlow, s6a: SCTPAssociation
                 ) -> None:
        self.assocs = [*s1.values(), s6a]
        self.s1_base = {enb: 2 * k for k, enb in enumerate(s1)}
        self.s6a_base, self.udp_base, self.s11 = 2 * len(s1), 2 * len(s1) + 2, s11
        paths: list[Direction] = []
        tags = []
        for a in self.assocs:
            for up in (True, False):
                path, tag = a.path(up)
                paths.append(path)
                tags.append(tag)
        paths += [s11.path(True), s11.path(False)]
        tags += [0, 0]
        self.eth = np.array([p.eth for p in paths], dtype="S14")
        self.src = np.array([p.src for p in paths], dtype="S4")
        self.dst = np.array([p.dst for p in paths], dtype="S4")
        self.proto = np.array([p.proto for p in paths], dtype=np.uint8)
        self.partial = np.array([p.partial for p in paths], dtype=np.int64)
        ports = [(int.from_bytes(p.ports[:2], "big"), int.from_bytes(p.ports[2:], "big"))
                 for p in paths]
        self.sport = np.array([a for a, _ in ports], dtype=np.uint16)
        self.dport = np.array([b for _, b in ports], dtype=np.uint16)
        self.vtag = np.array(tags, dtype=np.uint32)
        # payload protocol of each direction: NGAP for a gNB's association (its port)
        self.ppid = np.array([NGAP_PPID if a.enb.port == NGAP_PORT else S1AP_PPID
                              for a in s1.values() for _ in (0, 1)]
                             + [DIAMETER_PPID] * 2 + [0, 0], dtype=np.uint32)
        # RFC 768 pseudo-header (addresses, protocol) and the ports, summed once
        self.pseudo = np.array([sum(int.from_bytes(w, "big") for w in (
            p.src[:2], p.src[2:], p.dst[:2], p.dst[2:], p.ports[:2], p.ports[2:])) + 17
            for p in paths], dtype=np.int64)

    def directions(self, batch: list) -> np.ndarray:
        """The direction number of every message of a batch."""
        s1, s6a, udp = self.s1_base, self.s6a_base, self.udp_base
        return np.array([(s6a if m.link == "s6a" else udp if m.link == "s11" else s1[m.enb])
                         + (not m.uplink) for m in batch], dtype=np.int64)


def _common(rec: np.ndarray, d: _Directions, dirs: np.ndarray, t_us: np.ndarray,
            ip_len: np.ndarray, ident: np.ndarray) -> None:
    """Fill the pcap record, Ethernet and IPv4 fields of `rec`."""
    sec, usec = np.divmod(t_us, 1_000_000)
    rec["sec"], rec["usec"] = sec, usec
    rec["incl"] = rec["orig"] = ip_len + 14
    rec["eth"], rec["src"], rec["dst"] = d.eth[dirs], d.src[dirs], d.dst[dirs]
    rec["ver"], rec["tos"], rec["frag"], rec["ttl"] = 0x45, 0x02, 0x4000, 64
    rec["proto"], rec["total"], rec["ident"] = d.proto[dirs], ip_len, ident
    total = d.partial[dirs] + ip_len + ident
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    rec["ipsum"] = ~total & 0xFFFF
    rec["sport"], rec["dport"] = d.sport[dirs], d.dport[dirs]


def _sctp(d: _Directions, dirs: np.ndarray, t_us: np.ndarray, streams: np.ndarray,
          payloads: list[bytes], ppids: np.ndarray) -> list[bytes]:
    """The record header (pcap, Ethernet, IPv4, SCTP, DATA chunk) of every SCTP packet."""
    n = len(dirs)
    if not n:
        return []
    lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=n)
    chunk = 16 + lengths + (-lengths % 4)
    rank, distinct, counts = _running(dirs)
    tsn0, id0 = np.zeros(len(d.vtag), np.int64), np.zeros(len(d.vtag), np.int64)
    for k, c in zip(distinct.tolist(), counts.tolist(), strict=True):
        tsn0[k], id0[k] = d.assocs[k // 2].take(k % 2 == 0, c)
    keys = dirs * 65536 + streams
    srank, sdistinct, scounts = _running(keys)
    ssn0 = {k: d.assocs[k // 131072].take_ssn((k // 65536) % 2 == 0, k % 65536, c)
            for k, c in zip(sdistinct.tolist(), scounts.tolist(), strict=True)}
    ssn_base = np.array([ssn0[k] for k in keys.tolist()], dtype=np.int64)
    rec = np.zeros(n, dtype=_SCTP)
    _common(rec, d, dirs, t_us, 32 + chunk, (id0[dirs] + rank) & 0xFFFF)
    rec["vtag"], rec["type"], rec["flags"], rec["length"] = d.vtag[dirs], 0, 0x03, 16 + lengths
    rec["tsn"] = (tsn0[dirs] + rank) & 0xFFFFFFFF
    rec["stream"], rec["ssn"], rec["ppid"] = streams, (ssn_base + srank) & 0xFFFF, ppids
    raw = rec.tobytes()
    size = _SCTP.itemsize
    heads = [raw[k + 50:k + size] for k in range(0, n * size, size)]
    pads = [_PADS[x & 3] for x in lengths.tolist()]
    flat = [None] * (3 * n)
    flat[0::3], flat[1::3], flat[2::3] = heads, payloads, pads
    rec["crc"] = crc32c_rows(b"".join(flat), 12 + chunk)
    raw = rec.tobytes()
    return [raw[k:k + size] for k in range(0, n * size, size)]


def _udp(d: _Directions, dirs: np.ndarray, t_us: np.ndarray, payloads: list[bytes]
         ) -> list[bytes]:
    """The record header (pcap, Ethernet, IPv4, UDP with its checksum) of every datagram."""
    n = len(dirs)
    if not n:
        return []
    lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=n)
    rank, distinct, counts = _running(dirs)
    id0 = np.zeros(len(d.vtag), np.int64)
    for k, c in zip(distinct.tolist(), counts.tolist(), strict=True):
        id0[k] = d.s11.take(k % 2 == 0, c)
    rec = np.zeros(n, dtype=_UDP)
    _common(rec, d, dirs, t_us, 28 + lengths, (id0[dirs] + rank) & 0xFFFF)
    rec["ulen"] = 8 + lengths
    even = [p + b"\x00" if len(p) % 2 else p for p in payloads]
    words = np.frombuffer(b"".join(even), dtype=">u2").astype(np.int64)
    half = (lengths + 1) // 2
    sums = np.zeros(n, dtype=np.int64)
    full = half > 0
    sums[full] = np.add.reduceat(words, (np.cumsum(half) - half)[full]) if words.size else 0
    total = (d.pseudo[dirs] + 2 * (8 + lengths) + sums) % 0xFFFF
    total[total == 0] = 0xFFFF  # the ports are never zero: the sum is not all zero
    checksum = ~total & 0xFFFF
    checksum[checksum == 0] = 0xFFFF  # RFC 768: 0 means none
    rec["usum"] = checksum
    raw = rec.tobytes()
    size = _UDP.itemsize
    return [raw[k:k + size] for k in range(0, n * size, size)]


def write_messages(w: PcapWriter, messages, s1: dict[int, SCTPAssociation], s11: UDPFlow,
                   s6a: SCTPAssociation, progress=None) -> int:
    """Frame and write `messages` (`procedures.Message`: link "s1" on the association of
    its eNB in `s1`, "s11", "s6a"), as `frame` would; returns the frames written so far.
    `progress` (a `progress.Progress`) advances by one step per batch of `BATCH`."""
    d = _Directions(s1, s11, s6a)
    for lo in range(0, len(messages), BATCH):
        batch = messages[lo:lo + BATCH]
        dirs = d.directions(batch)
        t_us = np.array([m.t_us for m in batch], dtype=np.int64)
        payloads = [m.payload for m in batch]
        is_udp = dirs >= d.udp_base
        udp_at, sctp_at = np.flatnonzero(is_udp), np.flatnonzero(~is_udp)
        streams = np.array([m.stream for m in batch], dtype=np.int64)[sctp_at]
        ppids = d.ppid[dirs[sctp_at]]
        heads = np.empty(len(batch), dtype=object)
        heads[sctp_at] = _sctp(d, dirs[sctp_at], t_us[sctp_at], streams,
                               [payloads[k] for k in sctp_at.tolist()], ppids)
        heads[udp_at] = _udp(d, dirs[udp_at], t_us[udp_at],
                             [payloads[k] for k in udp_at.tolist()])
        pads = [b"" if u else _PADS[len(p) & 3] for u, p in zip(is_udp.tolist(), payloads,
                                                                  strict=True)]
        out = [None] * (3 * len(batch))
        out[0::3], out[1::3], out[2::3] = heads.tolist(), payloads, pads
        w.write_records(b"".join(out), len(batch))
        if progress is not None:
            progress.advance()
    return w.frames
