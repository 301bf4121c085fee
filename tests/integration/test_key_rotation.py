"""Key epochs in the pipeline (collector.keyring): a key changing mid-replay, with an
overlap, leaves every count as one key gives (devices are carried to their new
pseudonyms); without an overlap the devices seen under both keys are counted twice.
With `--workers N` every tally row, the carried count and the key files destroyed are
those of one process, with or without an overlap, and with one ending mid-replay.

The input is the `demo` city cut down (3 % of its people, two days from 2026-12-07 23:00
UTC, Europe/Paris nights, one-night homes so that residents rows exist): a key epoch
starting 2026-12-09 changes the key 25 hours in; an overlap of half a day ends 37 hours
in, so the old key is destroyed mid-replay.
"""

from __future__ import annotations

import shutil

import pytest

from collector.app import EdgeConfig, replay
from collector.edge import AnalyticsConfig
from collector.keyring import KeyRing, epoch_start
from collector.profiles import load_profiles
from collector.workers import replay_parallel
from tests.helpers import run
from wire.pseudonym import Pseudonymizer, write_key

SCALE, DAYS, SEED = "0.03", "2", "3"
KEY_A, KEY_B = bytes(range(32)), bytes(range(1, 33))
DAY_A, DAY_B = "2026-12-01", "2026-12-09"
OVERLAPS = {"no-overlap": 0.0, "overlap-ends-mid-replay": 0.5, "overlap-past-the-end": 10.0}


class Collect:
    def __init__(self) -> None:
        self.batches = []

    def send(self, batch) -> None:
        self.batches.append(batch)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    run("simulator", "generate", "--scenario", "demo", "--scale", SCALE, "--days", DAYS,
        "--seed", SEED, "--out", str(out))
    return out


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """A key folder of two epochs (copied by `ring`: a replay destroys files in it)."""
    folder = tmp_path_factory.mktemp("keys") / "keys"
    folder.mkdir(mode=0o700)
    write_key(str(folder / f"{DAY_A}.key"), KEY_A)
    write_key(str(folder / f"{DAY_B}.key"), KEY_B)
    return folder


def ring(keys, tmp_path, days: float, name: str = "ring") -> tuple[KeyRing, object]:
    """A ring over a fresh copy of `keys` with an overlap of `days`; (ring, its folder)."""
    folder = tmp_path / name
    shutil.copytree(keys, folder)
    return KeyRing.load(str(folder), days * 86400.0), folder


def config(city, profiles=None) -> EdgeConfig:
    return EdgeConfig("rotation", 1, reference=str(city), analytics=AnalyticsConfig(
        timezone="Europe/Paris", home_min_nights=1, profiles=profiles))


def batches(city, pseudo, workers: int = 1, profiles=None, state=None,
            sink=None) -> tuple[list, object]:
    """Every batch of a replay of the city (into `sink`, a Collect), and its summary."""
    sink, cfg, paths = sink or Collect(), config(city, profiles), [str(city / "s1.pcap")]
    if workers == 1:
        summary = replay(paths, cfg, pseudo, sink, state=state)
    else:
        summary = replay_parallel(paths, cfg, pseudo, workers, sink, state=state)
    return sink.batches, summary


def presence(found: list) -> dict:
    """Devices per (bin, cell) over the whole replay."""
    out: dict = {}
    for b in found:
        for r in b.presence:
            key = (r.bin_start, r.plmn, r.tac, r.cell)
            out[key] = out.get(key, 0) + r.devices
    return out


def rows(found: list) -> list:
    """The rows of the batches but their sketches (which hold pseudonyms)."""
    return [(b.seq, b.presence, b.stays, b.overnight, b.recurrence, b.flows, b.residents)
            for b in found]


def test_the_key_changes_and_the_overlap_ends_inside_the_capture(city):
    from collector.sources.pcap import read_capture
    from collector.telemetry import Counters

    times = [ts for _, ts, *_ in read_capture(str(city / "s1.pcap"), Counters())]
    change = epoch_start(DAY_B)
    assert times[0] < change < change + OVERLAPS["overlap-ends-mid-replay"] * 86400 < times[-1]


def test_rotation_with_overlap_counts_as_one_key(city, keys, tmp_path):
    one, _ = batches(city, Pseudonymizer(KEY_A))
    long, _ = ring(keys, tmp_path, OVERLAPS["overlap-past-the-end"])
    found, _ = batches(city, long)
    assert rows(found) == rows(one)  # every row of every kind (sketches: other items)
    assert long.carried > 0 and long.overlapping
    bare, _ = ring(keys, tmp_path, 0.0, "bare")
    twice, _ = batches(city, bare)
    assert sum(presence(twice).values()) > sum(presence(one).values())  # carrying tells
    assert bare.carried == 0


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("overlap", OVERLAPS.values(), ids=OVERLAPS.keys())
def test_workers_count_as_one_process(city, keys, tmp_path, workers, overlap):
    one_ring, one_dir = ring(keys, tmp_path, overlap, "one")
    one, one_summary = batches(city, one_ring)
    n_ring, n_dir = ring(keys, tmp_path, overlap, "many")
    many, summary = batches(city, n_ring, workers)
    assert many == one
    assert (summary.devices, dict(summary.events)) == (one_summary.devices,
                                                      dict(one_summary.events))
    assert n_ring.carried == one_ring.carried and n_ring.phase == one_ring.phase
    assert sorted(p.name for p in n_dir.iterdir()) == sorted(p.name for p in one_dir.iterdir())
    destroyed = overlap == OVERLAPS["overlap-ends-mid-replay"] or overlap == 0
    assert sorted(p.name for p in n_dir.iterdir()) == (
        [f"{DAY_B}.key"] if destroyed else [f"{DAY_A}.key", f"{DAY_B}.key"])


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("overlap", [OVERLAPS["overlap-ends-mid-replay"],
                                     OVERLAPS["overlap-past-the-end"]], ids=["ends", "long"])
def test_residents_by_age_band_are_the_same_across_a_rotation(city, keys, tmp_path, workers,
                                                              overlap):
    """Profiles are hashed with every key the ring holds: a device carried to the new key
    and one still under the old key both find theirs (even once the old key is gone)."""
    subscribers = str(city / "subscribers.csv")
    one_key = Pseudonymizer(KEY_A)
    want, _ = batches(city, one_key, profiles=load_profiles(subscribers, one_key))
    rotating, _ = ring(keys, tmp_path, overlap)
    profiles = load_profiles(subscribers, rotating)
    assert len(profiles) == 2 * len(load_profiles(subscribers, one_key))
    got, _ = batches(city, rotating, workers, profiles=profiles)

    def residents(found):
        return sorted((r.day_start, r.zone, r.age_band, r.devices)
                      for b in found for r in b.residents)

    assert residents(want) and {r[2] for r in residents(want)} - {""}
    assert residents(got) == residents(want)
    if overlap < 1:  # the old key's profiles went with it, but those of devices still held
        assert len(profiles) < 2 * len(load_profiles(subscribers, one_key))


def test_key_dir_on_the_command_line(city, keys, tmp_path):
    folder = tmp_path / "keys"
    shutil.copytree(keys, folder)
    done = run("collector", "replay", str(city / "s1.pcap"), "--key-dir", str(folder),
               "--key-overlap-days", "0.5", "--dry-run", "--workers", "2", "--profiles",
               str(city / "subscribers.csv"), "--state-dir", str(tmp_path / "state"),
               "--reference", str(city))
    assert done.returncode == 0
    # the overlap ended inside the capture: the first key is destroyed
    assert sorted(p.name for p in folder.iterdir()) == [f"{DAY_B}.key"]
    refused = run("collector", "replay", str(city / "s1.pcap"), "--key-dir", str(folder),
                  "--key-file", str(folder / f"{DAY_B}.key"), "--dry-run", check=False)
    assert refused.returncode == 2 and b"--key-dir and --key-file" in refused.stderr
