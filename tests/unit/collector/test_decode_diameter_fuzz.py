"""Fuzzing DiameterDecoder with thousands of mutated real messages: aimed at the AVP
length fields (zero, short, long, at any nesting depth) as well as bytes anywhere.
It returns `(events, reason)` with a reason from the closed set, never raises, never
hangs, and nothing it returns holds identity digits."""

from __future__ import annotations

import time
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.decode.diameter import DiameterDecoder
from collector.decode.diameter_avps import GROUPED, avp_key
from collector.identity import Correlator
from collector.telemetry import REASONS
from tests.helpers import tsv_identities
from tests.unit.collector.test_decode_diameter_differential import diameter_messages
from wire.pseudonym import Pseudonymizer

EXAMPLES = 3000
HANG = 5.0  # seconds for one message: a hang guard (a decode takes microseconds)


@cache
def seeds() -> list[bytes]:
    return sorted({payload for _c, _f, payload in diameter_messages()})


@cache
def secrets() -> list[str]:
    imsis, msisdns = tsv_identities()
    return sorted(imsis | msisdns)


def avp_offsets(msg: bytes) -> list[int]:
    """Offsets of every AVP header of a message, Grouped ones entered (a walk of its own)."""
    out, todo = [], [(20, len(msg))]
    while todo:
        p, end = todo.pop()
        while p + 8 <= end:
            code, flags = int.from_bytes(msg[p:p + 4], "big"), msg[p + 4]
            length, head = int.from_bytes(msg[p + 5:p + 8], "big"), 12 if flags & 0x80 else 8
            if length < head or p + length > end:
                break
            out.append(p)
            vendor = int.from_bytes(msg[p + 8:p + 12], "big") if head == 12 else 0
            if avp_key(vendor, code) in GROUPED:
                todo.append((p + head, p + length))
            p += (length + 3) & ~3
    return out


@st.composite
def avp_mutation(draw) -> bytes:
    msg = bytearray(draw(st.sampled_from(seeds())))
    offsets = avp_offsets(bytes(msg))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.sampled_from(offsets))
        length = draw(st.sampled_from([0, 1, 4, 7, 8, 11, 12, 13, 0xFFFFFF,
                                       draw(st.integers(0, 2048))]))
        msg[at + 5:at + 8] = length.to_bytes(3, "big")
        if draw(st.booleans()):
            msg[at + 4] ^= draw(st.sampled_from([0x80, 0x20, 0x1F]))  # V flag, reserved bits
    if draw(st.booleans()):
        msg[1:4] = draw(st.integers(0, len(msg) + 64)).to_bytes(3, "big")
    return bytes(msg)


@st.composite
def byte_mutation(draw) -> bytes:
    msg = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(msg) - 1))
        op = draw(st.sampled_from(["flip", "zero", "cut", "insert"]))
        if op == "flip":
            msg[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "zero":
            msg[pos:pos + 4] = b"\x00\x00\x00\x00"
        elif op == "cut":
            del msg[pos:]
            if not msg:
                break
        else:
            msg[pos:pos] = draw(st.binary(min_size=1, max_size=12))
    return bytes(msg)


def check(decoder: DiameterDecoder, data: bytes) -> None:
    started = time.monotonic()
    events, reason = decoder(data, ("a", "b"), 1, 1.0)
    assert time.monotonic() - started < HANG  # a hang guard, not a speed test
    assert reason is None or reason in REASONS
    text = repr(events) + repr([e.inspect_record() for e in events])
    assert not [s for s in secrets() if s in text]


def test_mutated_messages_return_reasons_and_never_hang() -> None:
    decoder = DiameterDecoder(Pseudonymizer(bytes(32)), Correlator(max_entries=1000, ttl=60.0))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(avp_mutation(), byte_mutation()))
    def run(data: bytes) -> None:
        check(decoder, data)

    run()


def test_every_avp_length_zero_in_turn() -> None:
    """The zero-length AVP (the classic infinite loop), at every AVP of every message shape."""
    decoder = DiameterDecoder(Pseudonymizer(bytes(32)), Correlator(max_entries=1000, ttl=60.0))
    shapes = {}
    for msg in seeds():
        shapes.setdefault((msg[4] & 0x80, msg[5:12]), msg)
    for msg in shapes.values():
        for at in avp_offsets(msg):
            bad = bytearray(msg)
            bad[at + 5:at + 8] = b"\x00\x00\x00"
            events, reason = decoder(bytes(bad), ("a", "b"), 1, 1.0)
            assert reason == "bad_avp"
