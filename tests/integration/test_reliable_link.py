"""The collector → aggregator link: CurveZMQ with an allow list, and the disk spool
that loses no tally through an aggregator outage or a collector restart."""

from __future__ import annotations

import json
import time

from tests.helpers import ROOT, Aggregator, free_port, run
from wire.curve import make_keypair

CAPTURE = ROOT / "tests/golden/captures/open5gs_open5gs__testattach.pcapng"


def report_rows(db) -> list:
    out = run("aggregator", "report", "--db", str(db), "--raw", "--k", "1",
              "--format", "json").stdout
    return json.loads(out)["cell_presence"]


def stored_collectors(db) -> set[str]:
    import duckdb
    with duckdb.connect(str(db), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT DISTINCT collector FROM batches").fetchall()}


def summary(out: bytes) -> dict[str, str]:
    return dict(line.split(None, 1) for line in out.decode().splitlines() if line.strip())


def test_curve_admits_listed_collectors_only(tmp_path) -> None:
    keys, allow = tmp_path / "keys", tmp_path / "allow"
    agg_pub, agg_secret = make_keypair(str(keys), "aggregator")
    good_pub, good_secret = make_keypair(str(keys), "good")
    _, bad_secret = make_keypair(str(keys), "stranger")
    allow.mkdir()
    (allow / "good.key").write_bytes(good_pub.read_bytes())
    db = tmp_path / "agg.duckdb"
    agg = Aggregator(db, None, "--curve-secret", str(agg_secret), "--allow", str(allow))
    common = [str(CAPTURE), "--aggregator", agg.endpoint, "--server-key", str(agg_pub),
              "--ack-timeout", "0.5", "--drain-timeout", "3"]
    try:
        good = run("collector", "replay", *common, "--curve-secret", str(good_secret),
                   "--collector-id", "good")
        bad = run("collector", "replay", *common, "--curve-secret", str(bad_secret),
                  "--collector-id", "stranger", check=False)
        plain = run("collector", "replay", str(CAPTURE), "--aggregator", agg.endpoint,
                    "--collector-id", "plain", "--ack-timeout", "0.5", "--drain-timeout", "2",
                    check=False)
    finally:
        _out, err = agg.stop()
    assert "unacknowledged 0" in summary(good.stdout)["sent"]
    assert bad.returncode == 1 and plain.returncode == 1  # nothing acknowledged
    assert "acknowledged 0" in summary(bad.stdout)["sent"]
    assert err.count(b"collector refused reason=Unknown key") >= 1
    stranger_pub = (keys / "stranger.key").read_text().split('public-key = "')[1][:40]
    assert stranger_pub.encode() in err  # the refused key is named in the log
    assert stored_collectors(db) == {"good"}


def test_curve_options_are_checked(tmp_path) -> None:
    keys = tmp_path / "keys"
    agg_pub, agg_secret = make_keypair(str(keys), "aggregator")
    agg_secret.chmod(0o644)
    r = run("aggregator", "serve", "--listen", f"tcp://127.0.0.1:{free_port()}", "--db",
            str(tmp_path / "x.duckdb"), "--curve-secret", str(agg_secret), "--allow",
            str(keys), check=False)
    assert r.returncode == 2 and b"--curve-secret" in r.stderr and b"chmod 600" in r.stderr
    r = run("collector", "replay", str(CAPTURE), "--aggregator", "tcp://127.0.0.1:1",
            "--server-key", str(agg_pub), check=False)
    assert r.returncode == 2 and b"go together" in r.stderr


def test_spool_keeps_batches_through_an_outage_and_a_restart(tmp_path) -> None:
    """No aggregator at first: the replay ends with its batches in the spool; the next
    run (another capture) sends the spooled batches first; the store then holds what a
    run with the aggregator up all along holds."""
    spool, port = tmp_path / "spool", free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    key = tmp_path / "collector.key"
    run("collector", "keygen", "--out", str(key))
    args = ["--key-file", str(key), "--aggregator", endpoint, "--spool", str(spool),
            "--ack-timeout", "0.3", "--drain-timeout", "1", "--collector-id", "spooler"]
    down = run("collector", "replay", str(CAPTURE), *args, check=False)
    assert down.returncode == 1  # unacknowledged, but kept
    held = sorted(p.name for p in spool.iterdir())
    assert held and all(p.endswith(".batch") for p in held)
    db = tmp_path / "agg.duckdb"
    agg = Aggregator(db, port)
    try:
        time.sleep(0.2)
        up = run("collector", "replay", str(CAPTURE), *args[:-6], "--ack-timeout", "1",
                 "--drain-timeout", "10", "--collector-id", "spooler")
    finally:
        _out, err = agg.stop()
    assert up.returncode == 0 and b"re-sending batches left in the spool" in up.stderr
    assert list(spool.iterdir()) == []
    rows = report_rows(db)
    # both runs' bins are stored once each: the second run is a new epoch, same counts
    db2 = tmp_path / "clean.duckdb"
    agg2 = Aggregator(db2)
    try:
        for _ in range(2):
            run("collector", "replay", str(CAPTURE), "--key-file", str(key), "--aggregator",
                agg2.endpoint, "--collector-id", "spooler")
    finally:
        agg2.stop()
    assert sorted(map(json.dumps, rows)) == sorted(map(json.dumps, report_rows(db2)))
