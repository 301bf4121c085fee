"""The NGAP decoder alone, hand-written readers against pycrate, on the golden captures' NGAP.

    .venv/bin/python bench/decode_ngap.py [--runs 5] [--messages 50000] [--pycrate-messages 5000]

The NGAP messages of tests/golden/captures (1,343, mostly open5gs' testregistration:
Initial UE / Uplink / Downlink NAS Transport, context and PDU session set-up) are
framed once and repeated, in capture order, up to `--messages`.  Then, alternately,
`--runs` times: `NGAPDecoder(fast=True)` decodes all of them and
`NGAPDecoder(fast=False)` (pycrate for every IE value and NAS-PDU) the first
`--pycrate-messages`; each pass starts with empty correlation tables.  Prints the
median messages/s of each, their ratio, and the share of IE values and NAS-PDUs
the fast path left to pycrate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.decode.ngap import NGAPDecoder  # noqa: E402
from collector.framing.messages import iter_messages  # noqa: E402
from collector.identity import Correlator  # noqa: E402
from collector.telemetry import Counters  # noqa: E402
from wire.pseudonym import Pseudonymizer  # noqa: E402

CAPTURES = ROOT / "tests" / "golden" / "captures"


def golden_ngap() -> list[tuple[int, float, bytes, object]]:
    """(frame, time, payload, association) of every NGAP message of the golden captures."""
    out = []
    for path in sorted(CAPTURES.glob("*.pcap*")):
        if path.suffix == ".tsv":
            continue
        out += [(f, t, bytes(m.payload), m.assoc)
                for f, t, m in iter_messages(str(path), Counters()) if m.proto == "ngap"]
    return out


def rate(messages: list, fast: bool) -> tuple[float, NGAPDecoder]:
    """Messages per second of one pass, and the decoder (for its counters)."""
    decoder = NGAPDecoder(Pseudonymizer(bytes(32)), Correlator(), fast=fast)
    t0 = time.perf_counter()
    for frame, ts, payload, assoc in messages:
        decoder(payload, assoc, frame, ts)
    return len(messages) / (time.perf_counter() - t0), decoder


def main() -> int:
    """Run both paths alternately and print medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--pycrate-messages", type=int, default=5_000)
    args = ap.parse_args()
    golden = golden_ngap()
    messages = (golden * (args.messages // len(golden) + 1))[:args.messages]
    fast, slow = [], []
    for i in range(args.runs):
        fast.append(rate(messages, True)[0])
        slow.append(rate(messages[:args.pycrate_messages], False)[0])
        print(f"run {i + 1}: hand-written {fast[-1]:,.0f}/s, pycrate {slow[-1]:,.0f}/s",
              file=sys.stderr)
    decoder = rate(messages, True)[1]
    decoded, fallback = sum(decoder.decoded.values()), sum(decoder.fallback.values())
    print(f"corpus        {len(golden)} NGAP messages of {CAPTURES.relative_to(ROOT)}, "
          f"repeated to {len(messages):,}")
    print(f"hand-written  median {statistics.median(fast):,.0f} messages/s "
          f"(runs: {', '.join(f'{r:,.0f}' for r in fast)})")
    print(f"pycrate       median {statistics.median(slow):,.0f} messages/s "
          f"(runs: {', '.join(f'{r:,.0f}' for r in slow)}; first {len(messages[:args.pycrate_messages]):,})")
    print(f"ratio         {statistics.median(f / s for f, s in zip(fast, slow, strict=True)):.0f}x "
          "(median of the per-run ratios)")
    print(f"fallback      {fallback:,} of {decoded:,} IE values and NAS-PDUs read by pycrate "
          f"({fallback / decoded if decoded else 0:.2%}) {dict(decoder.fallback)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
