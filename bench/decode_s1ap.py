"""The S1AP decoder alone, hand-written readers against pycrate, on a capture's payloads.

    .venv/bin/python bench/decode_s1ap.py [--capture FILE] [--runs 3] [--pycrate-messages 20000]

The capture (default: the bench capture of throughput.py) is framed once; then
`S1APDecoder(fast=True)` decodes every S1AP payload, `--runs` times, and
`S1APDecoder(fast=False)` (pycrate for every IE value and NAS-PDU) the first
`--pycrate-messages` of them.  Each run starts with empty correlation tables.
Also timed: the pure half alone (`facts`: APER walk, NAS, pseudonyms), what each
worker process runs.  Prints medians in messages/s and the share of IE values and
NAS-PDUs the fast path left to pycrate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throughput import bench_capture  # noqa: E402
from collector.decode.s1ap import S1APDecoder  # noqa: E402
from collector.framing.messages import iter_messages  # noqa: E402
from collector.identity import Correlator  # noqa: E402
from collector.telemetry import Counters  # noqa: E402
from wire.pseudonym import Pseudonymizer  # noqa: E402


def rate(messages: list, fast: bool) -> tuple[float, S1APDecoder]:
    """Messages per second of one pass, and the decoder (for its counters)."""
    decoder = S1APDecoder(Pseudonymizer(bytes(32)), Correlator(), fast=fast)
    t0 = time.perf_counter()
    for frame, ts, payload, assoc in messages:
        decoder(payload, assoc, frame, ts)
    return len(messages) / (time.perf_counter() - t0), decoder


def facts_rate(messages: list) -> float:
    """Messages per second of `S1APDecoder.facts` alone (no correlation, no events)."""
    facts = S1APDecoder(Pseudonymizer(bytes(32)), Correlator()).facts
    t0 = time.perf_counter()
    for _frame, _ts, payload, _assoc in messages:
        facts(payload)
    return len(messages) / (time.perf_counter() - t0)


def main() -> int:
    """Run both paths and print medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--capture", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pycrate-messages", type=int, default=20_000)
    args = ap.parse_args()
    cap = args.capture or bench_capture()
    messages = [(f, t, bytes(m.payload), m.assoc)
                for f, t, m in iter_messages(str(cap), Counters()) if m.proto == "s1ap"]
    fast, slow, pure = [], [], []
    for i in range(args.runs):
        fast.append(rate(messages, True)[0])
        pure.append(facts_rate(messages))
        slow.append(rate(messages[:args.pycrate_messages], False)[0])
        print(f"run {i + 1}: hand-written {fast[-1]:,.0f}/s (facts alone {pure[-1]:,.0f}/s), "
              f"pycrate {slow[-1]:,.0f}/s", file=sys.stderr)
    decoder = rate(messages, True)[1]
    decoded, fallback = sum(decoder.decoded.values()), sum(decoder.fallback.values())
    print(f"capture       {cap} ({len(messages)} S1AP messages)")
    print(f"hand-written  median {statistics.median(fast):,.0f} messages/s "
          f"(runs: {', '.join(f'{r:,.0f}' for r in fast)})")
    print(f"facts alone   median {statistics.median(pure):,.0f} messages/s "
          f"(runs: {', '.join(f'{r:,.0f}' for r in pure)})")
    print(f"pycrate       median {statistics.median(slow):,.0f} messages/s "
          f"(runs: {', '.join(f'{r:,.0f}' for r in slow)}; first {len(messages[:args.pycrate_messages])})")
    print(f"fallback      {fallback} of {decoded} IE values and NAS-PDUs "
          f"({100 * fallback / max(decoded, 1):.2f} %) {dict(decoder.fallback)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
