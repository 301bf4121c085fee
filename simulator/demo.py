"""The README demo: simulate → replay through the collector → aggregator → report.

Runs the three real programs as subprocesses (exactly the commands a person
would type), on loopback, in the folder `out/demo` (or the one given), on the
built-in `demo` scenario (two days of a small Lyon with the festival on both
evenings), and ends by comparing the aggregator's report with the simulator's
truth: the operator's devices cell by cell and bin by bin, then the extrapolated
figures (presence, visitors, countries, interval coverage).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from simulator.scenario import load
from wire.compare import compare
from wire.report import presence_index


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"aggregator exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"aggregator did not listen on port {port} within {timeout} s")


def _run(step: str, *args: str) -> None:
    print(f"\n$ {step} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", step, *args], check=True)


def main(argv: list[str] | None = None) -> int:
    """Run the whole chain on the built-in `demo` scenario; 0 when it ran."""
    out = Path((argv or sys.argv[1:] or ["out/demo"])[0])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    key, db, sim = out / "collector.key", out / "aggregator.duckdb", out / "sim"
    _run("simulator", "generate", "--scenario", "demo", "--out", str(sim), "--seed", "1")
    _run("collector", "keygen", "--out", str(key))
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    print(f"\n$ aggregator serve --listen {endpoint} --db {db} &", flush=True)
    agg = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "--listen", endpoint,
                            "--db", str(db)])
    try:
        wait_listening(port, agg)
        # the operator's list of its M2M module TACs (the scenario's [operator] m2m_tacs)
        tacs = out / "m2m-tacs.txt"
        tacs.write_text("\n".join(load("demo").city.operator.m2m_tacs) + "\n")
        # Lyon is UTC+1 in December; two nights only, so a home is decided after one
        _run("collector", "replay", str(sim / "s1.pcap"), "--key-file", str(key),
             "--aggregator", endpoint, "--collector-id", "demo", "--reference", str(sim),
             "--timezone", "Europe/Paris", "--home-min-nights", "1", "--m2m-tacs", str(tacs),
             "--profiles", str(sim / "subscribers.csv"))
    finally:
        agg.send_signal(signal.SIGTERM)
        agg.wait(timeout=30)
    # the operator's roaming capture shares of the demo scenario, as it would configure them
    (out / "aggregator.toml").write_text(
        "[foreign]\nIT = { capture_share = 0.4, carry_rate = 0.95 }\n"
        "CH = { capture_share = 0.35, carry_rate = 0.95 }\n")
    config = ("--config", str(out / "aggregator.toml"))
    _run("aggregator", "report", "--db", str(db), "--reference", str(sim), *config, "--zone",
         "tete-d-or", "--from", "2026-12-08T17:00:00Z", "--to", "2026-12-08T23:00:00Z",
         "--format", "table")
    report = subprocess.run([sys.executable, "-m", "aggregator", "report", "--db", str(db),
                             "--reference", str(sim), *config, "--format", "json", "--raw",
                             "--k", "1",
                             "--periods", str(sim / "truth.json")],
                            check=True, capture_output=True, text=True)
    (out / "report.json").write_text(report.stdout)
    doc, truth = json.loads(report.stdout), json.loads((sim / "truth.json").read_text())
    got, want = presence_index(doc), presence_index(truth)
    same = sum(1 for k, v in want.items() if got.get(k) == v)
    extra = len(set(got) - set(want))
    print(f"\nreport vs simulator truth ({out / 'report.json'}, {sim / 'truth.json'}):")
    bins: dict[str, int] = {}
    for (start, plmn, cell), n in want.items():
        bins[start] = bins.get(start, 0) + got.get((start, plmn, cell), 0) - n
    print(f"operator   {same}/{len(want)} cell-bins equal, {extra} extra; report - truth per "
          f"bin: {sorted(bins.values())[len(bins) // 2]:+d} devices (median; M2M modules neither "
          "asking for power saving nor showing an IMEI TAC are counted until their behaviour "
          "gives them away)")
    # the report's visitors cover the whole replay; compare the truth's periods it has
    periods = {(r["start"], r["end"]) for r in doc.get("visitors", [])}
    truth["visitors"] = [r for r in truth["visitors"] if (r["start"], r["end"]) in periods]
    for line in compare(doc, truth, 1000.0):
        print(line)
    return 0

if __name__ == "__main__":
    sys.exit(main())
