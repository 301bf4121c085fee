"""One compliance test run over every registered decoder (STYLE habit 11).

For each decoder of `collector.decode.registry.DECODERS`, real messages of its
protocol from the golden captures are mutated (bit flips, truncation, inserted
and deleted bytes, spliced tails) and fed to it:

- it returns `(list of SignallingEvent, reason or None)`, never raises and never
  runs for more than a few seconds on one message;
- a reason is one of `collector.telemetry.REASONS`;
- nothing it returns (event fields, repr) holds the digits of an identity that
  tshark finds in the captures.

Examples per decoder: 2,000 in CI; a longer run is
`FUZZ_EXAMPLES=200000 .venv/bin/python -m pytest tests/contract -x -q`.
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.decode.registry import DECODERS
from collector.events import SignallingEvent
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import REASONS, Counters
from tests.helpers import capture_paths, tsv_equipment, tsv_identities
from wire.pseudonym import Pseudonymizer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
KEY = bytes(range(32))


@cache
def corpus() -> dict[str, list[bytes]]:
    """Distinct real payloads per protocol, from every golden capture."""
    out: dict[str, set[bytes]] = {}
    for path in capture_paths():
        for _f, _t, msg in iter_messages(str(path), Counters()):
            out.setdefault(msg.proto, set()).add(bytes(msg.payload))
    return {k: sorted(v) for k, v in out.items()}


@cache
def secrets() -> list[str]:
    imsis, msisdns = tsv_identities()
    return sorted(imsis | msisdns | tsv_equipment())


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "splice", "byte"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[pos] = draw(st.sampled_from([0, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))]))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 8))]
        elif op == "splice":
            other = draw(st.sampled_from(seeds))
            data[pos:] = other[draw(st.integers(0, max(len(other) - 1, 0))):]
    return bytes(data)


class Hang(Exception):
    """A decoder call took longer than HANG_SECONDS."""


HANG_SECONDS = 5.0


@contextmanager
def no_hang():
    """Turn a decoder call that runs for more than HANG_SECONDS into a failure."""
    def alarm(_sig, _frame):
        raise Hang(f"decoder call ran over {HANG_SECONDS} s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _decode(decoder, data: bytes):
    with no_hang():
        return decoder(data, ("a", "b"), 1, 1.0)


def _check(result, secret_digits: list[str]) -> None:
    events, reason = result
    assert isinstance(events, list)
    assert reason is None or reason in REASONS, reason
    for ev in events:
        assert isinstance(ev, SignallingEvent)
        assert ev.subscriber is None or (isinstance(ev.subscriber, int) and ev.subscriber >= 0)
        text = repr(ev) + repr(ev.inspect_record())
        leaked = [s for s in secret_digits if s in text]
        assert not leaked, f"identity digits in {ev.msg} event"


@pytest.mark.parametrize("proto", sorted(DECODERS))
def test_decoder_survives_mutations_and_leaks_nothing(proto: str) -> None:
    seeds = corpus().get(proto)
    assert seeds, f"no {proto} message in the golden captures"
    decoder = DECODERS[proto](Pseudonymizer(KEY), Correlator(max_entries=1000, ttl=3600.0))
    digits = secrets()
    for seed in seeds:  # the real messages themselves first
        _check(_decode(decoder, seed), digits)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated(seeds))
    def run(data: bytes) -> None:
        _check(_decode(decoder, data), digits)

    run()
