"""`simulator generate --workers N` (`simulator.split`, `simulator.shards`): the phones'
signalling split over processes.  The identifiers a real MME allocates once for all its UEs
stay disjoint across shards (read back by tshark from the capture), the merged stream is in
time order and deterministic, the same power-ons and power-offs are signalled as in one
process, and the parent's progress counts the hours.  That the split capture counts the
same people as the truth is `tests/integration/test_demo_truth.py` (it generates with two
workers)."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter

import pytest

from simulator import mobility, population, signalling
from simulator.generate import generate
from simulator.scenario import load, resize
from simulator.shards import ONE, Shard, parent, plan
from tests.unit.simulator._capture import changes, observe
from tests.unit.simulator.conftest import SEED
from tests.unit.simulator.test_progress import Recorder

TSHARK = shutil.which("tshark")


def test_one_shard_allocates_as_a_single_run_did():
    for mod in (1 << 24, 1 << 32, 0xFFFFFFF0):
        for v in (0, 1, 999, mod - 2, mod - 1):
            assert ONE.first(v, mod) == v
            assert ONE.after(v, mod) == (v + 1) % mod


def test_a_shard_keeps_its_residue_through_the_wrap():
    s = Shard(1, 3)
    mod = 1 << 24
    v = s.first(mod - 1, mod)  # 2**24 - 1 ≡ 0 (mod 3): residue 1 from there is past the end
    assert v == 1
    v = s.first(mod - 3, mod)
    seen = []
    for _ in range(5):
        seen.append(v)
        v = s.after(v, mod)
    assert all(x % 3 == 1 and 0 <= x < mod for x in seen)
    assert seen[:2] == [mod - 3, 1]  # 2**24 - 3 ≡ 1 (mod 3) stays, then wraps to 1
    assert plan(1) == [ONE] and parent(1) == ONE
    assert plan(2) == [Shard(0, 3), Shard(1, 3)] and parent(2) == Shard(2, 3)
    with pytest.raises(ValueError, match="at least 1"):
        plan(0)


def _timelines(scn):
    people = population.build(scn, SEED)
    return mobility.plan(scn, people, SEED)[1]


def test_the_split_stream_is_sorted_deterministic_and_signals_the_same_power_cycles(tiny):
    timelines = _timelines(tiny)
    one = signalling.simulate(tiny, timelines, SEED)
    chunks = [c for c in signalling.stream(tiny, timelines, SEED, workers=2)]
    two = [m for c in chunks for m in c]
    assert two == [m for c in signalling.stream(tiny, timelines, SEED, workers=2) for m in c]
    assert all(a.t_us <= b.t_us for a, b in zip(two, two[1:], strict=False))
    assert len(chunks) == len(list(signalling.stream(tiny, timelines, SEED)))
    names = ("InitialUEMessage/AttachRequest", "InitialUEMessage/DetachRequest",
             "UplinkNASTransport/DetachRequest", "S1SetupRequest")
    count1 = Counter(m.name for m in one if m.name in names)
    count2 = Counter(m.name for m in two if m.name in names)
    assert count1 == count2 and count1["InitialUEMessage/AttachRequest"] >= 10
    assert count2["S1SetupRequest"] == len(tiny.enbs)  # by the first shard only


def test_the_split_capture_shows_its_visible_steps(tmp_path, tiny):
    """The shards' network-visible steps, merged under the phones' indexes in the whole run,
    are what the split capture shows (followed with pycrate, `_capture`)."""
    timelines = _timelines(tiny)
    generate(tiny, tmp_path, SEED, workers=2)
    visible = signalling.visible(tiny, timelines, SEED, workers=2)
    want = {tl.person.phone.imsi: [(t, c.eci if c else None) for t, c in steps]
            for tl, steps in zip(timelines, visible, strict=True)}
    assert changes(observe(tmp_path / "s1.pcap", tiny.network.mme_ip)) == want


def test_progress_counts_the_hours_with_workers(tmp_path, tiny):
    rec = Recorder()
    generate(tiny, tmp_path, SEED, rec, workers=2)
    by = {p[0]: p for p in rec.phases}
    assert by["signalling (hours)"][2] == signalling.hours(tiny) - 1


def test_a_failing_shard_is_reported(tiny, monkeypatch):
    monkeypatch.setattr(signalling, "run_shard", _boom)
    with pytest.raises(RuntimeError, match="simulator-shard-.* failed"):
        list(signalling.stream(tiny, _timelines(tiny), SEED, workers=2))


def _boom(*_args, **_kwargs):
    raise SystemExit(3)


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
def test_identifiers_are_disjoint_across_shards(tmp_path):
    """Read by tshark from a split demo capture: MME-UE-S1AP-IDs, GTPv2-C sequence numbers
    and Diameter hop-by-hop ids of the two shards are 0 and 1 modulo 3, the parent's
    watchdog 2; and no frame is malformed."""
    scn = resize(load("demo"), 0.03, 1)
    generate(scn, tmp_path, SEED, workers=2)
    rows = subprocess.run(
        [TSHARK, "-r", str(tmp_path / "s1.pcap"), "-T", "fields", "-E", "occurrence=f",
         "-e", "s1ap.MME_UE_S1AP_ID", "-e", "gtpv2.seq", "-e", "diameter.hopbyhopid",
         "-e", "diameter.cmd.code", "-e", "_ws.expert.severity", "-e", "_ws.malformed"],
        capture_output=True, text=True, timeout=300, check=True).stdout.splitlines()
    residues: dict[str, Counter] = {"s1ap": Counter(), "gtp": Counter(), "dia": Counter(),
                                    "dwr": Counter()}
    for row in rows:
        mme_ue, seq, hop, cmd, expert, malformed = row.split("\t")
        assert not expert and not malformed, row
        if mme_ue:
            residues["s1ap"][int(mme_ue) % 3] += 1
        if seq:
            residues["gtp"][int(seq, 0) % 3] += 1
        if hop:
            residues["dwr" if cmd == "280" else "dia"][int(hop, 0) % 3] += 1
    for name in ("s1ap", "gtp", "dia"):
        assert set(residues[name]) == {0, 1}, (name, residues[name])
    assert set(residues["dwr"]) <= {2}
