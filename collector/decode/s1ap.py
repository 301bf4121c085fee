"""S1AP (TS 36.413) decoder: one S1AP PDU in, SignallingEvents out.

Layout: `aper` splits the PDU and its IEs; the IE values we read and the NAS
inside are read by hand (`s1ap_fast`, `nas_eps_fast`), and by pycrate
(`s1ap_schema`, `nas_eps`) where the hand-written readers are in doubt, or
everywhere with `fast=False`.  Meaning (`s1ap_ies`, `nas_eps`): who (a
pseudonym, carried or correlated) and where (TAI, ECGI) for every message that
carries an identity or a location, the same set tshark reports.  Node-level
procedures (S1 SETUP, ENB/MME CONFIGURATION UPDATE) name no UE location and give
no event.

Identities are pseudonymised here; raw IMSI digits exist only inside one call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable

from collector.decode.aper import read_open, split_pdu
from collector.decode.aper_bits import Doubt
from collector.decode.nas_eps import NASEPSDecoder, NASInfo
from collector.decode.nas_eps_fast import EPSNASReader
from collector.decode.plmn import decode_tbcd, imsi_digits_ok
from collector.decode.pycrate_libs import aper_decode
from collector.decode.s1ap_fast import readers_for
from collector.decode.s1ap_ies import WANTED, S1APFacts, read_facts
from collector.decode.s1ap_schema import S1APSchema
from collector.events import SignallingEvent
from collector.identity import Correlator, Subscriber

# messages whose NAS-PDU comes from the UE (§9.1.7.1 INITIAL UE MESSAGE, §9.1.7.3 UPLINK NAS TRANSPORT)
UPLINK_NAS = frozenset({"InitialUEMessage", "UplinkNASTransport"})
# messages with an eNB-UE-S1AP-ID the eNB has just allocated (§8.6.2.1, §8.4.4.2, §8.4.2.2)
NEW_ENB_ID = frozenset({"InitialUEMessage", "PathSwitchRequest", "HandoverRequestAcknowledge"})
# messages with an MME-UE-S1AP-ID the MME has just allocated for a target eNB (§8.4.2.2)
NEW_MME_ID = frozenset({"HandoverRequest"})
# the location named is the handover target, not the UE's cell (§8.4.1, §8.4.2)
HANDOVER_TARGET = frozenset({"HandoverRequired", "HandoverRequest"})
# the UE-associated logical S1-connection is gone (§8.3.3.2)
RELEASED = frozenset({"UEContextReleaseComplete"})
_NEW_IDS = NEW_ENB_ID | NEW_MME_ID


class S1APDecoder:
    """`(payload, assoc, frame, time) -> (events, drop reason | None)`; never raises on bad bytes.

    A reason returned with events means a part was dropped (the NAS-PDU) and the
    S1AP part still gave its event.  `fast=False` reads everything with pycrate (the
    reference the hand-written readers are tested against).  `decoded` counts the IE
    values and NAS-PDUs read, by element; `fallback` those pycrate read instead.
    """

    __slots__ = ("_pseudonymize", "_correlator", "_schema", "_nas", "_nas_fast", "_fast",
                 "_readers", "decoded", "fallback")

    def __init__(self, pseudonymizer: Callable[[str], int], correlator: Correlator,
                 fast: bool = True) -> None:
        self._pseudonymize = pseudonymizer
        self._correlator = correlator
        self._schema = S1APSchema()
        self._nas = NASEPSDecoder(pseudonymizer)
        self._nas_fast = EPSNASReader(pseudonymizer) if fast else None
        self._fast = fast
        # (PDU type, procedure code) -> {IE id: (type name, hand-written reader | None)}
        self._readers: dict[tuple[int, int], dict] = {}
        self.decoded: Counter[str] = Counter()
        self.fallback: Counter[str] = Counter()

    def __call__(self, payload: bytes, assoc: Hashable, frame: int,
                 time: float) -> tuple[list[SignallingEvent], str | None]:
        """Decode one S1AP PDU of association `assoc` seen in `frame` at capture `time`."""
        read = self.facts(payload)
        if isinstance(read, str):
            return [], read
        return self.attribute(read, assoc, frame, time)

    def facts(self, payload: bytes) -> tuple | str:
        """Everything one PDU says before correlation, or a reason: `(name, S1APFacts,
        NASInfo | None, paging subscriber, reason)`.  Pure (the bytes and the key only);
        the NAS-PDUs and the paging IMSI are read and dropped here, so what is returned
        holds pseudonyms only and may cross process boundaries."""
        read = self.ies_facts(payload)
        if isinstance(read, str):
            return read
        name, f = read
        nas, reason = self._decode_nas(f.nas_pdus, name in UPLINK_NAS)
        f.nas_pdus = []
        paging = None
        if f.paging_imsi is not None:
            paging, f.paging_imsi = self._subscriber_of_tbcd(f.paging_imsi), b""
        return name, f, nas, paging, reason

    def attribute(self, read: tuple, assoc: Hashable, frame: int,
                  time: float) -> tuple[list[SignallingEvent], str | None]:
        """The event of what `facts` read, attributed through the correlation tables."""
        name, facts, nas, paging, reason = read
        sub = self._attribute(name, facts, nas, paging, assoc, time)
        named = facts.s_tmsi is not None or facts.paging_imsi is not None
        if nas is not None:
            named = named or nas.has_identity or nas.has_tai
        if not (facts.located or named):  # the rows tshark reports (captures/README.md)
            return [], reason
        event = SignallingEvent(
            frame, time, "s1ap", name, nas=nas.name if nas else None,
            subscriber=sub.pseudonym if sub else None, home_mcc=sub.home_mcc if sub else None,
            plmn=facts.plmn, tac=facts.tac, cell=facts.cell,
            rat="eutran" if facts.cell is not None else None, off=bool(nas and nas.off),
            target=name in HANDOVER_TARGET)
        return [event], reason

    def ies_facts(self, payload: bytes) -> tuple[str, S1APFacts] | str:
        """(message name, S1APFacts with the raw NAS-PDUs) of one S1AP PDU, or a reason."""
        head = split_pdu(payload)
        if isinstance(head, str):
            return head
        proc = self._schema.procedure(head[0], head[1])
        if proc is None:
            return "unsupported"
        name, ie_types = proc
        readers = self._readers.get(head[:2])
        if readers is None:
            readers = self._readers[head[:2]] = readers_for(ie_types, WANTED)
        values = self._decode_ies(head[2], ie_types, readers)
        return values if isinstance(values, str) else (name, read_facts(values))

    def _decode_ies(self, body: bytes, ie_types: dict, readers: dict) -> dict | str:
        """{IE id: value} of the WANTED IEs of a message, or a reason.

        The container walk of `aper.split_ies`, inlined for the short-form lengths
        nearly every IE has (the general `read_open` for the others)."""
        size = len(body)
        if size < 3:
            return "bad_asn1"
        count, off, values = (body[1] << 8) | body[2], 3, {}
        for _ in range(count):
            if off + 4 > size:
                return "bad_asn1"
            ie_id = (body[off] << 8) | body[off + 1]
            first = body[off + 3]
            if first < 0x80:
                start, off = off + 4, off + 4 + first
                if off > size:
                    return "bad_asn1"
                entry = readers.get(ie_id)
                if entry is None or ie_id in values:
                    continue
                raw = body[start:off]
            else:
                opened = read_open(body, off + 3)
                if opened is None:
                    return "bad_asn1"
                raw, off = opened
                entry = readers.get(ie_id)
                if entry is None or ie_id in values:
                    continue
            if self._fast:
                kind, read = entry
                self.decoded[kind] += 1
                if read is not None:
                    try:
                        values[ie_id] = read(raw)
                        continue
                    except Doubt:
                        pass
                self.fallback[kind] += 1
            value, reason = aper_decode(ie_types[ie_id], raw)
            if reason:
                return reason
            values[ie_id] = value
        return values

    def _read_nas(self, pdu: bytes, uplink: bool) -> tuple[NASInfo | None, str | None]:
        """One NAS-PDU, by hand unless in doubt."""
        if self._nas_fast is not None:
            self.decoded["NAS-PDU EPS NAS"] += 1
            try:
                return self._nas_fast(pdu, uplink)
            except Doubt as doubt:
                self.fallback[f"NAS-PDU EPS NAS ({doubt})"] += 1
        return self._nas(pdu, uplink)

    def _decode_nas(self, pdus: list[bytes], uplink: bool) -> tuple[NASInfo | None, str | None]:
        """The NAS message of an S1AP message: the first EMM one, else the first ESM one.

        Its identity, GUTI and TAI facts are merged from all the PDUs.
        """
        infos, reason = [], None
        for pdu in pdus:
            info, why = self._read_nas(pdu, uplink)
            if info is None:
                reason = reason or why
            else:
                infos.append(info)
        if not infos:
            return None, reason
        main = next((i for i in infos if i.emm), infos[0])
        for other in infos:
            if other is not main:
                main.subscriber = main.subscriber or other.subscriber
                main.tmsi = main.tmsi or other.tmsi
                main.new_tmsi = main.new_tmsi or other.new_tmsi
                main.has_tai = main.has_tai or other.has_tai
        return main, reason

    def _attribute(self, name: str, f: S1APFacts, nas: NASInfo | None,
                   paging: Subscriber | None, assoc: Hashable, now: float) -> Subscriber | None:
        """The subscriber of a message (carried, else correlated) and what it teaches."""
        corr = self._correlator
        sub = nas.subscriber if nas else None
        if sub is None:
            sub = paging
        if sub is None:  # the connection, unless its id was just allocated
            enb = None if name in NEW_ENB_ID else f.enb_id
            mme = f.source_mme_id if name == "PathSwitchRequest" else f.mme_id
            mme = None if name in NEW_MME_ID else mme
            if enb is not None or mme is not None:
                sub = corr.ue_lookup(assoc, enb, mme, now)
        tmsi = f.s_tmsi or (nas.tmsi if nas else None)
        if sub is None and tmsi is not None:
            sub = corr.tmsi_lookup(tmsi[0], tmsi[1], now)
        for address, teid in f.bearers:
            sub = sub or corr.bearer_lookup(address, teid, now)
        self._learn(name, f, nas, sub, assoc, now)
        return sub

    def _learn(self, name: str, f: S1APFacts, nas: NASInfo | None, sub: Subscriber | None,
               assoc: Hashable, now: float) -> None:
        corr = self._correlator
        if name in RELEASED:
            corr.ue_release(assoc, f.enb_id, f.mme_id)
        elif (f.enb_id is not None and f.mme_id is not None) or name in _NEW_IDS:
            corr.ue_learn(assoc, f.enb_id, f.mme_id, sub, now)
        if sub is None:
            return
        if nas is not None and nas.new_tmsi is not None:
            corr.tmsi_learn(nas.new_tmsi[0], nas.new_tmsi[1], sub, now)
        for address, teid in f.bearers:
            corr.bearer_learn(address, teid, sub, now)

    def _subscriber_of_tbcd(self, octets: bytes) -> Subscriber | None:
        digits = decode_tbcd(octets)
        if digits is None or not imsi_digits_ok(digits):
            return None
        return Subscriber(self._pseudonymize(digits), digits[:3])

    def __repr__(self) -> str:
        return f"S1APDecoder({self._correlator!r})"
