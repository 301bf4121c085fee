"""The NGAP elementary procedures and their IEs, read from pycrate's compiled
TS 38.413 ASN.1 (§9.4.3 NGAP-PDU-Descriptions, §9.4.4 NGAP-PDU-Contents).

No table is written by hand: message names, procedure codes and the type of every
protocol IE come from the ASN.1 information object sets, as `s1ap_schema` does for
S1AP, so they follow the release pycrate was built from (Rel-18 in pycrate 0.8.1).

`NGAP` is imported here, once `pycrate_libs` has quietened pycrate's loggers
(pycrate_libs does not list it yet).
"""

from __future__ import annotations

from importlib import import_module

import collector.decode.pycrate_libs  # noqa: F401  (quiet pycrate loggers before importing it)

NGAP = import_module("pycrate_asn1dir.NGAP")

__all__ = ["NGAP", "PDU_TYPES", "NGAPSchema"]

# NGAP-PDU CHOICE alternatives in order (index as in aper.split_pdu)
PDU_TYPES = tuple(NGAP.NGAP_PDU_Descriptions.NGAP_PDU._cont.keys())


def _class_field(pdu_type: str) -> str:
    """'initiatingMessage' -> 'InitiatingMessage' (NGAP-ELEMENTARY-PROCEDURE field name)."""
    return pdu_type[0].upper() + pdu_type[1:]


def _ie_types(message) -> dict:
    """{IE id: pycrate object of its value type} of one message type, {} if it has no IE set."""
    try:
        field = message._cont["protocolIEs"]._cont
        table = field._cont["value"]._const_tab._val
    except (KeyError, AttributeError):
        return {}  # PrivateMessage: privateIEs, not protocol IEs
    return {row["id"]: row["Value"] for row in list(table.root) + list(table.ext or [])}


class NGAPSchema:
    """Lookup of (PDU type index, procedure code) -> (message name, IE value types)."""

    __slots__ = ("_procedures",)

    def __init__(self) -> None:
        procs = NGAP.NGAP_PDU_Descriptions.NGAP_ELEMENTARY_PROCEDURES._val
        self._procedures: dict[tuple[int, int], tuple[str, dict]] = {}
        for proc in list(procs.root) + list(procs.ext or []):
            for index, pdu_type in enumerate(PDU_TYPES):
                message = proc.get(_class_field(pdu_type))
                if message is not None:
                    name = message._typeref.called[1]
                    self._procedures[(index, proc["procedureCode"])] = (name, _ie_types(message))

    def procedure(self, pdu_index: int, code: int) -> tuple[str, dict] | None:
        """(message name, {IE id: value type}) of a PDU, or None if the procedure is unknown."""
        return self._procedures.get((pdu_index, code))

    def message_codes(self) -> dict[str, tuple[str, int]]:
        """{message name: (PDU type, procedure code)}, e.g. 'InitialUEMessage': ('initiatingMessage', 15)."""
        return {name: (PDU_TYPES[index], code)
                for (index, code), (name, _types) in self._procedures.items()}
