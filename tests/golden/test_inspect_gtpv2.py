"""Golden: `run_inspect` agrees with tshark's ground truth on every GTPv2-C row.

Each capture in tests/golden/captures has a `.tsv` made by tshark alone (see the
README there).  For every GTPv2 row we must produce one event, same frame, same
order, and agree on the message, the location and the identity (compared through
the pseudonym of a fixed test key); `tsv_gtpv2.expected` says what each row means.

Why some of these traces are odd:
- testsimple (nextepc, 2018, macOS lo0) has the same source and destination address
  in every GTPv2 datagram (the receiver's), and runs S5 over IPv6 ::1 while the
  F-TEIDs name 127.0.0.3 and ::1 together.
- testsimple/testcups send Delete Session Requests whose ULI has a TAI and an ECGI of
  different PLMNs (`001-01;555-10`); we take the first, the TAI's, as tshark lists it.
- magma inbound roaming (S8, SGW on an ephemeral port) codes the ULI PLMN as 3-digit
  MNC `001-001` and the Serving Network as `001-01`; tshark's GTPv2 digit order is
  ours (see tsv_gtpv2), so nothing is rotated.
- tshark's `assoc_imsi` is empty on every GTPv2 row without an IMSI IE (Modify Bearer,
  Delete Session, bearer responses); we attribute those by tunnel (header TEID), which
  is allowed and counted as "correlated beyond tshark".
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from collector.decode.gtpv2 import GTPv2Decoder
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.inspect import run_inspect
from collector.telemetry import Counters
from tests.golden.tsv_gtpv2 import GTPC, PROTO, expected, first, message
from wire.pseudonym import Pseudonymizer, as_hex

CAPTURE_DIR = Path(__file__).parent / "captures"
CAPTURES = sorted(p for p in CAPTURE_DIR.iterdir() if p.suffix in (".pcap", ".pcapng"))
TEST_KEY = bytes.fromhex("6363656c6c63656e7375732d676f6c64656e2d746573742d6b65792d30303031")
PSEUDONYM = Pseudonymizer(TEST_KEY)


def tsv_rows(capture: Path) -> list[dict]:
    """The GTPv2 rows of a capture's tshark ground truth."""
    with open(f"{capture}.tsv", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["proto"] == PROTO]


def inspect_records(capture: Path) -> tuple[list[dict], str]:
    out = io.StringIO()
    run_inspect([str(capture)], PSEUDONYM, out)
    text = out.getvalue()
    return [r for r in map(json.loads, text.splitlines()) if r["proto"] == "gtpv2"], text


def compare(rec: dict, row: dict, stats: Counter) -> list[str]:
    """Mismatches between our event and a tsv row; fills agreement counts in `stats`."""
    want = expected(row, lambda d: as_hex(PSEUDONYM(d)))
    epoch = float(row["epoch"])  # float seconds hold about 0.2 µs at this magnitude
    want["time"] = epoch
    got = dict(rec, time=epoch if abs(rec["time"] - epoch) < 1e-6 else rec["time"])
    if "subscriber" not in want:
        stats["correlated beyond tshark" if rec["subscriber"] else "unknown to both"] += 1
    bad = []
    for field, value in want.items():
        if got[field] == value:
            stats[field] += 1
        else:
            bad.append(f"frame {rec['frame']} {rec['msg']}: {field} {got[field]!r} != {value!r}")
    return bad


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_inspect_agrees_with_tshark_on_gtpv2(capture: Path) -> None:
    rows = tsv_rows(capture)
    ours, text = inspect_records(capture)
    assert [r["frame"] for r in ours] == [int(r["frame"]) for r in rows]
    stats: Counter = Counter()
    mismatches = []
    for rec, row in zip(ours, rows, strict=True):
        mismatches += compare(rec, row, stats)
    print(f"\n{capture.name}: {len(rows)} GTPv2 rows; agreed: {dict(sorted(stats.items()))}")
    assert not mismatches, "\n".join(mismatches[:20])
    carried = {first(r["imsi"]) for r in rows if r["imsi"]}
    for rec, row in zip(ours, rows, strict=True):  # a correlated subscriber was seen before
        if not row["imsi"] and rec["subscriber"]:
            assert rec["subscriber"] in {as_hex(PSEUDONYM(i)) for i in carried}
            if len(carried) == 1:
                assert rec["subscriber"] == as_hex(PSEUDONYM(next(iter(carried))))
    for row in rows:  # no raw identity in the output, whatever the field
        for ident in filter(None, ";".join((row["imsi"], row["assoc_imsi"], row["msisdn"])).split(";")):
            assert ident not in text


def test_tshark_message_names_are_pycrate_names() -> None:
    """The message texts tshark prints are pycrate's table entries for the same codes."""
    seen = {message(r) for c in CAPTURES for r in tsv_rows(c)}
    assert {code for _t, code in seen} == {32, 34, 36, 96, 98, 100}
    for text, code in seen:
        assert GTPC.GTPCMsgType_dict[code] == text


def test_receiver_address_attributes_at_least_as_much() -> None:
    """With the datagram's destination as receiver (exact), every event is the same and
    attribution only grows; the inspect path (association only) never contradicts it."""
    totals: Counter = Counter()
    for capture in CAPTURES:
        decoder = GTPv2Decoder(PSEUDONYM, Correlator())
        exact = [e.inspect_record() for f, t, m in iter_messages(str(capture), Counters())
                 if m.proto == "gtpv2"
                 for e in decoder(m.payload, m.assoc, f, t, receiver=m.dst)[0]]
        ours, _text = inspect_records(capture)
        assert len(exact) == len(ours)
        for rec, ref in zip(ours, exact, strict=True):
            who = ("subscriber", "home_mcc")
            assert {k: v for k, v in rec.items() if k not in who} == \
                   {k: v for k, v in ref.items() if k not in who}
            assert [rec[k] for k in who] in ([None, None], [ref[k] for k in who])
            totals["events"] += 1
            totals["attributed (association)"] += rec["subscriber"] is not None
            totals["attributed (receiver address)"] += ref["subscriber"] is not None
    print(f"\nGTPv2 attribution over all captures: {dict(totals)}")
    assert totals["attributed (receiver address)"] >= totals["attributed (association)"]
