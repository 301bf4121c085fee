"""S1AP (TS 36.413) encoding and decoding with pycrate.

Messages are named as in the spec (`InitialUEMessage`, `PathSwitchRequest`)
and their IEs by the spec's IE id names (`id-eNB-UE-S1AP-ID`); procedure
codes, IE ids, criticalities and value types are all read from pycrate's
compiled ASN.1 (§9.3 elementary procedures and PDU contents), so this
module holds no protocol numbers of its own.

pycrate is not thread-safe and its PDU object is shared: one `S1APCodec`
per process.
"""

from __future__ import annotations

from typing import Any

from pycrate_asn1dir import S1AP

_OUTCOMES = (("InitiatingMessage", "initiatingMessage"),
             ("SuccessfulOutcome", "successfulOutcome"),
             ("UnsuccessfulOutcome", "unsuccessfulOutcome"))


def _ie_set(message: str):
    """The pycrate IE information object set of `message` (two spellings in the ASN.1)."""
    contents = S1AP.S1AP_PDU_Contents
    obj = getattr(contents, message + "IEs", None) or getattr(contents, message + "_IEs")
    val = obj.get_val()
    return list(val.root) + list(val.ext or ())


class S1APCodec:
    """Encodes S1AP PDUs from (message name, [(IE id name, value)]) and decodes them back."""

    __slots__ = ("_pdu", "_procedures", "_ies")

    def __init__(self) -> None:
        self._pdu = S1AP.S1AP_PDU_Descriptions.S1AP_PDU
        self._procedures: dict[str, tuple[str, int, str]] = {}
        eps = S1AP.S1AP_PDU_Descriptions.S1AP_ELEMENTARY_PROCEDURES.get_val()
        for ep in list(eps.root) + list(eps.ext or ()):
            for field, choice in _OUTCOMES:
                typ = ep.get(field)
                if typ is not None and typ._typeref is not None:
                    self._procedures[typ._typeref.called[1]] = (
                        choice, ep["procedureCode"], ep["criticality"])
        self._ies: dict[str, dict[int, tuple[str, str]]] = {}

    def _ie_table(self, message: str) -> dict[int, tuple[str, str]]:
        """{IE id: (criticality, value type name)} of `message`, built on first use."""
        table = self._ies.get(message)
        if table is None:
            table = {o["id"]: (o["criticality"], o["Value"]._typeref.called[1])
                     for o in _ie_set(message)}
            self._ies[message] = table
        return table

    @staticmethod
    def ie_id(name: str) -> int:
        """Numeric id of an IE from its spec name, e.g. `id-EUTRAN-CGI` → 100."""
        return getattr(S1AP.S1AP_Constants, name.replace("-", "_"))()

    def encode(self, message: str, ies: list[tuple[str, Any]]) -> bytes:
        """APER bytes of `message` with `ies` (IE id name, pycrate value), in that order."""
        choice, code, crit = self._procedures[message]
        table = self._ie_table(message)
        protocol_ies = []
        for name, value in ies:
            ident = self.ie_id(name)
            ie_crit, typ = table[ident]
            protocol_ies.append({"id": ident, "criticality": ie_crit, "value": (typ, value)})
        self._pdu.set_val((choice, {"procedureCode": code, "criticality": crit,
                                    "value": (message, {"protocolIEs": protocol_ies})}))
        return self._pdu.to_aper()

    def decode(self, buf: bytes) -> tuple[str, dict[int, Any]]:
        """(message name, {IE id: value}) of APER bytes; raises on bad input (tests only)."""
        self._pdu.from_aper(buf)
        _choice, body = self._pdu.get_val()
        message, content = body["value"]
        return message, {ie["id"]: ie["value"][1] for ie in content["protocolIEs"]}
