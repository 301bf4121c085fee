"""Simulator → collector → aggregator over loopback: the report's devices per cell and
bin equal the simulator's truth for the operator's phones (exactly), and the distinct
devices per zone, from unions of the collector's HLL sketches, are within 3 % of the
truth's and their 95 % interval holds it."""

from __future__ import annotations

import json

from tests.helpers import Aggregator, run
from wire.report import presence_index, zone_devices_index


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
    report = run("aggregator", "report", "--db", str(tmp_path / "agg.duckdb"), "--format", "json",
                 "--reference", str(tmp_path), "--raw", "--k", "1")
    doc, truth = json.loads(report.stdout), json.loads((tmp_path / "truth.json").read_text())
    got, want = presence_index(doc), presence_index(truth)
    assert len(want) >= 20  # tiny spans hours over several cells
    assert got == want
    assert_zone_devices(doc, truth)


def assert_zone_devices(doc: dict, truth: dict) -> None:
    """Per zone over the whole run: estimate within 3 % of the truth, truth in the interval,
    segments alike."""
    got = {zone: row for (zone, _s, _e), row in zone_devices_index(doc).items()}
    want = {zone: row for (zone, _s, _e), row in zone_devices_index(truth).items()}
    assert want and got.keys() == want.keys()
    for zone, row in want.items():
        est, (lo, hi) = got[zone]["devices"], got[zone]["ci95"]
        assert abs(est - row["devices"]) <= 0.03 * row["devices"], (zone, est, row)
        assert lo <= row["devices"] <= hi, (zone, lo, hi, row)
        assert got[zone]["by_segment"].keys() == row["by_segment"].keys()


def test_dry_run_sends_nothing_and_counts_the_same(tmp_path):
    run("simulator", "generate", "--scenario", "tiny", "--out", str(tmp_path), "--seed", "7")
    rep = run("collector", "replay", str(tmp_path / "s1.pcap"), "--dry-run")
    text = rep.stdout.decode()
    assert "sent          nothing (--dry-run)" in text
    want = json.loads((tmp_path / "truth.json").read_text())
    rows = int(text.split("batches, ")[1].split(" presence rows")[0])
    assert rows == len(want["cell_presence"])
