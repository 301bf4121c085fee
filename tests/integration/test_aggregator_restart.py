"""An aggregator SIGKILLed in the middle of a replay and restarted after a pause loses and
duplicates nothing: the collector (with a spool) re-sends what was not acknowledged, the
store drops what it had already committed, and the final report equals a clean run's.

test_reliable_link.py covers the collector's side (no aggregator at first, then a collector
restart that empties its spool); this is the aggregator's side.  The pause is a few seconds
by default; CELLCENSUS_OUTAGE_SECONDS=300 makes it five minutes (the ack timeout and the
drain timeout grow with it so that the collector keeps trying through the outage).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import duckdb

from tests.helpers import ROOT, Aggregator, LoggingAggregator, kill_aggregator, run, wait_for_line

OUTAGE = float(os.environ.get("CELLCENSUS_OUTAGE_SECONDS", "3"))


def report(db, reference) -> dict:
    out = run("aggregator", "report", "--db", str(db), "--reference", str(reference),
              "--format", "json", "--k", "1").stdout
    return json.loads(out)


def stored(db) -> tuple[int, int, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("batches", "presence", "sketches"))


def test_aggregator_killed_mid_replay_loses_and_duplicates_nothing(tmp_path):
    sim = tmp_path / "sim"
    run("simulator", "generate", "--scenario", "tiny", "--out", str(sim), "--seed", "7")
    run("collector", "keygen", "--out", str(tmp_path / "k"))
    ack = max(1.0, OUTAGE / 2)  # 4 attempts, (retries + 1) × ack: past the outage
    common = [str(sim / "s1.pcap"), "--key-file", str(tmp_path / "k"), "--bin-minutes", "5",
              "--collector-id", "mme-1"]

    clean_db = tmp_path / "clean.duckdb"
    agg = Aggregator(clean_db)
    try:
        run("collector", "replay", *common, "--aggregator", agg.endpoint)
    finally:
        agg.stop()

    db = tmp_path / "agg.duckdb"
    agg = LoggingAggregator(db)
    collector = subprocess.Popen(
        [sys.executable, "-m", "collector", "--log-level", "debug", "replay", *common, "--aggregator", agg.endpoint,
         "--spool", str(tmp_path / "spool"), "--ack-timeout", str(ack),
         "--drain-timeout", str(4 * ack + OUTAGE + 30)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_line(agg.proc.stderr, b"batch stored")
        kill_aggregator(agg)  # mid-replay: batches in flight and to come
        time.sleep(OUTAGE)
        agg = Aggregator(db, agg.port)
        out, err = collector.communicate(timeout=4 * ack + OUTAGE + 120)
    finally:
        if collector.poll() is None:
            collector.kill()
        agg.stop()
    assert collector.returncode == 0, err.decode(errors="replace")
    assert b"unacknowledged 0" in out
    assert b"batch re-sent" in err  # the outage was mid-replay: batches were waiting
    assert list((tmp_path / "spool").iterdir()) == []
    assert stored(db) == stored(clean_db)  # same batches and rows: none lost, none twice
    got, want = report(db, sim), report(clean_db, sim)
    assert got["presence"] and got == want
