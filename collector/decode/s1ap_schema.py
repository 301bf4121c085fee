"""The S1AP elementary procedures and their IEs, read from pycrate's compiled
TS 36.413 ASN.1 (§9.3.2 S1AP-PDU-Descriptions, §9.3.3 S1AP-PDU-Contents).

No table is written by hand: message names, procedure codes and the type of every
protocol IE come from the ASN.1 information object sets, so they follow the
release pycrate was built from.
"""

from __future__ import annotations

from collector.decode.pycrate_libs import S1AP

# S1AP-PDU CHOICE alternatives in order (index as in aper.split_pdu)
PDU_TYPES = tuple(S1AP.S1AP_PDU_Descriptions.S1AP_PDU._cont.keys())


def _class_field(pdu_type: str) -> str:
    """'initiatingMessage' -> 'InitiatingMessage' (S1AP-ELEMENTARY-PROCEDURE field name)."""
    return pdu_type[0].upper() + pdu_type[1:]


def _ie_types(message) -> dict:
    """{IE id: pycrate object of its value type} of one message type, {} if it has no IE set."""
    try:
        field = message._cont["protocolIEs"]._cont
        table = field._cont["value"]._const_tab._val
    except (KeyError, AttributeError):
        return {}  # PrivateMessage: privateIEs, not protocol IEs
    return {row["id"]: row["Value"] for row in list(table.root) + list(table.ext or [])}


class S1APSchema:
    """Lookup of (PDU type index, procedure code) -> (message name, IE value types)."""

    __slots__ = ("_procedures",)

    def __init__(self) -> None:
        procs = S1AP.S1AP_PDU_Descriptions.S1AP_ELEMENTARY_PROCEDURES._val
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
        """{message name: (PDU type, procedure code)}, e.g. 'InitialUEMessage': ('initiatingMessage', 12)."""
        return {name: (PDU_TYPES[index], code)
                for (index, code), (name, _types) in self._procedures.items()}
