"""The edge analytics against the simulator's truth on the `demo` scenario (issue 6).

One module fixture generates `demo` (seed 1, its signalling split over two processes) once and replays its capture twice at the same
time: through the `collector replay` command into a real `aggregator serve` (debug logs,
spool: what the privacy scan reads, and the stored tallies), and in this process through an
`EdgePipeline` (so the per-device home can be read by slot: the simulated IMSIs are hashed
with the test's key here, which only a test may do).  The person-level truth comes from the
simulator's own agents and phone timelines (rebuilt from the seed); what the network could
see of each phone (idle phones reselect cells silently: the network learns the cell at the
next procedure) comes from the simulator's run made again here with the same seed and
workers (`simulator.signalling.visible`), never from the collector; the oracle is the
simulator's presence rule over those steps (`simulator.truth.on_time` / `present_cell`),
never collector code.

M2M modules: the demo's module TACs are not in the collector's built-in list and the
behaviour rule needs a whole quiet day (the modules attach on the first day and the second
never closes before the end of input), so the collector counts them as people throughout;
they are taken out of the comparisons by their identity (their per-bin cells from their
timelines are added to the truth's), unless the collector recognised them by TAC or they
ask for power saving mode (the simulator's `Phone.psm`: in their attach request already,
so never counted).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import datasketches
import numpy as np
import pytest

from tests.helpers import ROOT, LoggingAggregator, needles, pipeline_run, read_tree, run, scan
from wire.pseudonym import Pseudonymizer, load_key
from wire.report import parse_iso
from wire.tally import encode_batch

SEED = 1
TIMEZONE = "Europe/Paris"
DAY = 86400


@dataclass
class Demo:
    """What the fixture produced."""

    sim: Path
    work: Path
    truth: dict
    scn: object
    persons: tuple
    timelines: tuple
    pipe: object            # the in-process EdgePipeline after finish()
    batches: list           # its tally batches
    db: Path                # the aggregator's database (from the command-line run)
    blobs: dict[str, bytes]  # everything the command-line collector and aggregator wrote
    pseudo: Pseudonymizer
    visible: dict  # id(timeline) -> its network-visible steps [(µs, cell or None)]
    bins: dict = field(default_factory=dict)  # phone_bins of each timeline, once


def _profiles(sim: Path) -> list[str]:
    """The --profiles option when the simulator wrote the subscriber file (contract B)."""
    path = sim / "subscribers.csv"
    return ["--profiles", str(path)] if path.exists() else []


def _replay_in_process(sim: Path, key: Path):
    from collector.app import EdgeConfig
    from collector.edge import AnalyticsConfig
    from collector.profiles import load_profiles

    pseudo = Pseudonymizer(load_key(str(key)))
    profiles = _profiles(sim)
    cfg = EdgeConfig("demo-test", 1, reference=str(sim), analytics=AnalyticsConfig(
        timezone=TIMEZONE, home_min_nights=1,
        profiles=load_profiles(profiles[1], pseudo) if profiles else None))
    return pipeline_run(str(sim / "s1.pcap"), cfg, pseudo)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    from simulator import agents, phones, scenario, schedule, signalling

    work = tmp_path_factory.mktemp("demo")
    sim, key, db = work / "sim", work / "collector.key", work / "agg.duckdb"
    # two processes: the split run (`simulator.split`) is what is held to the truth here;
    # the one-process run is, in the other tests
    blobs = {"generate": run("simulator", "generate", "--scenario", "demo", "--out", str(sim),
                             "--seed", str(SEED), "--workers", "2").stdout,
             "keygen": run("collector", "keygen", "--out", str(key)).stderr}
    agg = LoggingAggregator(db)
    try:
        cli = subprocess.Popen(
            [sys.executable, "-m", "collector", "--log-level", "debug", "replay",
             str(sim / "s1.pcap"), "--key-file", str(key), "--aggregator", agg.endpoint,
             "--collector-id", "demo", "--reference", str(sim), "--timezone", TIMEZONE,
             "--home-min-nights", "1", "--spool", str(work / "spool"), *_profiles(sim)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        pipe, batches = _replay_in_process(sim, key)
        out, err = cli.communicate(timeout=600)
    finally:
        agg_out, agg_err = agg.stop()
    assert cli.returncode == 0, err.decode(errors="replace")
    assert b"unacknowledged 0" in out
    blobs.update({"replay.stdout": out, "replay.stderr": err, "aggregator.stdout": agg_out,
                  "aggregator.stderr": agg_err,
                  "tallies": b"".join(encode_batch(b) for b in batches)})
    report = run("aggregator", "report", "--db", str(db), "--reference", str(sim),
                 "--format", "json")
    blobs.update({"report.json": report.stdout, "report.stderr": report.stderr})
    blobs.update({f"file:{k}": v for k, v in read_tree(work).items()
                  if not k.startswith("sim/") and k != "collector.key"})
    scn = scenario.load("demo")
    sched = schedule.plan(scn, agents.build(scn, SEED), SEED)
    persons, timelines = phones.build(scn, sched, SEED)
    visible = signalling.visible(scn, timelines, SEED, workers=2)  # as generated above
    truth = json.loads((sim / "truth.json").read_text())
    return Demo(sim, work, truth, scn, persons, timelines, pipe, batches, db, blobs,
                Pseudonymizer(load_key(str(key))),
                {id(tl): steps for tl, steps in zip(timelines, visible, strict=True)})


# -- the oracle: each phone's cell per bin by the simulator's rule ----------------------------

def phone_bins(demo: Demo, tl) -> dict[int, object]:
    """{bin start: cell} where the phone is present (simulator.truth's rule over what the
    network saw of it)."""
    from simulator.truth import present_bins

    if id(tl) not in demo.bins:
        demo.bins[id(tl)] = present_bins(demo.visible[id(tl)], demo.scn.end,
                                         demo.scn.bin_seconds)
    return demo.bins[id(tl)]


def zone_runs(demo: Demo, bins: dict[int, object]) -> list[tuple[int, int, str]]:
    """(start, end, zone) of the runs of consecutive bins present in one zone: stays."""
    step, runs = demo.scn.bin_seconds, []
    for start in sorted(bins):
        zone = bins[start].zone
        if runs and runs[-1][2] == zone and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], start + step, zone)
        else:
            runs.append((start, start + step, zone))
    return runs


def local_day(demo: Demo, t: int) -> int:
    """The local date of t as its UTC midnight (the tallies' `day`)."""
    return (t + demo.scn.utc_offset) // DAY * DAY


def is_m2m(tl) -> bool:
    return tl.person.m2m


def counted_m2m(demo: Demo) -> list:
    """The M2M modules the collector counts as people: those that do not ask for power
    saving mode and that it did not recognise by their IMEI TAC (a module so recognised is
    never counted; the behaviour rule cannot act within the demo's two days)."""
    pipe, out = demo.pipe, []
    for tl in filter(is_m2m, demo.timelines):
        if tl.person.phone.psm:
            continue
        slot = pipe.presence._slot.get(demo.pseudo(tl.person.phone.imsi))
        if slot is None or pipe.edge.m2m.cols.m2m[slot] != 2:
            out.append(tl)
    return out


def batch_rows(demo: Demo, kind: str) -> list:
    return [row for b in demo.batches for row in getattr(b, kind)]


# -- presence and sketches ------------------------------------------------------------------

def test_presence_per_cell_bin_equals_the_truth(demo):
    """Exact: the collector's devices per cell and bin are the truth's operator-subscriber
    cell_presence plus the M2M modules (taken out of the truth by identity, see above)."""
    want = Counter({(parse_iso(r["start"]), r["plmn"], r["tac"], r["cell"]): r["devices"]
                    for r in demo.truth["cell_presence"]})
    assert len(want) > 2000
    for tl in counted_m2m(demo):
        for start, cell in phone_bins(demo, tl).items():
            want[(start, demo.scn.network.plmn, cell.tac, cell.eci)] += 1
    got = Counter()
    for r in batch_rows(demo, "presence"):
        got[(r.bin_start, r.plmn, r.tac, r.cell)] += r.devices
    assert got == want
    from aggregator.store import Store
    with Store(demo.db, read_only=True) as store:  # the command-line run stored the same
        stored = Counter({(r.start, r.plmn, r.tac, r.cell): r.devices
                          for r in store.cell_presence()})
    assert stored == want


def test_the_network_sees_idle_moves_late(demo):
    """The truth held to the collector above is the network's view, not the phones' true
    cells: idle moves within a tracking area are seen at the next procedure, so many phones'
    bins differ from those of their true steps (a truth made from the true steps would fail
    the exact test above), while the bins present are the same (the phone is on alike)."""
    from simulator.truth import on_time, present_cell

    differ = 0
    for tl in demo.timelines:
        true = {start: present_cell(cells) for start, cells in on_time(
            [(s.t * 1_000_000, s.cell) for s in tl.steps], demo.scn.end,
            demo.scn.bin_seconds).items()}
        seen = phone_bins(demo, tl)
        assert seen.keys() == {b for b, cell in true.items() if cell is not None}
        differ += seen != true
    assert differ >= 100, differ


def test_hll_union_counts_the_operator_subscribers(demo):
    """The union of every cell-hour sketch estimates the distinct devices present in at
    least one bin within 3 % (HLL lgK 12: relative standard error 1.6 %, so 3 % is about
    two sigmas; the seed is fixed, so the test is deterministic)."""
    from aggregator.store import Store

    union = datasketches.hll_union(12)
    with Store(demo.db, read_only=True) as store:
        rows = store.sketches()
    for row in rows:
        union.update(datasketches.hll_sketch.deserialize(row[-1]))
    truth_devices = sum(r["devices"] for r in demo.truth["zone_devices"])  # per zone
    assert truth_devices >= sum(1 for tl in demo.timelines if not is_m2m(tl)) * 0.9
    devices = [tl for tl in demo.timelines if not is_m2m(tl)] + counted_m2m(demo)
    want = sum(1 for tl in devices if phone_bins(demo, tl))
    assert abs(union.get_estimate() - want) <= 0.03 * want, (union.get_estimate(), want)


# -- home and residents -------------------------------------------------------------------------

def _detected_homes(demo: Demo) -> dict[str, str]:
    """{IMSI: detected home zone} of the phones (not M2M) the collector made residents."""
    pipe, edge = demo.pipe, demo.pipe.edge
    home, seg, m2m = edge.home.cols.home, edge.cols.seg, edge.m2m.cols.m2m
    out = {}
    for tl in demo.timelines:
        imsi = tl.person.phone.imsi
        slot = pipe.presence._slot.get(demo.pseudo(imsi))
        if not is_m2m(tl) and slot is not None and home[slot] >= 0 and seg[slot] == -1 \
                and m2m[slot] == 0:
            out[imsi] = edge.zones.name(int(home[slot]))
    return out


def test_home_zone_of_detected_residents(demo):
    """>= 90 % of the detected residents have their true home (measured: 96.7 %).  The demo
    runs with --home-min-nights 1 (two nights only), so a domestic visitor's hotel night
    makes a home too: those are the errors.  And >= 95 % of the operator's resident phones
    are detected (measured 99.8 %)."""
    homes = _detected_homes(demo)
    true_home = {tl.person.phone.imsi: tl.person.home_zone for tl in demo.timelines
                 if not is_m2m(tl)}
    right = sum(1 for imsi, zone in homes.items() if true_home[imsi] == zone)
    assert right >= 0.9 * len(homes), (right, len(homes))
    residents = [imsi for imsi, zone in true_home.items()
                 if zone and imsi.startswith(demo.scn.network.plmn)]
    assert right >= 0.95 * len(residents), (right, len(residents))
    # the residents rows of the last day are those devices (plus the M2M modules, which
    # sit in one cell day and night and are not recognised in this run)
    last = max(r.day_start for r in batch_rows(demo, "residents"))
    latest = [b for b in demo.batches if any(r.day_start == last for r in b.residents)][-1]
    rows = Counter()  # the latest row set of the day counts, summed over age bands
    for r in latest.residents:
        rows[r.zone] += r.devices if r.day_start == last else 0
    want = Counter(homes.values())
    for tl in counted_m2m(demo):
        want[tl.steps[0].cell.zone] += 1
    assert rows == want


# -- stays, flows, overnight, recurrence ---------------------------------------------------------

def _expected_zone_tallies(demo: Demo) -> dict[str, Counter]:
    """From the phones' bins (M2M included where the collector counts them): stays by
    (start, zone, dwell), flows by (bin, from, to), overnight by (day, zone, home MCC or
    "domestic", resident?) and first presences in a zone by (local day, zone, class)."""
    import bisect

    from wire.tally import DWELL_CLASSES, DWELL_LIMITS

    out = {k: Counter() for k in ("stays", "flows", "overnight", "recurrence")}
    plmn = demo.scn.network.plmn
    fours = [demo.scn.first_midnight + k * DAY + 4 * 3600 for k in range(demo.scn.days + 1)]
    for tl in [tl for tl in demo.timelines if not is_m2m(tl)] + counted_m2m(demo):
        bins = phone_bins(demo, tl)
        runs = zone_runs(demo, bins)
        for start, end, zone in runs:
            dwell = DWELL_CLASSES[bisect.bisect_right(DWELL_LIMITS, end - start)]
            out["stays"][(start, zone, dwell)] += 1
        for (_s, end, za), (start, _e, zb) in zip(runs, runs[1:], strict=False):
            if end == start:
                out["flows"][(start, za, zb)] += 1
        imsi = tl.person.phone.imsi
        seg = "domestic" if imsi.startswith(plmn) else imsi[:3]
        for start, end, zone in runs if not is_m2m(tl) else ():
            for t4 in fours:
                if start <= t4 < end and end - start >= 5 * 3600:
                    key = (local_day(demo, t4), zone, seg, bool(tl.person.home_zone))
                    out["overnight"][key] += 1
        seen: set[tuple[int, str]] = set()
        for start in sorted(bins):
            day, zone = local_day(demo, start), bins[start].zone
            if (day, zone) not in seen:
                back = any((d, zone) in seen for d in range(day - 28 * DAY, day, DAY))
                out["recurrence"][(day, zone, "returning" if back else "first")] += 1
                seen.add((day, zone))
    return out


@pytest.fixture(scope="module")
def expected(demo) -> dict[str, Counter]:
    return _expected_zone_tallies(demo)


def _summed(demo: Demo, kind: str, *fields: str) -> Counter:
    """The collector's rows of one kind summed over segments, by `fields`."""
    out = Counter()
    for r in batch_rows(demo, kind):
        out[tuple(getattr(r, f) for f in fields)] += r.devices if kind != "stays" else r.stays
    return out


def test_stays_by_dwell_class_and_flows_equal_the_phones(demo, expected):
    """Exact: a stay is a run of consecutive bins present in one zone, its dwell class that
    run's length; a flow a change of zone between consecutive bins (every stay of the demo
    is at least one bin, 15 min)."""
    assert _summed(demo, "stays", "start", "zone", "dwell") == expected["stays"]
    assert _summed(demo, "flows", "bin_start", "origin", "destination") == expected["flows"]
    assert sum(expected["stays"].values()) > 4000 and sum(expected["flows"].values()) > 3000


def test_overnight_consistent_with_the_phones_and_the_truth(demo, expected):
    """Roamers' overnight stays (>= 5 h spanning 04:00 local) equal the phones' exactly, by
    day, zone and country, and are within the truth's (everyone's) overnight section.
    Domestic devices with a detected home are not overnight visitors: residents never
    count (their home is decided when the first night closes, 07:00, before their night
    stay ends), and with --home-min-nights 1 a domestic visitor's hotel makes a home too,
    so domestic visitors count at most as the phones say (measured: 0 of 20)."""
    from collector.tally import country_of_mcc

    want = Counter()
    for (day, zone, seg, _resident), n in expected["overnight"].items():
        if seg != "domestic":
            want[(day, zone, country_of_mcc(int(seg)))] += n
    got = Counter()
    for r in batch_rows(demo, "overnight"):
        got[(r.day, r.zone, r.segment)] += r.devices
    foreign = Counter({k: n for k, n in got.items() if k[2] != "domestic"})
    assert foreign == want and sum(want.values()) >= 20
    visitors = Counter()
    for (day, zone, seg, resident), n in expected["overnight"].items():
        if seg == "domestic" and not resident:
            visitors[(day, zone, seg)] += n
    assert all(n <= visitors[k] for k, n in got.items() if k[2] == "domestic")
    truth = {(parse_iso(r["date"] + "T00:00:00Z"), r["zone"]): r for r in demo.truth["overnight"]}
    for (day, zone, country), n in foreign.items():
        assert n <= truth[(day, zone)]["by_country"].get(country, 0), (day, zone, country)


def test_recurrence_consistent_with_the_phones(demo, expected):
    """First presences of a device in a zone on a local day, by class (two days: `first`
    or `returning`).  The collector remembers three zones per device (two usual, one
    transient: collector.recurrence), so a device that alternates between two zones beyond
    those in one day counts one of them twice, and one it forgot counts `first` instead of
    `returning`.  Tolerance: per (day, zone) never fewer than the phones and at most 5 %
    (+2) more; overall at most 2 % more; `returning` at least 97 % of the phones'.
    Measured: +0.7 % overall, returning 99.3 % (with two zones per device, the code before:
    returning 90.6 %, a third zone of the day evicted work)."""
    got = _summed(demo, "recurrence", "day", "zone", "recurrence")
    want = expected["recurrence"]
    per_got, per_want = Counter(), Counter()
    for (day, zone, _cls), n in got.items():
        per_got[(day, zone)] += n
    for (day, zone, _cls), n in want.items():
        per_want[(day, zone)] += n
    assert per_got.keys() == per_want.keys()
    for key, n in per_want.items():
        assert n <= per_got[key] <= n * 1.05 + 2, (key, per_got[key], n)
    assert sum(per_got.values()) <= 1.02 * sum(per_want.values())
    returning = [sum(n for k, n in c.items() if k[2] == "returning") for c in (got, want)]
    assert 0.97 * returning[1] <= returning[0] <= returning[1], returning
    assert all(k[2] in ("first", "returning") for k in got)


# -- subscriber profiles: residents by age band (contracts B and C) -------------------------------

def _subscriber_bands(demo: Demo) -> dict[str, str]:
    """{IMSI: age band} of the simulator's subscriber file (read here: a test may)."""
    import csv

    with open(demo.sim / "subscribers.csv", newline="") as f:
        return {r["imsi"]: r["age_band"] for r in csv.DictReader(f)}


def test_residents_by_age_band_from_the_profiles(demo):
    """The stored residents by (zone, band) are the detected residents (per device, above)
    by the band of their subscriber profile; the M2M modules, without a profile, are in
    band "".  Summed over bands they are `residents()`."""
    if not (demo.sim / "subscribers.csv").exists():
        pytest.skip("the simulator does not write subscribers.csv yet")
    from aggregator.store import Store

    bands = _subscriber_bands(demo)
    want: dict[str, Counter] = {}
    for imsi, zone in _detected_homes(demo).items():
        want.setdefault(zone, Counter())[bands.get(imsi, "")] += 1
    for tl in counted_m2m(demo):
        want.setdefault(tl.steps[0].cell.zone, Counter())[""] += 1
    with Store(demo.db, read_only=True) as store:
        by_band, total = store.residents_by_band(), store.residents()
    assert by_band == {zone: dict(c) for zone, c in want.items()}
    assert total == {zone: sum(c.values()) for zone, c in want.items()}
    assert sum(n for c in want.values() for b, n in c.items() if b) > 900


def test_presence_per_cell_bin_and_age_band_equals_the_phones(demo):
    """Exact, per age band (wire.tally version 5): the devices per cell, bin and band are
    the phones present there (the simulator's rule over what the network saw) by the band
    of their subscriber file row ("" for the roamers and the M2M modules, without one).
    Summed over bands the oracle is the truth's cell_presence (M2M modules added), as above;
    the stored rows are the same."""
    if not (demo.sim / "subscribers.csv").exists():
        pytest.skip("the simulator does not write subscribers.csv yet")
    from aggregator.store import Store

    bands = _subscriber_bands(demo)
    plmn = demo.scn.network.plmn
    want: Counter = Counter()
    for tl in [tl for tl in demo.timelines if not is_m2m(tl)] + counted_m2m(demo):
        band = "" if is_m2m(tl) else bands.get(tl.person.phone.imsi, "")
        for start, cell in phone_bins(demo, tl).items():
            want[(start, plmn, cell.tac, cell.eci, band)] += 1
    truth = Counter({(parse_iso(r["start"]), r["plmn"], r["tac"], r["cell"]): r["devices"]
                     for r in demo.truth["cell_presence"]})
    for tl in counted_m2m(demo):
        for start, cell in phone_bins(demo, tl).items():
            truth[(start, plmn, cell.tac, cell.eci)] += 1
    summed: Counter = Counter()
    for (start, p, tac, eci, _band), n in want.items():
        summed[(start, p, tac, eci)] += n
    assert summed == truth  # the oracle, summed over bands, is the truth
    assert len({k[4] for k in want}) == 7  # every band and ""
    got = Counter()
    for r in batch_rows(demo, "presence"):
        got[(r.bin_start, r.plmn, r.tac, r.cell, r.age_band)] += r.devices
    assert got == want
    with Store(demo.db, read_only=True) as store:
        stored = Counter({tuple(row[:5]): row[5] for row in store.con.execute(
            "SELECT bin_start, plmn, tac, cell, age_band, sum(devices)::BIGINT FROM presence"
            " GROUP BY ALL").fetchall()})
    assert stored == want


# -- privacy ------------------------------------------------------------------------------------

def _windows(blob: bytes, width: int) -> np.ndarray:
    """Every `width`-byte window of a blob as a big-endian integer (width <= 8)."""
    b = np.frombuffer(blob, dtype=np.uint8).astype(np.uint64)
    n = len(b) - width + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    out = np.zeros(n, dtype=np.uint64)
    for i in range(width):
        out = (out << np.uint64(8)) | b[i:i + n]
    return out


def fast_scan(blobs: dict[str, bytes], needle_map: dict[bytes, str]) -> list[str]:
    """tests.helpers.scan for thousands of needles of 6 bytes or more: candidates by their
    first 6 bytes (numpy), then checked whole."""
    by_prefix: dict[int, list[bytes]] = {}
    for needle in needle_map:
        assert len(needle) >= 6, needle_map[needle]
        by_prefix.setdefault(int.from_bytes(needle[:6], "big"), []).append(needle)
    prefixes = np.fromiter(by_prefix, dtype=np.uint64)
    hits = []
    for name, blob in blobs.items():
        windows = _windows(blob, 6)
        for at in np.flatnonzero(np.isin(windows, prefixes)).tolist():
            for needle in by_prefix[int(windows[at])]:
                if blob.startswith(needle, at):
                    hits.append(f"{name}: {needle_map[needle]}")
    return hits


def test_no_identity_nor_pseudonym_in_anything_written(demo):
    """Everything the command-line collector and aggregator wrote or printed (database,
    spool, logs at debug, summaries, report) and the tally batches (encoded) hold none of the input's IMSIs, MSISDNs,
    IMEIs (ASCII, TBCD, NAS) nor the pseudonyms (16-hex text, 8 bytes big/little endian)."""
    phones = [tl.person.phone for tl in demo.timelines]
    imsis = {p.imsi for p in phones}
    msisdns = {p.msisdn for p in phones if p.msisdn}
    imeis = {p.imeisv[:14] for p in phones}
    identity = (needles(imsis) | needles(msisdns) | needles({p.imeisv for p in phones}, kind=3)
                | needles(imeis, kind=2))
    pseudonyms = {}
    for imsi in imsis:
        p = demo.pseudo(imsi)
        pseudonyms[f"{p:016x}".encode()] = "pseudonym hex"
        pseudonyms[p.to_bytes(8, "big")] = "pseudonym bytes"
        pseudonyms[p.to_bytes(8, "little")] = "pseudonym bytes (little endian)"
    with open(demo.sim / "s1.pcap", "rb") as f:  # positive control: the input has them
        capture = {"capture": f.read(8 << 20)}
    found = {hit.split("… ")[1] for hit in fast_scan(capture, identity)}
    assert found == {"ascii", "tbcd", "nas"}, found
    assert scan({"x": b"..." + next(iter(pseudonyms))}, pseudonyms)
    assert len(demo.blobs) >= 8 and any(k.startswith("file:agg") for k in demo.blobs)
    assert b"batch stored" in demo.blobs["aggregator.stderr"]  # the debug log was on
    assert fast_scan(demo.blobs, identity | pseudonyms) == []
