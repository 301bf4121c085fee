"""`collector live` on an interface: frames injected into a veth pair inside a network
namespace the test creates are read like a replay of the same capture reads them
(same messages, events and devices), tallies reach an aggregator in the namespace, a
SIGTERM ends the run cleanly, and nothing written holds an identity — with one
process and with workers sharing the interface through an AF_PACKET fanout group."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, free_port, needles, run, scan, tsv_identities
from tests.integration.conftest import in_ns, live_played
from wire.pseudonym import new_key, write_key

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 (network namespaces, veth)")


def summary_lines(text: bytes, *keys: str) -> dict[str, str]:
    lines = dict(line.split(None, 1) for line in text.decode().splitlines() if line.strip())
    return {k: lines[k] for k in keys}


@pytest.mark.parametrize("workers", [1, 2])
def test_live_reads_what_replay_reads(netns: str, tmp_path: Path, workers: int) -> None:
    city = tmp_path / "city"
    run("simulator", "generate", "--scenario", "tiny", "--out", str(city), "--seed", "5")
    golden = ROOT / "tests/golden/captures/open5gs_open5gs__testattach.pcapng"
    captures = [str(next(city.glob("*.pcap"))), str(golden)]
    key = tmp_path / "collector.key"
    write_key(str(key), new_key())
    db = tmp_path / "agg.duckdb"
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    agg = subprocess.Popen(in_ns(netns, "-m", "aggregator", "serve", "--listen",
                                 f"tcp://127.0.0.1:{port}", "--db", str(db)),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        code, out, err = live_played(netns, [
            "live", "--interface", "probe0", "--key-file", str(key), "--aggregator",
            f"tcp://127.0.0.1:{port}", "--collector-id", "live-test", "--bin-minutes", "5",
            "--workers", str(workers)], captures, env)
    finally:
        agg.send_signal(signal.SIGTERM)
        agg_out, agg_err = agg.communicate(timeout=30)
    assert code == 0, err.decode()[-2000:]
    replay = run("collector", "replay", *captures, "--key-file", str(key), "--dry-run").stdout
    keys = ("messages", "events", "devices")
    assert summary_lines(out, *keys) == summary_lines(replay, *keys)
    got = summary_lines(out, "tallies", "sent")
    assert "0 batches" not in got["tallies"] and "unacknowledged 0" in got["sent"]

    report = run("aggregator", "report", "--db", str(db), "--raw", "--format", "json").stdout
    assert b"cell_presence" in report
    imsis, msisdns = tsv_identities()
    from simulator.population import identities
    sim = identities("tiny", 5)
    blobs = {"live.stdout": out, "live.stderr": err, "agg.stdout": agg_out,
             "agg.stderr": agg_err, "db": db.read_bytes(), "report": report}
    found = needles(imsis | set(sim.imsis)) | needles(msisdns | set(sim.msisdns)) | needles(set(sim.imeisvs), kind=3)
    assert scan(blobs, found) == []


STRAY = """
import socket, sys, threading
from collector.sources.live import LiveCapture
done = threading.Event()
def flood():  # loopback traffic all along, as the collector's own link to the aggregator
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    while not done.is_set():
        s.sendto(b"x" * 64, ("127.0.0.1", 9))
threading.Thread(target=flood, daemon=True).start()
stray = 0
for _ in range(300):
    capture = LiveCapture("probe0")
    stray += sum(1 for _ in capture.poll(0.0))
    capture.close()
done.set()
print(stray)
"""


def test_capture_holds_no_frame_of_another_interface(netns: str) -> None:
    # a packet socket opened for every protocol queues the frames of all interfaces until
    # it is bound: 300 opens beside a loopback flood caught ~100 of them before the fix
    out = subprocess.run(in_ns(netns, "-c", STRAY), capture_output=True, check=True,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert int(out.stdout) == 0
