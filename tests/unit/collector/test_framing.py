"""Capture reading and framing, checked against frames built by scapy (an independent
implementation): pcap in both byte orders, µs and ns, pcapng, every link layer,
IPv4/IPv6, SCTP bundles and split user messages."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1Q, Ether
from scapy.layers.sctp import SCTP, SCTPChunkData
from scapy.utils import PcapNgWriter, RawPcapWriter

from collector.framing.messages import iter_messages
from collector.sources.pcap import CaptureError, check_capture, read_capture
from collector.telemetry import Counters

S1AP_A, S1AP_B = b"\x00\x0c\x40\x01\xaa", b"\x00\x0d\x40\x02\xbb\xcc"


def _sctp(chunk):
    return SCTP(sport=5000, dport=36412) / chunk


def _data(payload, ppid=18, flags="BE", tsn=1):
    return SCTPChunkData(tsn=tsn, stream_id=1, proto_id=ppid, data=payload,
                         beginning=int("B" in flags), ending=int("E" in flags))


def _write_pcap(path, pkts, linktype, endianness="<", nano=False, ts=1700000000.25):
    w = RawPcapWriter(str(path), linktype=linktype, endianness=endianness, nano=nano)
    w.write_header(None)
    for i, p in enumerate(pkts):
        sec = ts + i
        w.write_packet(bytes(p), sec=int(sec), usec=int(round((sec % 1) * (1e9 if nano else 1e6))))
    w.close()


def _payloads(path):
    c = Counters()
    return [(f, round(t, 6), m.proto, m.payload) for f, t, m in iter_messages(str(path), c)], c


@pytest.mark.parametrize("endianness", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path, endianness, nano):
    pkt = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / _sctp(_data(S1AP_A))
    path = tmp_path / "a.pcap"
    _write_pcap(path, [pkt, pkt], 1, endianness, nano)
    got, c = _payloads(path)
    assert got == [(1, 1700000000.25, "s1ap", S1AP_A), (2, 1700000001.25, "s1ap", S1AP_A)]
    assert c.frames == 2 and not c.dropped


def test_pcapng_reads_packets_and_timestamps(tmp_path):
    path = tmp_path / "a.pcapng"
    w = PcapNgWriter(str(path))
    p = Ether() / IP() / _sctp(_data(S1AP_B))
    p.time = 1700000123.5
    w.write(p)
    w.close()
    got, _ = _payloads(path)
    assert got == [(1, 1700000123.5, "s1ap", S1AP_B)]


@pytest.mark.parametrize("linktype,frame", [
    (1, Ether() / Dot1Q(vlan=10) / IP() / _sctp(_data(S1AP_A))),
    (1, Ether() / Dot1Q(vlan=10) / Dot1Q(vlan=20) / IP() / _sctp(_data(S1AP_A))),
    (113, CookedLinux(proto=0x0800) / IP() / _sctp(_data(S1AP_A))),
    (276, CookedLinuxV2(proto=0x86DD) / IPv6() / _sctp(_data(S1AP_A))),
    (101, IP() / _sctp(_data(S1AP_A))),
    (1, Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / _sctp(_data(S1AP_A))),
])
def test_link_layers(tmp_path, linktype, frame):
    path = tmp_path / "l.pcap"
    _write_pcap(path, [frame], linktype)
    got, _ = _payloads(path)
    assert [g[2:] for g in got] == [("s1ap", S1AP_A)]


def test_bsd_loopback(tmp_path):
    path = tmp_path / "lo.pcap"
    _write_pcap(path, [struct.pack(">I", 2) + bytes(IP() / _sctp(_data(S1AP_A)))], 108)
    assert [g[2:] for g in _payloads(path)[0]] == [("s1ap", S1AP_A)]


def test_several_chunks_in_one_packet_and_protocol_by_ppid(tmp_path):
    pkt = Ether() / IP() / SCTP(sport=1, dport=2) / _data(S1AP_A, 18) / _data(S1AP_B, 60)
    path = tmp_path / "b.pcap"
    _write_pcap(path, [pkt], 1)
    got, _ = _payloads(path)
    assert [g[2:] for g in got] == [("s1ap", S1AP_A), ("ngap", S1AP_B)]


def test_user_message_split_over_chunks(tmp_path):
    whole = bytes(range(200))
    pkts = [Ether() / IP() / _sctp(_data(whole[:80], flags="B", tsn=1)),
            Ether() / IP() / _sctp(_data(whole[80:150], flags="", tsn=2)),
            Ether() / IP() / _sctp(_data(whole[150:], flags="E", tsn=3))]
    path = tmp_path / "s.pcap"
    _write_pcap(path, pkts, 1)
    got, _ = _payloads(path)
    assert [(g[0], g[3]) for g in got] == [(3, whole)]


def test_udp_gtpv2_and_other_traffic_counted(tmp_path):
    pkts = [Ether() / IP() / UDP(sport=2123, dport=2123) / b"\x48\x20\x00\x04abcd",
            Ether() / IP() / UDP(sport=53, dport=53) / b"dns",
            Ether(dst="ff:ff:ff:ff:ff:ff", type=0x0806) / (b"\x00" * 28)]
    path = tmp_path / "u.pcap"
    _write_pcap(path, pkts, 1)
    got, c = _payloads(path)
    assert [g[2] for g in got] == ["gtpv2"]
    assert c.dropped == {("framing", "not_signalling"): 1, ("framing", "not_ip"): 1}


def test_garbage_sctp_chunk_is_a_counted_drop(tmp_path):
    good = bytes(IP() / _sctp(_data(S1AP_A)))
    bad = bytearray(good)
    bad[20 + 12 + 2:20 + 12 + 4] = b"\xff\xf0"  # chunk length beyond the packet
    path = tmp_path / "g.pcap"
    _write_pcap(path, [bytes(bad), good], 101)
    got, c = _payloads(path)
    assert [g[0] for g in got] == [2]
    assert c.dropped == {("framing", "bad_chunk"): 1}


def test_truncated_capture_is_counted_and_read_up_to_the_cut(tmp_path):
    path = tmp_path / "t.pcap"
    _write_pcap(path, [Ether() / IP() / _sctp(_data(S1AP_A))] * 3, 1)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    got, c = _payloads(path)
    assert len(got) == 2 and c.dropped == {("capture", "truncated_capture"): 1}


def test_not_a_capture_and_missing_file(tmp_path):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"hello world, not a capture")
    with pytest.raises(CaptureError, match="not a pcap or pcapng file"):
        check_capture(str(junk))
    with pytest.raises(CaptureError, match="not a pcap or pcapng file"):
        list(read_capture(str(junk), Counters()))
    with pytest.raises(CaptureError, match="No such file"):
        check_capture(str(tmp_path / "missing.pcap"))
