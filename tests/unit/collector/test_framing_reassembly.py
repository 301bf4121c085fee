"""IP fragment and TCP stream reassembly, checked against packets built by scapy (an
independent implementation): IPv4/IPv6 fragments in any order, repeated and overlapping,
reassembly limits; Diameter over TCP split over segments, several per segment, out of
order, retransmitted, resynchronised after garbage, and stream state dropped on
FIN, RST and idle time."""

from __future__ import annotations

import itertools
import random

import pytest
from scapy.contrib.diameter import AVP, DiamReq
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether
from scapy.layers.sctp import SCTP, SCTPChunkData
from scapy.utils import RawPcapWriter

from collector.framing.messages import Framer, iter_messages
from collector.telemetry import Counters

GTP = b"\x48\x20" + (2996).to_bytes(2, "big") + bytes(range(256)) * 11 + bytes(180)


def _frames(pkts) -> list[bytes]:
    return [bytes(Ether() / p) for p in pkts]


def _run(frames, times=None):
    c = Counters()
    framer = Framer(c)
    out = []
    for i, f in enumerate(frames):
        for m in framer(1, f, times[i] if times else float(i)):
            out.append((i + 1, m.proto, m.payload))
    return out, c, framer


def _v4_fragments(payload=GTP, ident=7, size=1000):
    p = IP(src="10.0.0.1", dst="10.0.0.2", id=ident) / UDP(sport=2123, dport=2123) / payload
    return _frames(fragment(p, fragsize=size))


def _v6_fragments(payload=GTP, ident=9, ext=False):
    inner = UDP(sport=2123, dport=2123) / payload
    if ext:  # a Destination Options header in the fragmentable part (RFC 8200 §4.5)
        inner = IPv6ExtHdrDestOpt() / inner
    p = IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(id=ident) / inner
    return _frames(fragment6(p, 1280))


@pytest.mark.parametrize("build", [_v4_fragments, _v6_fragments,
                                   lambda: _v6_fragments(ext=True)])
def test_fragments_in_every_order(build) -> None:
    frags = build()
    assert len(frags) >= 3
    for order in itertools.permutations(range(len(frags))):
        got, c, framer = _run([frags[i] for i in order])
        assert [(f, p, m) for f, p, m in got] == [(len(frags), "gtpv2", GTP)], order
        assert not c.dropped and len(framer._fragments) == 0


def test_repeated_and_identical_overlap_fragments_are_harmless() -> None:
    frags = _v4_fragments()
    overlap = IP(src="10.0.0.1", dst="10.0.0.2", id=7, flags="MF", frag=100, proto=17) / \
        (bytes(UDP(sport=2123, dport=2123, len=8 + len(GTP)) / GTP)[800:1600])
    got, c, _ = _run([frags[1], frags[1], bytes(Ether() / overlap), frags[0], frags[3], frags[2]])
    assert [(f, m) for f, _p, m in got] == [(6, GTP)]
    assert not c.dropped


def test_conflicting_overlap_drops_the_datagram() -> None:
    frags = _v4_fragments()
    raw = bytearray(bytes(UDP(sport=2123, dport=2123, len=8 + len(GTP)) / GTP)[800:1600])
    raw[300] ^= 0xFF  # byte 1100 of the datagram, also in fragment 2
    evil = IP(src="10.0.0.1", dst="10.0.0.2", id=7, flags="MF", frag=100, proto=17) / bytes(raw)
    got, c, framer = _run([frags[0], frags[1], bytes(Ether() / evil), frags[2], frags[3]])
    assert got == []
    assert c.dropped[("framing", "fragment_overlap")] == 3
    assert len(framer._fragments) == 1  # the late fragments start a new, incomplete datagram


def test_fragments_of_interleaved_datagrams_and_sctp_inside() -> None:
    a, b = _v4_fragments(ident=1), _v4_fragments(payload=GTP[:2500], ident=2)
    s1ap = bytes(range(40)) * 50
    sctp = IP(src="10.0.0.3", dst="10.0.0.4", id=3) / SCTP(sport=5000, dport=36412) / \
        SCTPChunkData(tsn=1, stream_id=1, proto_id=18, data=s1ap, beginning=1, ending=1)
    c_frags = _frames(fragment(sctp, fragsize=800))
    got, c, _ = _run([a[0], b[1], c_frags[2], a[2], b[0], c_frags[0], a[3], a[1], c_frags[1], b[2]])
    assert [(f, p, len(m)) for f, p, m in got] == [(8, "gtpv2", len(GTP)), (9, "s1ap", len(s1ap)),
                                                    (10, "gtpv2", 2500)]
    assert not c.dropped


def test_bad_fragments_and_limits_are_counted() -> None:
    frags = _v4_fragments()
    odd = IP(src="10.0.0.1", dst="10.0.0.2", id=8, flags="MF", proto=17) / (b"z" * 13)
    _got, c, _ = _run([bytes(Ether() / odd)])
    assert c.dropped == {("framing", "bad_fragment"): 1}  # non-final length not a multiple of 8
    _got, c, framer = _run([frags[0], frags[1], frags[3]], times=[0.0, 1.0, 31.0])
    assert c.dropped == {("framing", "fragment_timeout"): 2}  # the first two, 31 s later
    framer.flush()
    assert c.dropped == {("framing", "fragment_timeout"): 3}
    framer = Framer(c := Counters())
    framer._fragments._max_datagrams = 2
    for ident in range(5):
        framer(1, _v4_fragments(ident=ident)[0], 0.0)
    assert c.dropped == {("framing", "fragment_overflow"): 3} and len(framer._fragments) == 2


def test_atomic_ipv6_fragment_and_plain_ipv6_gtp() -> None:
    atomic = IPv6() / IPv6ExtHdrFragment(id=1, m=0, offset=0) / UDP(sport=2123, dport=2123) / GTP
    plain = IPv6() / UDP(sport=2123, dport=2123) / GTP
    got, c, _ = _run(_frames([atomic, plain]))
    assert [(p, m) for _f, p, m in got] == [("gtpv2", GTP)] * 2 and not c.dropped


# ---------------------------------------------------------------- TCP / Diameter

def _diameter(n: int, pad: int = 0) -> bytes:
    avps = [AVP("Session-Id", val=f"mme;{n}"), AVP("User-Name", val="001010000000001"),
            AVP("Origin-Host", val="x" * pad or "mme")]
    return bytes(DiamReq("ULR", drHbHId=n, drEtEId=n, avpList=avps))


def _segments(stream: bytes, cuts: list[int], isn: int = 1000, sport: int = 40000):
    """TCP segments (seq, payload) of `stream` cut at `cuts` (after a SYN at isn)."""
    bounds = [0, *cuts, len(stream)]
    return [(isn + 1 + a, stream[a:b]) for a, b in itertools.pairwise(bounds) if b > a]


def _tcp(seq, payload=b"", flags="PA", sport=40000, dport=3868, back=False):
    src, dst = ("10.0.0.2", "10.0.0.1") if back else ("10.0.0.1", "10.0.0.2")
    return bytes(Ether() / IP(src=src, dst=dst) /
                 TCP(sport=sport, dport=dport, seq=seq % 2**32, flags=flags) / payload)


def _syn(isn=1000, sport=40000):
    return _tcp(isn, flags="S", sport=sport)


MSGS = [_diameter(i, pad=i * 37) for i in range(6)]
STREAM = b"".join(MSGS)


def test_split_and_coalesced_messages_keep_the_completing_frame() -> None:
    ends = list(itertools.accumulate(len(m) for m in MSGS))
    cuts = [10, ends[0] + 3, ends[2] - 1, ends[2] + 50]  # split in 2 and 3; 3-5 in one segment
    frames = [_syn()] + [_tcp(s, p) for s, p in _segments(STREAM, cuts)]
    got, c, _ = _run(frames)
    assert [m for _f, _p, m in got] == MSGS
    assert [f for f, _p, _m in got] == [3, 4, 5, 6, 6, 6]
    assert {p for _f, p, _m in got} == {"diameter"} and not c.dropped


@pytest.mark.parametrize("seed", range(20))
def test_out_of_order_retransmitted_and_overlapping_segments(seed: int) -> None:
    rnd = random.Random(seed)
    cuts = sorted(rnd.sample(range(1, len(STREAM)), 12))
    segs = _segments(STREAM, cuts)
    extra = [(s + 3, p[3:]) for s, p in rnd.sample(segs, 3) if len(p) > 3]  # overlaps
    extra += rnd.sample(segs, 3)                                            # retransmissions
    mixed = segs + extra
    rnd.shuffle(mixed)
    got, c, framer = _run([_syn()] + [_tcp(s, p) for s, p in mixed])
    assert [m for _f, _p, m in got] == MSGS
    assert not c.dropped


def test_repeated_syn_keeps_the_stream() -> None:
    segs = _segments(STREAM, [100, 400])
    frames = [_syn(), _tcp(*segs[0]), _syn(), _tcp(*segs[1]), _syn(), _tcp(*segs[2])]
    got, c, _ = _run(frames)
    assert [m for _f, _p, m in got] == MSGS and not c.dropped


def test_sequence_numbers_wrap_around() -> None:
    isn = 2**32 - 100
    frames = [_syn(isn)] + [_tcp(s, p) for s, p in _segments(STREAM, [50, 150, 300], isn)]
    got, c, _ = _run(frames)
    assert [m for _f, _p, m in got] == MSGS and not c.dropped


def test_capture_starting_mid_stream_and_garbage_resynchronise() -> None:
    ends = list(itertools.accumulate(len(m) for m in MSGS))
    tail = STREAM[ends[0] - 30:]  # the end of message 0, then messages 1..5
    got, c, _ = _run([_tcp(5000, tail[:200]), _tcp(5200, tail[200:])])
    assert [m for _f, _p, m in got] == MSGS[1:]
    assert c.dropped == {("framing", "bad_stream"): 1}
    garbage = MSGS[0] + b"\x01\xff\x00\x00garbage!" * 5 + b"".join(MSGS[1:])
    got, c, _ = _run([_syn()] + [_tcp(s, p) for s, p in _segments(garbage, [400])])
    assert [m for _f, _p, m in got] == MSGS
    assert c.dropped == {("framing", "bad_stream"): 1}


def test_lost_segment_is_skipped_as_a_gap() -> None:
    segs = _segments(STREAM, [len(MSGS[0]) + 10, len(MSGS[0]) + 20])
    frames = [_syn()] + [_tcp(s, p) for i, (s, p) in enumerate(segs) if i != 1]
    c = Counters()
    framer = Framer(c)
    framer._tcp._max_early = 100  # the lost bytes can no longer arrive
    got = [m.payload for i, f in enumerate(frames) for m in framer(1, f, float(i))]
    assert got == [MSGS[0], *MSGS[2:]]
    assert c.dropped == {("framing", "stream_gap"): 1, ("framing", "bad_stream"): 1}


def test_stream_state_dropped_on_fin_rst_idle_and_limit() -> None:
    half = len(MSGS[0]) // 2
    got, c, framer = _run([_syn(), _tcp(1001, MSGS[0]), _tcp(1001 + len(MSGS[0]), flags="FA")])
    assert len(got) == 1 and len(framer._tcp) == 0 and not c.dropped
    got, c, framer = _run([_syn(), _tcp(1001, MSGS[0][:half]),
                           _tcp(1, flags="R", sport=3868, dport=40000, back=True)])
    assert got == [] and len(framer._tcp) == 0
    assert c.dropped == {("framing", "stream_gap"): 1}  # half a message given up
    got, c, framer = _run([_syn(), _tcp(1001, MSGS[0][:half]), _syn(sport=40001)],
                          times=[0.0, 1.0, 400.0])
    assert len(framer._tcp) == 1 and c.dropped == {("framing", "stream_gap"): 1}
    c = Counters()
    framer = Framer(c)
    framer._tcp._max_streams = 3
    for port in range(40000, 40005):
        framer(1, _syn(sport=port), 0.0)
    assert len(framer._tcp) == 3 and c.dropped == {("framing", "stream_overflow"): 2}


def test_other_tcp_is_not_signalling_and_bad_headers_are_counted() -> None:
    bad = bytearray(_tcp(1, MSGS[0]))
    bad[14 + 20 + 12] = 0x20  # data offset 8 bytes
    got, c, framer = _run([_tcp(1, b"GET / HTTP/1.1\r\n", dport=80), bytes(bad)])
    assert got == [] and len(framer._tcp) == 0
    assert c.dropped == {("framing", "not_signalling"): 1, ("framing", "bad_tcp"): 1}


def test_iter_messages_over_a_pcap(tmp_path) -> None:
    path = tmp_path / "t.pcap"
    w = RawPcapWriter(str(path), linktype=1)
    w.write_header(None)
    cut = len(MSGS[0]) + len(MSGS[1]) // 2
    frames = [_syn()] + [_tcp(s, p) for s, p in _segments(STREAM, [20, cut])] + _v4_fragments()
    for i, f in enumerate(frames):
        w.write_packet(f, sec=1700000000 + i, usec=0)
    w.close()
    c = Counters()
    got = [(f, t, m.proto, m.payload) for f, t, m in iter_messages(str(path), c)]
    assert [g[:3] for g in got] == [(3, 1700000002.0, "diameter")] + [
        (4, 1700000003.0, "diameter")] * 5 + [(8, 1700000007.0, "gtpv2")]
    assert [g[3] for g in got] == [*MSGS, GTP]
    assert not c.dropped and c.frames == 8
