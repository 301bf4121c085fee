"""`collector live --workers 2 --key-dir DIR`: the workers pseudonymise with their own
copies of the ring and the parent applies what they carried; live reads what a replay
with the active key reads.  Live capture times are now: DIR holds a key from 30 days ago
and one from today (UTC), so every identity is hashed with both keys while the overlap
lasts (default 7 days), or the old key is destroyed at the first packet (no overlap)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import ROOT, run
from tests.integration.conftest import live_played
from tests.integration.test_live import summary_lines
from wire.pseudonym import new_key, write_key

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 (network namespaces, veth)")


@pytest.mark.parametrize("overlap", ["7", "0"])
def test_live_workers_with_a_key_ring_read_what_replay_reads(netns: str, tmp_path: Path,
                                                             overlap: str) -> None:
    city = tmp_path / "city"
    run("simulator", "generate", "--scenario", "tiny", "--out", str(city), "--seed", "5")
    capture = str(next(city.glob("*.pcap")))
    today = dt.datetime.now(dt.UTC).date()
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    old, new = keys / f"{today - dt.timedelta(days=30)}.key", keys / f"{today}.key"
    write_key(str(old), new_key())
    write_key(str(new), new_key())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code, out, err = live_played(netns, [
        "live", "--interface", "probe0", "--key-dir", str(keys), "--key-overlap-days", overlap,
        "--dry-run", "--collector-id", "live-ring", "--bin-minutes", "5", "--workers", "2"],
        [capture], env)
    assert code == 0, err.decode()[-2000:]
    assert b"key phase" not in err  # no worker pseudonymised under another phase
    replay = run("collector", "replay", capture, "--key-file", str(new), "--dry-run").stdout
    fields = ("messages", "events", "devices")
    assert summary_lines(out, *fields) == summary_lines(replay, *fields)
    assert old.exists() == (overlap != "0")  # destroyed by the parent when no overlap
