"""Collector → aggregator over real processes: `aggregator serve`, BatchSender, SIGTERM, report.

The aggregator runs as `python -m aggregator serve` in a subprocess; batches
from two collectors are sent with BatchSender over TCP, then the server is
stopped with SIGTERM and `aggregator report --format json` must give back
the sums of what was sent, worked out here with a Counter.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from collector.sender import BatchSender
from tests.helpers import Aggregator, ask_raw, run
from wire.tally import PresenceRow, TallyBatch

T0 = int(dt.datetime(2026, 12, 8, 19, 0, tzinfo=dt.UTC).timestamp())


def traffic() -> list[TallyBatch]:
    """Six batches from two collectors over three bins, with cells in common."""
    batches = []
    for collector in ("lyon-mme-1", "lyon-amf-1"):
        for seq in range(3):
            rows = tuple(PresenceRow(T0 + 900 * seq, "20801", 100 + cell % 2, cell,
                                     1 + (seq * 7 + cell + len(collector)) % 11)
                         for cell in range(1, 6))
            batches.append(TallyBatch(collector, 1764338400, seq, 900, rows))
    return batches


def expected_rows(batches: list[TallyBatch]) -> dict[tuple[str, str, int, int], int]:
    sums: Counter = Counter()
    for b in batches:
        for r in b.presence:
            start = dt.datetime.fromtimestamp(r.bin_start, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            sums[(start, r.plmn, r.tac, r.cell)] += r.devices
    return dict(sums)


def send_garbage(endpoint: str) -> dict:
    return ask_raw(endpoint, b"\xc1 definitely not msgpack")


def test_serve_send_stop_report(tmp_path):
    db = tmp_path / "agg.duckdb"
    server = Aggregator(db)  # `python -m aggregator serve` on a free loopback port
    endpoint = server.endpoint
    try:
        batches = traffic()
        with BatchSender(endpoint, ack_timeout=2.0, window=4) as sender:
            for b in batches:
                sender.send(b)
            assert sender.drain(timeout=20.0) == (6, 0)
            sender.send(batches[0])  # a re-send after an ack: dropped by key
            assert sender.drain(timeout=10.0) == (7, 0)
        assert sender.statuses == {"stored": 6, "duplicate": 1}
        assert send_garbage(endpoint)["reason"] == "not_msgpack"

        locked = run("aggregator", "report", "--db", str(db), "--raw",
                     check=False).stderr.decode()
        assert locked.count("\n") == 1 and "is locked by another process" in locked
    finally:
        _, err = server.stop()  # SIGTERM; asserts exit status 0
    log = err.decode()
    assert f"serving endpoint={endpoint} db={db}" in log
    assert ("stopped stored=6 duplicate=1 rejected=1 rejected_by_reason=not_msgpack:1"
            in log), log

    doc = json.loads(run("aggregator", "report", "--db", str(db), "--raw", "--k", "1",
                         "--format", "json").stdout)
    assert doc["schema"] == "cellcensus.report/1"
    got = {(r["start"], r["plmn"], r["tac"], r["cell"]): r["devices"]
           for r in doc["cell_presence"]}
    want = expected_rows(batches)
    assert got == want
    assert len(doc["cell_presence"]) == 15  # 3 bins x 5 cells, both collectors merged
    assert {r["seconds"] for r in doc["cell_presence"]} == {900}

    table = run("aggregator", "report", "--db", str(db), "--raw", "--k", "1",
                "--format", "table").stdout.decode()
    assert table.splitlines()[-1].split()[-1] == str(sum(want.values()))


def test_locked_report_exit_status(tmp_path):
    db = tmp_path / "agg.duckdb"
    server = Aggregator(db)
    try:
        proc = run("aggregator", "report", "--db", str(db), "--raw", "--format", "json",
                   check=False)
    finally:
        server.stop()
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert b"Traceback" not in proc.stderr
