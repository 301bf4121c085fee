"""NGAP (TS 38.413) decoder: one NGAP PDU in, SignallingEvents out.

Layout: the PDU and its IE container are walked by hand (`aper`, NGAP shares the
S1AP layout, §9.4); the IE values we read and the 5GS NAS inside are read by hand
(`ngap_fast`, `nas_5gs_fast`), and by pycrate (`ngap_schema`, `nas_5gs`) where the
hand-written readers are in doubt, or everywhere with `fast=False`.  Meaning
(`ngap_ies`, `nas_5gs`): who (a pseudonym, carried or correlated) and where (NR CGI
or E-UTRA CGI, TAI) for every message that carries an identity or a location, the
set of rows tshark reports (tests/golden/captures/README.md).  Node-level
procedures (NG SETUP, RAN/AMF CONFIGURATION UPDATE) name no UE and no location:
their IE container is not walked, and they give no event.  The TAI lists inside
5GS NAS (Registration accept) say where a UE may go without registering, not
where it is: they make no event on their own.  A UE that switches off (UE-originated
Deregistration) is `off`, and so is the release of its connection that follows, whose
User Location Information names the cell it left from.

Decoding is two steps (`collector.decode.stage`): `facts` is pure (bytes and key
in, an `NGAPRead` out: pseudonyms, never identity digits, a SUPI exists only
inside one call) and `attribute` applies the correlation tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from typing import NamedTuple

from collector.decode.aper import read_open, split_ies, split_pdu
from collector.decode.aper_bits import Doubt
from collector.decode.nas_5gs import NAS5GSDecoder, NAS5GSInfo
from collector.decode.nas_5gs_fast import FiveGSNASReader
from collector.decode.ngap_fast import readers_for
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
NAS_ELEMENT = "NAS-PDU 5GS NAS"  # the name NAS-PDUs are counted under in decoded / fallback


class NGAPRead(NamedTuple):
    """What one NGAP PDU says before correlation (`NGAPDecoder.facts`): small, picklable,
    pseudonyms only.  The NAS fields are those of its NAS message (see `_decode_nas`)."""

    name: str                               # NGAP message, e.g. 'InitialUEMessage'
    ran_id: int | None = None
    amf_id: int | None = None
    source_amf_id: int | None = None
    plmn: str | None = None
    tac: int | None = None
    cell: int | None = None
    rat: str | None = None
    s_tmsi: tuple[int, int, int] | None = None   # NGAP 5G-S-TMSI / UE Paging Identity
    nas: str | None = None                  # NAS message name
    subscriber: Subscriber | None = None    # from a null-scheme SUCI
    tmsi: tuple[int, int, int] | None = None      # 5G-S-TMSI naming the UE in NAS
    new_tmsi: tuple[int, int, int] | None = None  # of a 5G-GUTI allocated in NAS
    concealed: bool = False
    off: bool = False
    named: bool = False                     # an identity is carried (NGAP or NAS)
    reason: str | None = None               # a part dropped (NAS), the NGAP part kept
    imei_tac: str | None = None             # TAC of an IMEI / IMEISV in the NAS (rest dropped)

    @property
    def located(self) -> bool:
        """True if the message names a PLMN, TAC or cell."""
        return self.plmn is not None or self.tac is not None or self.cell is not None


def _read(name: str, f: NGAPFacts, nas: NAS5GSInfo | None, reason: str | None) -> NGAPRead:
    if nas is None:
        return NGAPRead(name, f.ran_id, f.amf_id, f.source_amf_id, f.plmn, f.tac, f.cell, f.rat,
                        f.s_tmsi, named=f.s_tmsi is not None, reason=reason)
    return NGAPRead(name, f.ran_id, f.amf_id, f.source_amf_id, f.plmn, f.tac, f.cell, f.rat,
                    f.s_tmsi, nas.name, nas.subscriber, nas.tmsi, nas.new_tmsi, nas.concealed,
                    nas.off, f.s_tmsi is not None or nas.has_identity, reason, nas.imei_tac)


def wanted_ies(body: bytes, wanted: dict) -> list[tuple[int, bytes]] | str:
    """The IEs of a message whose id is in `wanted`, as (IE id, value bytes) in order, or a
    reason: `aper.split_ies` without copying the values not read."""
    end = len(body)
    if end < 3:
        return "bad_asn1"
    count, off, ies = (body[1] << 8) | body[2], 3, []
    for _ in range(count):
        if off + 4 > end:
            return "bad_asn1"  # id (2 octets), criticality (1), a length octet at least
        ie_id, first = (body[off] << 8) | body[off + 1], body[off + 3]
        if first < 0x80:
            start = off + 4
            off = start + first
        elif first < 0xC0 and off + 5 <= end:
            start = off + 5
            off = start + ((first & 0x3F) << 8 | body[off + 4])
        else:  # fragments (X.691 §11.9.3.8), or no second length octet
            opened = read_open(body, off + 3)
            if opened is None:
                return "bad_asn1"
            if ie_id in wanted:
                ies.append((ie_id, opened[0]))
            off = opened[1]
            continue
        if off > end:
            return "bad_asn1"
        if ie_id in wanted:
            ies.append((ie_id, body[start:off]))
    return ies


class NGAPDecoder:
    """`(payload, assoc, frame, time) -> (events, drop reason | None)`; never raises on bad bytes.

    A reason returned with events means a part was dropped (a NAS-PDU that did not
    parse, or an identity `concealed` by a SUCI protection scheme that correlation
    could not make up for) and the NGAP part still gave its event.  `fast=False` reads
    every IE value and NAS-PDU with pycrate (the reference the hand-written readers are
    tested against).  `decoded` counts the IE values and NAS-PDUs read, by element;
    `fallback` those pycrate read instead.
    """

    __slots__ = ("_pseudonymize", "_correlator", "_schema", "_nas", "_nas_fast", "_fast",
                 "_procedures", "decoded", "fallback")

    def __init__(self, pseudonymizer: Callable[[str], int], correlator: Correlator,
                 fast: bool = True) -> None:
        self._pseudonymize = pseudonymizer
        self._correlator = correlator
        self._schema = NGAPSchema()
        self._nas = NAS5GSDecoder(pseudonymizer)
        self._nas_fast = FiveGSNASReader(pseudonymizer) if fast else None
        self._fast = fast
        # (PDU type, procedure code) -> (name, {IE id: type}, {IE id: (type name, reader)}) | None
        self._procedures: dict[tuple[int, int], tuple | None] = {}
        self.decoded: Counter[str] = Counter()
        self.fallback: Counter[str] = Counter()

    def __call__(self, payload: bytes, assoc: Hashable, frame: int,
                 time: float) -> tuple[list[SignallingEvent], str | None]:
        """Decode one NGAP PDU of association `assoc` seen in `frame` at capture `time`."""
        read = self.facts(payload)
        if isinstance(read, str):
            return [], read
        return self.attribute(read, assoc, frame, time)

    def facts(self, payload: bytes) -> NGAPRead | str:
        """Everything one PDU says before correlation, or a reason.  Pure (the bytes and
        the key only); the NAS-PDUs are read and dropped here, so what is returned holds
        pseudonyms only and may cross process boundaries."""
        head = split_pdu(payload)
        if isinstance(head, str):
            return head
        key = head[:2]
        proc = self._procedures.get(key, False)
        if proc is False:
            proc = self._procedures[key] = self._procedure(key)
        if proc is None:
            return "unsupported"
        name, ie_types, readers = proc
        if not readers:  # a node-level procedure: no UE id, NAS-PDU or UE location in it
            ies = split_ies(head[2])  # nothing to read, but a malformed container is counted so
            return ies if isinstance(ies, str) else NGAPRead(name)
        values = self._decode_ies(head[2], ie_types, readers)
        if isinstance(values, str):
            return values
        f = read_facts(values)
        nas, reason = self._decode_nas(f.nas_pdus)
        return _read(name, f, nas, reason)

    def attribute(self, read: NGAPRead, assoc: Hashable, frame: int,
                  time: float) -> tuple[list[SignallingEvent], str | None]:
        """The event of what `facts` read, attributed through the correlation tables.

        A message on the connection of a UE that switched off (the release that follows
        the Deregistration) is `off` too: the location it carries is where the UE was.
        """
        sub, off = self._attribute(read, assoc, time)
        reason = read.reason
        if read.concealed and sub is None:
            reason = reason or "concealed"
        if not (read.named or read.located):  # the rows tshark reports (captures/README.md)
            return [], reason
        event = SignallingEvent(
            frame, time, "ngap", read.name, nas=read.nas,
            subscriber=sub.pseudonym if sub else None, home_mcc=sub.home_mcc if sub else None,
            plmn=read.plmn, tac=read.tac, cell=read.cell, rat=read.rat, off=off,
            target=read.name in HANDOVER_TARGET, imei_tac=read.imei_tac)
        return [event], reason

    def _procedure(self, key: tuple[int, int]) -> tuple | None:
        proc = self._schema.procedure(*key)
        if proc is None:
            return None
        return proc[0], proc[1], readers_for(proc[1], WANTED)

    def _decode_ies(self, body: bytes, ie_types: dict, readers: dict) -> dict | str:
        """{IE id: value} of the WANTED IEs of a message, in IE order, or a reason."""
        ies = wanted_ies(body, readers)
        if isinstance(ies, str):
            return ies
        values = {}
        for ie_id, raw in ies:
            if ie_id in values:
                continue
            if self._fast:
                kind, read = readers[ie_id]
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

    def _read_nas(self, pdu: bytes) -> tuple[NAS5GSInfo | None, str | None]:
        """One NAS-PDU, by hand unless in doubt."""
        if self._nas_fast is not None:
            self.decoded[NAS_ELEMENT] += 1
            try:
                return self._nas_fast(pdu)
            except Doubt as doubt:
                self.fallback[f"{NAS_ELEMENT} ({doubt})"] += 1
        return self._nas(pdu)

    def _decode_nas(self, pdus: list[bytes]) -> tuple[NAS5GSInfo | None, str | None]:
        """The NAS message of an NGAP message: the first 5GMM one, else the first one.

        Its identity and 5G-GUTI facts are merged from all the PDUs.
        """
        if not pdus:
            return None, None
        infos, reason = [], None
        for pdu in pdus:
            info, why = self._read_nas(pdu)
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
                main.imei_tac = main.imei_tac or other.imei_tac
        return main, reason

    def _attribute(self, r: NGAPRead, assoc: Hashable,
                   now: float) -> tuple[Subscriber | None, bool]:
        """The subscriber of a message (carried, else correlated), whether it is off the
        network, and what the message teaches."""
        corr = self._correlator
        name, sub = r.name, r.subscriber
        ran = None if name in NEW_RAN_ID else r.ran_id  # unless its id was just allocated
        if sub is None:  # the connection
            amf = r.source_amf_id if name == "PathSwitchRequest" else r.amf_id
            amf = None if name in NEW_AMF_ID else amf
            if ran is not None or amf is not None:
                sub = corr.ngap_ue_lookup(assoc, ran, amf, now)
        tmsi = r.s_tmsi or r.tmsi
        if sub is None and tmsi is not None:
            sub = corr.tmsi5g_lookup(tmsi, now)
        off = corr.connection_off(assoc, r.ran_id, name in NEW_RAN_ID, sub, r.off, now)
        self._learn(r, sub, assoc, now)
        return sub, off

    def _learn(self, r: NGAPRead, sub: Subscriber | None, assoc: Hashable, now: float) -> None:
        corr = self._correlator
        amf = r.source_amf_id if r.name == "PathSwitchRequest" else r.amf_id
        if r.name == "PathSwitchRequest" and amf is not None:  # the source side is released
            corr.ngap_ue_switched(amf, now)
        if r.name in RELEASED:
            corr.ngap_ue_release(assoc, r.ran_id, r.amf_id)
        elif (r.ran_id is not None and amf is not None) or r.name in _NEW_IDS:
            corr.ngap_ue_learn(assoc, r.ran_id, amf, sub, now)
        if sub is not None and r.new_tmsi is not None:
            corr.tmsi5g_learn(r.new_tmsi, sub, now)

    def __repr__(self) -> str:
        return f"NGAPDecoder({self._correlator!r})"
