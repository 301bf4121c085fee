"""What tshark's reading of a GTPv2-C message says our inspect record must hold.

Used by the cross-protocol agreement (`tests/golden/parity.py`) and by
`test_attribution.py`.  Message names come from pycrate's GTPv2-C message type
table (TS 29.274 §6.1, `GTPCMsgType_dict`) by the code tshark prints, never from a
table written here.

PLMN digits: tshark reads a GTPv2 PLMN as TS 24.008 §10.5.1.13 does (MNC digit 3 in
the high nibble of octet 2), unlike its S1AP text, which it rotates (`041` for NAS
`410`).  Checked with a crafted ULI of octets 21 43 65: tshark shows MCC 123, MNC 564,
as `collector.decode.plmn.decode_plmn` and pycrate do.  So the tsv value is taken as
is; magma's inbound roaming S8 ULI (octets 00 11 00, `001-001`) would read `001-100`
if it were rotated like S1AP.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import import_module

GTPC = import_module("pycrate_mobile.TS29274_GTPC")

PROTO = "GTPv2"
_MESSAGE = re.compile(r"^(.*)\((\d+)\)$")
_RAT = {"EUTRA": "eutran", "NR": "nr"}


def first(cell: str) -> str | None:
    """First of tshark's `;`-joined values, or None."""
    return cell.split(";")[0] if cell else None


def tsv_plmn(cell: str) -> str | None:
    """'001-01' -> '00101', '001-001' -> '001001' (tshark's GTPv2 digit order is ours)."""
    value = first(cell)
    return value.replace("-", "") if value else None


def message(row: dict) -> tuple[str, int]:
    """tshark's message text and type code: 'Create Session Request(32)' -> (text, 32)."""
    text, code = _MESSAGE.match(row["message"]).groups()
    return text, int(code)


def spec_name(code: int) -> str | None:
    """CamelCase name of a message type as pycrate's table spells it (32 -> 'CreateSessionRequest')."""
    text = GTPC.GTPCMsgType_dict.get(code)
    return None if text is None else "".join(w[:1].upper() + w[1:] for w in text.split())


def expected(row: dict, pseudonym: Callable[[str], str]) -> dict:
    """Expected inspect fields of one GTPv2 tsv row (absent key: not compared)."""
    text, code = message(row)
    want = {
        "msg": spec_name(code) or f"{text}({code})",
        "nas": None,
        "plmn": tsv_plmn(row["plmn"]),
        "tac": int(first(row["tac"])) if row["tac"] else None,
        "cell": int(first(row["cell_id"])) if row["cell_id"] else None,
        "rat": _RAT.get(first(row["cell_type"]) or ""),
    }
    imsi = first(row["imsi"]) or first(row["assoc_imsi"])
    if imsi is not None:
        want["subscriber"], want["home_mcc"] = pseudonym(imsi), imsi[:3]
    return want
