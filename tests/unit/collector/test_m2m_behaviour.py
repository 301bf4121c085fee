"""M2M by behaviour on simulated traffic (issue 6): a module that sits in one cell and says
nothing but periodic TAUs for a whole local day is recognised when that day closes and
left out of presence from then on; no person is.  The collector is given no module TAC,
so only the behaviour rule acts.  Oracle: the simulator's agents (which devices are
modules) and its truth (operator-subscriber devices per cell-bin, modules excluded)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from collector.app import EdgeConfig
from collector.edge import AnalyticsConfig
from simulator import agents, phones, schedule
from simulator.generate import generate
from simulator.scenario import parse, resize
from tests.helpers import pipeline_run
from wire.pseudonym import Pseudonymizer
from wire.report import parse_iso

SEED = 4
DAYS = 3
TIMEZONE = "Europe/Paris"
BUILTIN = Path(__file__).resolve().parents[3] / "simulator" / "scenarios"
PSEUDONYM = Pseudonymizer(bytes(range(32)))


def _replayed(out: Path, psm_share: str, days: int) -> tuple:
    """A small demo (5 %) of `days` days with 10 M2M modules, `psm_share` of which ask for
    power saving mode, simulated into `out` and replayed without module TACs: the scenario,
    the pipeline after the replay, its presence rows, the truth, the modules' and persons'
    pseudonyms."""
    import json

    text = (BUILTIN / "demo.toml").read_text().replace("m2m_devices = 20 ", "m2m_devices = 200 ")
    text = text.replace("m2m_psm_share = 0.5 ", f"m2m_psm_share = {psm_share} ")
    scn = resize(parse(text, "demo.toml"), 0.05, days)
    generate(scn, out, SEED)
    persons, _ = phones.build(scn, schedule.plan(scn, agents.build(scn, SEED), SEED), SEED, [])
    cfg = EdgeConfig("m2m", 1, scn.bin_seconds, reference=str(out), m2m_tacs=frozenset(),
                     analytics=AnalyticsConfig(timezone=TIMEZONE))
    pipe, batches = pipeline_run(str(out / "s1.pcap"), cfg, PSEUDONYM)
    rows = [r for b in batches for r in b.presence]
    truth = json.loads((out / "truth.json").read_text())
    modules = {PSEUDONYM(p.phone.imsi) for p in persons if p.m2m}
    people = {PSEUDONYM(p.phone.imsi) for p in persons if p.phone and not p.m2m}
    return scn, pipe, rows, truth, modules, people


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """Three days, modules that do not ask for power saving mode (behaviour alone tells them)."""
    return _replayed(tmp_path_factory.mktemp("m2m-days"), "0.0", DAYS)


def _flag(pipe, device: int) -> int | None:
    slot = pipe.presence._slot.get(device)
    return None if slot is None else int(pipe.edge.m2m.cols.m2m[slot])


def test_modules_are_recognised_and_no_person_is(city) -> None:
    _scn, pipe, _rows, _truth, modules, people = city
    assert len(modules) == 10
    assert {_flag(pipe, m) for m in modules} == {1}  # by behaviour (2 would be by TAC)
    assert not [p for p in people if _flag(pipe, p) == 1]
    assert pipe.edge.m2m.by_behaviour == len(modules) and pipe.edge.m2m.by_tac == 0


def test_presence_after_the_first_quiet_day_equals_the_truth(city) -> None:
    """Days 1 and 2: the truth's devices plus one per module (a module attaches on day 1,
    so day 2 is its first quiet day); day 3, once day 2 has closed: the truth, exactly."""
    scn, _pipe, rows, truth, modules, _people = city
    day3 = scn.start + 2 * 86400  # the scenario starts at a local midnight
    want = Counter({(parse_iso(r["start"]), r["cell"]): r["devices"]
                    for r in truth["cell_presence"]})
    got = Counter()
    for r in rows:
        got[(r.bin_start, r.cell)] += r.devices
    late = {k for k in set(want) | set(got) if k[0] >= day3}
    early = {k for k in set(want) | set(got) if k[0] < day3}
    assert len(late) > 100
    assert {k: got[k] for k in late if got[k]} == {k: want[k] for k in late if want[k]}
    extra = sum(got[k] for k in early) - sum(want[k] for k in early)
    bins_before = (day3 - scn.start) // scn.bin_seconds
    # every module counted in every bin from its power-on (within the first hour: 4 bins)
    assert len(modules) * (bins_before - 4) <= extra <= len(modules) * bins_before


@pytest.fixture(scope="module")
def psm_city(tmp_path_factory):
    """One day, every module asking for power saving mode."""
    return _replayed(tmp_path_factory.mktemp("m2m-psm"), "1.0", 1)[1:]


def test_modules_asking_for_power_saving_are_never_counted(psm_city) -> None:
    """Their attach request (and every TAU after) carries T3324: flagged (3) from their first
    bin, so the presence rows equal the truth's in every bin of the first day already (the
    behaviour rule needs a whole day); no person is flagged."""
    pipe, rows, truth, modules, people = psm_city
    assert len(modules) == 10
    assert {_flag(pipe, m) for m in modules} == {3}
    assert not [p for p in people if _flag(pipe, p)]
    assert pipe.edge.m2m.by_psm == len(modules) and pipe.edge.m2m.by_behaviour == 0
    want = Counter({(parse_iso(r["start"]), r["cell"]): r["devices"]
                    for r in truth["cell_presence"]})
    got = Counter()
    for r in rows:
        got[(r.bin_start, r.cell)] += r.devices
    assert len(want) > 100
    assert {k: n for k, n in got.items() if n} == {k: n for k, n in want.items() if n}
