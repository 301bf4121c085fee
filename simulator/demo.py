"""The README demo: simulate → replay through the collector → aggregator → report.

Runs the three real programs as subprocesses (exactly the commands a person
would type), on loopback, in the folder `out/demo` (or the one given), and
ends by comparing the aggregator's report with the simulator's truth.
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
    """Run the whole chain on the built-in `tiny` scenario; 0 when the report matches the truth."""
    out = Path((argv or sys.argv[1:] or ["out/demo"])[0])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    key, db = out / "collector.key", out / "aggregator.duckdb"
    _run("simulator", "generate", "--scenario", "tiny", "--out", str(out), "--seed", "1")
    _run("collector", "keygen", "--out", str(key))
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    print(f"\n$ aggregator serve --listen {endpoint} --db {db} &", flush=True)
    agg = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "--listen", endpoint,
                            "--db", str(db)])
    try:
        wait_listening(port, agg)
        _run("collector", "replay", str(out / "s1.pcap"), "--key-file", str(key),
             "--aggregator", endpoint, "--collector-id", "demo")
    finally:
        agg.send_signal(signal.SIGTERM)
        agg.wait(timeout=30)
    _run("aggregator", "report", "--db", str(db), "--format", "table")
    report = subprocess.run([sys.executable, "-m", "aggregator", "report", "--db", str(db),
                             "--format", "json"], check=True, capture_output=True, text=True)
    got = presence_index(json.loads(report.stdout))
    want = presence_index(json.loads((out / "truth.json").read_text()))
    same = sum(1 for k, v in want.items() if got.get(k) == v)
    extra = len(set(got) - set(want))
    print(f"\nreport vs simulator truth: {same}/{len(want)} cell-bins equal, {extra} extra")
    return 0 if same == len(want) and not extra else 1


if __name__ == "__main__":
    sys.exit(main())
