"""Prometheus metrics over HTTP, from running programs.

`collector live --metrics-listen` in a network namespace: golden captures are played
into a veth pair, /metrics is scraped while the collector runs (one process, and two
workers whose counts reach the parent in periodic reports), and what it shows must
be what the run's closing summary says (frames, messages by protocol); the scraped
bytes hold no identity tshark finds in the captures.  `aggregator serve
--metrics-listen`: a bad message and a good batch give rejected{reason} 1, stored 1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import ROOT, Aggregator, ask_raw, free_port, needles, run, scan, tsv_identities
from tests.integration.conftest import in_ns, play_in_ns, stop_live, wait_capturing
from wire.pseudonym import new_key, write_key
from wire.tally import PresenceRow, TallyBatch, encode_batch

CAPTURES = [ROOT / "tests/golden/captures/open5gs_open5gs__testattach.pcapng",
            ROOT / "tests/golden/captures/open5gs_open5gs__testregistration.pcapng"]
needs_netns = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                 reason="needs root and iproute2 (network namespaces, veth)")


def values(text: bytes) -> dict[str, float]:
    """{sample name with its labels, as written: value} of a Prometheus exposition text."""
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[s.name + ("{" + labels + "}" if labels else "")] = s.value
    return out


def scrape_in(ns: str, url: str) -> bytes:
    """GET `url` from inside namespace `ns`."""
    code = ("import sys, urllib.request; "
            "sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())")
    return subprocess.run(in_ns(ns, "-c", code, url), check=True, capture_output=True,
                          timeout=60).stdout


def summary_counts(out: bytes) -> tuple[int, dict[str, int]]:
    """(frames, messages by protocol) of `collector live`'s closing summary."""
    lines = dict(line.split(None, 1) for line in out.decode().splitlines() if line.strip())
    frames = int(lines["interface"].split("(")[1].split()[0])
    messages = {}
    for item in lines["messages"].split(", "):
        proto, n = item.split()
        messages[proto] = int(n)
    return frames, messages


def settled(ns: str, url: str, quiet: float = 7.0, limit: float = 60.0) -> bytes:
    """Scrape until frames and messages have not changed for `quiet` seconds (longer than
    a worker's report period); the last scrape."""
    last, since, deadline = None, time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        body = scrape_in(ns, url)
        now = {k: v for k, v in values(body).items()
               if k.startswith(("cellcensus_collector_frames", "cellcensus_collector_messages"))}
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return body
        time.sleep(1.0)
    raise AssertionError(f"metrics never settled: {last}")


@needs_netns
@pytest.mark.parametrize("workers", [1, 2])
def test_live_metrics_scraped_while_running(netns: str, tmp_path: Path, workers: int) -> None:
    for veth in ("span0", "probe0"):  # testregistration holds frames over 1500 bytes
        subprocess.run(["ip", "-n", netns, "link", "set", veth, "mtu", "9000"], check=True)
    key = tmp_path / "collector.key"
    write_key(str(key), new_key())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    port, agg_metrics, col_metrics = free_port(), free_port(), free_port()
    agg = subprocess.Popen(in_ns(netns, "-m", "aggregator", "serve", "--listen",
                                 f"tcp://127.0.0.1:{port}", "--db", str(tmp_path / "a.duckdb"),
                                 "--metrics-listen", f"127.0.0.1:{agg_metrics}"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    live = subprocess.Popen(in_ns(netns, "-m", "collector", "live", "--interface", "probe0",
                                  "--key-file", str(key), "--aggregator",
                                  f"tcp://127.0.0.1:{port}", "--collector-id", "metrics-live",
                                  "--workers", str(workers),
                                  "--metrics-listen", f"127.0.0.1:{col_metrics}"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{col_metrics}/metrics"
    try:
        wait_capturing(live)
        before = values(scrape_in(netns, url))
        play_in_ns(netns, CAPTURES, env)
        during = settled(netns, url)
        out, err = stop_live(live, settle=0.5)
        agg_scrape = scrape_in(netns, f"http://127.0.0.1:{agg_metrics}/metrics")
    finally:
        if live.poll() is None:
            live.kill()
        agg.send_signal(signal.SIGTERM)
        agg_out, agg_err = agg.communicate(timeout=30)
    assert live.returncode == 0, err.decode()[-2000:]
    assert before["cellcensus_collector_frames_total"] == 0
    got = values(during)
    frames, messages = summary_counts(out)
    assert frames > 100 and got["cellcensus_collector_frames_total"] == frames
    assert {k: v for k, v in got.items() if k.startswith("cellcensus_collector_messages")
            and v} == {f'cellcensus_collector_messages_total{{protocol="{p}"}}': n
                       for p, n in messages.items()}
    assert got["cellcensus_collector_devices_tracked"] >= 1
    # at the stop every bin closed and was acknowledged: the aggregator stored them all
    agg_values = values(agg_scrape)
    assert agg_values["cellcensus_aggregator_batches_stored_total"] >= 1
    assert agg_values["cellcensus_aggregator_collectors_seen"] == 1
    imsis, msisdns = tsv_identities()
    blobs = {"collector metrics": during, "aggregator metrics": agg_scrape,
             "live.stdout": out, "live.stderr": err, "agg.stderr": agg_err + agg_out}
    assert scan(blobs, needles(imsis) | needles(msisdns)) == []


def test_aggregator_metrics_count_a_bad_and_a_good_batch(tmp_path: Path) -> None:
    port = free_port()
    agg = Aggregator(tmp_path / "a.duckdb", None, "--metrics-listen", f"127.0.0.1:{port}")
    try:
        bad = ask_raw(agg.endpoint, b"\xc1 definitely not msgpack")
        good = TallyBatch("mme-1", 7, 1, 900, (PresenceRow(1764338400, "00101", 1, 10, 3),
                                               PresenceRow(1764338400, "00101", 1, 11, 2)))
        ok = ask_raw(agg.endpoint, encode_batch(good))
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    finally:
        _out, err = agg.stop()
    assert (bad["status"], bad["reason"], ok["status"]) == ("rejected", "not_msgpack", "stored")
    got = values(body)
    assert got['cellcensus_aggregator_batches_rejected_total{reason="not_msgpack"}'] == 1
    assert got["cellcensus_aggregator_batches_stored_total"] == 1
    assert got["cellcensus_aggregator_batches_received_total"] == 2
    assert got['cellcensus_aggregator_rows_stored_total{kind="presence"}'] == 2
    assert got["cellcensus_aggregator_collectors_seen"] == 1
    assert f"serving metrics url=http://127.0.0.1:{port}/metrics".encode() in err


def test_metrics_options_are_checked(tmp_path: Path) -> None:
    taken = free_port()
    agg = Aggregator(tmp_path / "a.duckdb", None, "--metrics-listen", f"127.0.0.1:{taken}")
    try:
        r = run("aggregator", "serve", "--listen", f"tcp://127.0.0.1:{free_port()}", "--db",
                str(tmp_path / "b.duckdb"), "--metrics-listen", f"127.0.0.1:{taken}", check=False)
        assert r.returncode == 1 and b"cannot serve metrics" in r.stderr
    finally:
        agg.stop()
    r = run("aggregator", "serve", "--listen", "tcp://127.0.0.1:1", "--db",
            str(tmp_path / "b.duckdb"), "--metrics-listen", "9465", check=False)
    assert r.returncode == 2 and b"--metrics-listen: invalid address" in r.stderr
    r = run("collector", "replay", str(CAPTURES[0]), "--dry-run", "--metrics-file",
            str(tmp_path / "no" / "such" / "c.prom"), check=False)
    assert r.returncode == 2 and b"no such folder" in r.stderr
    # checked before the capture opens: no root needed to see these refused
    r = run("collector", "live", "--interface", "lo", "--dry-run", "--metrics-listen", "9464",
            check=False)
    assert r.returncode == 2 and b"--metrics-listen '9464': expected HOST:PORT" in r.stderr
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        r = run("collector", "live", "--interface", "lo", "--dry-run", "--metrics-listen",
                f"127.0.0.1:{held.getsockname()[1]}", check=False)
    assert r.returncode == 2 and b"cannot listen" in r.stderr
