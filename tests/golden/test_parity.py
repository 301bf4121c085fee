"""Golden: on every capture, `collector inspect` agrees with tshark on every row of every
protocol (the table of `python -m tests.golden.parity`), and attributes at least as
many location-bearing messages to a subscriber as tshark does."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from tests.golden.parity import CAPTURES, PROTOCOLS, Agreement, _expectations, compare_capture

_RESULTS: dict[str, dict[str, Agreement]] = {}


def _result(capture: Path) -> dict[str, Agreement]:
    if capture.name not in _RESULTS:
        _RESULTS[capture.name] = compare_capture(capture)
    return _RESULTS[capture.name]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_every_row_agrees_with_tshark(capture: Path) -> None:
    for proto, a in _result(capture).items():
        assert _expectations(proto) is not None, f"{proto}: no tsv_<proto> expectations"
        assert not a.mismatches, "\n".join(a.mismatches[:20])
        assert a.agreed == a.rows > 0


def test_attribution_at_least_tshark() -> None:
    total: dict[str, Agreement] = defaultdict(Agreement)
    for capture in CAPTURES:
        for proto, a in _result(capture).items():
            total[proto].add(a)
    assert set(total) == set(PROTOCOLS)  # every protocol is met in the captures
    for proto in PROTOCOLS:
        a = total[proto]
        assert a.ours_attributed >= a.tshark_attributed, proto
