"""The array-based PresenceState gives exactly what the object-per-device reference
(the spine's implementation, kept in presence_reference.py) gives, on random streams
of events: moves within and across bins, detaches, gaps longer than the timeout,
late events, ties, many devices, slots freed and reused."""

from __future__ import annotations

import random

import pytest

from collector.presence import PresenceState
from tests.unit.collector.presence_reference import PresenceState as Reference


def run(state, events, closes) -> list:
    out = []
    for kind, *args in events:
        if kind == "obs":
            out.append(("obs", state.observe(*args)))
        else:
            out.append(("adv", state.advance(args[0])))
        out.append(("len", len(state)))
    out.append(("flush", state.flush()))
    out.append(("late", state.late))
    return out


def stream(seed: int, devices: int, cells: int, steps: int) -> list:
    r = random.Random(seed)
    t = 1_800_000_000.0 + r.random() * 900
    out = []
    for _ in range(steps):
        t += r.choice([0, 0.5, 1, 7, 30, 120, 400, 901, 3000, 9000]) * r.random()
        if r.random() < 0.15:
            out.append(("adv", t + r.choice([0, 60, 200])))
        dev = r.randrange(devices)
        when = t - (r.random() * 300 if r.random() < 0.1 else 0)  # some late ones
        cell = None if r.random() < 0.05 else ("00101", 1, r.randrange(cells))
        out.append(("obs", dev, when, cell))
    return out


@pytest.mark.parametrize("seed", range(60))
def test_same_as_reference(seed: int) -> None:
    r = random.Random(seed)
    bin_s = r.choice([300, 900, 3600])
    timeout = r.choice([600.0, 7200.0])
    events = stream(seed, devices=r.choice([1, 3, 20, 200]), cells=r.choice([1, 2, 5, 50]),
                    steps=r.choice([50, 400, 2000]))
    got = run(PresenceState(bin_s, timeout, 60.0), events, None)
    want = run(Reference(bin_s, timeout, 60.0), events, None)
    assert got == want


def test_exact_ties_go_to_the_cell_entered_first() -> None:
    for cls in (PresenceState, Reference):
        s = cls(900, 7200.0, 0.0)
        s.observe(1, 0.0, "a")
        s.observe(1, 450.0, "b")  # 450 s in a, then 450 s in b: a wins
        s.observe(2, 0.0, "b")
        s.observe(2, 450.0, "a")  # and here b
        assert s.advance(900.0) == [(0, {"a": 1, "b": 1})], cls


def test_slots_are_reused() -> None:
    s = PresenceState(300, 600.0, 0.0)
    for i in range(1000):
        s.observe(i, 0.0, "x")
    s.advance(2000.0)  # all timed out, all gone
    assert len(s) == 0
    for i in range(1000, 2000):
        s.observe(i, 2100.0, "y")
    assert len(s) == 1000 and len(s._key) == 1000  # no new rows: the freed ones
    assert s.flush() == [(2100, {"y": 1000})]
