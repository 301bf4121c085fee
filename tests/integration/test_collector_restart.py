"""A collector stopped in the middle of a replay and started again with the same
`--state-dir` gives the aggregator exactly the tallies of an uninterrupted run.

- SIGTERM: the collector finishes the current message, snapshots, drains its sender and
  exits 0; the next run restores the snapshot, skips the messages it accounted and goes on.
- SIGTERM with `--workers 2`, then one process: the position is an index in the merged
  message order, the same for one process and for N, so either goes on from the other.
- SIGKILL: the next run restores the last periodic snapshot and replays from there.  It
  re-sends what the spool (DIR/spool by default) holds, then makes again the batches sent
  after the snapshot: with the snapshot's sequence number and epoch they are the same
  batches, byte for byte, under the same keys, so the aggregator stores them once
  (`duplicate`).  Identical too.

The input is the `demo` city cut down (a tenth of its people, two days: nights, homes,
days of recurrence, overnight stays), timed in Europe/Paris with one-night homes so that
residents rows exist.  Every file of the state folder, the spool and every log line are
scanned for the capture's IMSIs, IMEISVs and MSISDNs; the logs and the spool for the
pseudonyms too (the snapshot is the one place pseudonyms may be written).
"""

from __future__ import annotations

import signal
import subprocess
import sys

import duckdb
import pytest

from tests.helpers import ROOT, Aggregator, needles, read_tree, run, scan
from wire.pseudonym import Pseudonymizer, load_key

SCALE, DAYS, SEED = "0.1", "2", "3"
TABLES = ("presence", "sketches", "stays", "overnight", "recurrence", "flows", "residents")
SNAPSHOTS_BEFORE_SIGNAL = 30  # of the ~96 (one per half hour of capture time)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The simulated capture, a key, the common options and an uninterrupted run's DB."""
    base = tmp_path_factory.mktemp("restart")
    sim = base / "sim"
    run("simulator", "generate", "--scenario", "demo", "--scale", SCALE, "--days", DAYS,
        "--seed", SEED, "--out", str(sim))
    run("collector", "keygen", "--out", str(base / "k"))
    common = [str(sim / "s1.pcap"), "--key-file", str(base / "k"), "--reference", str(sim),
              "--timezone", "Europe/Paris", "--home-min-nights", "1", "--collector-id", "mme-1"]
    clean = base / "clean.duckdb"
    agg = Aggregator(clean)
    try:
        rep = run("collector", "replay", *common, "--aggregator", agg.endpoint)
    finally:
        agg.stop()
    assert b"unacknowledged 0" in rep.stdout
    return base, sim, common, clean


def rows(db) -> dict[str, list]:
    """Every tally row stored, by table, without the epoch (a run's start time)."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for table in (*TABLES, "batches"):
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()
                    if r[0] not in ("epoch", "received_at")]
            out[table] = con.execute(f"SELECT {', '.join(cols)} FROM {table} "
                                     f"ORDER BY ALL").fetchall()
    return out


def interrupted(args: list[str], sig: int) -> tuple[int, bytes, bytes]:
    """Run `collector replay args`, send `sig` after some snapshots; (code, stdout, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "collector", "--log-level", "debug",
                             "replay", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    seen, err = 0, []
    try:
        while seen < SNAPSHOTS_BEFORE_SIGNAL:
            line = proc.stderr.readline()
            assert line, b"".join(err).decode(errors="replace")  # ended before the signal
            err.append(line)
            seen += b"state saved" in line
        proc.send_signal(sig)
        out, rest = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, b"".join(err) + rest


@pytest.mark.parametrize(("sig", "workers"), [
    (signal.SIGTERM, "1"), (signal.SIGKILL, "1"), (signal.SIGTERM, "2")],
    ids=["sigterm", "sigkill", "sigterm-2-workers-then-1"])
def test_restart_gives_the_tallies_of_an_uninterrupted_run(city, tmp_path, sig, workers):
    base, sim, common, clean = city
    state = tmp_path / "state"
    db = tmp_path / "agg.duckdb"
    agg = Aggregator(db)
    try:
        args = [*common, "--aggregator", agg.endpoint, "--state-dir", str(state),
                "--snapshot-interval", "1800"]
        code, out1, err1 = interrupted([*args, "--workers", workers], sig)
        snapshot = state / "collector.state"
        assert snapshot.stat().st_mode & 0o777 == 0o600
        if sig == signal.SIGTERM:
            assert code == 0, err1.decode(errors="replace")
            assert b"stopped, state saved" in err1 and b"unacknowledged 0" in out1
        else:
            assert code == -signal.SIGKILL
        files = read_tree(state)  # as the stop left them (spool included)
        second = run("collector", "--log-level", "debug", "replay", *args)
    finally:
        agg.stop()
    assert b"state restored, skipping messages=" in second.stderr
    assert b"unacknowledged 0" in second.stdout
    assert list((state / "spool").iterdir()) == []
    got, want = rows(db), rows(clean)
    assert got["residents"] and got["overnight"] and got["presence"]
    assert got == want

    files |= {f"after:{k}": v for k, v in read_tree(state).items()}
    logs = {"out1": out1, "err1": err1, "out2": second.stdout, "err2": second.stderr}
    assert_no_identity(base, {**files, **logs}, {**logs, **{
        k: v for k, v in files.items() if not k.endswith("collector.state")}})


def assert_no_identity(base, everything: dict[str, bytes], no_pseudonyms: dict[str, bytes]):
    """No raw identity of the capture anywhere; no pseudonym outside the snapshot."""
    from simulator.population import identities
    from simulator.scenario import load, resize

    ids = identities(resize(load("demo"), float(SCALE), int(DAYS)), int(SEED))
    assert ids.imsis and ids.imeisvs and ids.msisdns
    raw = needles(set(ids.imsis)) | needles(set(ids.msisdns)) | needles(set(ids.imeisvs), 3)
    assert scan(everything, raw) == []
    pseudo = Pseudonymizer(load_key(str(base / "k")))
    marks = {}
    for imsi in ids.imsis:
        p = pseudo(imsi)
        marks[f"{p:016x}".encode()] = "hex"
        marks[p.to_bytes(8, "big")] = "bytes"
        marks[p.to_bytes(8, "little")] = "bytes (little endian)"
        marks[str(p).encode()] = "decimal"
    assert scan(no_pseudonyms, marks) == []
    # positive control: the snapshot does hold the pseudonyms (little endian arrays)
    snapshots = {k: v for k, v in everything.items() if k.endswith("collector.state")}
    assert snapshots and scan(snapshots, marks)
