"""What tshark's reading of an NGAP message says our inspect record must hold.

Used by the cross-protocol agreement (`tests/golden/parity.py`) and by
`test_attribution.py`.  Message names come from pycrate's NGAP ASN.1 (procedure
code and PDU type), NAS names from pycrate's 5GMM/5GSM classes, never from a
table written here.

Conventions (checked with tshark 4.0.17 on synthetic messages):
- tshark shows a 3-digit NGAP MNC rotated (`310-041` for the octets NAS reads as
  `310-410`), as in S1AP; we read NGAP as NAS, so the value is rotated back.
- the subscriber is the row's IMSI, else the SUPI of a null-scheme SUCI
  (`suci-0-<mcc>-<mnc>-<routing>-0-<pki>-<msin>`: SUPI = mcc + mnc + msin), else
  tshark's `assoc_imsi`; a concealed SUCI (scheme 1, 2, ...) names nobody.
- the cell is tshark's NR cell identity (pdml2tsv reads `ngap.NRCellIdentity` only).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from collector.decode.nas_5gs import spec_name
from collector.decode.ngap_schema import NGAPSchema
from tests.golden.tsv_s1ap import first, tsv_plmn

PROTO = "NGAP"
_MESSAGE = re.compile(r"^(\w+) [\w-]+\((\d+)\)$")
_NAS_CODE = re.compile(r"\((0x[0-9a-f]+)\)$")


@cache
def _nas_classes() -> tuple[dict, dict]:
    from pycrate_mobile import TS24501_FGMM, TS24501_FGSM  # after collector.decode: quiet

    return TS24501_FGMM.FGMMTypeClasses, TS24501_FGSM.FGSMTypeClasses


@cache
def _names() -> dict[tuple[str, int], str]:
    return {code: name for name, code in NGAPSchema().message_codes().items()}


def tsv_nas(cell: str) -> str | None:
    """Spec-style name (pycrate's) of the first 5GMM message of the row, else of its first 5GSM one.

    tshark lists an outer message before the one in its NAS message container, and a
    UL/DL NAS TRANSPORT before the 5GSM message in its payload container.
    """
    mm_classes, sm_classes = _nas_classes()
    mm, sm = [], []
    for entry in cell.split(";") if cell else ():
        found = _NAS_CODE.search(entry)  # '[ciphered, not decoded]' has no code
        if found:
            code = int(found.group(1), 16)
            if code in mm_classes:
                mm.append(mm_classes[code]._name)
            elif code in sm_classes:
                sm.append(sm_classes[code]._name)
    names = mm or sm
    return spec_name(names[0]) if names else None


def supi_of(row: dict) -> str | None:
    """IMSI digits tshark gives a row: its IMSI, a null-scheme SUCI's SUPI, or assoc_imsi."""
    imsi = first(row["imsi"])
    if imsi is None:
        for suci in filter(None, row["suci"].split(";")):
            parts = suci.split("-")  # suci-<fmt>-<mcc>-<mnc>-<routing>-<scheme>-<pki>-<msin>
            if len(parts) == 8 and parts[1] == "0" and parts[5] == "0":
                imsi = parts[2] + parts[3] + parts[7]
                break
    return imsi or first(row["assoc_imsi"])


def expected(row: dict, pseudonym: Callable[[str], str]) -> dict:
    """Expected inspect fields of one NGAP tsv row (absent key: not compared)."""
    kind, code = _MESSAGE.match(row["message"]).groups()
    nr = first(row["cell_type"]) == "NR"
    want = {
        "msg": _names().get((kind, int(code)), f"{kind}({code})"),
        "nas": tsv_nas(row["nas"]),
        "plmn": tsv_plmn(row["plmn"]),
        "tac": int(first(row["tac"])) if row["tac"] else None,
        "cell": int(first(row["cell_id"])) if nr else None,
        "rat": "nr" if nr else None,
    }
    imsi = supi_of(row)
    if imsi is not None:
        want["subscriber"], want["home_mcc"] = pseudonym(imsi), imsi[:3]
    return want
