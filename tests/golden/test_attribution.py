"""Golden: what `collector inspect` attributes beyond tshark is sound.

Per-row agreement with tshark lives in test_parity.py.  Here: a subscriber given to
a row tshark leaves without an IMSI (correlation) must be one of the capture's own
subscribers; GTPv2 tunnels keyed by the receiver's address attribute at least as
much as the association alone; a Diameter answer gets its request's subscriber; and
the message names we compare against are pycrate's tables for tshark's codes.

Why some of these traces are odd:
- testsimple (nextepc, 2018, macOS lo0) has the same source and destination address
  in every GTPv2 datagram, and runs S5 over IPv6 ::1 while the F-TEIDs name
  127.0.0.3 and ::1 together; testsimple/testcups Delete Session Requests carry a
  ULI whose TAI and ECGI have different PLMNs (we take the TAI's, as tshark lists it).
- magma gx_gy carries S6a, Gx and Gy over SCTP side by side; its Gy Session-Ids
  embed the IMSI and its S6a ULAs carry only an MSISDN (tshark gives them no IMSI,
  we attribute them by Session-Id).  It also has 980 IPv4 fragments of GTP-U:
  reassembled, they are user plane, not signalling.
- srsenb and testsimple carry Diameter over TCP, the others over SCTP.
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
from tests.golden import tsv_diameter, tsv_gtpv2, tsv_ngap
from tests.golden.parity import CAPTURES, PROTOCOLS, TEST_KEY
from wire.pseudonym import Pseudonymizer, as_hex

PSEUDONYM = Pseudonymizer(TEST_KEY)


def _pseudo(digits: str) -> str:
    return as_hex(PSEUDONYM(digits))


def tsv_rows(capture: Path, proto: str | None = None) -> list[dict]:
    """tshark's rows of a capture, optionally of one protocol (tshark's name)."""
    with open(f"{capture}.tsv", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if proto in (None, r["proto"])]


def inspect_records(capture: Path, proto: str) -> list[dict]:
    """Our inspect records of one protocol (our name) for a capture."""
    out = io.StringIO()
    run_inspect([str(capture)], PSEUDONYM, out)
    return [r for r in map(json.loads, out.getvalue().splitlines()) if r["proto"] == proto]


def capture_subscribers(capture: Path) -> set[str]:
    """Pseudonyms of every IMSI/SUPI tshark reads anywhere in the capture."""
    digits = set()
    for row in tsv_rows(capture):
        for col in ("imsi", "assoc_imsi"):
            digits |= {d for d in row.get(col, "").split(";") if tsv_diameter.is_imsi(d)}
        if row["proto"] == "NGAP" and (supi := tsv_ngap.supi_of(row)):
            digits.add(supi)
    return {_pseudo(d) for d in digits}


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_correlated_subscribers_belong_to_the_capture(capture: Path) -> None:
    known = capture_subscribers(capture)
    out = io.StringIO()
    run_inspect([str(capture)], PSEUDONYM, out)
    given = {r["subscriber"] for r in map(json.loads, out.getvalue().splitlines())} - {None}
    assert given <= known, f"{len(given - known)} subscribers not in tshark's reading"
    if any(r["proto"] in PROTOCOLS for r in tsv_rows(capture)) and known:
        assert given, "a capture with subscribers gets none of them"


def test_gtpv2_receiver_address_attributes_at_least_the_association() -> None:
    """Keying tunnels by the datagram's destination (what the edge does) gives the same
    events as inferring the receiver from the association, and attributes more."""
    totals: Counter = Counter()
    for capture in CAPTURES:
        decoder = GTPv2Decoder(PSEUDONYM, Correlator())
        by_assoc = [e.inspect_record() for f, t, m in iter_messages(str(capture), Counters())
                    if m.proto == "gtpv2" for e in decoder(m.payload, m.assoc, f, t)[0]]
        ours = inspect_records(capture, "gtpv2")
        assert len(by_assoc) == len(ours)
        who = ("subscriber", "home_mcc")
        for rec, ref in zip(ours, by_assoc, strict=True):
            assert {k: v for k, v in rec.items() if k not in who} == \
                   {k: v for k, v in ref.items() if k not in who}
            assert [ref[k] for k in who] in ([None, None], [rec[k] for k in who])
            totals["association"] += ref["subscriber"] is not None
            totals["receiver"] += rec["subscriber"] is not None
    assert totals["receiver"] > totals["association"] > 0


def test_diameter_answers_get_their_request_subscriber() -> None:
    """An answer (a ULA carries only an MSISDN) gets the subscriber of its request."""
    checked = 0
    for capture in CAPTURES:
        rows = tsv_rows(capture, tsv_diameter.PROTO)
        if not rows:
            continue
        last_request: dict[str, str] = {}
        for rec, row in zip(inspect_records(capture, "diameter"), rows, strict=True):
            request = tsv_diameter.message(row)[0]
            if request and tsv_diameter.first(row["imsi"]):
                last_request[rec["msg"].removesuffix("Request")] = rec["subscriber"]
            elif not request:
                assert rec["subscriber"] == last_request[rec["msg"].removesuffix("Answer")]
                checked += 1
    assert checked == 33


def test_tshark_message_codes_have_pycrate_names() -> None:
    gtp = {tsv_gtpv2.message(r) for c in CAPTURES for r in tsv_rows(c, tsv_gtpv2.PROTO)}
    assert {code for _t, code in gtp} == {32, 34, 36, 96, 98, 100}
    assert all(tsv_gtpv2.GTPC.GTPCMsgType_dict[code] == text for text, code in gtp)
    dia = {tsv_diameter.message(r)[2] for c in CAPTURES for r in tsv_rows(c, tsv_diameter.PROTO)}
    assert dia == {265, 272, 316, 318, 321}
    assert all(tsv_diameter.CMD_DICT[c].startswith("3GPP-") for c in dia - {265, 272})
