"""Memory per tracked device: the edge state of `collector replay` at 1,000,000 devices.

    .venv/bin/python bench/memory.py [--devices 1000000] [--cells 3000]

Feeds the edge state (PresenceState with the edge analytics' columns, plus the
pipeline's distinct-devices HLL sketch) two location events per device (a minute apart, so
each holds on-time in the open bin), each device a distinct 64-bit pseudonym in one of
`--cells` cells, all inside one bin; then closes that bin (so every analytics column
is allocated and written: home, stays, recurrence, M2M, segment) while the devices stay
on, and prints the growth of the process's resident set (RSS, what the machine pays),
or with --trace Python's traced allocations, per device.  `--no-edge`: presence alone.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tracemalloc
from pathlib import Path

import datasketches

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.edge import AnalyticsConfig, EdgeAnalytics  # noqa: E402
from collector.presence import PresenceState  # noqa: E402
from collector.tally import PresenceTally  # noqa: E402
from collector.zones import ZoneMap  # noqa: E402
from wire.pseudonym import as_signed64  # noqa: E402


def rss_bytes() -> int:
    """Current resident set size (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=1_000_000)
    ap.add_argument("--cells", type=int, default=3000)
    ap.add_argument("--trace", action="store_true", help="count Python allocations instead")
    ap.add_argument("--no-edge", action="store_true", help="presence state only")
    args = ap.parse_args()
    r = random.Random(1)
    cells = [("00101", 1 + i // 100, 4096 * 256 + i) for i in range(args.cells)]
    pseudonyms = [r.getrandbits(64) for _ in range(args.devices)]
    events = [(p, cells[r.randrange(args.cells)]) for p in pseudonyms]
    t0 = 1_800_000_000.0
    if args.trace:
        tracemalloc.start()
    before = rss_bytes()
    state = PresenceState()
    devices = datasketches.hll_sketch(14, datasketches.tgt_hll_type.HLL_8)
    if not args.no_edge:
        tally = PresenceTally("bench", 1, 900)
        EdgeAnalytics(state, tally, ZoneMap(), AnalyticsConfig())
    for i, (p, cell) in enumerate(events):  # seen in a cell, then a minute later again
        state.observe(p, t0 + i * 1e-4, cell)
        devices.update(as_signed64(p))
    for i, (p, cell) in enumerate(events):  # so each holds on-time in its open bin
        state.observe(p, t0 + 60 + i * 1e-4, cell)
    if not args.no_edge:  # close the bin: the analytics columns are written
        state.advance(t0 - t0 % 900 + 900 + 60)
        tally.reset()     # rows and sketches go out with the next push: not device state
    grown = rss_bytes() - before
    n = args.devices
    what = "presence only" if args.no_edge else "with the edge analytics, one bin closed"
    print(f"devices tracked     {len(state):,} ({what}, {args.cells:,} cells)")
    if args.trace:  # tracemalloc's own bookkeeping inflates the RSS: report its figure only
        traced = tracemalloc.get_traced_memory()[0]
        print(f"Python allocations  {traced / 2**20:,.0f} MiB = {traced / n:,.0f} bytes/device")
    else:
        print(f"RSS growth          {grown / 2**20:,.0f} MiB = {grown / n:,.0f} bytes/device")
    return 0


if __name__ == "__main__":
    sys.exit(main())
