"""Simulator encoding throughput: the `bench` scenario with templates and with pycrate alone.

    .venv/bin/python bench/encode.py [--scenario FILE] [--runs 3] [--pycrate-runs 1]

Per run, the stages of `simulator generate`, timed apart:

- plan: people and their timelines (population, mobility);
- simulate: the discrete-event run of the procedures (agenda, UE ids, `Message`s) with
  every encoding call recorded (kind, constants, values) as it is made;
- encode: the recorded calls replayed through `Templates.encode`, with templates and with
  pycrate alone (S1AP and NAS by pycrate; S11 / S6a by their hand-written builders, which
  pycrate decodes in the tests); every replayed message must be byte-identical;
- write: framing (Ethernet, IPv4, SCTP with CRC32c, UDP with its checksum) and the pcap
  file (`simulator.pcap_batch.write_messages`; the same bytes in both modes).

Encoding throughput = messages / (encode + write), the issue's "messages/s into pcap".
Stages are timed in CPU seconds of this process (`time.process_time`: on this shared
machine wall-clock time measures the other work as much as ours); the wall-clock time of
the whole run is printed beside them.  Medians of `--runs` runs (pycrate: `--pycrate-runs`,
each about two minutes).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator import generate, mobility, population, signalling  # noqa: E402
from simulator.pcap import PcapWriter  # noqa: E402
from simulator.pcap_batch import write_messages  # noqa: E402
from simulator.scenario import load  # noqa: E402
from simulator.templates import Templates  # noqa: E402

_clock = time.process_time  # CPU seconds of this process: the machine is shared


class _Recording(Templates):
    """Templates that also keep every call (kind, constants, values) in `calls`."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        super().__init__(enabled=True)
        self.calls: list[tuple] = []

    def encode(self, kind, consts, values) -> bytes:  # noqa: ANN001 - as Templates.encode
        self.calls.append((kind, consts, values))
        return super().encode(kind, consts, values)


def _replay(calls: list[tuple], templates: Templates) -> tuple[float, list[bytes]]:
    encode = templates.encode
    t0 = _clock()
    out = [encode(k, c, v) for k, c, v in calls]
    return _clock() - t0, out


def one_run(scn, seed: int, pycrate: bool, out: Path) -> dict:
    """Seconds of each stage (encode with templates, and with pycrate when asked)."""
    t0 = _clock()
    people = population.build(scn, seed)
    _tracks, timelines = mobility.plan(scn, people, seed)
    t1 = _clock()
    recording = _Recording()
    messages = signalling.simulate(scn, timelines, seed, recording)
    t2 = _clock()
    templates = Templates(enabled=True)
    _replay(recording.calls[:1000], templates)  # templates built once, as in any run
    encode, fast = _replay(recording.calls, templates)
    t3 = _clock()
    with PcapWriter(str(out)) as w:
        write_messages(w, messages, *_links(scn, seed))
    r = {"plan": t1 - t0, "simulate": t2 - t1, "encode": encode,
         "write": _clock() - t3, "messages": len(messages),
         "calls": len(recording.calls), "counts": templates.counts}
    if pycrate:
        r["pycrate"], slow = _replay(recording.calls, Templates(enabled=False))
        r["identical"] = slow == fast
    return r


def _links(scn, seed: int) -> tuple:
    """The associations and flow of `generate.write_capture`, built the same way."""
    from simulator.pcap import DIAMETER_PORT, GTPC_PORT, Host, SCTPAssociation, UDPFlow
    from simulator.population import rng

    net, mac = scn.network, generate._mac
    mme = Host(mac(net.mme_ip), net.mme_ip)
    r = rng(seed, "sctp")
    s1 = {e.id: SCTPAssociation(Host(mac(e.ip), e.ip), mme,
                                enb_tag=r.getrandbits(32) | 1, mme_tag=r.getrandbits(32) | 1,
                                enb_tsn=r.getrandbits(32), mme_tsn=r.getrandbits(32))
          for e in scn.enbs}
    r = rng(seed, "core-links")
    s6a = SCTPAssociation(Host(mac(net.hss_ip), net.hss_ip, DIAMETER_PORT),
                          Host(mme.mac, mme.ip, DIAMETER_PORT),
                          enb_tag=r.getrandbits(32) | 1, mme_tag=r.getrandbits(32) | 1,
                          enb_tsn=r.getrandbits(32), mme_tsn=r.getrandbits(32))
    s11 = UDPFlow(Host(mac(net.sgw_ip), net.sgw_ip, GTPC_PORT),
                  Host(mme.mac, mme.ip, GTPC_PORT), r.getrandbits(16))
    return s1, s11, s6a


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    """Run, print the medians, the split and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "bench" / "scenarios" / "bench.toml"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pycrate-runs", type=int, default=1, help="runs that also time pycrate")
    args = ap.parse_args()
    logging.getLogger("pycrate_mobile").setLevel(logging.ERROR)
    scn = load(args.scenario)
    runs = []
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            r = one_run(scn, args.seed, i < args.pycrate_runs, Path(tmp) / "bench.pcap")
            runs.append(r)
            print(f"run {i + 1}: " + ", ".join(f"{k} {r[k]:.2f} s" for k in (
                "plan", "simulate", "encode", "write", "pycrate") if k in r), file=sys.stderr)
    wall = time.perf_counter() - wall
    med = {k: statistics.median(r[k] for r in runs) for k in ("plan", "simulate", "encode",
                                                               "write")}
    n, calls = runs[0]["messages"], runs[0]["calls"]
    fast = statistics.median(r["encode"] + r["write"] for r in runs)
    print(f"{scn.name}: {n:,} messages ({calls:,} encodings: S1AP, NAS inside them, S11, "
          f"S6a), seed {args.seed}, medians of {len(runs)} runs; CPU seconds (wall clock of "
          f"all runs {wall:.1f} s, load average {os.getloadavg()[0]:.1f})")
    print(f"plan {med['plan']:.2f} s | simulate (procedures, recording) {med['simulate']:.2f} s"
          f" | encode {med['encode']:.2f} s | write {med['write']:.2f} s")
    print(f"templates: encode + write {fast:.2f} s = {n / fast:,.0f} messages/s into pcap "
          f"(encode alone {calls / med['encode']:,.0f} encodings/s); {runs[0]['counts']}")
    slow = [r for r in runs if "pycrate" in r]
    if slow:
        pyc = statistics.median(r["pycrate"] for r in slow) + med["write"]
        same = all(r["identical"] for r in slow)
        print(f"pycrate:   encode + write {pyc:.2f} s = {n / pyc:,.0f} messages/s "
              f"({len(slow)} run(s)); templates / pycrate {pyc / fast:.1f}x; every message "
              f"{'byte-identical' if same else 'NOT identical'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
