"""What tshark's reading of an S1AP message says our inspect record must hold.

Used by the cross-protocol agreement (`tests/golden/parity.py`).  Message names
come from pycrate's S1AP ASN.1 (procedure code and PDU type), NAS names from
pycrate's EMM/ESM classes, never from a table written here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from collector.decode.nas_eps import spec_name
from collector.decode.pycrate_libs import TS24301_EMM, TS24301_ESM
from collector.decode.s1ap_schema import S1APSchema

PROTO = "S1AP"
_MESSAGE = re.compile(r"^(\w+) [\w-]+\((\d+)\)$")
_NAS_CODE = re.compile(r"\((0x[0-9a-f]+)\)$")


def first(cell: str) -> str | None:
    """First of tshark's `;`-joined values, or None."""
    return cell.split(";")[0] if cell else None


def tsv_plmn(cell: str, rotate: bool = True) -> str | None:
    """'001-01' -> '00101'; a 3-digit MNC as tshark shows it in S1AP is rotated back."""
    value = first(cell)
    if value is None:
        return None
    mcc, mnc = value.split("-")
    return mcc + (mnc[1] + mnc[2] + mnc[0] if rotate and len(mnc) == 3 else mnc)


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


@cache
def _names() -> dict[tuple[str, int], str]:
    return {code: name for name, code in S1APSchema().message_codes().items()}


def expected(row: dict, pseudonym: Callable[[str], str]) -> dict:
    """Expected inspect fields of one S1AP tsv row (absent key: not compared)."""
    kind, code = _MESSAGE.match(row["message"]).groups()
    want = {
        "msg": _names().get((kind, int(code)), f"{kind}({code})"),
        "nas": tsv_nas(row["nas"]),
        "plmn": tsv_plmn(row["plmn"]),
        "tac": int(first(row["tac"])) if row["tac"] else None,
        "cell": int(first(row["cell_id"])) if row["cell_id"] else None,
        "rat": "eutran" if first(row["cell_type"]) == "EUTRA" else None,
    }
    imsi = first(row["imsi"]) or first(row["assoc_imsi"])
    if imsi is not None:
        want["subscriber"], want["home_mcc"] = pseudonym(imsi), imsi[:3]
    return want
