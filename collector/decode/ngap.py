"""NGAP (TS 38.413) decoder: one NGAP PDU in, SignallingEvents out.

Layout: `aper` splits the PDU and its IEs (NGAP shares the S1AP layout, §9.4),
pycrate decodes the IE values we read (`ngap_schema`, `ngap_ies`) and the 5GS NAS
inside (`nas_5gs`).  Meaning: who (a pseudonym, carried or correlated) and where
(NR CGI or E-UTRA CGI, TAI) for every message that carries an identity or a
location, the set of rows tshark reports (tests/golden/captures/README.md).
Node-level procedures (NG SETUP, RAN/AMF CONFIGURATION UPDATE) name no UE location
and give no event.  The TAI lists inside 5GS NAS (Registration accept) say where a
UE may go without registering, not where it is: they make no event on their own.

Identities are pseudonymised in `nas_5gs`; a SUPI exists only inside one call.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from collector.decode.aper import split_ies, split_pdu
from collector.decode.nas_5gs import NAS5GSDecoder, NAS5GSInfo
from collector.decode.ngap_ies import WANTED, NGAPFacts, read_facts
from collector.decode.ngap_schema import NGAPSchema
from collector.decode.pycrate_libs import aper_decode
from collector.events import SignallingEvent
from collector.identity import Correlator, Subscriber

# messages with a RAN-UE-NGAP-ID the NG-RAN node has just allocated (§8.6.1.2, §8.4.4.2, §8.4.2.2)
NEW_RAN_ID = frozenset({"InitialUEMessage", "PathSwitchRequest", "HandoverRequestAcknowledge"})
# messages with an AMF-UE-NGAP-ID the AMF has just allocated for a target node (§8.4.2.2)
NEW_AMF_ID = frozenset({"HandoverRequest"})
# the location named is the handover target, not the UE's cell (§8.4.1, §8.4.2)
HANDOVER_TARGET = frozenset({"HandoverRequired", "HandoverRequest"})
# the UE-associated logical NG-connection is gone (§8.3.3.2)
RELEASED = frozenset({"UEContextReleaseComplete"})
_NEW_IDS = NEW_RAN_ID | NEW_AMF_ID


class NGAPDecoder:
    """`(payload, assoc, frame, time) -> (events, drop reason | None)`; never raises on bad bytes.

    A reason returned with events means a part was dropped (a NAS-PDU that did not
    parse, or an identity `concealed` by a SUCI protection scheme that correlation
    could not make up for) and the NGAP part still gave its event.
    """

    __slots__ = ("_pseudonymize", "_correlator", "_schema", "_nas")

    def __init__(self, pseudonymizer: Callable[[str], int], correlator: Correlator) -> None:
        self._pseudonymize = pseudonymizer
        self._correlator = correlator
        self._schema = NGAPSchema()
        self._nas = NAS5GSDecoder(pseudonymizer)

    def __call__(self, payload: bytes, assoc: Hashable, frame: int,
                 time: float) -> tuple[list[SignallingEvent], str | None]:
        """Decode one NGAP PDU of association `assoc` seen in `frame` at capture `time`."""
        read = self.facts(payload)
        if isinstance(read, str):
            return [], read
        return self.attribute(read, assoc, frame, time)

    def facts(self, payload: bytes) -> tuple | str:
        """Everything one PDU says before correlation, or a reason: `(name, NGAPFacts,
        NAS5GSInfo | None, reason)`.  Pure (the bytes and the key only); the NAS-PDUs are
        read and dropped here, so what is returned may cross process boundaries."""
        head = split_pdu(payload)
        if isinstance(head, str):
            return head
        proc = self._schema.procedure(head[0], head[1])
        if proc is None:
            return "unsupported"
        name, ie_types = proc
        values = self._decode_ies(head[2], ie_types)
        if isinstance(values, str):
            return values
        facts = read_facts(values)
        nas, reason = self._decode_nas(facts.nas_pdus)
        facts.nas_pdus = []
        return name, facts, nas, reason

    def attribute(self, read: tuple, assoc: Hashable, frame: int,
                  time: float) -> tuple[list[SignallingEvent], str | None]:
        """The event of what `facts` read, attributed through the correlation tables."""
        name, facts, nas, reason = read
        sub = self._attribute(name, facts, nas, assoc, time)
        if nas is not None and nas.concealed and sub is None:
            reason = reason or "concealed"
        named = facts.s_tmsi is not None or (nas is not None and nas.has_identity)
        if not (facts.located or named):  # the rows tshark reports (captures/README.md)
            return [], reason
        event = SignallingEvent(
            frame, time, "ngap", name, nas=nas.name if nas else None,
            subscriber=sub.pseudonym if sub else None, home_mcc=sub.home_mcc if sub else None,
            plmn=facts.plmn, tac=facts.tac, cell=facts.cell, rat=facts.rat,
            off=bool(nas and nas.off), target=name in HANDOVER_TARGET)
        return [event], reason

    def _decode_ies(self, body: bytes, ie_types: dict) -> dict | str:
        """{IE id: value} of the WANTED IEs of a message, in IE order, or a reason."""
        ies = split_ies(body)
        if isinstance(ies, str):
            return ies
        values = {}
        for ie_id, raw in ies:
            if ie_id in WANTED and ie_id in ie_types and ie_id not in values:
                value, reason = aper_decode(ie_types[ie_id], raw)
                if reason:
                    return reason
                values[ie_id] = value
        return values

    def _decode_nas(self, pdus: list[bytes]) -> tuple[NAS5GSInfo | None, str | None]:
        """The NAS message of an NGAP message: the first 5GMM one, else the first one.

        Its identity and 5G-GUTI facts are merged from all the PDUs.
        """
        infos, reason = [], None
        for pdu in pdus:
            info, why = self._nas(pdu)
            if info is None:
                reason = reason or why
            else:
                infos.append(info)
        if not infos:
            return None, reason
        main = next((i for i in infos if i.mm), infos[0])
        for other in infos:
            if other is not main:
                main.subscriber = main.subscriber or other.subscriber
                main.tmsi = main.tmsi or other.tmsi
                main.new_tmsi = main.new_tmsi or other.new_tmsi
                main.suci = main.suci or other.suci
                main.concealed = main.concealed or other.concealed
                main.off = main.off or other.off
        return main, reason

    def _attribute(self, name: str, f: NGAPFacts, nas: NAS5GSInfo | None, assoc: Hashable,
                   now: float) -> Subscriber | None:
        """The subscriber of a message (carried, else correlated) and what it teaches."""
        corr = self._correlator
        sub = nas.subscriber if nas else None
        if sub is None:  # the connection, unless its id was just allocated
            ran = None if name in NEW_RAN_ID else f.ran_id
            amf = f.source_amf_id if name == "PathSwitchRequest" else f.amf_id
            amf = None if name in NEW_AMF_ID else amf
            if ran is not None or amf is not None:
                sub = corr.ngap_ue_lookup(assoc, ran, amf, now)
        tmsi = f.s_tmsi or (nas.tmsi if nas else None)
        if sub is None and tmsi is not None:
            sub = corr.tmsi5g_lookup(tmsi, now)
        self._learn(name, f, nas, sub, assoc, now)
        return sub

    def _learn(self, name: str, f: NGAPFacts, nas: NAS5GSInfo | None, sub: Subscriber | None,
               assoc: Hashable, now: float) -> None:
        corr = self._correlator
        amf = f.source_amf_id if name == "PathSwitchRequest" else f.amf_id
        if name in RELEASED:
            corr.ngap_ue_release(assoc, f.ran_id, f.amf_id)
        elif (f.ran_id is not None and amf is not None) or name in _NEW_IDS:
            corr.ngap_ue_learn(assoc, f.ran_id, amf, sub, now)
        if sub is not None and nas is not None and nas.new_tmsi is not None:
            corr.tmsi5g_learn(nas.new_tmsi, sub, now)

    def __repr__(self) -> str:
        return f"NGAPDecoder({self._correlator!r})"
