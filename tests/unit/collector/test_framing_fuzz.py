"""Fuzzing the reassembly of framing: TCP segment sequences of real Diameter messages
cut, reordered, repeated, overlapped, lost and salted with garbage, and IP fragment
sets in any order with repeats and conflicting copies.  Framing never raises or
hangs, its state stays within its limits, whatever it yields is a whole Diameter
message, and without loss or garbage it yields exactly what was sent."""

from __future__ import annotations

import struct
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.framing.messages import Framer
from collector.telemetry import REASONS, Counters
from tests.unit.collector.test_decode_diameter_fuzz import seeds

EXAMPLES = 2000
ETHER = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"


def ipv4(payload: bytes, proto: int = 6, ident: int = 1, offset: int = 0, more: bool = False,
         src: bytes = b"\x0a\x00\x00\x01", dst: bytes = b"\x0a\x00\x00\x02") -> bytes:
    flags = (0x2000 if more else 0) | (offset // 8)
    return ETHER + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags, 64,
                               proto, 0, src, dst) + payload


def tcp(seq: int, payload: bytes, flags: int = 0x18, sport: int = 40000) -> bytes:
    return ipv4(struct.pack("!HHIIBBHHH", sport, 3868, seq % 2**32, 0, 0x50, flags, 65535, 0, 0)
                + payload)


@st.composite
def tcp_session(draw):
    """(frames, messages sent, clean): a connection carrying some real Diameter messages."""
    msgs = draw(st.lists(st.sampled_from(seeds()), min_size=1, max_size=6))
    stream = b"".join(msgs)
    isn = draw(st.integers(0, 2**32 - 1))
    cuts = sorted(set(draw(st.lists(st.integers(1, len(stream) - 1), max_size=12))))
    bounds = [0, *cuts, len(stream)]
    segs = [(isn + 1 + a, stream[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    clean = True
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["swap", "repeat", "overlap", "lose", "garbage"]))
        i = draw(st.integers(0, len(segs) - 1))
        seq, data = segs[i]
        if op == "swap":
            j = draw(st.integers(0, len(segs) - 1))
            segs[i], segs[j] = segs[j], segs[i]
        elif op == "repeat":
            segs.insert(draw(st.integers(0, len(segs))), (seq, data))
        elif op == "overlap" and len(data) > 2:
            k = draw(st.integers(1, len(data) - 1))
            segs.insert(draw(st.integers(0, len(segs))), (seq + k, data[k:]))
        elif op == "lose":
            del segs[i]
            clean = False
            if not segs:
                break
        elif op == "garbage":
            segs.insert(i, (seq, draw(st.binary(min_size=1, max_size=64))))
            clean = False
    if segs and draw(st.booleans()):  # a reset somewhere
        segs.insert(draw(st.integers(0, len(segs))), (segs[0][0], None))
        clean = False
    frames = [tcp(isn, b"", 0x02)] + [tcp(s, d) if d is not None else tcp(s, b"", 0x04)
                                      for s, d in segs]
    return frames, msgs, clean


def test_tcp_segment_sequences() -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(tcp_session())
    def run(session) -> None:
        frames, msgs, clean = session
        started = time.monotonic()
        counters = Counters()
        framer = Framer(counters)
        framer._tcp._max_early = 1 << 20  # nothing given up for want of room
        out = [m.payload for i, f in enumerate(frames) for m in framer(1, f, float(i))]
        for m in out:  # whole messages: version 1, their own length
            assert m[0] == 1 and int.from_bytes(m[1:4], "big") == len(m)
        if clean:
            assert out == msgs and not counters.dropped
        framer.flush()
        assert len(framer._tcp) == 0
        assert time.monotonic() - started < 5.0  # a hang guard (ms per session), not speed
        assert all(stage == "framing" and r in REASONS for stage, r in counters.dropped)

    run()


@st.composite
def fragment_set(draw):
    """(frames, datagram payload, clean): a UDP datagram to port 2123 cut into fragments."""
    body = draw(st.binary(min_size=8, max_size=3000))
    payload = struct.pack("!HHHH", 2123, 2123, 8 + len(body), 0) + body
    size = draw(st.integers(1, min(200, (len(payload) - 1) // 8))) * 8  # 2 fragments or more
    pieces = [(o, payload[o:o + size], o + size < len(payload))
              for o in range(0, len(payload), size)]
    clean = True
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(pieces) - 1))
        off, data, more = pieces[i]
        op = draw(st.sampled_from(["swap", "repeat", "conflict", "odd"]))
        if op == "swap":
            j = draw(st.integers(0, len(pieces) - 1))
            pieces[i], pieces[j] = pieces[j], pieces[i]
        elif op == "repeat":
            pieces.insert(draw(st.integers(0, len(pieces))), pieces[i])
        elif op == "conflict":
            pieces.insert(draw(st.integers(0, len(pieces))),
                          (off, bytes(b ^ 0xFF for b in data), more))
            clean = False
        else:
            pieces.insert(i, (off, data + b"x", True))
            clean = False
    frames = [ipv4(d, 17, 7, o, m) for o, d, m in pieces]
    return frames, payload[8:], clean


def test_fragment_sets() -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(fragment_set())
    def run(case) -> None:
        frames, body, clean = case
        started = time.monotonic()
        counters = Counters()
        framer = Framer(counters)
        out = [m.payload for i, f in enumerate(frames) for m in framer(1, f, float(i) / 100)]
        if clean:  # fragments repeated after completion make the datagram again, as a
            # repeated whole packet would: never anything but the datagram
            assert out and set(out) == {body} and not counters.dropped
        assert len(framer._fragments) <= 1
        assert time.monotonic() - started < 5.0  # a hang guard (ms per set), not speed

    run()
