"""Agents, schedules and the truth about persons, on a small `demo` (a third of it).

The oracle is each person's list of stays (`phones.stays`, a plain Python walk of their
slots): the truth's presence, visitors by country, overnight stays and residents must
equal what the agents did; the operator's timelines follow the agents' zones."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from simulator import agents, mobility, phones, schedule, truth, truth_people
from simulator.agents import FOREIGN, RESIDENT
from simulator.generate import event_windows
from simulator.scenario import load, resize
from simulator.schedule import SLOTS
from wire.report import iso, parse_iso

SEED = 3


@pytest.fixture(scope="module")
def city():
    scn = resize(load("demo"), 0.3)
    sched = schedule.plan(scn, agents.build(scn, SEED), SEED)
    devices, timelines = phones.build(scn, sched, SEED)
    where = truth_people.from_schedule(sched)
    doc = truth_people.sections(scn, where, event_windows(scn))
    stays = [phones.stays(sched, i, scn.start, scn.end) for i in range(len(sched.agents))]
    return scn, sched, timelines, doc, stays


def _zone(stays: list, t: int) -> int:
    return next((z for t0, t1, z in stays if t0 <= t < t1), -1)


def test_slots_are_ordered_inside_the_day_and_the_stay(city):
    scn, sched, *_ = city
    a = sched.agents
    for day in sched.days:
        used = day.end > day.start
        assert (day.start[used] >= day.midnight).all() and (day.end[used] <= day.midnight
                                                            + 86400).all()
        assert (day.zone[used] >= 0).all()
        for i in np.flatnonzero(used.any(axis=1)):
            spans = sorted((day.start[i, k], day.end[i, k]) for k in range(SLOTS) if used[i, k])
            assert all(b[0] >= a_[1] for a_, b in zip(spans, spans[1:], strict=False)), i
            assert a.arrive[i] <= spans[0][0] and spans[-1][1] <= sched.leave[i], i


def test_residents_equal_the_census(city):
    scn, sched, _, doc, _ = city
    want = {z: sum(b) for z, b in scn.city.census.items()}
    assert {r["zone"]: r["people"] for r in doc["residents"]} == want
    a = sched.agents
    homes = Counter(scn.zones[h].id for h in a.home[a.kind == RESIDENT])
    assert homes == Counter({z: n for z, n in want.items() if n})


def test_presence_equals_the_agents_present(city):
    scn, sched, _, doc, stays = city
    rows = Counter()
    for r in doc["presence"]:
        rows[(r["start"], r["zone"])] += r["people"]
    assert len(doc["presence"]) == 48 * len(scn.zones)
    for hour in range(scn.start, scn.end, 5 * 3600):
        zones = Counter(_zone(s, hour + 1800) for s in stays)
        in_city = sum(n for z, n in zones.items() if z >= 0)
        got = {z.id: rows[(iso(hour), z.id)] for z in scn.zones}
        assert got == {z.id: zones[k] for k, z in enumerate(scn.zones)}, iso(hour)
        a = sched.agents
        assert in_city == int(((a.arrive <= hour + 1800) & (hour + 1800 < sched.leave)).sum())
        assert sum(got.values()) == in_city


def test_visitors_by_zone_and_country_equal_the_agents(city):
    scn, sched, _, doc, stays = city
    countries = sched.agents.countries
    whole = {r["zone"]: r for r in doc["visitors"] if r["start"] == iso(scn.start)
             and r["end"] == iso(scn.end)}
    seen: dict[str, set[int]] = {z.id: set() for z in scn.zones}
    for t in truth_people.samples(scn, scn.start, scn.end):
        for i, s in enumerate(stays):
            z = _zone(s, t)
            if z >= 0:
                seen[scn.zones[z].id].add(i)
    c = sched.agents.country
    for zone, who in seen.items():
        assert whole[zone]["people"] == len(who), zone
        want = Counter(countries[c[i]] for i in who if c[i] >= 0)
        assert whole[zone]["by_country"] == dict(want), zone
    assert {"IT", "CH", "ES", "DE", "GB"} <= set(whole["bellecour"]["by_country"])


def test_every_attendee_is_at_the_venue_during_the_event(city):
    scn, sched, _, doc, stays = city
    ev = scn.city.events[0]
    windows = event_windows(scn)
    assert windows[0] == (scn.start + 18 * 3600, scn.start + 23 * 3600)  # local midnight start
    for (e, d, who), (lo, hi) in zip(sched.attendees, windows, strict=True):
        assert (e, lo) == (0, scn.first_midnight + d * 86400 + 18 * 3600)
        assert len(who) == ev.attendance and len(set(who.tolist())) == len(who)
        venue = [k for k, z in enumerate(scn.zones) if z.id in ev.zones]
        for i in who:
            assert any(z in venue and t0 < hi and t1 > lo for t0, t1, z in stays[i]), i
        row = next(r for r in doc["visitors"] if r["zone"] == ev.zones[0]
                   and r["start"] == iso(lo))
        assert row["people"] >= ev.attendance and row["end"] == iso(hi)
    back = set(sched.attendees[0][2].tolist()) & set(sched.attendees[1][2].tolist())
    assert len(back) == round(ev.attendance * ev.returning_share)


def test_overnight_are_visitors_sleeping_in_their_lodging(city):
    scn, sched, _, doc, stays = city
    a = sched.agents
    t4 = scn.first_midnight + 86400 + 4 * 3600
    rows = [r for r in doc["overnight"] if r["people"]]
    assert rows and {r["date"] for r in rows} == {"2026-12-09"}
    total = sum(r["people"] for r in rows)
    want = [i for i in range(len(a)) if a.kind[i] != RESIDENT and _zone(stays[i], t4) >= 0
            and any(t0 <= t4 < t1 and t1 - t0 >= 5 * 3600 for t0, t1, _ in stays[i])]
    assert total == len(want) and all(a.lodging[i] >= 0 for i in want)
    foreign = Counter(a.countries[a.country[i]] for i in want if a.kind[i] == FOREIGN)
    got = Counter()
    for r in rows:
        got.update(r["by_country"])
    assert got == foreign


def test_timelines_follow_the_agents_and_the_rules(city):
    scn, sched, timelines, doc, stays = city
    owners = [i for i in range(len(sched.agents)) for _ in range(sched.agents.devices[i])]
    assert len(timelines) - scn.city.operator.m2m_devices <= len(owners)
    for tl in timelines:
        times = [s.t for s in tl.steps]
        assert tl.steps[0].cell is not None
        assert times == sorted(times) and all(b - a >= mobility.MIN_GAP
                                              for a, b in zip(times, times[1:], strict=False))
        assert all(t % scn.bin_seconds for t in times) and times[-1] < scn.end
    plmns = Counter(tl.person.phone.imsi[:5] for tl in timelines)
    # most phones are the operator's own subscribers (demo: about 3/4, roamers the rest)
    assert plmns["00101"] > 0.6 * len(timelines) and plmns["22210"] > 0
    segs = Counter(truth.segment(scn, tl.person.phone.imsi[:3]) for tl in timelines)
    assert segs["domestic"] > 0 and segs["IT"] > 0


def test_phones_are_where_their_person_is(city):
    """Between two steps a device is in a cell of its person's zone (moves are at most
    MIN_GAP late, when two changes were too close)."""
    scn, sched, timelines, _, stays = city
    devices = [i for i in range(len(sched.agents)) for _ in range(sched.agents.devices[i])]
    checked = 0
    by_person = iter(devices)
    for tl in timelines[:len(timelines) - scn.city.operator.m2m_devices][:200]:
        i = next(by_person)
        while True:  # devices never on while the scenario runs were left out
            if _zone(stays[i], tl.steps[0].t) >= 0:
                break
            i = next(by_person)
        for s, nxt in zip(tl.steps, tl.steps[1:], strict=False):
            if s.cell is None or nxt.t - s.t < 4 * mobility.MIN_GAP:
                continue
            mid = (s.t + nxt.t) // 2
            assert scn.zones[_zone(stays[i], mid)].id == s.cell.zone
            checked += 1
    assert checked > 500


def test_the_same_seed_gives_the_same_city(city):
    scn, *_, doc, _ = city
    sched = schedule.plan(scn, agents.build(scn, SEED), SEED)
    again = truth_people.sections(scn, truth_people.from_schedule(sched), event_windows(scn))
    assert again == doc
    assert phones.build(scn, sched, SEED)[1] == city[2]
    other = schedule.plan(scn, agents.build(scn, SEED + 1), SEED + 1)
    assert truth_people.presence(scn, truth_people.from_schedule(other),
                                 [z.id for z in scn.zones]) != doc["presence"]
    assert parse_iso(doc["presence"][0]["start"]) == scn.start
