"""What tshark's reading of a Diameter message says our inspect record must hold.

Used by the cross-protocol agreement (`tests/golden/parity.py`) and by
`test_attribution.py`.  tshark writes a message as `Request
3GPP-Update-Location(316) app=3GPP S6a/S6d(16777251)`; the name we expect comes
from the command code and the R flag through pycrate's IANA command table
(`Cmd_dict`: '3GPP-Update-Location-Request/Answer (ULR/ULA)' gives
'UpdateLocationRequest').  For the commands that table only abbreviates
('CCR / CCA', 'AAR / AAA') the command name is tshark's own text
('Credit-Control' gives 'CreditControlRequest'), never a table written here.

Columns: `plmn`/`tac`/`cell_*` come only from 3GPP-User-Location-Info (Gx, Gy);
`serving_plmn` (Visited-PLMN-Id of S6a) has no inspect field.  The ULI PLMN is
read by tshark's GTPv2 code, in our digit order (see tsv_gtpv2), so it is taken
as is.  An `imsi` value that is not an IMSI (TS 23.003 §2.2: at most 15 digits;
testsimple's Rx AA-Requests carry Subscription-Id END_USER_IMSI
'0123456789012345', a 16-digit placeholder) names no subscriber: we expect none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import import_module

CMD_DICT = import_module("pycrate_diameter.iana_diameter_dicts").Cmd_dict

PROTO = "DIAMETER"
_MESSAGE = re.compile(r"^(Request|Answer) ([\w-]+)\((\d+)\) app=.*\((\d+)\)$")
_IANA_LONG = re.compile(r"^(?:3GPP-)?([\w-]+)-Request/(?:[\w-]+-)?Answer\b")
_RAT = {"EUTRA": "eutran", "NR": "nr"}


def first(cell: str) -> str | None:
    """First of tshark's `;`-joined values, or None."""
    return cell.split(";")[0] if cell else None


def message(row: dict) -> tuple[bool, str, int, int]:
    """(request, tshark's command text, command code, application id) of a row."""
    kind, text, code, app = _MESSAGE.match(row["message"]).groups()
    return kind == "Request", text, int(code), int(app)


def pycrate_name(code: int, request: bool) -> str | None:
    """Spec-style name from pycrate's IANA command table; None where it only abbreviates."""
    long = _IANA_LONG.match(CMD_DICT.get(code, ""))
    return long and long.group(1).replace("-", "") + ("Request" if request else "Answer")


def spec_name(code: int, request: bool, tshark_text: str) -> str:
    """'UpdateLocationRequest' from pycrate's command table, else from tshark's text."""
    return pycrate_name(code, request) or (
        tshark_text.removeprefix("3GPP-").replace("-", "") + ("Request" if request else "Answer"))


def is_imsi(value: str | None) -> bool:
    """An IMSI is 6 to 15 digits (TS 23.003 §2.2)."""
    return value is not None and value.isdigit() and 6 <= len(value) <= 15


def expected(row: dict, pseudonym: Callable[[str], str]) -> dict:
    """Expected inspect fields of one Diameter tsv row (absent key: not compared)."""
    request, text, code, _app = message(row)
    cell = first(row["cell_id"])
    want = {
        "msg": spec_name(code, request, text),
        "nas": None,
        "plmn": first(row["plmn"]).replace("-", "") if row["plmn"] else None,
        "tac": int(first(row["tac"])) if row["tac"] else None,
        "cell": int(cell) if cell else None,
        "rat": _RAT.get(first(row["cell_type"]) or ""),
    }
    imsi = first(row["imsi"]) or first(row["assoc_imsi"])
    if is_imsi(imsi):
        want["subscriber"], want["home_mcc"] = pseudonym(imsi), imsi[:3]
    elif imsi is not None:
        want["subscriber"], want["home_mcc"] = None, None
    return want
