"""`collector live --state-dir DIR`, with one process and with workers: stopped by SIGTERM
after the first half of a capture and started again for the second half, it reads what a
replay of the whole capture reads (messages, events, drops, devices): the second run goes
on with the correlation tables, presence and counts the first one saved, so messages of
the second half that name a UE only by a temporary id are still attributed.  Without the
state the second run loses them (the control)."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

from tests.helpers import ROOT, run
from tests.integration.conftest import live_played
from tests.integration.test_live import summary_lines
from wire.pseudonym import new_key, write_key

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 (network namespaces, veth)")
FIELDS = ("messages", "events", "dropped", "devices")


def split_pcap(path: Path, first: Path, second: Path) -> None:
    """Cut a little-endian classic pcap into two at its middle frame."""
    data = path.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1"
    records, off = [], 24
    while off < len(data):
        size = struct.unpack_from("<I", data, off + 8)[0]
        records.append(data[off:off + 16 + size])
        off += 16 + size
    half = len(records) // 2
    first.write_bytes(data[:24] + b"".join(records[:half]))
    second.write_bytes(data[:24] + b"".join(records[half:]))


def live_run(netns: str, capture: Path, key: Path, workers: int, state: Path | None
             ) -> tuple[bytes, bytes]:
    """Play `capture` into a `collector live` (with `--state-dir state` unless None), SIGTERM
    it; its (stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    extra = ["--state-dir", str(state)] if state is not None else []
    code, out, err = live_played(netns, [
        "--log-level", "debug", "live", "--interface", "probe0", "--key-file", str(key),
        "--dry-run", "--collector-id", "live-restart", "--bin-minutes", "5", "--workers",
        str(workers), *extra], [capture], env)
    assert code == 0, err.decode()[-2000:]
    return out, err


@pytest.mark.parametrize("workers", [1, 2])
def test_live_restarted_with_its_state_reads_what_one_replay_reads(netns: str, tmp_path: Path,
                                                                   workers: int) -> None:
    city = tmp_path / "city"
    run("simulator", "generate", "--scenario", "tiny", "--out", str(city), "--seed", "5")
    whole = city / "s1.pcap"
    first, second = tmp_path / "first.pcap", tmp_path / "second.pcap"
    split_pcap(whole, first, second)
    key = tmp_path / "collector.key"
    write_key(str(key), new_key())
    state = tmp_path / "state"

    _out, err = live_run(netns, first, key, workers, state)
    assert b"state saved" in err
    out, err = live_run(netns, second, key, workers, state)
    assert b"state saved" in err  # (its "state restored" line came before "capturing")
    replay = run("collector", "replay", str(whole), "--key-file", str(key), "--dry-run").stdout
    assert summary_lines(out, *FIELDS) == summary_lines(replay, *FIELDS)

    # the control: the second half alone, without the first half's state
    alone, _err = live_run(netns, second, key, workers, None)
    assert summary_lines(alone, "events", "dropped") != summary_lines(replay, "events", "dropped")
