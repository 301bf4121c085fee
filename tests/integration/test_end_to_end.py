"""Simulator → collector → aggregator over loopback: the report's devices per cell and
bin equal the simulator's truth for the operator's phones (exactly)."""

from __future__ import annotations

import json

from tests.helpers import Aggregator, run
from wire.report import presence_index


def test_report_equals_truth(tmp_path):
    run("simulator", "generate", "--scenario", "tiny", "--out", str(tmp_path), "--seed", "7")
    run("collector", "keygen", "--out", str(tmp_path / "k"))
    agg = Aggregator(tmp_path / "agg.duckdb")
    try:
        rep = run("collector", "replay", str(tmp_path / "s1.pcap"), "--key-file",
                  str(tmp_path / "k"), "--aggregator", agg.endpoint, "--collector-id", "e2e")
    finally:
        agg.stop()
    assert b"unacknowledged 0" in rep.stdout
    report = run("aggregator", "report", "--db", str(tmp_path / "agg.duckdb"), "--format", "json")
    got = presence_index(json.loads(report.stdout))
    want = presence_index(json.loads((tmp_path / "truth.json").read_text()))
    assert len(want) >= 20  # tiny spans hours over several cells
    assert got == want


def test_dry_run_sends_nothing_and_counts_the_same(tmp_path):
    run("simulator", "generate", "--scenario", "tiny", "--out", str(tmp_path), "--seed", "7")
    rep = run("collector", "replay", str(tmp_path / "s1.pcap"), "--dry-run")
    text = rep.stdout.decode()
    assert "sent          nothing (--dry-run)" in text
    want = json.loads((tmp_path / "truth.json").read_text())
    rows = int(text.split("batches, ")[1].split(" presence rows")[0])
    assert rows == len(want["cell_presence"])
