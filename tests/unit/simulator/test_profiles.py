"""`DIR/subscribers.csv` (contract B): every domestic SIM held by a person, with the age band
of that person (the agents' band; the census split for a population scenario) and a gender
drawn from the seed; raw IMSIs, so mode 0600 and never in the reference files."""

from __future__ import annotations

import csv
import stat
from collections import Counter

from simulator import agents, phones, population, profiles, schedule
from simulator.agents import DOMESTIC, RESIDENT
from simulator.generate import generate
from simulator.scenario import load, resize
from tests.unit.simulator.conftest import SEED
from wire.reference import AGE_BANDS


def _rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_tiny_subscribers_are_the_operator_phones(tiny, tiny_out):
    out, _ = tiny_out
    path = out / profiles.FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("imsi,age_band,gender\n")
    rows = _rows(path)
    ids = population.identities(tiny, SEED)
    assert sorted(r["imsi"] for r in rows) == sorted(ids.imsis)
    assert {r["age_band"] for r in rows} <= set(AGE_BANDS)
    assert {r["gender"] for r in rows} <= {"f", "m"}
    for name in ("cells.csv", "census.csv", "zones.geojson", "truth.json", "scenario.json"):
        data = (out / name).read_bytes()
        assert not [i for i in ids.imsis if i.encode() in data], name


def test_population_bands_follow_the_census_of_each_zone(tiny):
    people = population.build(tiny, SEED)
    rows = dict((imsi, band) for imsi, band, _ in profiles.from_population(people, SEED))
    home = {p.phone.imsi: p.home_zone for p in people if p.phone is not None}
    assert set(rows) == set(home)


def test_city_subscribers_are_every_domestic_sim_with_the_agents_band(tmp_path):
    scn = resize(load("demo"), 0.2, 1)
    sched = schedule.plan(scn, agents.build(scn, SEED), SEED)
    subs: list = []
    _persons, timelines = phones.build(scn, sched, SEED, subs)
    a = sched.agents
    domestic_sims = int(a.devices[a.kind != 2].sum())
    assert len(subs) == domestic_sims  # every SIM, on during the run or not
    assert len({imsi for imsi, _, _ in subs}) == len(subs)
    on = {tl.person.phone.imsi for tl in timelines
          if not tl.person.m2m and tl.person.phone.imsi.startswith(scn.network.plmn)}
    assert on <= {imsi for imsi, _, _ in subs}
    bands = Counter(b for _, b, _ in subs)
    assert set(bands) <= set(AGE_BANDS)
    resident_bands = Counter(AGE_BANDS[b] for b, d in zip(a.band[a.kind == RESIDENT],
                                                        a.devices[a.kind == RESIDENT],
                                                        strict=True) for _ in range(int(d)))
    visitor_sims = int(a.devices[a.kind == DOMESTIC].sum())
    assert sum(abs(bands[b] - resident_bands[b]) for b in AGE_BANDS) <= visitor_sims
    genders = Counter(g for _, _, g in subs)
    assert set(genders) == {"f", "m"} and abs(genders["f"] - genders["m"]) < 0.2 * len(subs)
    # deterministic, and written sorted whatever the order
    out = generate(scn, tmp_path, SEED)
    assert out.phones == len(timelines)
    rows = _rows(tmp_path / profiles.FILE)
    assert [(r["imsi"], r["age_band"], r["gender"]) for r in rows] == sorted(subs)
