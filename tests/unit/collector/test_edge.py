"""Edge analytics on synthetic event streams, expectations worked out by hand from the
rules in collector/home.py, stays.py, recurrence.py, m2m.py: home over nights, stays
crossing bins and midnight, the overnight rule at exactly 5 h and 04:00, recurrence over
days, flows, M2M exclusion, residents rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from collector.edge import AnalyticsConfig, EdgeAnalytics
from collector.m2m import ACTIVE
from collector.presence import PresenceState
from collector.tally import PresenceTally
from collector.zones import ZoneMap
from wire.reference import Cell, ReferenceError, write_cells

D0 = int(dt.datetime(2026, 12, 7, tzinfo=dt.UTC).timestamp())  # a Monday, 00:00 UTC
H = 3600
HOME, WORK, PARK = ("00101", 1, 1), ("00101", 1, 2), ("00101", 1, 3)
ZONES = {("00101", 1): "home-z", ("00101", 2): "work-z", ("00101", 3): "park"}


def at(day: int, hour: float) -> int:
    return D0 + day * 86400 + int(hour * H)


def stay(dev: int, cell, t0: int, t1: int, flags: int = 0) -> list:
    """Events of a device in `cell` over [t0, t1): every 30 min, then a detach at t1."""
    return [(t, dev, cell, flags) for t in range(t0, t1, 1800)] + [(t1, dev, None, 0)]


def run(events: list, **cfg) -> tuple[dict, EdgeAnalytics]:
    presence = PresenceState(900, 7200.0, 0.0)
    tally = PresenceTally("c", 1, 900)
    edge = EdgeAnalytics(presence, tally, ZoneMap(ZONES), AnalyticsConfig(**cfg))
    batches = []
    for t, dev, cell, flags in sorted(events, key=lambda e: (e[0], e[1])):
        presence.observe(dev, t, cell, 1, flags)
        presence.advance(t)
        batches += tally.push()
    presence.advance(max(e[0] for e in events) + 86400)
    presence.flush()
    edge.finish()
    batches += tally.push(final=True)
    rows: dict[str, list] = {}
    for b in batches:
        for kind in ("presence", "stays", "overnight", "recurrence", "flows", "residents"):
            rows.setdefault(kind, []).extend(getattr(b, kind))
    return rows, edge


def commuter(dev: int, days: int, home=HOME, work=WORK) -> list:
    """Home 18:00-08:00 every night (day -1 evening first), work 09:00-17:00."""
    ev = []
    for d in range(days):
        ev += stay(dev, home, at(d - 1, 18), at(d, 8)) + stay(dev, work, at(d, 9), at(d, 17))
    return ev


def test_home_after_the_minimum_of_nights_then_segment_and_residents():
    rows, edge = run(commuter(1, 6))
    residents = {(r.day_start, r.zone): r.devices for r in rows["residents"]}
    # nights of days -1..4 close at 07:00 of days 0..5: the 5th observed night (day 4)
    assert min(day for day, _z in residents) == at(4, 0)
    assert residents == {(at(4, 0), "home-z"): 1, (at(5, 0), "home-z"): 1,
                         (at(6, 0), "home-z"): 1}
    seg = {r.bin_start: r.segment for r in rows["presence"]}
    assert seg[at(4, 6)] == "domestic" and seg[at(4, 7)] == "home:home-z"
    assert seg[at(5, 10)] == "home:home-z"  # at work too: the segment is the home


def test_home_needs_half_the_observed_nights():
    ev = []
    for d in range(6):  # nights home, park, home, park, home, home: 4 of 6 at home
        cell = HOME if d in (0, 2, 4, 5) else PARK
        ev += stay(1, cell, at(d - 1, 19), at(d, 8))
    rows, _ = run(ev)
    assert {(r.day_start, r.zone) for r in rows["residents"]} == {
        (at(4, 0), "home-z"), (at(5, 0), "home-z"), (at(6, 0), "home-z")}  # 3/5, 4/6
    rows, _ = run(ev, home_min_share=0.7)
    assert rows["residents"] == []


def test_short_evening_is_not_an_observed_night():
    ev = []
    for d in range(6):  # 20:00-22:00 only: 2 h < 3 h
        ev += stay(1, PARK, at(d, 20), at(d, 22))
    rows, _ = run(ev, home_min_nights=1)
    assert rows["residents"] == []


def test_dwell_classes_of_stays_crossing_bins_and_midnight():
    ev = (stay(1, PARK, at(0, 10), at(0, 10.25))      # 15 min: lt30m
          + stay(2, PARK, at(0, 10), at(0, 10.5))     # 30 min: the bound goes up, 30m-1h
          + stay(3, PARK, at(0, 10.25), at(0, 11.25))  # 1 h: 1h-2h
          + stay(4, PARK, at(0, 22), at(1, 2))        # 4 h over midnight: one stay, ge4h
          + stay(5, PARK, at(0, 12), at(0, 13.75)))   # 1 h 45: 1h-2h
    rows, _ = run(ev)
    got = Counter()
    for r in rows["stays"]:
        got[(r.start, r.dwell)] += r.stays
    assert got == {(at(0, 10), "lt30m"): 1, (at(0, 10), "30m-1h"): 1,
                   (at(0, 10.25), "1h-2h"): 1, (at(0, 22), "ge4h"): 1,
                   (at(0, 12), "1h-2h"): 1}


def test_a_move_closes_the_stay_and_makes_a_flow():
    ev = [(at(0, 10), 1, PARK, 0), (at(0, 11), 1, WORK, 0), (at(0, 12), 1, None, 0)]
    rows, _ = run(ev)
    assert [(r.bin_start, r.origin, r.destination, r.devices) for r in rows["flows"]] == [
        (at(0, 11), "park", "work-z", 1)]
    assert sorted((r.zone, r.dwell) for r in rows["stays"]) == [
        ("park", "1h-2h"), ("work-z", "1h-2h")]


def test_no_flow_across_a_gap():
    ev = stay(1, PARK, at(0, 10), at(0, 11)) + stay(1, WORK, at(0, 11.5), at(0, 12))
    rows, _ = run(ev)
    assert rows["flows"] == []


@pytest.mark.parametrize(("start", "end", "nights"), [
    ((0, 23), (1, 4), []),              # 5 h but ends at 04:00: 04:00 not in the stay
    ((0, 23.25), (1, 4.25), [1]),       # 5 h, 04:00 inside
    ((0, 23.5), (1, 4.25), []),         # 04:00 inside, 4 h 45 min
    ((1, 4), (1, 9), [1]),              # starts at 04:00 exactly, 5 h
    ((0, 20), (2, 8), [1, 2]),          # two nights in one stay
])
def test_overnight_rule_edges(start, end, nights):
    # (ACTIVE: a phone in use, not a device that never moves, never used, all day: M2M)
    rows, _ = run(stay(7, PARK, at(*start), at(*end), flags=ACTIVE))
    assert [(r.day, r.zone, r.devices) for r in rows["overnight"]] == [
        (at(d, 0), "park", 1) for d in nights]


def test_overnight_in_local_time():
    # Paris is UTC+1 in December: 04:00 local is 03:00 UTC
    rows, _ = run(stay(7, PARK, at(0, 22), at(1, 3.25)), timezone="Europe/Paris")
    assert [r.day for r in rows["overnight"]] == [at(1, 0)]
    rows, _ = run(stay(7, PARK, at(0, 22), at(1, 3)), timezone="Europe/Paris")
    assert rows["overnight"] == []


def test_residents_have_no_overnight():
    rows, _ = run(commuter(1, 8))
    days = {r.day for r in rows["overnight"]}
    # nights before the home is decided (07:00 of day 4) are overnight stays of a visitor
    assert days == {at(d, 0) for d in range(4)}


def test_recurrence_classes_over_days():
    ev = []
    for d in (0, 1, 2, 3, 4, 20, 40):
        ev += stay(1, PARK, at(d, 12), at(d, 13)) + stay(1, PARK, at(d, 15), at(d, 16))
    rows, _ = run(ev)
    got = [(r.day, r.recurrence, r.devices) for r in rows["recurrence"]]
    assert got == [(at(0, 0), "first", 1), (at(1, 0), "returning", 1),
                   (at(2, 0), "returning", 1), (at(3, 0), "returning", 1),
                   (at(4, 0), "regular", 1),       # 4 earlier days of the last 28
                   (at(20, 0), "regular", 1),      # days 0-4 are 16-20 days ago
                   (at(40, 0), "returning", 1)]    # only day 20 is within 28 days


def test_recurrence_day_boundary_is_local():
    # 23:30 UTC on day 0 is 00:30 local on day 1 in Paris: one local day with 00:30 day 1
    ev = stay(1, PARK, at(0, 23.5), at(0, 23.75)) + stay(1, PARK, at(1, 0.5), at(1, 0.75))
    rows, _ = run(ev, timezone="Europe/Paris")
    assert [(r.day, r.recurrence) for r in rows["recurrence"]] == [(at(1, 0), "first")]
    rows, _ = run(ev)
    assert [(r.day, r.recurrence) for r in rows["recurrence"]] == [
        (at(0, 0), "first"), (at(1, 0), "returning")]


def test_m2m_by_behaviour_is_left_out_after_a_day():
    meter = stay(9, PARK, at(0, 0), at(3, 0))
    phone = stay(8, PARK, at(0, 0), at(3, 0), flags=ACTIVE)
    rows, edge = run(meter + phone)
    per_bin = Counter()
    for r in rows["presence"]:
        per_bin[r.bin_start] += r.devices
    assert per_bin[at(0, 12)] == 2 and per_bin[at(1, 12)] == 1 and per_bin[at(2, 12)] == 1
    assert (edge.m2m.by_behaviour, edge.m2m.by_tac) == (1, 0)


def test_zones_from_reference_and_errors(tmp_path):
    write_cells(str(tmp_path / "cells.csv"), [
        Cell("LTE", "001", "01", 1, 257, 4.8, 45.7, 500, "bellecour"),
        Cell("LTE", "001", "01", 1, 258, 4.8, 45.7, 500, "Bad Zone")])
    with pytest.raises(ReferenceError, match=r"cells.csv:3: zone: .*'Bad Zone'"):
        ZoneMap.from_reference(str(tmp_path))
    write_cells(str(tmp_path / "cells.csv"), [
        Cell("LTE", "001", "01", 1, 257, 4.8, 45.7, 500, "bellecour")])
    zones = ZoneMap.from_reference(str(tmp_path))
    a, b = zones.zone_of(("00101", 9, 257)), zones.zone_of(("00101", 1, 999))
    assert (zones.name(a), zones.plmn(a), zones.name(b)) == ("bellecour", "00101",
                                                               "cell-00101-999")
    bare = ZoneMap()
    assert bare.name(bare.zone_of(("00101", 1, 257))) == "cell-00101-257"


def test_residents_by_age_band_of_the_profiles():
    import numpy as np

    from collector.profiles import Profiles

    # devices 1 and 2 aged 30-44, 3 with a profile without band, 4 without a profile
    profiles = Profiles(np.array([2, 1, 3, 99], dtype=np.uint64),
                        np.array([3 | 8, 3 | 16, 0 | 8, 6], dtype=np.uint8))
    ev = commuter(1, 6) + commuter(2, 6) + commuter(3, 6) + commuter(4, 6, home=PARK)
    rows, _ = run(ev, profiles=profiles)
    last = max(r.day_start for r in rows["residents"])
    got = Counter({(r.zone, r.age_band): r.devices for r in rows["residents"]
                   if r.day_start == last})
    assert got == {("home-z", "30-44"): 2, ("home-z", ""): 1, ("park", ""): 1}
    rows, _ = run(ev)  # without profiles: every band ""
    assert {r.age_band for r in rows["residents"]} == {""}


def test_presence_rows_by_age_band_of_the_profiles():
    """With profiles every presence row is of one (segment, band): a device's band is its
    profile's (looked up at its first bin, kept while its slot is), "" without one; the
    counts summed over bands are those of the run without profiles."""
    import numpy as np

    from collector.profiles import Profiles

    profiles = Profiles(np.array([1, 2, 3], dtype=np.uint64),
                        np.array([2, 6, 0], dtype=np.uint8))  # 15-29, 75+, no band
    ev = commuter(1, 3) + commuter(2, 3) + commuter(3, 3) + commuter(4, 3, home=PARK)
    rows, edge = run(ev, profiles=profiles)
    by_band = Counter()
    for r in rows["presence"]:
        by_band[(r.bin_start, r.cell, r.segment, r.age_band)] += r.devices
    bands = {1: "15-29", 2: "75+", 3: "", 4: ""}
    want = Counter()
    for t, dev, cell, _flags in ev:  # the device's cell at each half hour of its stays
        if cell is not None and t % 900 == 0:
            want[(t, cell[2], bands[dev])] += 1
    got = Counter()
    for (start, cell, _seg, band), n in by_band.items():
        if start % 1800 == 0 and (start, cell, band) in want:
            got[(start, cell, band)] += n
    assert got == want
    plain, _ = run(ev)
    summed = Counter()
    for r in rows["presence"]:
        summed[(r.bin_start, r.cell, r.segment)] += r.devices
    assert summed == Counter({(r.bin_start, r.cell, r.segment): r.devices
                              for r in plain["presence"]})
    assert sorted(edge.cols.band[:4].tolist()) == [-1, -1, 1, 5]


def test_a_one_off_third_zone_keeps_the_usual_zones_history():
    # home and work every day, the park once on day 1: work stays `returning`, then
    # `regular` (two slots used to forget work for the park and count it `first` again)
    ev = []
    for d in range(6):
        ev += stay(1, HOME, at(d, 0), at(d, 8)) + stay(1, WORK, at(d, 9), at(d, 12))
        if d == 1:
            ev += stay(1, PARK, at(d, 13), at(d, 14)) + stay(1, WORK, at(d, 15), at(d, 16))
    rows, _ = run(ev)
    work = [(r.day, r.recurrence, r.devices) for r in rows["recurrence"] if r.zone == "work-z"]
    assert work == [(at(0, 0), "first", 1), (at(1, 0), "returning", 1),
                    (at(2, 0), "returning", 1), (at(3, 0), "returning", 1),
                    (at(4, 0), "regular", 1), (at(5, 0), "regular", 1)]


def test_a_transient_zone_seen_more_days_replaces_the_weaker_usual_zone():
    # work on day 0 only, the park on days 1-4: the park takes work's slot; work, back on
    # day 5, is still remembered (now the transient zone): `returning`
    ev = stay(1, HOME, at(0, 0), at(0, 8)) + stay(1, WORK, at(0, 9), at(0, 12))
    for d in range(1, 5):
        ev += stay(1, HOME, at(d, 0), at(d, 8)) + stay(1, PARK, at(d, 13), at(d, 14))
    ev += stay(1, WORK, at(5, 9), at(5, 12))
    rows, edge = run(ev)
    got = [(r.day, r.zone, r.recurrence) for r in rows["recurrence"] if r.zone != "home-z"]
    assert got == [(at(0, 0), "work-z", "first"), (at(1, 0), "park", "first"),
                   (at(2, 0), "park", "returning"), (at(3, 0), "park", "returning"),
                   (at(4, 0), "park", "returning"), (at(5, 0), "work-z", "returning")]
    c, names = edge.recurrence.cols, {edge.zones.name(i) for i in range(len(edge.zones))}
    assert "park" in names
    usual = {edge.zones.name(int(c.z1[0])), edge.zones.name(int(c.z2[0]))}
    assert usual == {"home-z", "park"} and edge.zones.name(int(c.z3[0])) == "work-z"
