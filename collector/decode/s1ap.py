"""S1AP (TS 36.413) decoder: one S1AP PDU in, SignallingEvents out.

Layout: one pass over the IE container reads the wanted IEs of the usual
procedures (`s1ap_walk`); the other messages, and any the walk is in doubt
about, are split by `aper` and read IE by IE by hand (`s1ap_fast`), by pycrate
(`s1ap_schema`) where those readers doubt, or everywhere with `fast=False`; the
NAS inside by hand (`nas_eps_fast`) or by pycrate (`nas_eps`).  Names, codes and IE
types come from the generated `s1ap_table`: pycrate is imported on its first use
only, so a capture the hand-written readers cover never imports it.  Meaning
(`s1ap_ies`, `nas_eps`): who (a pseudonym, carried or correlated) and where (TAI,
ECGI) for every message that carries an identity or a location, the same set
tshark reports.  Node-level procedures (S1 SETUP, ENB/MME CONFIGURATION UPDATE)
name no UE location and give no event.

Identities are pseudonymised here; raw IMSI digits exist only inside one call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable

from collector.decode.aper import split_ies, split_pdu
from collector.decode.aper_bits import Doubt
from collector.decode.nas_eps import NASEPSDecoder, NASInfo
from collector.decode.nas_eps_fast import EPSNASReader
from collector.decode.plmn import decode_tbcd, imsi_digits_ok
from collector.decode.pycrate_libs import aper_decode
from collector.decode.s1ap_fast import readers_for
from collector.decode.s1ap_ies import WANTED, S1APFacts, S1APRead, read_facts
from collector.decode.s1ap_schema import S1APSchema
from collector.decode.s1ap_table import PROCEDURES
from collector.decode.s1ap_walk import KINDS, S1APWalk
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


# the same sets as bits of S1APRead.flags, one int per procedure
F_NEW_ENB, F_NEW_MME, F_PATH_SWITCH, F_RELEASED, F_NEW_IDS, F_TARGET, F_EMPTY = (
    1 << i for i in range(7))
_NEW_TUPLE = tuple.__new__  # an S1APRead without the Python-level __new__ of NamedTuple
_MAX_ASSOCS = 1 << 16  # associations numbered by `attribute` before the numbering restarts
_PAGING = bytes([0x00, 10])  # initiatingMessage, procedure code id-Paging (§9.3.7)
_PAGING_MEMO = 4096  # PAGING PDUs remembered (a page reaches each eNB within a moment)


def procedure_flags(name: str) -> int:
    """F_* bits of a message name."""
    return ((F_NEW_ENB if name in NEW_ENB_ID else 0) | (F_NEW_MME if name in NEW_MME_ID else 0)
            | (F_PATH_SWITCH if name == "PathSwitchRequest" else 0)
            | (F_RELEASED if name in RELEASED else 0) | (F_NEW_IDS if name in _NEW_IDS else 0)
            | (F_TARGET if name in HANDOVER_TARGET else 0))


class _Plan:
    """How one (PDU type, procedure code) is read, prepared once."""

    __slots__ = ("name", "flags", "uplink", "ie_types", "kinds", "empty")

    def __init__(self, name: str, ie_types: dict[int, str]) -> None:
        self.name, self.ie_types = name, ie_types  # {wanted IE id: type name}
        self.flags = procedure_flags(name)
        self.uplink = name in UPLINK_NAS
        wanted = WANTED.intersection(ie_types)
        # {IE id: K_ bit} when the fast walk reads every wanted IE, else None (careful path)
        self.kinds = {i: KINDS[i] for i in wanted} if wanted <= KINDS.keys() else None
        # no wanted IE (S1 SETUP, ...): no row, nothing to correlate; read no further
        self.empty = None if wanted else _NEW_TUPLE(S1APRead, (
            name, self.flags | F_EMPTY, None, None, None, None, None, None, None, (), None, None,
            None, False, False, None, None, False))


class S1APDecoder:
    """`(payload, assoc, frame, time) -> (events, drop reason | None)`; never raises on bad bytes.

    Two halves: `facts(payload)` is pure (the bytes and the key: APER walk, NAS,
    pseudonyms) and returns an `S1APRead` or a reason; `attribute(read, assoc,
    frame, time)` applies the correlation tables in message order.  A reason
    returned with events means a part was dropped (the NAS-PDU) and the S1AP part
    still gave its event.  `fast=False` reads everything with pycrate (the
    reference the hand-written readers are tested against).  `decoded` counts the
    IE values and NAS-PDUs read, by element; `fallback` those pycrate read instead.
    """

    __slots__ = ("_pseudonymize", "_correlator", "_schema", "_nas", "_nas_fast", "_fast",
                 "_plans", "_walk", "_readers", "_names", "_walked", "_careful", "fallback",
                 "_assocs", "_next_assoc", "_paging", "_seen")

    def __init__(self, pseudonymizer: Callable[[str], int], correlator: Correlator,
                 fast: bool = True) -> None:
        self._pseudonymize = pseudonymizer
        self._correlator = correlator
        self._schema = S1APSchema()
        self._nas = NASEPSDecoder(pseudonymizer)
        self._nas_fast = EPSNASReader(pseudonymizer) if fast else None
        self._fast = fast
        # (PDU type << 8 | procedure code) -> _Plan
        self._plans = {index << 8 | code: _Plan(name, ie_types)
                       for (index, code), (name, ie_types) in PROCEDURES.items()}
        self._walk = S1APWalk()
        # careful path: (PDU type, procedure code) -> {IE id: (type name, reader | None)}
        self._readers: dict[tuple[int, int], dict] = {}
        # K_ bit -> IE type name, for `decoded`; fast walks counted by their `seen` mask
        self._names = {KINDS[i]: t for _n, types in PROCEDURES.values()
                       for i, t in types.items() if i in KINDS}
        self._walked: Counter[int] = Counter()
        self._careful: Counter[str] = Counter()
        self.fallback: Counter[str] = Counter()
        # association -> number, the key of the correlation tables: an association tuple
        # (fresh address bytes in every message) is hashed once per message, not per lookup
        self._assocs: dict[Hashable, int] = {}
        self._next_assoc = 0
        self._paging: dict[bytes, tuple[S1APRead, int]] = {}  # PAGING bytes -> (read, seen)
        self._seen: int | None = None

    @property
    def decoded(self) -> Counter[str]:
        """IE values and NAS-PDUs read, by element (hand-written or by pycrate)."""
        out = Counter(self._careful)
        for seen, count in self._walked.items():
            for bit, name in self._names.items():
                if seen & bit:
                    out[name] += count
        return out

    def __call__(self, payload: bytes, assoc: Hashable, frame: int,
                 time: float) -> tuple[list[SignallingEvent], str | None]:
        """Decode one S1AP PDU of association `assoc` seen in `frame` at capture `time`."""
        read = self.facts(payload)
        if read.__class__ is str:
            return [], read
        return self.attribute(read, assoc, frame, time)

    def facts(self, payload: bytes) -> S1APRead | str:
        """Everything one PDU says before correlation (`S1APRead`), or a reason.

        Pure (the bytes and the key only): the NAS-PDUs and the paging IMSI are read
        and dropped here, so what is returned holds pseudonyms only and may cross
        process boundaries.  A PAGING goes to every eNB of the tracking areas paged,
        the same bytes on each association: read once, remembered by its bytes unless
        it names the subscriber (a pseudonym depends on the key in use).
        """
        if payload.startswith(_PAGING):
            memo = self._paging.get(payload)
            if memo is not None:
                self._walked[memo[1]] += 1
                return memo[0]
            self._seen = None
            read = self._facts(payload)
            if read.__class__ is S1APRead and read.subscriber is None and self._seen is not None:
                if len(self._paging) >= _PAGING_MEMO:
                    self._paging.clear()
                self._paging[payload] = (read, self._seen)
            return read
        return self._facts(payload)

    def _facts(self, payload: bytes) -> S1APRead | str:
        size = len(payload)
        if size < 4:
            return "bad_asn1"
        first = payload[0]
        if first & 0x80:  # extension of the S1AP-PDU CHOICE: none is defined
            return "unsupported"
        length = payload[3]  # the message's open type (X.691 §10.2)
        if length < 0x80:
            start, end = 4, 4 + length
        elif length < 0xC0 and size > 4:
            start, end = 5, 5 + (((length & 0x3F) << 8) | payload[4])
        else:
            return self._careful_facts(payload)  # fragmented, or cut short
        if end > size:
            return "bad_asn1"
        plan = self._plans.get(((first >> 5) & 3) << 8 | payload[1])
        if plan is None:
            return "unsupported"
        if plan.empty is not None:  # nothing to read, but a malformed container is counted so
            ies = split_ies(payload[start:end])
            return ies if ies.__class__ is str else plan.empty
        if plan.kinds is None or not self._fast:
            return self._careful_facts(payload)
        read = self._walk.walk(payload[start:end], plan.kinds)
        if read is None:  # in doubt
            return self._careful_facts(payload)
        if read.__class__ is str:
            return read
        seen, enb, mme, source, nas_pdus, plmn, tac, cell, s_tmsi, paging_imsi, bearers = read
        self._walked[seen] += 1
        self._seen = seen  # (for the PAGING memo: what a repeat counts as read)
        if nas_pdus is None and paging_imsi is None:
            return _NEW_TUPLE(S1APRead, (
                plan.name, plan.flags, enb, mme, source, plmn, tac, cell, s_tmsi, bearers, None,
                None, None, s_tmsi is not None or plmn is not None or tac is not None
                or cell is not None, False, None, None, False))
        return self._finish(plan, enb, mme, source, nas_pdus, plmn, tac, cell, s_tmsi,
                            paging_imsi, bearers)

    def _finish(self, plan: _Plan, enb: int | None, mme: int | None, source: int | None,
                nas_pdus: list | None, plmn: str | None, tac: int | None, cell: int | None,
                s_tmsi: tuple | None, paging_imsi: bytes | None, bearers: tuple) -> S1APRead:
        """The S1APRead of a message's S1AP facts: its NAS read, its paging IMSI pseudonymised."""
        nas = sub = tmsi = new_tmsi = reason = imei_tac = None
        named, off, psm = s_tmsi is not None or paging_imsi is not None, False, False
        if nas_pdus:
            info, reason = self._decode_nas(nas_pdus, plan.uplink)
            if info is not None:
                nas, sub, tmsi, new_tmsi, off, imei_tac, psm = (
                    info.name, info.subscriber, info.tmsi, info.new_tmsi, info.off, info.imei_tac,
                    info.psm)
                named = named or info.has_identity or info.has_tai
        if sub is None and paging_imsi is not None:
            sub = self._subscriber_of_tbcd(paging_imsi)
        row = named or plmn is not None or tac is not None or cell is not None
        return _NEW_TUPLE(S1APRead, (
            plan.name, plan.flags, enb, mme, source, plmn, tac, cell, s_tmsi or tmsi, bearers,
            nas, sub, new_tmsi, row, off, reason, imei_tac, psm))

    def _careful_facts(self, payload: bytes) -> S1APRead | str:
        """`facts` IE by IE: the hand-written readers where they are sure, pycrate elsewhere."""
        read = self.ies_facts(payload)
        if isinstance(read, str):
            return read
        _name, f = read
        head = split_pdu(payload)
        plan = self._plans[head[0] << 8 | head[1]]
        return self._finish(plan, f.enb_id, f.mme_id, f.source_mme_id, f.nas_pdus, f.plmn, f.tac,
                            f.cell, f.s_tmsi, f.paging_imsi, tuple(f.bearers))

    def attribute(self, read: S1APRead, assoc: Hashable, frame: int,
                  time: float) -> tuple[list[SignallingEvent], str | None]:
        """The event of what `facts` read, attributed through the correlation tables."""
        (name, flags, enb, mme, source, plmn, tac, cell, tmsi, bearers, nas, sub, new_tmsi, row,
         off, reason, imei_tac, psm) = read
        if flags & F_EMPTY:
            return [], reason
        corr = self._correlator
        number = self._assocs.get(assoc)
        assoc = self._number(assoc) if number is None else number
        if sub is None:  # carried, else the connection (unless its id was just allocated)
            look_enb = None if flags & F_NEW_ENB else enb
            look_mme = None if flags & F_NEW_MME else source if flags & F_PATH_SWITCH else mme
            if look_enb is not None or look_mme is not None:
                sub = corr.ue_lookup(assoc, look_enb, look_mme, time)
            if sub is None and tmsi is not None:
                sub = corr.tmsi_lookup(tmsi[0], tmsi[1], time)
            for address, teid in bearers:
                sub = sub or corr.bearer_lookup(address, teid, time)
        # a connection whose UE switched off: its release is off too
        off = corr.connection_off(assoc, enb, bool(flags & F_NEW_ENB), sub, off, time)
        if flags & F_PATH_SWITCH and source is not None:  # the source side is released
            corr.ue_switched(source, time)
        if flags & F_RELEASED:  # what the message teaches
            corr.ue_release(assoc, enb, mme)
        elif (enb is not None and mme is not None) or flags & F_NEW_IDS:
            corr.ue_learn(assoc, enb, mme, sub, time)
        if sub is not None:
            if new_tmsi is not None:
                corr.tmsi_learn(new_tmsi[0], new_tmsi[1], sub, time)
            for address, teid in bearers:
                corr.bearer_learn(address, teid, sub, time)
        if not row:  # the rows tshark reports (captures/README.md)
            return [], reason
        return [SignallingEvent(
            frame, time, "s1ap", name, nas, None if sub is None else sub.pseudonym,
            None if sub is None else sub.home_mcc, plmn, tac, cell,
            None if cell is None else "eutran", off, bool(flags & F_TARGET), imei_tac, psm)], reason

    def state(self) -> list:
        """The association numbers (the correlation tables' keys), for a snapshot: a
        restored run that numbered associations afresh would look UEs up under others'."""
        return [list(self._assocs.items()), self._next_assoc]

    def restore(self, state: list) -> None:
        """Take back a `state()`."""
        items, self._next_assoc = state
        self._assocs = {assoc: number for assoc, number in items}

    def _number(self, assoc: Hashable) -> int:
        """A new number for an association; numbers are never reused, so a restart of the
        numbering (bounded table) only leaves the old bindings to expire."""
        if len(self._assocs) >= _MAX_ASSOCS:
            self._assocs.clear()
        number = self._assocs[assoc] = self._next_assoc
        self._next_assoc += 1
        return number

    def ies_facts(self, payload: bytes) -> tuple[str, S1APFacts] | str:
        """(message name, S1APFacts with the raw NAS-PDUs) of one S1AP PDU, or a reason:
        the careful path, IE by IE (and the reference, with `fast=False`)."""
        head = split_pdu(payload)
        if isinstance(head, str):
            return head
        key = head[:2]
        proc = PROCEDURES.get(key)
        if proc is None:
            return "unsupported"
        name, ie_types = proc
        readers = self._readers.get(key)
        if readers is None:
            readers = self._readers[key] = readers_for(ie_types, WANTED)
        values = self._decode_ies(head[2], key, readers)
        return values if isinstance(values, str) else (name, read_facts(values))

    def _decode_ies(self, body: bytes, key: tuple[int, int], readers: dict) -> dict | str:
        """{IE id: value} of the WANTED IEs of message `key` (PDU type, procedure code),
        or a reason; pycrate (imported then) decodes what no hand-written reader vouches for."""
        ies = split_ies(body)
        if isinstance(ies, str):
            return ies
        values: dict = {}
        for ie_id, raw in ies:
            entry = readers.get(ie_id)
            if entry is None or ie_id in values:
                continue
            if self._fast:
                kind, read = entry
                self._careful[kind] += 1
                if read is not None:
                    try:
                        values[ie_id] = read(raw)
                        continue
                    except Doubt:
                        pass
                self.fallback[kind] += 1
            value, reason = aper_decode(self._schema.ie_type(*key, ie_id), raw)
            if reason:
                return reason
            values[ie_id] = value
        return values

    def _read_nas(self, pdu: bytes, uplink: bool) -> tuple[NASInfo | None, str | None]:
        """One NAS-PDU, by hand unless in doubt."""
        if self._nas_fast is not None:
            self._careful["NAS-PDU EPS NAS"] += 1
            try:
                return self._nas_fast(pdu, uplink)
            except Doubt as doubt:
                self.fallback[f"NAS-PDU EPS NAS ({doubt})"] += 1
        return self._nas(pdu, uplink)

    def _decode_nas(self, pdus: list[bytes], uplink: bool) -> tuple[NASInfo | None, str | None]:
        """The NAS message of an S1AP message: the first EMM one, else the first ESM one.

        Its identity, GUTI and TAI facts are merged from all the PDUs.
        """
        if len(pdus) == 1:
            return self._read_nas(pdus[0], uplink)
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
                main.imei_tac = main.imei_tac or other.imei_tac
                main.psm = main.psm or other.psm
        return main, reason

    def _subscriber_of_tbcd(self, octets: bytes) -> Subscriber | None:
        digits = decode_tbcd(octets)
        if digits is None or not imsi_digits_ok(digits):
            return None
        return Subscriber(self._pseudonymize(digits), digits[:3])

    def __repr__(self) -> str:
        return f"S1APDecoder({self._correlator!r})"
