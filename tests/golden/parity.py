"""Agreement of `collector inspect` with tshark's reading of every golden capture.

    python -m tests.golden.parity            # the agreement table, per protocol
    python -m tests.golden.parity -v         # plus every disagreement

Each tsv row (one signalling message as tshark reads it, see captures/README.md)
must meet one inspect record of the same protocol, in the same frame and order,
with the fields that `tests/golden/tsv_<proto>.py` derives from tshark's columns.
The table also gives, over location-bearing messages, the share that tshark
attributes to an IMSI (carried or `assoc_imsi`) and the share we attribute to a
subscriber (carried or correlated).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from collector.inspect import run_inspect
from wire.pseudonym import Pseudonymizer, as_hex

CAPTURE_DIR = Path(__file__).parent / "captures"
CAPTURES = sorted(p for p in CAPTURE_DIR.iterdir() if p.suffix in (".pcap", ".pcapng"))
TEST_KEY = bytes.fromhex("6363656c6c63656e7375732d676f6c64656e2d746573742d6b65792d30303031")
PROTOCOLS = {"S1AP": ("s1ap", "tests.golden.tsv_s1ap"), "NGAP": ("ngap", "tests.golden.tsv_ngap"),
             "GTPv2": ("gtpv2", "tests.golden.tsv_gtpv2"),
             "DIAMETER": ("diameter", "tests.golden.tsv_diameter")}


@dataclass
class Agreement:
    """Counts for one protocol (over one or several captures)."""

    rows: int = 0
    agreed: int = 0
    located: int = 0
    tshark_attributed: int = 0
    ours_attributed: int = 0
    extra: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def disagreed(self) -> int:
        return self.rows - self.agreed

    def add(self, other: Agreement) -> None:
        """Sum another protocol's counts into this one."""
        for name in ("rows", "agreed", "located", "tshark_attributed", "ours_attributed",
                     "extra"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.mismatches += other.mismatches


def _expectations(name: str):
    try:
        return importlib.import_module(PROTOCOLS[name][1]).expected
    except ModuleNotFoundError:
        return None


def _compare(rec: dict | None, row: dict, want: dict | None, where: str) -> list[str]:
    if rec is None:
        return [f"{where}: no record for tshark's {row['message']}"]
    if want is None:
        return [f"{where}: no expectations module for {row['proto']}"]
    epoch = float(row["epoch"])  # a float holds ~0.2 µs at this magnitude
    bad = [] if abs(rec["time"] - epoch) < 1e-6 else [f"time {rec['time']} != {epoch}"]
    bad += [f"{k} {rec.get(k)!r} != tshark {v!r}" for k, v in want.items() if rec.get(k) != v]
    return [f"{where} {rec['msg']}: {b}" for b in bad]


def compare_capture(capture: Path) -> dict[str, Agreement]:
    """Agreement per tshark protocol name for one capture."""
    pseudo = Pseudonymizer(TEST_KEY)
    out = io.StringIO()
    run_inspect([str(capture)], pseudo, out)
    ours: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for rec in map(json.loads, out.getvalue().splitlines()):
        ours[(rec["proto"], rec["frame"])].append(rec)
    with open(f"{capture}.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    result: dict[str, Agreement] = defaultdict(Agreement)
    seen: dict[tuple[str, int], int] = defaultdict(int)
    for row in rows:
        our_proto = PROTOCOLS.get(row["proto"], (row["proto"].lower(), ""))[0]
        key = (our_proto, int(row["frame"]))
        recs, i = ours.get(key, []), seen[key]
        seen[key] += 1
        rec = recs[i] if i < len(recs) else None
        a = result[row["proto"]]
        a.rows += 1
        where = f"{capture.name} frame {row['frame']}"
        expected = _expectations(row["proto"])
        want = expected(row, lambda d: as_hex(pseudo(d))) if expected else None
        bad = _compare(rec, row, want, where)
        a.agreed += not bad
        a.mismatches += bad
        if row["plmn"] or row["tac"] or row["cell_id"]:
            a.located += 1
            a.tshark_attributed += bool(want and want.get("subscriber"))
            a.ours_attributed += bool(rec and rec["subscriber"])
    for (proto, frame), recs in ours.items():  # records tshark has no row for
        extra = len(recs) - seen.get((proto, frame), 0)
        if extra > 0:
            name = next((k for k, v in PROTOCOLS.items() if v[0] == proto), proto.upper())
            result[name].extra += extra
            result[name].mismatches.append(f"{capture.name} frame {frame}: {extra} extra {proto}")
    return dict(result)


def _pct(n: int, d: int) -> str:
    return f"{n} ({100 * n / d:.0f} %)" if d else "0"


def main(argv: list[str] | None = None) -> int:
    """Print the agreement table; exit 1 when anything disagrees."""
    ap = argparse.ArgumentParser(prog="python -m tests.golden.parity", description=__doc__)
    ap.add_argument("-v", "--verbose", action="store_true", help="list every disagreement")
    args = ap.parse_args(argv)
    total: dict[str, Agreement] = defaultdict(Agreement)
    for capture in CAPTURES:
        for proto, a in compare_capture(capture).items():
            total[proto].add(a)
    print(f"{'protocol':10} {'rows':>6} {'agreed':>7} {'disagreed':>9} {'extra':>6} "
          f"{'located':>8} {'with IMSI (tshark)':>19} {'with subscriber (ours)':>23}")
    for proto, a in sorted(total.items()):
        print(f"{proto:10} {a.rows:6} {a.agreed:7} {a.disagreed:9} {a.extra:6} {a.located:8} "
              f"{_pct(a.tshark_attributed, a.located):>19} {_pct(a.ours_attributed, a.located):>23}")
    print("extra: records of ours with no tshark row; located: rows with a PLMN, TAC or cell")
    if args.verbose:
        for a in total.values():
            print("\n".join(a.mismatches))
    return 1 if any(a.mismatches for a in total.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
