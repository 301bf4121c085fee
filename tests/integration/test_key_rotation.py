"""Key epochs in the pipeline: a key changing mid-replay, with an overlap, leaves every
presence count as one key gives (devices are carried to their new pseudonyms); without
an overlap the devices seen under both keys are counted twice around the change."""

from __future__ import annotations

import pytest

from collector.app import EdgeConfig, replay
from collector.keyring import KeyRing
from collector.sources.pcap import read_capture
from collector.telemetry import Counters
from tests.helpers import run
from wire.pseudonym import Pseudonymizer

KEY_A, KEY_B = bytes(range(32)), bytes(range(1, 33))


class Collect:
    def __init__(self) -> None:
        self.batches = []

    def send(self, batch) -> None:
        self.batches.append(batch)


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("city")
    run("simulator", "generate", "--scenario", "tiny", "--out", str(out), "--seed", "4")
    return str(next(p for p in out.iterdir() if p.suffix in (".pcap", ".pcapng")))


def counts(path: str, pseudo) -> dict:
    """Devices per (bin, cell) over the whole replay."""
    sink = Collect()
    replay([path], EdgeConfig("rotation", 1, bin_seconds=300), pseudo, sink)
    out: dict = {}
    for b in sink.batches:
        for r in b.presence:
            key = (r.bin_start, r.plmn, r.tac, r.cell)
            out[key] = out.get(key, 0) + r.devices
    return out


def middle_time(path: str) -> float:
    times = [ts for _, ts, *_ in read_capture(path, Counters())]
    return times[len(times) // 2]


def test_rotation_with_overlap_counts_as_one_key(city):
    one = counts(city, Pseudonymizer(KEY_A))
    change = middle_time(city)
    ring = KeyRing([(0, KEY_A), (int(change), KEY_B)], overlap=10 * 86400)
    assert counts(city, ring) == one
    assert ring.carried > 0 and ring.overlapping
    bare = KeyRing([(0, KEY_A), (int(change), KEY_B)], overlap=0)
    twice = counts(city, bare)
    assert sum(twice.values()) > sum(one.values())   # the test can tell carrying apart
    assert bare.carried == 0


def test_key_dir_on_the_command_line(city, tmp_path):
    from collector.keyring import new_epoch_key

    keys = tmp_path / "keys"
    new_epoch_key(str(keys), "2000-01-01")
    new_epoch_key(str(keys), "2001-01-01")
    done = run("collector", "replay", city, "--key-dir", str(keys), "--dry-run")
    assert done.returncode == 0
    # capture time (2026) is past both starts and the overlap: the first key is destroyed
    assert sorted(p.name for p in keys.iterdir()) == ["2001-01-01.key"]
    refused = run("collector", "replay", city, "--key-dir", str(keys), "--dry-run",
                  "--workers", "2", check=False)
    assert refused.returncode == 2 and b"--key-dir: not yet with --workers" in refused.stderr
