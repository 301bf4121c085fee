"""The framing fast path (Ethernet / IPv4 / one whole SCTP DATA chunk or UDP, read at
fixed offsets, frame by frame and over a batch with numpy) gives exactly what the general
path gives: on every frame of every golden
capture, of a simulated capture, and of frames with one byte of the headers changed
(the fast path must notice every layout it does not cover and step aside)."""

from __future__ import annotations

import random

import pytest

from collector.framing.messages import Framer
from collector.sources.pcap import Records, read_capture
from collector.telemetry import Counters
from simulator.generate import generate
from simulator.scenario import load
from tests.conftest import CAPTURES

GOLDEN = sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))


def _messages(framer: Framer, linktype: int, frame: bytes) -> list[tuple]:
    return [(m.proto, m.assoc, m.payload, m.src, m.dst, m.sport, m.dport, m.ppid)
            for m in framer(linktype, frame, 0.0)]


def _records(frames: list[tuple[int, bytes]]) -> Records:
    """The frames as one batch of a capture read into memory (as `read_records` gives)."""
    rec = Records(b"".join(frame for _lt, frame in frames), 1)
    at = 0
    for linktype, frame in frames:
        rec.times.append(0.0)
        rec.linktypes.append(linktype)
        rec.offsets.append(at)
        rec.lengths.append(len(frame))
        at += len(frame)
    return rec


def _compare(frames: list[tuple[int, bytes]]) -> int:
    """Frame three ways (the fast path frame by frame, the same tests over the whole batch
    with numpy, the general path), assert equal messages and counters; return the fast
    path's share."""
    fast_counts, slow_counts, batch_counts = Counters(), Counters(), Counters()
    fast, slow = Framer(fast_counts), Framer(slow_counts, fast=False)
    hits, wanted = 0, []
    for i, (linktype, frame) in enumerate(frames):
        got, want = _messages(fast, linktype, frame), _messages(slow, linktype, frame)
        assert got == want, frame.hex()
        hits += bool(got)
        wanted += [(i, m) for m in want]
    assert fast_counts.dropped == slow_counts.dropped
    batched = [(i, (m.proto, m.assoc, m.payload, m.src, m.dst, m.sport, m.dport, m.ppid))
               for i, m in Framer(batch_counts).batch(_records(frames))]
    assert batched == wanted
    assert batch_counts.dropped == slow_counts.dropped
    return hits


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_fast_path_equals_general_path_on_golden_captures(path):
    frames = [(lt, fr) for _n, _t, lt, fr in read_capture(str(path), Counters())]
    _compare(frames)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    generate(load("tiny"), out, 3)
    return [(lt, fr) for _n, _t, lt, fr in read_capture(str(out / "s1.pcap"), Counters())]


def test_fast_path_equals_general_path_on_a_simulated_capture(simulated):
    assert _compare(simulated) == len(simulated)  # every frame of it is a message


def test_fast_path_takes_every_frame_of_the_simulated_links(simulated, monkeypatch):
    """S1AP and S6a over SCTP, S11 over UDP: none needs the general path (it would raise)."""
    protocols = {frame[23] for _lt, frame in simulated}
    assert protocols == {17, 132}
    framer = Framer(Counters())

    def general_path(*_args):
        raise AssertionError("general path taken")

    monkeypatch.setattr("collector.framing.messages.ip_offset", general_path)
    assert sum(len(framer(lt, frame)) for lt, frame in simulated) == len(simulated)


def test_fast_path_steps_aside_from_every_changed_header_byte(simulated):
    """Each of the first 64 bytes (Ethernet, IPv4, SCTP common header, DATA chunk header;
    UDP header and GTPv2-C) set to other values, in SCTP and UDP frames of the simulation:
    same result both ways."""
    rnd = random.Random(5)
    frames = []
    sctp = [f for f in simulated if f[1][23] == 132]
    udp = [f for f in simulated if f[1][23] == 17]
    for linktype, frame in rnd.sample(sctp, 30) + rnd.sample(udp, 20):
        for pos in range(min(64, len(frame))):
            for value in {0, 0xFF, frame[pos] ^ 0x01, frame[pos] ^ 0x80, rnd.randrange(256)}:
                frames.append((linktype, frame[:pos] + bytes([value]) + frame[pos + 1:]))
        frames.append((linktype, frame[:rnd.randrange(14, len(frame))]))  # cut short
        frames.append((linktype, frame + b"\x00" * 4))  # Ethernet padding
    _compare(frames)
