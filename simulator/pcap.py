"""Ethernet / IPv4 / SCTP or UDP framing of signalling messages and a classic pcap writer.

Byte layout only (STYLE habit 7): the signalling module decides what is
sent when; this module turns each user message into one Ethernet frame
holding one SCTP DATA chunk (RFC 9260 §3.3.1, B and E flags set) with
proper TSNs and stream sequence numbers per direction, the verification
tag of the peer and a CRC32c checksum (RFC 9260 Appendix A) — S1AP and
Diameter — or one UDP datagram with its checksum (RFC 768) — GTPv2-C —
and writes the frames as a libpcap file (magic a1b2c3d4, microseconds,
Ethernet).  `frame` makes one frame at a time (the reference);
`simulator.pcap_batch.write_messages` makes the same bytes for many messages at once.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

S1AP_PORT = 36412
S1AP_PPID = 18
NGAP_PORT = 38412         # TS 38.412 §7
NGAP_PPID = 60            # TS 38.412 §7
DIAMETER_PORT = 3868      # RFC 6733 §2.1
DIAMETER_PPID = 46        # RFC 6733 §2.1, IANA SCTP payload protocol identifiers
GTPC_PORT = 2123          # TS 29.274 §4.2.2.1
_ETH_IPV4 = 0x0800
_IPPROTO_UDP = 17
_IPPROTO_SCTP = 132
_LINKTYPE_ETHERNET = 1


def _crc32c_tables() -> tuple[tuple[int, ...], ...]:
    """Slicing-by-4 tables of the reflected Castagnoli polynomial 0x82F63B78: T0 is the
    byte-at-a-time table, Tk advances one more octet of zeros."""
    t0 = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t0.append(c)
    tables = [tuple(t0)]
    for _ in range(3):
        prev = tables[-1]
        tables.append(tuple((prev[i] >> 8) ^ t0[prev[i] & 0xFF] for i in range(256)))
    return tuple(tables)


CRC32C_TABLES = _crc32c_tables()  # immutable
_CRC32C = CRC32C_TABLES[0]


def crc32c(data: bytes) -> int:
    """CRC32c (Castagnoli) of `data`, as SCTP computes it (RFC 9260 Appendix A)."""
    crc = 0xFFFFFFFF
    table = _CRC32C
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def ipv4_checksum(header: bytes) -> int:
    """Internet checksum (RFC 1071) of an IPv4 header whose checksum field is zero (of any
    bytes: an odd length is padded with a zero octet).

    The one's complement sum of 16-bit words is the number modulo 0xFFFF (2^16 = 1 there),
    0xFFFF standing for 0 unless every octet is zero."""
    if len(header) % 2:
        header += b"\x00"
    n = int.from_bytes(header, "big")
    total = n % 0xFFFF or (0xFFFF if n else 0)
    return ~total & 0xFFFF


@dataclass(frozen=True, slots=True)
class Host:
    """One end of an association: MAC, IPv4 address (dotted) and SCTP port."""

    mac: bytes
    ip: str
    port: int = S1AP_PORT

    @property
    def ip_bytes(self) -> bytes:
        """The address as 4 bytes."""
        return bytes(int(x) for x in self.ip.split("."))


class Direction:
    """What every packet of one direction (src → dst) shares: the Ethernet header, the IPv4
    header's constant words and their sum (RFC 1071 sums are incremental), the transport's
    first octets."""

    __slots__ = ("eth", "src", "dst", "proto", "partial", "ports")

    def __init__(self, src: Host, dst: Host, proto: int) -> None:
        self.eth = dst.mac + src.mac + struct.pack("!H", _ETH_IPV4)
        self.src, self.dst, self.proto = src.ip_bytes, dst.ip_bytes, proto
        # version/IHL + DSCP/ECN, flags/fragment offset (DF), TTL + protocol, addresses
        self.partial = 0x4502 + 0x4000 + (64 << 8 | proto) + sum(
            struct.unpack("!4H", self.src + self.dst))
        self.ports = struct.pack("!HH", src.port, dst.port)

    def ipv4(self, length: int, ident: int) -> bytes:
        """The IPv4 header of a packet of `length` octets (header included)."""
        total = self.partial + length + ident
        total = (total & 0xFFFF) + (total >> 16)
        total = (total & 0xFFFF) + (total >> 16)
        return _IPV4.pack(0x45, 0x02, length, ident, 0x4000, 64, self.proto,
                          ~total & 0xFFFF, self.src, self.dst)


_IPV4 = struct.Struct("!BBHHHBBH4s4s")  # DSCP 0, ECT(0); don't fragment
_DATA = struct.Struct("!BBHIHHI")       # RFC 9260 §3.3.1 DATA chunk header, B and E flags
_PADS = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")  # by length % 4


class SCTPAssociation:
    """One established SCTP association eNB ↔ MME (the handshake is not written).

    Keeps per direction the next TSN, the IP identification and the stream
    sequence number of every stream; `frame` returns the Ethernet frame of
    one DATA chunk and advances them; `parts` does the same without the CRC32c, which a
    `PcapWriter` computes for many packets at once.
    """

    __slots__ = ("enb", "mme", "_path", "_common", "_tsn", "_ssn", "_ip_id")

    def __init__(self, enb: Host, mme: Host, enb_tag: int, mme_tag: int,
                 enb_tsn: int, mme_tsn: int) -> None:
        self.enb, self.mme = enb, mme
        self._path = {True: Direction(enb, mme, _IPPROTO_SCTP), False: Direction(mme, enb, _IPPROTO_SCTP)}
        # a packet carries the verification tag chosen by its receiver (RFC 9260 §8.5); the
        # common header with a zero checksum is what the CRC32c covers
        self._common = {True: self._path[True].ports + struct.pack("!II", mme_tag, 0),
                        False: self._path[False].ports + struct.pack("!II", enb_tag, 0)}
        self._tsn = {True: enb_tsn, False: mme_tsn}
        self._ssn: dict[tuple[bool, int], int] = {}
        self._ip_id = {True: enb_tsn & 0xFFFF, False: mme_tsn & 0xFFFF}

    def parts(self, uplink: bool, stream: int, payload: bytes, ppid: int = S1AP_PPID
              ) -> tuple[bytes, bytes, bytes]:
        """(Ethernet + IPv4 headers, SCTP common header with a zero checksum, DATA chunk)
        of the next packet carrying `payload` on `stream`; uplink means eNB → MME."""
        key = (uplink, stream)
        ssn = self._ssn.get(key, 0)
        self._ssn[key] = (ssn + 1) & 0xFFFF
        tsn = self._tsn[uplink]
        self._tsn[uplink] = (tsn + 1) & 0xFFFFFFFF
        n = len(payload)
        chunk = _DATA.pack(0, 0x03, 16 + n, tsn, stream, ssn, ppid) + payload + _PADS[n & 3]
        ip_id = self._ip_id[uplink]
        self._ip_id[uplink] = (ip_id + 1) & 0xFFFF
        path = self._path[uplink]
        return path.eth + path.ipv4(32 + len(chunk), ip_id), self._common[uplink], chunk

    def path(self, uplink: bool) -> tuple[Direction, int]:
        """The constants of one direction and the verification tag its packets carry."""
        return self._path[uplink], int.from_bytes(self._common[uplink][4:8], "big")

    def take(self, uplink: bool, n: int) -> tuple[int, int]:
        """(first TSN, first IP identification) of the next `n` packets of a direction,
        advanced past them (`simulator.pcap_batch` frames them)."""
        tsn, ip_id = self._tsn[uplink], self._ip_id[uplink]
        self._tsn[uplink], self._ip_id[uplink] = (tsn + n) & 0xFFFFFFFF, (ip_id + n) & 0xFFFF
        return tsn, ip_id

    def take_ssn(self, uplink: bool, stream: int, n: int) -> int:
        """The first stream sequence number of the next `n` packets of a direction on
        `stream`, advanced past them."""
        ssn = self._ssn.get((uplink, stream), 0)
        self._ssn[(uplink, stream)] = (ssn + n) & 0xFFFF
        return ssn

    def frame(self, uplink: bool, stream: int, payload: bytes, ppid: int = S1AP_PPID) -> bytes:
        """Ethernet frame carrying `payload` on `stream`; uplink means eNB → MME."""
        head, common, chunk = self.parts(uplink, stream, payload, ppid)
        crc = struct.pack("<I", crc32c(common + chunk))  # stored least significant byte first
        return head + common[:8] + crc + chunk


class UDPFlow:
    """UDP between a peer and the MME (both ends on one port, as GTP-C nodes send from
    2123); keeps the IP identification of each direction."""

    __slots__ = ("peer", "mme", "_path", "_pseudo", "_ip_id")

    def __init__(self, peer: Host, mme: Host, ip_id: int) -> None:
        self.peer, self.mme = peer, mme
        self._path = {True: Direction(peer, mme, _IPPROTO_UDP), False: Direction(mme, peer, _IPPROTO_UDP)}
        # RFC 768 pseudo-header addresses and protocol, and the ports, as one number
        self._pseudo = {d: int.from_bytes(p.src + p.dst + p.ports, "big") + _IPPROTO_UDP
                        for d, p in self._path.items()}
        self._ip_id = {True: ip_id & 0xFFFF, False: (ip_id * 7 + 1) & 0xFFFF}

    def path(self, to_mme: bool) -> Direction:
        """The constants of one direction."""
        return self._path[to_mme]

    def take(self, to_mme: bool, n: int) -> int:
        """The first IP identification of the next `n` datagrams of a direction, advanced."""
        ip_id = self._ip_id[to_mme]
        self._ip_id[to_mme] = (ip_id + n) & 0xFFFF
        return ip_id

    def frame(self, to_mme: bool, payload: bytes) -> bytes:
        """Ethernet frame carrying `payload` in one datagram; `to_mme`: peer → MME."""
        path, length = self._path[to_mme], 8 + len(payload)
        # the one's complement sum is the sum of the parts modulo 0xFFFF (never all zero
        # here: the ports are not); the length counts twice (pseudo-header and UDP header)
        body = int.from_bytes(payload + b"\x00" if len(payload) % 2 else payload, "big")
        total = (self._pseudo[to_mme] + 2 * length + body) % 0xFFFF or 0xFFFF
        checksum = ~total & 0xFFFF or 0xFFFF  # RFC 768: 0 means none
        udp = path.ports + struct.pack("!HH", length, checksum) + payload
        ip_id = self._ip_id[to_mme]
        self._ip_id[to_mme] = (ip_id + 1) & 0xFFFF
        return path.eth + path.ipv4(20 + length, ip_id) + udp


class PcapWriter:
    """Writes frames to a classic pcap file (microsecond timestamps, Ethernet)."""

    __slots__ = ("_f", "frames")

    def __init__(self, path: str, snaplen: int = 65535) -> None:
        self._f = open(path, "wb")  # noqa: SIM115 - closed by close() / the context manager
        self._f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen,
                                  _LINKTYPE_ETHERNET))
        self.frames = 0

    def write(self, t_us: int, frame: bytes) -> None:
        """Append one frame captured at `t_us` microseconds since the epoch."""
        sec, usec = divmod(t_us, 1_000_000)
        self._f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        self._f.write(frame)
        self.frames += 1

    def write_records(self, records: bytes, frames: int) -> None:
        """Append `frames` whole pcap records (header and frame each), made elsewhere."""
        self._f.write(records)
        self.frames += frames

    def close(self) -> None:
        """Flush and close the file."""
        self._f.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
