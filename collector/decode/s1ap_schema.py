"""The S1AP elementary procedures and their IEs, read from pycrate's compiled
TS 36.413 ASN.1 (§9.3.2 S1AP-PDU-Descriptions, §9.3.3 S1AP-PDU-Contents).

No table is written by hand: message names, procedure codes and the type of every
protocol IE come from the ASN.1 information object sets, so they follow the
release pycrate was built from.  What the fast path needs of them (names, codes,
the type names of the wanted IEs) is kept in the generated `s1ap_table`, derived
from pycrate by `wanted_table` (`python -m collector.tables` rewrites it, a unit
test checks it): the pycrate objects themselves are built only when a value must
be decoded by pycrate (a fallback of the hand-written readers, or `fast=False`).
"""

from __future__ import annotations

from collector.decode import pycrate_libs
from collector.decode.s1ap_fast import type_name
from collector.decode.s1ap_table import PDU_TYPES, PROCEDURES

__all__ = ["PDU_TYPES", "S1APSchema", "pycrate_pdu_types", "pycrate_procedures",
           "wanted_table"]


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


def pycrate_pdu_types() -> tuple[str, ...]:
    """S1AP-PDU CHOICE alternatives in order (index as in aper.split_pdu), from pycrate."""
    return tuple(pycrate_libs.S1AP.S1AP_PDU_Descriptions.S1AP_PDU._cont.keys())


def pycrate_procedures() -> dict[tuple[int, int], tuple[str, dict]]:
    """{(PDU type index, procedure code): (message name, {IE id: pycrate value type})}."""
    procs = pycrate_libs.S1AP.S1AP_PDU_Descriptions.S1AP_ELEMENTARY_PROCEDURES._val
    out: dict[tuple[int, int], tuple[str, dict]] = {}
    for proc in list(procs.root) + list(procs.ext or []):
        for index, pdu_type in enumerate(pycrate_pdu_types()):
            message = proc.get(_class_field(pdu_type))
            if message is not None:
                name = message._typeref.called[1]
                out[(index, proc["procedureCode"])] = (name, _ie_types(message))
    return out


def wanted_table(procedures: dict, wanted: frozenset) -> dict[tuple[int, int], tuple[str, dict]]:
    """`pycrate_procedures()` as `s1ap_table.PROCEDURES` holds it: the type names of the
    wanted IEs only, e.g. {(0, 12): ('InitialUEMessage', {8: 'ENB-UE-S1AP-ID', ...})}."""
    return {key: (name, {i: type_name(t) for i, t in types.items() if i in wanted})
            for key, (name, types) in sorted(procedures.items())}


class S1APSchema:
    """Lookup of (PDU type index, procedure code) -> (message name, IE value types).

    Names and codes come from the generated table; the pycrate types (`procedure`,
    `ie_type`) are built on first use, which imports pycrate.
    """

    __slots__ = ("_types",)

    def __init__(self) -> None:
        self._types: dict[tuple[int, int], tuple[str, dict]] | None = None

    @property
    def _procedures(self) -> dict[tuple[int, int], tuple[str, dict]]:
        """{(PDU type index, procedure code): (name, {IE id: pycrate type})}, built once."""
        if self._types is None:
            self._types = pycrate_procedures()
        return self._types

    def procedure(self, pdu_index: int, code: int) -> tuple[str, dict] | None:
        """(message name, {IE id: pycrate value type}) of a PDU, or None if the procedure
        is unknown (imports pycrate)."""
        return self._procedures.get((pdu_index, code))

    def ie_type(self, pdu_index: int, code: int, ie_id: int):
        """The pycrate object of one IE's value type in a known message (imports pycrate)."""
        return self._procedures[(pdu_index, code)][1][ie_id]

    def message_codes(self) -> dict[str, tuple[str, int]]:
        """{message name: (PDU type, procedure code)}, e.g. 'InitialUEMessage': ('initiatingMessage', 12)."""
        return {name: (PDU_TYPES[index], code)
                for (index, code), (name, _names) in PROCEDURES.items()}
