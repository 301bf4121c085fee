"""`collector replay --workers N`: decoding spread over processes gives exactly the
counts of one process (summary, drops, events, devices and every tally row), on the
real captures and on a simulated city; what crosses between processes holds no
identity; a failing worker fails the run."""

from __future__ import annotations

import os
import pickle
import queue
from pathlib import Path

import pytest

from collector.app import EdgeConfig, replay
from collector.order import shards
from collector.workers import WorkerEnd, WorkerFailed, _work, replay_parallel
from tests.helpers import capture_paths, needles, run, scan, tsv_equipment, tsv_identities
from wire.pseudonym import Pseudonymizer

KEY = bytes(range(32))


class Collect:
    """A sender that keeps the batches."""

    def __init__(self) -> None:
        self.batches = []

    def send(self, batch) -> None:
        self.batches.append(batch)


def outcome(paths: list[str], workers: int) -> tuple:
    cfg = EdgeConfig("workers", 1, bin_seconds=300)
    sink = Collect()
    if workers == 1:
        s = replay(paths, cfg, Pseudonymizer(KEY), sink)
    else:
        s = replay_parallel(paths, cfg, Pseudonymizer(KEY), workers, sink)
    rows = [(b.seq, r) for b in sink.batches for r in b.presence]
    return (dict(s.counters.messages), dict(s.counters.dropped), s.counters.frames,
            dict(s.events), s.devices, s.rows, s.batches, rows)


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("city")
    run("simulator", "generate", "--scenario", "tiny", "--out", str(out), "--seed", "3")
    return str(next(p for p in out.iterdir() if p.suffix in (".pcap", ".pcapng")))


@pytest.mark.parametrize("workers", [2, 3])
def test_counts_identical_on_the_real_captures_merged(workers: int) -> None:
    paths = [str(p) for p in capture_paths()]
    one = outcome(paths, 1)
    assert one[0] and one[4] > 10  # messages of several protocols, devices
    assert outcome(paths, workers) == one


def test_counts_identical_on_each_real_capture() -> None:
    for path in capture_paths():
        assert outcome([str(path)], 2) == outcome([str(path)], 1), path.name


def test_counts_identical_on_a_simulated_city(city: str) -> None:
    one = outcome([city], 1)
    assert one[5] > 20  # presence rows
    assert outcome([city], 2) == one


@pytest.mark.parametrize("workers", [2, 3])
def test_a_truncated_capture_is_counted_once(city: str, tmp_path, workers: int) -> None:
    """Every process reads every frame; what is wrong with the file is counted once."""
    cut = tmp_path / "cut.pcap"
    data = Path(city).read_bytes()
    cut.write_bytes(data[:len(data) * 2 // 3])  # ends inside a record
    one = outcome([str(cut)], 1)
    assert one[1].get(("capture", "truncated_capture")) == 1
    assert outcome([str(cut)], workers) == one


def test_cli_summary_identical(city: str) -> None:
    one = run("collector", "replay", city, "--dry-run").stdout
    assert b"presence rows" in one
    assert run("collector", "replay", city, "--dry-run", "--workers", "2").stdout == one
    bad = run("collector", "replay", city, "--dry-run", "--workers", "0", check=False)
    assert bad.returncode == 2 and b"--workers" in bad.stderr


def test_nothing_crossing_processes_holds_an_identity() -> None:
    """The batches a worker sends, pickled as the queue sends them, scanned for every
    IMSI, SUPI, MSISDN and IMEI tshark finds in the captures."""
    imsis, msisdns = tsv_identities()
    sent = queue.Queue()
    paths = [str(p) for p in capture_paths()]
    for shard in shards([1, 1]):
        _work(paths, shard, Pseudonymizer(KEY), sent)
    blobs, ends = {}, 0
    while not sent.empty():
        item = sent.get()
        if isinstance(item, WorkerEnd):
            ends += 1
            assert item.error is None
        else:
            blobs[f"batch {len(blobs)}"] = pickle.dumps(item)
    assert ends == 2 and sum(map(len, blobs.values())) > 100_000
    hits = scan(blobs, needles(imsis) | needles(msisdns) | needles(tsv_equipment(), kind=3))
    assert hits == []


def test_a_failing_worker_fails_the_run() -> None:
    parent = os.getpid()

    def broken(digits: str) -> int:  # fails in the child processes only
        if os.getpid() != parent:
            raise ValueError("secret 001010123456789")
        return Pseudonymizer(KEY)(digits)

    paths = [str(p) for p in capture_paths()]
    with pytest.raises(WorkerFailed) as info:
        replay_parallel(paths, EdgeConfig("w", 1), broken, 2)
    assert "ValueError" in str(info.value) and "0010101" not in str(info.value)
