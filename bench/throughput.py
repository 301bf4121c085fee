"""Collector throughput beside tshark's, on the same capture, in the same run.

    .venv/bin/python bench/throughput.py [--capture FILE] [--runs 5]

Without --capture it generates (once, cached in out/bench/) the `bench` scenario:
60 eNBs (60 SCTP associations), 1,400 phones over six hours, about 357,000
messages (S1AP 251k, S11 GTPv2-C 99k, S6a Diameter 7k: the mix of an MME).
Then, alternately, `collector replay --dry-run` (decode + pseudonymise + state +
tallies), the same with `--workers N` (summaries must be identical), the same on the
`.py` files with CELLCENSUS_PURE=1 (`--pure`: what the compiled build gains) and
`tshark -T fields` extracting the same fields (message, IMSI, cell,
TAC, M-TMSI) run `--runs` times each; the medians and their ratio are printed.
The machine is shared and noisy: quote medians, never a single run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wire.pseudonym import write_key  # noqa: E402

TSHARK_FIELDS = ["frame.number", "s1ap.procedureCode", "e212.imsi", "s1ap.CellIdentity",
                 "s1ap.tAC", "nas_eps.emm.m_tmsi", "ngap.procedureCode", "nas_5gs.mm.suci.msin",
                 "ngap.NRCellIdentity", "gtpv2.message_type", "diameter.cmd.code"]


def bench_capture() -> Path:
    """The cached bench capture, generated on first use."""
    out = ROOT / "out" / "bench"
    cap = out / "s1.pcap"
    if not cap.exists():
        print("generating the bench scenario (about two minutes)…", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "simulator", "generate", "--scenario",
                        str(ROOT / "bench" / "scenarios" / "bench.toml"), "--out", str(out),
                        "--seed", "1"], check=True, cwd=ROOT)
    return cap


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    """Wall-clock seconds and stdout of a command (`env`: added to the environment)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT,
                          env=None if env is None else {**os.environ, **env})
    return time.perf_counter() - t0, proc.stdout


def main() -> int:
    """Run both tools alternately and print medians and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--capture", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2, help="also time --workers N (1: not)")
    ap.add_argument("--pure", action="store_true",
                    help="also time the pure-Python collector (CELLCENSUS_PURE=1)")
    args = ap.parse_args()
    cap = args.capture or bench_capture()
    # one key for every run: the summary's device count is an HLL estimate over the
    # pseudonyms, which a fresh key per run would change (and the summaries would differ)
    key = Path(tempfile.mkdtemp(prefix="bench-key-")) / "collector.key"
    write_key(str(key))
    collector = [sys.executable, "-m", "collector", "replay", str(cap), "--dry-run",
                 "--key-file", str(key)]
    tshark = shutil.which("tshark")
    tshark_cmd = [tshark or "tshark", "-r", str(cap), "-o", "nas-eps.null_decipher:TRUE",
                  "-o", "nas-5gs.null_decipher:TRUE", "-T", "fields"]
    for f in TSHARK_FIELDS:
        tshark_cmd += ["-e", f]
    tools = {"collector replay": collector}
    if args.workers > 1:
        tools[f"collector --workers {args.workers}"] = collector + ["--workers", str(args.workers)]
    pure = "collector (pure Python)"
    if args.pure:
        tools[pure] = collector
    if tshark:
        tools["tshark -T fields"] = tshark_cmd
    times: dict[str, list[float]] = {name: [] for name in tools}
    summaries: dict[str, str] = {}
    for i in range(args.runs):
        for name, cmd in tools.items():  # alternately, so noise hits every tool alike
            secs, out = timed(cmd, {"CELLCENSUS_PURE": "1"} if name == pure else None)
            times[name].append(secs)
            if name.startswith("collector"):
                summaries[name] = out
        print(f"run {i + 1}: " + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items()),
              file=sys.stderr)
    first = summaries["collector replay"]
    messages = sum(int(n) for n in re.findall(r"\w+ (\d+)", first.split("\n")[1]))
    same = all(v == first for v in summaries.values())
    print(f"capture            {cap} ({messages} signalling messages: {first.splitlines()[1][14:]})")
    medians = {}
    for name, runs in times.items():
        medians[name] = med = statistics.median(runs)
        print(f"{name:<26} median {med:6.2f} s = {messages / med:9,.0f} messages/s "
              f"(runs: {', '.join(f'{s:.2f}' for s in runs)})")
    base = medians["collector replay"]
    if tshark:
        print(f"ratio  collector / tshark = {medians['tshark -T fields'] / base:.2f}x "
              "(higher is faster)")
    else:
        print("tshark not installed (apt-get install tshark): no ratio")
    if args.pure:
        print(f"ratio  collector / pure Python = {medians[pure] / base:.2f}x")
    if args.workers > 1:
        name = f"collector --workers {args.workers}"
        print(f"ratio  {name} / one process = {base / medians[name]:.2f}x; summaries "
              f"{'identical' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
