"""Key epochs with `--state-dir`: a replay stopped by SIGTERM in the overlap, or after the
old key was destroyed, and started again with what the key folder then holds, gives the
batches of an uninterrupted run (one process or two, either way round); a snapshot made
with other keys is refused; nothing written holds an identity, nor a pseudonym outside
the snapshot.  The city and keys are those of test_key_rotation (the key changes 25 h
into the capture, the half-day overlap ends 37 h in)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

from collector.keyring import KeyRing, epoch_start
from collector.snapshot import SnapshotError, StateDir, config_of
from tests.helpers import ROOT, Aggregator, needles, read_tree, run, scan
from tests.integration import test_key_rotation as rotation
from tests.integration.test_key_rotation import (
    DAY_A,
    DAY_B,
    DAYS,
    KEY_A,
    KEY_B,
    SCALE,
    SEED,
    Collect,
    batches,
    config,
    ring,
)
from wire.pseudonym import Pseudonymizer, write_key

city, keys = rotation.city, rotation.keys  # the same fixtures (made again for this module)

OVERLAP = 0.5
CHANGE = epoch_start(DAY_B)
STOPS = {"in-the-overlap": CHANGE + 6 * 3600, "after-the-overlap": CHANGE + 18 * 3600}


class StopAt(Collect):
    """Keeps batches; SIGTERMs this process at the first bin starting at or after `at`."""

    def __init__(self, at: float) -> None:
        super().__init__()
        self.at, self.sent = at, False

    def send(self, batch) -> None:
        super().send(batch)
        if not self.sent and any(r.bin_start >= self.at for r in batch.presence):
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)


def state_of(city, pseudo, folder) -> StateDir:
    return StateDir(str(folder), 1800.0, config_of(config(city), pseudo))


@pytest.mark.parametrize(("first", "then"), [(1, 1), (2, 2), (2, 1)])
@pytest.mark.parametrize("stop", STOPS.values(), ids=STOPS.keys())
def test_sigterm_then_resume_gives_an_uninterrupted_run(city, keys, tmp_path, first, then,
                                                        stop):
    clean, _ = ring(keys, tmp_path, OVERLAP, "clean")
    want, _ = batches(city, clean)
    rotating, folder = ring(keys, tmp_path, OVERLAP)
    sink = StopAt(stop)
    found, summary = batches(city, rotating, first, state=state_of(city, rotating,
                                                                   tmp_path / "s"), sink=sink)
    assert summary.stopped and sink.sent
    destroyed = stop > CHANGE + OVERLAP * 86400
    assert sorted(p.name for p in folder.iterdir()) == (
        [f"{DAY_B}.key"] if destroyed else [f"{DAY_A}.key", f"{DAY_B}.key"])
    again = KeyRing.load(str(folder), OVERLAP * 86400)  # what the key folder holds now
    rest, summary = batches(city, again, then, state=state_of(city, again, tmp_path / "s"))
    assert not summary.stopped
    assert found + rest == want
    assert again.carried == clean.carried and again.check() == clean.check()
    assert sorted(p.name for p in folder.iterdir()) == [f"{DAY_B}.key"]


def test_a_snapshot_made_with_other_keys_is_refused(city, keys, tmp_path):
    rotating, folder = ring(keys, tmp_path, OVERLAP)
    _, summary = batches(city, rotating, state=state_of(city, rotating, tmp_path / "s"),
                         sink=StopAt(STOPS["in-the-overlap"]))
    assert summary.stopped
    other = tmp_path / "other"
    other.mkdir()
    write_key(str(other / f"{DAY_A}.key"), KEY_A)
    write_key(str(other / f"{DAY_B}.key"), bytes(32))  # another key for the second epoch
    (folder / f"{DAY_A}.key").unlink()  # the old key lost (as after a SIGKILL)
    for folder_now, why in ((other, "other keys"), (folder, "previous key destroyed")):
        ring_now = KeyRing.load(str(folder_now), OVERLAP * 86400)
        with pytest.raises(SnapshotError, match=why):
            batches(city, ring_now, state=state_of(city, ring_now, tmp_path / "s"))
    one = Pseudonymizer(KEY_B)
    with pytest.raises(SnapshotError, match="another pseudonymisation key"):
        batches(city, one, state=state_of(city, one, tmp_path / "s"))


def test_nothing_written_holds_an_identity_or_a_pseudonym(city, keys, tmp_path):
    """The command line, two workers, profiles, SIGTERM in the overlap and a restart:
    state folder, spool and logs scanned (pseudonyms of both keys allowed only in the
    snapshot)."""
    from simulator.population import identities
    from simulator.scenario import load, resize

    folder = tmp_path / "keys"
    shutil.copytree(keys, folder)
    state = tmp_path / "state"
    agg = Aggregator(tmp_path / "agg.duckdb")
    args = ["--log-level", "debug", "replay", str(city / "s1.pcap"), "--key-dir", str(folder),
            "--key-overlap-days", str(OVERLAP), "--workers", "2", "--reference", str(city),
            "--profiles", str(city / "subscribers.csv"), "--timezone", "Europe/Paris",
            "--home-min-nights", "1", "--state-dir", str(state), "--snapshot-interval", "1800",
            "--aggregator", agg.endpoint]
    try:
        proc = subprocess.Popen([sys.executable, "-m", "collector", *args], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err, seen = [], 0
        while seen < 60:  # half-hour snapshots: 30 h in, inside the overlap
            line = proc.stderr.readline()
            assert line, b"".join(err).decode(errors="replace")
            err.append(line)
            seen += b"state saved" in line
        proc.send_signal(signal.SIGTERM)
        out1, rest = proc.communicate(timeout=300)
        assert proc.returncode == 0 and b"stopped, state saved" in rest
        files = read_tree(state)
        second = run("collector", *args)
    finally:
        agg.stop()
    assert b"state restored, skipping messages=" in second.stderr
    files |= {f"after:{k}": v for k, v in read_tree(state).items()}
    logs = {"out1": out1, "err1": b"".join(err) + rest, "out2": second.stdout,
            "err2": second.stderr}
    ids = identities(resize(load("demo"), float(SCALE), int(DAYS)), int(SEED))
    assert ids.imsis and ids.imeisvs and ids.msisdns
    raw = needles(set(ids.imsis)) | needles(set(ids.msisdns)) | needles(set(ids.imeisvs), 3)
    assert scan({**files, **logs}, raw) == []
    marks = {}
    for key in (KEY_A, KEY_B):
        pseudo = Pseudonymizer(key)
        for imsi in ids.imsis:
            p = pseudo(imsi)
            marks[f"{p:016x}".encode()] = "hex"
            marks[p.to_bytes(8, "big")] = "bytes"
    outside = {k: v for k, v in files.items() if not k.endswith("collector.state")}
    assert any(k.endswith("collector.state") for k in files)
    assert scan({**logs, **outside}, marks) == []
