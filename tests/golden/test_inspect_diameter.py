"""Golden: `run_inspect` agrees with tshark's ground truth on every Diameter row.

Each capture in tests/golden/captures has a `.tsv` made by tshark alone (see the
README there).  For every DIAMETER row we must produce one event, same frame, same
order within the frame, and agree on the message, the location and the identity
(compared through the pseudonym of a fixed test key), as `tsv_diameter.expected`
derives them from tshark's columns; and we make no event tshark has no row for.

Why some of these traces are odd:
- magma gx_gy carries Diameter over SCTP with S6a, Gx and Gy side by side; its Gy
  CCRs hold the 3GPP-User-Location-Info inside Service-Information/PS-Information,
  its Session-Ids embed the IMSI (`...;IMSI999991234567810`), and its S6a ULAs carry
  only an MSISDN: tshark gives them no IMSI, we attribute them by Session-Id.  The
  same capture has 980 IPv4 fragments (490 GTP-U datagrams of 1,500 + 56 bytes);
  reassembled, they are user plane, not signalling.
- srsenb and testsimple carry Diameter over TCP (one message per segment); the
  others over SCTP.
- testsimple's Rx AA-Requests carry Subscription-Id END_USER_IMSI '0123456789012345',
  16 digits: not an IMSI (TS 23.003 §2.2), so no subscriber, as tsv_diameter expects.
- testsimple has one AIR whose Visited-PLMN-Id (555-10) differs from the others (001-01).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from collector.inspect import run_inspect
from tests.golden.tsv_diameter import CMD_DICT, PROTO, expected, first, message
from wire.pseudonym import Pseudonymizer, as_hex

CAPTURE_DIR = Path(__file__).parent / "captures"
CAPTURES = sorted(p for p in CAPTURE_DIR.iterdir() if p.suffix in (".pcap", ".pcapng"))
TEST_KEY = bytes.fromhex("6363656c6c63656e7375732d676f6c64656e2d746573742d6b65792d30303031")
PSEUDONYM = Pseudonymizer(TEST_KEY)
# DIAMETER rows per capture in the tshark ground truth (a capture not listed has none)
ROWS = {"magma_magma__gx_gy_combined_04_210505_133027-1.pcapng": 624,
        "magma_magma__inbound_roaming_01_210505_130828-1.pcapng": 4,
        "open5gs_open5gs__srsenb.pcapng": 5, "open5gs_open5gs__testattach.pcapng": 43,
        "open5gs_open5gs__testcups.pcapng": 53, "open5gs_open5gs__testsimple.pcapng": 49}


def tsv_rows(capture: Path) -> list[dict]:
    """The Diameter rows of a capture's tshark ground truth."""
    with open(f"{capture}.tsv", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["proto"] == PROTO]


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
def test_inspect_agrees_with_tshark_on_diameter(capture: Path) -> None:
    rows = tsv_rows(capture)
    assert len(rows) == ROWS.get(capture.name, 0)
    out = io.StringIO()
    run_inspect([str(capture)], PSEUDONYM, out)
    text = out.getvalue()
    ours = [r for r in map(json.loads, text.splitlines()) if r["proto"] == "diameter"]
    assert [r["frame"] for r in ours] == [int(r["frame"]) for r in rows]
    stats: Counter = Counter()
    mismatches = []
    for rec, row in zip(ours, rows, strict=True):
        mismatches += compare(rec, row, stats)
    print(f"\n{capture.name}: {len(rows)} Diameter rows; agreed: {dict(sorted(stats.items()))}")
    assert not mismatches, "\n".join(mismatches[:20])
    for row in rows:  # no raw identity in the output, whatever the field
        for ident in filter(None, ";".join((row["imsi"], row["assoc_imsi"], row["msisdn"])).split(";")):
            assert ident not in text


def test_answers_are_attributed_to_their_request_subscriber() -> None:
    """An answer row (ULA: MSISDN only) gets the subscriber of the request of its session."""
    checked = 0
    for capture in CAPTURES:
        rows = tsv_rows(capture)
        if not rows:
            continue
        out = io.StringIO()
        run_inspect([str(capture)], PSEUDONYM, out)
        ours = [r for r in map(json.loads, out.getvalue().splitlines()) if r["proto"] == "diameter"]
        last_request: dict[str, str] = {}  # message name -> subscriber of the last request
        for rec, row in zip(ours, rows, strict=True):
            request, _text, _code, _app = message(row)
            if request and first(row["imsi"]):
                last_request[rec["msg"].removesuffix("Request")] = rec["subscriber"]
            elif not request:
                assert rec["subscriber"] == last_request[rec["msg"].removesuffix("Answer")]
                checked += 1
    assert checked == 33


def test_pycrate_names_every_s6a_command_tshark_reports() -> None:
    """The S6a command names come from pycrate's table, which has a long form for each."""
    codes = {message(r)[2] for c in CAPTURES for r in tsv_rows(c)}
    assert codes == {265, 272, 316, 318, 321}
    assert all(CMD_DICT[c].startswith("3GPP-") for c in codes - {265, 272})
