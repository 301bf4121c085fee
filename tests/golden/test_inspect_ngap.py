"""Golden: `run_inspect` agrees with tshark's ground truth on every NGAP row.

Each capture in tests/golden/captures has a `.tsv` made by tshark alone (see the
README there).  For every NGAP row we must produce one event, same frame, same
order within the frame, and agree on the message, the NAS message, the location
and the identity (compared through the pseudonym of a fixed test key), as
`tsv_ngap.expected` derives them from tshark's columns.

Why some of these traces are odd:
- testregistration (open5gs test suite) sends Registration requests with an all-zero
  5G-GUTI, SUCIs of two MSINs, 401 Service requests on one connection, and initial
  messages that repeat themselves in a NAS message container (`;`-joined names).
- 5g-roaming-hr registers a 999-70 SUCI on a 001-01 network: the home MCC is 999.
- Montimage oai has 16 frames tshark calls NGAP: 14 over SCTP, and 2 HTTP/1.1 SBI
  bodies (frames 175, 187, N1N2MessageTransfer multipart) that carry NGAP/NAS to the
  AMF, not over N2; tshark writes no row for them (captures/README.md), nor do we.
- tshark leaves most NGAP rows without an identity (the SUPI is only in the SUCI);
  where we correlate one, it is counted, not compared.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from collector.inspect import run_inspect
from tests.golden.tsv_ngap import PROTO, expected, supi_of
from wire.pseudonym import Pseudonymizer, as_hex

CAPTURE_DIR = Path(__file__).parent / "captures"
CAPTURES = sorted(p for p in CAPTURE_DIR.iterdir() if p.suffix in (".pcap", ".pcapng"))
TEST_KEY = bytes.fromhex("6363656c6c63656e7375732d676f6c64656e2d746573742d6b65792d30303031")
# NGAP rows per capture in the tshark ground truth (a capture not listed has none)
ROWS = {"open5gs_open5gs__testregistration.pcapng": 602,
        "open5gs_open5gs__5g-roaming-hr.pcapng": 8, "Montimage_5Greplay__oai.pcap": 6}


def tsv_rows(capture: Path) -> list[dict]:
    """The NGAP rows of a capture's tshark ground truth."""
    with open(f"{capture}.tsv", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["proto"] == PROTO]


def compare(rec: dict, row: dict, pseudonym, stats: Counter) -> list[str]:
    """Mismatches between our event and a tsv row; fills agreement counts in `stats`."""
    want = expected(row, lambda digits: as_hex(pseudonym(digits)))
    epoch = float(row["epoch"])  # float seconds hold about 0.2 µs at this magnitude
    bad = [] if abs(rec["time"] - epoch) < 1e-6 else [f"time {rec['time']} != {epoch}"]
    for field, value in want.items():
        if rec[field] == value:
            stats[field] += 1
        else:
            bad.append(f"{field} {rec[field]!r} != tshark {value!r}")
    if "subscriber" not in want:
        stats["subscriber correlated beyond tshark" if rec["subscriber"]
              else "subscriber unknown to both"] += 1
    return [f"frame {rec['frame']} {rec['msg']}: {b}" for b in bad]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_inspect_agrees_with_tshark_on_ngap(capture: Path) -> None:
    rows = tsv_rows(capture)
    assert len(rows) == ROWS.get(capture.name, 0)
    pseudonym = Pseudonymizer(TEST_KEY)
    out = io.StringIO()
    run_inspect([str(capture)], pseudonym, out)
    text = out.getvalue()
    ours = [r for r in map(json.loads, text.splitlines()) if r["proto"] == "ngap"]

    assert [r["frame"] for r in ours] == [int(r["frame"]) for r in rows]
    stats: Counter = Counter()
    mismatches = []
    for rec, row in zip(ours, rows, strict=True):
        mismatches += compare(rec, row, pseudonym, stats)
    print(f"\n{capture.name}: {len(rows)} NGAP rows; agreed: {dict(sorted(stats.items()))}")
    assert not mismatches, "\n".join(mismatches[:20])
    for row in rows:  # no raw identity in the output, whatever the field
        supi = supi_of(row)
        if supi is not None:
            assert supi not in text and supi[5:] not in text
