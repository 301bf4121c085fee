"""Data sessions by hour and activity (`phones.rate_pieces`, `[behaviour]
event_sessions_per_hour` / `night_sessions_per_hour`).

Oracles: the local hour of an instant and the person's event slots, read directly from
the schedule; the session counts against their Poisson expectation over the phone's
on-time in each kind of hour."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from simulator import agents, phones, schedule
from simulator.mobility import Step
from simulator.scenario import BUILTIN, ScenarioError, load, parse, resize

SEED = 5


def _with_rates(scn, day: float, event: float | None, night: float):
    b = replace(scn.behaviour, data_sessions_per_hour=day, event_sessions_per_hour=event,
                night_sessions_per_hour=night)
    return replace(scn, behaviour=b)


def _kind(scn, t: int, events: list[tuple[int, int]]) -> str:
    if any(a <= t < z for a, z in events):
        return "event"
    hour = (t - scn.first_midnight) % 86400 // 3600
    return "day" if 7 <= hour < 23 else "night"


@pytest.fixture(scope="module")
def city():
    scn = _with_rates(resize(load("demo"), 0.3, 1), 2.0, 8.0, 0.5)
    sched = schedule.plan(scn, agents.build(scn, SEED), SEED)
    return scn, sched


def test_pieces_cover_the_interval_at_the_rate_of_each_instant(city):
    scn, sched = city
    rates = {"day": 2.0, "event": 8.0, "night": 0.5}
    attendees = [i for i in range(len(sched.agents)) if phones.event_windows(sched, i)]
    assert attendees
    for i in attendees[:50]:
        events = phones.event_windows(sched, i)
        pieces = phones.rate_pieces(scn, scn.start, scn.end, events)
        assert pieces[0][0] == scn.start and pieces[-1][1] == scn.end
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))
        for lo, hi, rate in pieces:
            for t in range(lo, hi, 600):
                assert rate == rates[_kind(scn, t, events)]


def test_a_zero_rate_leaves_its_hours_out(city):
    scn, sched = city
    quiet = _with_rates(scn, 2.0, None, 0.0)
    for lo, hi, rate in phones.rate_pieces(quiet, scn.start, scn.end, []):
        assert rate == 2.0
        assert all(_kind(scn, t, []) == "day" for t in (lo, hi - 1))


def test_sessions_follow_the_rates(city):
    scn, sched = city
    i = next(i for i in range(len(sched.agents)) if phones.event_windows(sched, i))
    events = phones.event_windows(sched, i)
    cell = scn.cells[0]
    steps = (Step(scn.start + 1, cell),)  # on all day
    rates = {"day": 2.0, "event": 8.0, "night": 0.5}
    expected = {k: 0.0 for k in rates}
    for t in range(scn.start + 1, scn.end, 60):
        expected[_kind(scn, t, events)] += rates[_kind(scn, t, events)] / 60
    runs = 200
    seen = {k: 0 for k in rates}
    for n in range(runs):
        for x in phones._sessions(scn, steps, random.Random(n), events):
            seen[_kind(scn, x.t, events)] += 1
    for kind in rates:
        want = expected[kind] * runs
        # Poisson: within 5 standard deviations, less the few draws `_free` cannot place
        assert abs(seen[kind] - want) <= 5 * math.sqrt(want) + 0.02 * want, (kind, seen, want)


def test_rates_are_validated():
    text = (BUILTIN / "tiny.toml").read_text()
    with pytest.raises(ScenarioError, match="event_sessions_per_hour"):
        parse(text.replace("[behaviour]", "[behaviour]\nevent_sessions_per_hour = -1"))
