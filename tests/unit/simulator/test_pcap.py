"""Framing of the capture: pcap header, Ethernet/IPv4 checksums, SCTP CRC32c, and TSNs /
stream sequence numbers that advance by one per direction (per stream for SSNs); UDP
checksums of GTPv2-C."""

from __future__ import annotations

import struct
from collections import Counter

from simulator.pcap import (
    DIAMETER_PORT,
    DIAMETER_PPID,
    GTPC_PORT,
    S1AP_PORT,
    S1AP_PPID,
    Host,
    SCTPAssociation,
    UDPFlow,
    crc32c,
    ipv4_checksum,
)
from tests.unit.simulator._capture import read_pcap


def test_crc32c_known_answers():
    assert crc32c(b"123456789") == 0xE3069283  # RFC 3720 B.4 check value
    assert crc32c(bytes(32)) == 0x8A9136AA      # RFC 3720 B.4: 32 bytes of zeros
    assert crc32c(b"\xff" * 32) == 0x62A8AB43   # RFC 3720 B.4: 32 bytes of ones


def _checksum_ok(sctp: bytes) -> bool:
    stored = struct.unpack_from("<I", sctp, 8)[0]
    return crc32c(sctp[:8] + bytes(4) + sctp[12:]) == stored


def test_one_frame_by_hand():
    a = SCTPAssociation(Host(b"\x02\x00\x0a\x00\x01\x01", "10.0.1.1"),
                        Host(b"\x02\x00\x0a\x00\x00\x01", "10.0.0.1"),
                        enb_tag=0x11111111, mme_tag=0x22222222, enb_tsn=7, mme_tsn=100)
    f = a.frame(True, 1, b"\x00\x0c\x40")
    assert f[:6] == b"\x02\x00\x0a\x00\x00\x01" and f[12:14] == b"\x08\x00"
    ip, sctp = f[14:34], f[34:]
    assert ip[9] == 132 and ip[12:16] == bytes([10, 0, 1, 1]) and ip[16:20] == bytes([10, 0, 0, 1])
    assert struct.unpack_from("!H", ip, 2)[0] == 20 + len(sctp) == 20 + 12 + 16 + 4
    sport, dport, vtag = struct.unpack_from("!HHI", sctp, 0)
    assert (sport, dport, vtag) == (S1AP_PORT, S1AP_PORT, 0x22222222)  # the MME's tag
    ctype, flags, length, tsn, sid, ssn, ppid = struct.unpack_from("!BBHIHHI", sctp, 12)
    assert (ctype, flags, length, tsn, sid, ssn, ppid) == (0, 3, 19, 7, 1, 0, S1AP_PPID)
    assert sctp[28:31] == b"\x00\x0c\x40" and sctp[31:] == b"\x00"  # padded to 4 bytes
    assert _checksum_ok(sctp) and ipv4_checksum(ip) == 0
    down = a.frame(False, 1, b"\x00")
    assert struct.unpack_from("!I", down, 34 + 4)[0] == 0x11111111  # the eNB's tag
    assert struct.unpack_from("!IHH", down, 34 + 16)[0] == 100


def _udp_checksum_ok(ip: bytes, udp: bytes) -> bool:
    """RFC 768: the sum over the pseudo-header and the datagram, checksum included, is 0."""
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
    return struct.unpack_from("!H", udp, 6)[0] != 0 and ipv4_checksum(pseudo + udp) == 0


def test_one_udp_frame_by_hand():
    flow = UDPFlow(Host(b"\x02\x00\x0a\x00\x00\x02", "10.0.0.2", GTPC_PORT),
                   Host(b"\x02\x00\x0a\x00\x00\x01", "10.0.0.1", GTPC_PORT), 0x1234)
    f = flow.frame(False, b"\x48\x20\x00\x08" + bytes(8) + b"\x01")  # odd length: padded sum
    assert f[:6] == b"\x02\x00\x0a\x00\x00\x02"  # MME -> S-GW
    ip, udp = f[14:34], f[34:]
    assert ip[9] == 17 and ipv4_checksum(ip) == 0
    assert struct.unpack_from("!HHH", udp) == (GTPC_PORT, GTPC_PORT, 8 + 13)
    assert _udp_checksum_ok(ip, udp) and udp[8:] == b"\x48\x20\x00\x08" + bytes(8) + b"\x01"
    back = flow.frame(True, b"\x00\x00")
    assert back[26:30] == bytes([10, 0, 0, 2]) and _udp_checksum_ok(back[14:34], back[34:])
    assert struct.unpack_from("!H", back, 18)[0] == 0x1234  # IP identification, S-GW -> MME


def test_every_frame_of_tiny(tiny, tiny_out):
    """S1AP and Diameter: SCTP with CRC32c, TSNs and SSNs that advance by one, one tag per
    direction; GTPv2-C: UDP with a correct checksum; all three, one Ethernet capture."""
    out, summary = tiny_out
    frames = read_pcap(out / "s1.pcap")
    assert [f.t_us for f in frames] == sorted(f.t_us for f in frames)
    next_tsn: dict = {}
    next_ssn: dict = {}
    tags: dict = {}
    net = tiny.network
    enb_ips = {e.ip for e in tiny.enbs}
    peers = {"s1ap": enb_ips, "diameter": {net.hss_ip}, "gtpv2": {net.sgw_ip}}
    ports = {"s1ap": S1AP_PORT, "diameter": DIAMETER_PORT, "gtpv2": GTPC_PORT}
    ppids = {"s1ap": S1AP_PPID, "diameter": DIAMETER_PPID}
    seen = Counter()
    for f in frames:
        proto = f.proto
        seen[proto] += 1
        assert ipv4_checksum(f.ip) == 0
        assert {f.src, f.dst} - peers[proto] == {net.mme_ip}
        sport, dport = struct.unpack_from("!HH", f.transport, 0)
        assert sport == dport == ports[proto]
        if proto == "gtpv2":
            assert _udp_checksum_ok(f.ip, f.transport)
            continue
        assert _checksum_ok(f.transport)
        vtag = struct.unpack_from("!I", f.transport, 4)[0]
        ctype, flags, _length, tsn, sid, ssn, ppid = struct.unpack_from("!BBHIHHI", f.transport,
                                                                        12)
        assert (ctype, flags, ppid) == (0, 3, ppids[proto])
        direction = (f.src, f.dst)
        assert tags.setdefault(direction, vtag) == vtag
        if direction in next_tsn:
            assert tsn == next_tsn[direction]
        next_tsn[direction] = (tsn + 1) & 0xFFFFFFFF
        assert ssn == next_ssn.get((direction, sid), 0)
        next_ssn[(direction, sid)] = ssn + 1
    # one association per eNB and one with the HSS, both directions
    assert len(tags) == 2 * (len(tiny.enbs) + 1)
    assert seen == {"s1ap": summary.by_link["s1"], "gtpv2": summary.by_link["s11"],
                    "diameter": summary.by_link["s6a"]}
    assert all(seen.values())
