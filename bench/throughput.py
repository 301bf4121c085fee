"""Collector throughput beside tshark's, on the same capture, in the same run.

    .venv/bin/python bench/throughput.py [--capture FILE] [--runs 5]

Without --capture it generates (once, cached in out/bench/) the `bench` scenario:
the tiny city with 1,000 phones over six hours, about 150,000 S1AP messages.
Then, alternately, `collector replay --dry-run` (decode + pseudonymise + state +
tallies) and `tshark -T fields` extracting the same fields (message, IMSI, cell,
TAC, M-TMSI) run `--runs` times each; the medians and their ratio are printed.
The machine is shared and noisy: quote medians, never a single run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TSHARK_FIELDS = ["frame.number", "s1ap.procedureCode", "e212.imsi", "s1ap.CellIdentity",
                 "s1ap.tAC", "nas_eps.emm.m_tmsi", "ngap.procedureCode", "nas_5gs.mm.suci.msin",
                 "ngap.NRCellIdentity", "gtpv2.message_type", "diameter.cmd.code"]


def bench_capture() -> Path:
    """The cached bench capture, generated on first use."""
    out = ROOT / "out" / "bench"
    cap = out / "s1.pcap"
    if not cap.exists():
        print("generating the bench scenario (about a minute)…", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "simulator", "generate", "--scenario",
                        str(ROOT / "bench" / "scenarios" / "bench.toml"), "--out", str(out),
                        "--seed", "1"], check=True, cwd=ROOT)
    return cap


def timed(cmd: list[str]) -> tuple[float, str]:
    """Wall-clock seconds and stdout of a command."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - t0, proc.stdout


def main() -> int:
    """Run both tools alternately and print medians and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--capture", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    cap = args.capture or bench_capture()
    collector = [sys.executable, "-m", "collector", "replay", str(cap), "--dry-run"]
    tshark = shutil.which("tshark")
    tshark_cmd = [tshark or "tshark", "-r", str(cap), "-o", "nas-eps.null_decipher:TRUE",
                  "-o", "nas-5gs.null_decipher:TRUE", "-T", "fields"]
    for f in TSHARK_FIELDS:
        tshark_cmd += ["-e", f]
    ours, theirs, messages = [], [], 0
    for i in range(args.runs):
        secs, out = timed(collector)
        ours.append(secs)
        messages = sum(int(n) for n in re.findall(r"\w+ (\d+)", out.split("\n")[1]))
        if tshark:
            theirs.append(timed(tshark_cmd)[0])
        print(f"run {i + 1}: collector {secs:.2f} s"
              + (f", tshark {theirs[-1]:.2f} s" if tshark else ""), file=sys.stderr)
    med = statistics.median(ours)
    print(f"capture            {cap} ({messages} signalling messages)")
    print(f"collector replay   median {med:.2f} s = {messages / med:,.0f} messages/s "
          f"(runs: {', '.join(f'{s:.2f}' for s in ours)})")
    if tshark:
        tmed = statistics.median(theirs)
        print(f"tshark -T fields   median {tmed:.2f} s = {messages / tmed:,.0f} messages/s "
              f"(runs: {', '.join(f'{s:.2f}' for s in theirs)})")
        print(f"ratio              collector / tshark = {tmed / med:.2f}x (higher is faster)")
    else:
        print("tshark             not installed (apt-get install tshark): no ratio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
