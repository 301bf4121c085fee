"""S1AP (TS 36.413) and NGAP (TS 38.413) encoding and decoding with pycrate.

Messages are named as in the spec (`InitialUEMessage`, `PathSwitchRequest`)
and their IEs by the spec's IE id names (`id-eNB-UE-S1AP-ID`); procedure
codes, IE ids, criticalities and value types are all read from pycrate's
compiled ASN.1 (§9.3 elementary procedures and PDU contents), so this
module holds no protocol numbers of its own.

pycrate is not thread-safe and its PDU object is shared: one `S1APCodec`
(and one `NGAPCodec`) per process.  Both protocols share the layout (PDU, elementary
procedures, protocol IE containers), so one class serves both.
"""

from __future__ import annotations

from typing import Any

from pycrate_asn1dir import NGAP, S1AP

_OUTCOMES = (("InitiatingMessage", "initiatingMessage"),
             ("SuccessfulOutcome", "successfulOutcome"),
             ("UnsuccessfulOutcome", "unsuccessfulOutcome"))


def _ie_set(contents, message: str):
    """The pycrate IE information object set of `message` (two spellings in the ASN.1)."""
    obj = getattr(contents, message + "IEs", None) or getattr(contents, message + "_IEs")
    val = obj.get_val()
    return list(val.root) + list(val.ext or ())


class S1APCodec:
    """Encodes S1AP PDUs from (message name, [(IE id name, value)]) and decodes them back."""

    __slots__ = ("_pdu", "_procedures", "_ies", "_contents")
    _MODULE, _PREFIX = S1AP, "S1AP"

    def __init__(self) -> None:
        m, prefix = self._MODULE, self._PREFIX
        descriptions = getattr(m, f"{prefix}_PDU_Descriptions")
        self._pdu = getattr(descriptions, f"{prefix}_PDU")
        self._contents = getattr(m, f"{prefix}_PDU_Contents")
        self._procedures: dict[str, tuple[str, int, str]] = {}
        eps = getattr(descriptions, f"{prefix}_ELEMENTARY_PROCEDURES").get_val()
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
                     for o in _ie_set(self._contents, message)
                     if o["Value"]._typeref is not None}  # inline types: never sent here
            self._ies[message] = table
        return table

    @classmethod
    def ie_id(cls, name: str) -> int:
        """Numeric id of an IE from its spec name, e.g. `id-EUTRAN-CGI` → 100."""
        constants = getattr(cls._MODULE, f"{cls._PREFIX}_Constants")
        return getattr(constants, name.replace("-", "_"))()

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


class NGAPCodec(S1APCodec):
    """The same for NGAP PDUs (IE names as in TS 38.413, e.g. `id-RAN-UE-NGAP-ID`)."""

    __slots__ = ()
    _MODULE, _PREFIX = NGAP, "NGAP"
