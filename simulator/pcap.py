"""Ethernet / IPv4 / SCTP or UDP framing of signalling messages and a classic pcap writer.

Byte layout only (STYLE habit 7): the signalling module decides what is
sent when; this module turns each user message into one Ethernet frame
holding one SCTP DATA chunk (RFC 9260 §3.3.1, B and E flags set) with
proper TSNs and stream sequence numbers per direction, the verification
tag of the peer and a CRC32c checksum (RFC 9260 Appendix A) — S1AP and
Diameter — or one UDP datagram with its checksum (RFC 768) — GTPv2-C —
and writes the frames as a libpcap file (magic a1b2c3d4, microseconds,
Ethernet).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

S1AP_PORT = 36412
S1AP_PPID = 18
DIAMETER_PORT = 3868      # RFC 6733 §2.1
DIAMETER_PPID = 46        # RFC 6733 §2.1, IANA SCTP payload protocol identifiers
GTPC_PORT = 2123          # TS 29.274 §4.2.2.1
_ETH_IPV4 = 0x0800
_IPPROTO_UDP = 17
_IPPROTO_SCTP = 132
_LINKTYPE_ETHERNET = 1


def _crc32c_table() -> tuple[int, ...]:
    """The 256-entry table of the reflected Castagnoli polynomial 0x82F63B78."""
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC32C = _crc32c_table()  # immutable


def crc32c(data: bytes) -> int:
    """CRC32c (Castagnoli) of `data`, as SCTP computes it (RFC 9260 Appendix A)."""
    crc = 0xFFFFFFFF
    table = _CRC32C
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def ipv4_checksum(header: bytes) -> int:
    """Internet checksum (RFC 1071) of an IPv4 header whose checksum field is zero (of any
    bytes: an odd length is padded with a zero octet)."""
    if len(header) % 2:
        header += b"\x00"
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
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


class SCTPAssociation:
    """One established SCTP association eNB ↔ MME (the handshake is not written).

    Keeps per direction the next TSN, the IP identification and the stream
    sequence number of every stream; `frame` returns the Ethernet frame of
    one DATA chunk and advances them.
    """

    __slots__ = ("enb", "mme", "_vtag", "_tsn", "_ssn", "_ip_id")

    def __init__(self, enb: Host, mme: Host, enb_tag: int, mme_tag: int,
                 enb_tsn: int, mme_tsn: int) -> None:
        self.enb, self.mme = enb, mme
        # a packet carries the verification tag chosen by its receiver (RFC 9260 §8.5)
        self._vtag = {True: mme_tag, False: enb_tag}
        self._tsn = {True: enb_tsn, False: mme_tsn}
        self._ssn: dict[tuple[bool, int], int] = {}
        self._ip_id = {True: enb_tsn & 0xFFFF, False: mme_tsn & 0xFFFF}

    def frame(self, uplink: bool, stream: int, payload: bytes, ppid: int = S1AP_PPID) -> bytes:
        """Ethernet frame carrying `payload` on `stream`; uplink means eNB → MME."""
        src, dst = (self.enb, self.mme) if uplink else (self.mme, self.enb)
        ssn = self._ssn.get((uplink, stream), 0)
        self._ssn[(uplink, stream)] = (ssn + 1) & 0xFFFF
        tsn = self._tsn[uplink]
        self._tsn[uplink] = (tsn + 1) & 0xFFFFFFFF
        chunk = struct.pack("!BBHIHHI", 0, 0x03, 16 + len(payload), tsn, stream, ssn, ppid)
        chunk += payload + bytes(-len(payload) % 4)
        common = struct.pack("!HHII", src.port, dst.port, self._vtag[uplink], 0)
        crc = crc32c(common + chunk)
        sctp = common[:8] + struct.pack("<I", crc) + chunk  # stored least significant byte first
        ip_id = self._ip_id[uplink]
        self._ip_id[uplink] = (ip_id + 1) & 0xFFFF
        return _ethernet(src.mac, dst.mac, _ipv4(src.ip_bytes, dst.ip_bytes, ip_id, sctp))


class UDPFlow:
    """UDP between a peer and the MME (both ends on one port, as GTP-C nodes send from
    2123); keeps the IP identification of each direction."""

    __slots__ = ("peer", "mme", "_ip_id")

    def __init__(self, peer: Host, mme: Host, ip_id: int) -> None:
        self.peer, self.mme = peer, mme
        self._ip_id = {True: ip_id & 0xFFFF, False: (ip_id * 7 + 1) & 0xFFFF}

    def frame(self, to_mme: bool, payload: bytes) -> bytes:
        """Ethernet frame carrying `payload` in one datagram; `to_mme`: peer → MME."""
        src, dst = (self.peer, self.mme) if to_mme else (self.mme, self.peer)
        length = 8 + len(payload)
        pseudo = src.ip_bytes + dst.ip_bytes + struct.pack("!BBH", 0, _IPPROTO_UDP, length)
        head = struct.pack("!HHHH", src.port, dst.port, length, 0)
        checksum = ipv4_checksum(pseudo + head + payload) or 0xFFFF  # RFC 768: 0 means none
        udp = head[:6] + struct.pack("!H", checksum) + payload
        ip_id = self._ip_id[to_mme]
        self._ip_id[to_mme] = (ip_id + 1) & 0xFFFF
        return _ethernet(src.mac, dst.mac,
                         _ipv4(src.ip_bytes, dst.ip_bytes, ip_id, udp, _IPPROTO_UDP))


def _ipv4(src: bytes, dst: bytes, ident: int, payload: bytes, proto: int = _IPPROTO_SCTP
          ) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0x02, 20 + len(payload), ident, 0x4000, 64,
                         proto, 0, src, dst)  # DSCP 0, ECT(0); don't fragment
    return header[:10] + struct.pack("!H", ipv4_checksum(header)) + header[12:] + payload


def _ethernet(src: bytes, dst: bytes, payload: bytes) -> bytes:
    return dst + src + struct.pack("!H", _ETH_IPV4) + payload


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

    def close(self) -> None:
        """Flush and close the file."""
        self._f.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
