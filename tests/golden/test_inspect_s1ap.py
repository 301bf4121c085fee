"""Golden: `run_inspect` agrees with tshark's ground truth on every S1AP row.

Each capture in tests/golden/captures has a `.tsv` made by tshark alone (see the
README there).  For every S1AP row we must produce one event, same frame, same
order within the frame, and agree on the message, the NAS message, the location
and the identity (compared through the pseudonym of a fixed test key).

Why some of these traces are odd:
- testsimple (nextepc, 2018) pads ENB-UE-S1AP-ID to 3 octets inside its open type;
  pycrate's whole-PDU decode fails on those messages, our IE walk does not.
- testsimple/testcups carry a TAI and an ECGI of different PLMNs in one message
  (`001-01;555-10`); we take the first named, the TAI's, as tshark lists it first.
- tshark shows a 3-digit S1AP MNC rotated (`041` for NAS `410`); we read S1AP as
  NAS, so the tsv value is rotated back before comparing (none in these captures).
- tshark's `assoc_imsi` is only filled on messages carrying the IMSI; when it has no
  identity for a message but we correlated one, that is allowed and counted.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from collector.decode.nas_eps import spec_name
from collector.decode.pycrate_libs import TS24301_EMM, TS24301_ESM
from collector.decode.s1ap_schema import S1APSchema
from collector.inspect import run_inspect
from wire.pseudonym import Pseudonymizer, as_hex

CAPTURE_DIR = Path(__file__).parent / "captures"
CAPTURES = sorted(p for p in CAPTURE_DIR.iterdir() if p.suffix in (".pcap", ".pcapng"))
TEST_KEY = bytes.fromhex("6363656c6c63656e7375732d676f6c64656e2d746573742d6b65792d30303031")
_MESSAGE = re.compile(r"^(\w+) [\w-]+\((\d+)\)$")
_NAS_CODE = re.compile(r"\((0x[0-9a-f]+)\)$")


def tsv_s1ap_rows(capture: Path) -> list[dict]:
    """The S1AP rows of a capture's tshark ground truth."""
    with open(f"{capture}.tsv", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["proto"] == "S1AP"]


def first(cell: str) -> str | None:
    return cell.split(";")[0] if cell else None


def tsv_plmn(cell: str) -> str | None:
    """'001-01' -> '00101'; a 3-digit MNC as tshark shows it in S1AP is rotated back."""
    value = first(cell)
    if value is None:
        return None
    mcc, mnc = value.split("-")
    return mcc + (mnc[1] + mnc[2] + mnc[0] if len(mnc) == 3 else mnc)


def tsv_nas(cell: str) -> str | None:
    """Spec-style name (pycrate's) of the EMM message of the row, else of its ESM message."""
    names = []
    for entry in cell.split(";") if cell else ():
        if entry.startswith("Service request(sec_hdr=12)"):
            names.append(TS24301_EMM.EMMServiceRequest.__name__)
            continue
        code = int(_NAS_CODE.search(entry).group(1), 16)
        cls = (TS24301_EMM.EMMTypeMOClasses.get(code) if code < 0xC0
               else TS24301_ESM.ESMTypeClasses.get(code))
        names.append(cls.__name__)
    if not names:
        return None
    return spec_name(next((n for n in names if n.startswith("EMM")), names[0]))


def compare(rec: dict, row: dict, codes: dict, pseudonym, stats: Counter) -> list[str]:
    """Mismatches between our event and a tsv row; fills agreement counts in `stats`."""
    got, want = {}, {}
    kind, code = _MESSAGE.match(row["message"]).groups()
    got["msg"], want["msg"] = codes.get(rec["msg"]), (kind, int(code))
    got["nas"], want["nas"] = rec["nas"], tsv_nas(row["nas"])
    got["plmn"], want["plmn"] = rec["plmn"], tsv_plmn(row["plmn"])
    got["tac"], want["tac"] = rec["tac"], int(first(row["tac"])) if row["tac"] else None
    got["cell"], want["cell"] = rec["cell"], int(first(row["cell_id"])) if row["cell_id"] else None
    got["rat"], want["rat"] = rec["rat"], "eutran" if first(row["cell_type"]) == "EUTRA" else None
    epoch = float(row["epoch"])  # float seconds hold about 0.2 µs at this magnitude
    got["time"], want["time"] = (epoch if abs(rec["time"] - epoch) < 1e-6 else rec["time"]), epoch
    imsi = first(row["imsi"]) or first(row["assoc_imsi"])
    if imsi is not None:
        got["subscriber"], want["subscriber"] = rec["subscriber"], as_hex(pseudonym(imsi))
        got["home_mcc"], want["home_mcc"] = rec["home_mcc"], imsi[:3]
    elif rec["subscriber"] is not None:
        stats["subscriber correlated beyond tshark"] += 1
    else:
        stats["subscriber unknown to both"] += 1
    bad = []
    for field, value in want.items():
        if got[field] == value:
            stats[field] += 1
        else:
            bad.append(f"frame {rec['frame']} {rec['msg']}: {field} {got[field]!r} != tshark {value!r}")
    return bad


@pytest.fixture(scope="module")
def message_codes() -> dict:
    return S1APSchema().message_codes()


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_inspect_agrees_with_tshark_on_s1ap(capture: Path, message_codes: dict) -> None:
    rows = tsv_s1ap_rows(capture)
    pseudonym = Pseudonymizer(TEST_KEY)
    out = io.StringIO()
    run_inspect([str(capture)], pseudonym, out)
    text = out.getvalue()
    ours = [r for r in map(json.loads, text.splitlines()) if r["proto"] == "s1ap"]

    assert [r["frame"] for r in ours] == [int(r["frame"]) for r in rows]
    stats: Counter = Counter()
    mismatches = []
    for rec, row in zip(ours, rows, strict=True):
        mismatches += compare(rec, row, message_codes, pseudonym, stats)
    print(f"\n{capture.name}: {len(rows)} S1AP rows; agreed: {dict(sorted(stats.items()))}")
    assert not mismatches, "\n".join(mismatches[:20])
    for row in rows:  # no raw identity in the output, whatever the field
        for imsi in filter(None, (row["imsi"] + ";" + row["assoc_imsi"]).split(";")):
            assert imsi not in text
