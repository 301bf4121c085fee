"""Correlation tables: a subscriber seen once is carried to the messages that name
it only by a temporary id (DESIGN.md, "Signalling decoded").

Keys: the two ids of a UE-associated logical S1-connection (TS 36.413 §9.2.3.3
MME-UE-S1AP-ID, unique within its MME; §9.2.3.4 eNB-UE-S1AP-ID, unique within
its eNB, hence per SCTP association), the S-TMSI (MMEC + M-TMSI, TS 23.003)
and the S-GW F-TEID of an E-RAB (TS 36.413 §9.2.2.1-2).  A 5G-S-TMSI is kept
under the S-TMSI it maps to (`mapped_s_tmsi`): a phone moving between 4G and 5G
names itself by the GUTI mapped from the one it holds, so one table serves both.
Values are Subscriber tuples (pseudonym, home MCC): no raw identity is ever stored.

Every table is a bounded LRU; an entry not used for `ttl` seconds of capture time
expires.  A probe beside one MME sees one MME-UE-S1AP-ID space, so that id is
keyed without the association (a UE moved by X2 handover keeps its MME id on a
new association).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, NamedTuple


def mapped_s_tmsi(s_tmsi: tuple[int, int, int]) -> tuple[int, int]:
    """The S-TMSI (MMEC, M-TMSI) a 5G-S-TMSI (AMF Set ID, AMF Pointer, 5G-TMSI) maps to.

    TS 23.003 §2.10.2.2: MMEGI = AMF Region ID (8 bits) and the 8 most significant bits
    of the AMF Set ID; MMEC = the 2 least significant bits of the AMF Set ID and the AMF
    Pointer (6 bits); M-TMSI = 5G-TMSI.  The bits of the AMF Set ID that go into the
    MMEGI are dropped, as the S-TMSI keys drop the MMEGI (one MME pool seen).
    """
    aset, ptr, tmsi = s_tmsi
    return (aset & 0x3) << 6 | ptr & 0x3F, tmsi


class Subscriber(NamedTuple):
    """A subscriber as the collector knows it: pseudonym and home MCC (or None)."""

    pseudonym: int
    home_mcc: str | None


class BoundedTable:
    """LRU map with at most `max_entries` keys; entries expire `ttl` seconds after last use.

    Every operation is O(1): an OrderedDict in order of last use (a use moves its key
    to the end).  Expiry is exact on `get`; expired entries are purged from the front
    by `put`, lazily: only once capture time is more than `ttl` past `_oldest` (the
    last use of the front entry when the front was last looked at, a lower bound of
    the front's while capture time only grows), so most puts do not look at the front.
    """

    __slots__ = ("_items", "_max", "_ttl", "_oldest")

    def __init__(self, max_entries: int, ttl: float) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        if not ttl > 0:
            raise ValueError(f"ttl must be positive seconds, got {ttl}")
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._max, self._ttl = max_entries, ttl
        self._oldest = -math.inf

    def get(self, key: Hashable, now: float) -> Any:
        """The value of `key` (refreshing its age), or None if absent or expired."""
        items = self._items
        item = items.get(key)
        if item is None:
            return None
        if now - item[0] > self._ttl:
            del items[key]
            return None
        if now > item[0]:
            items[key] = (now, item[1])
        items.move_to_end(key)
        return item[1]

    def put(self, key: Hashable, value: Any, now: float) -> None:
        """Store `value` under `key`, evicting the least recently used and the expired."""
        items = self._items
        items[key] = (now, value)
        items.move_to_end(key)
        if len(items) > self._max:
            items.popitem(last=False)
        if now - self._oldest > self._ttl:
            self._purge(now)

    def _purge(self, now: float) -> None:
        """Drop the expired entries at the front (least recently used first)."""
        items, ttl = self._items, self._ttl
        while items:
            used = next(iter(items.values()))[0]
            if now - used <= ttl:
                self._oldest = used
                return
            items.popitem(last=False)
        self._oldest = -math.inf

    def state(self) -> list:
        """Entries in order of last use, (key, last use, value) each, and the purge bound,
        for a snapshot (collector.snapshot)."""
        return [[(k, t, v) for k, (t, v) in self._items.items()], self._oldest]

    def restore(self, state: list) -> None:
        """Take back a `state()`."""
        items, self._oldest = state
        self._items = OrderedDict((k, (t, v)) for k, t, v in items)

    def pop(self, key: Hashable) -> None:
        """Forget `key` if present."""
        self._items.pop(key, None)

    def pop_if(self, key: Hashable, value: Any) -> None:
        """Forget `key` if it is present with `value` (not if it was given to another)."""
        item = self._items.get(key)
        if item is not None and item[1] == value:
            del self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:  # sizes only, never keys or values
        return f"BoundedTable({len(self._items)}/{self._max}, ttl={self._ttl:g}s)"


class Correlator:
    """Correlation tables of one collector process (one decoder thread)."""

    __slots__ = ("_enb", "_mme", "_tmsi", "_bearer", "_ran", "_amf", "_guti")

    def __init__(self, max_entries: int = 1_000_000, ttl: float = 86_400.0) -> None:
        # (assoc, eNB id) -> (Subscriber | None, MME id | None)
        self._enb = BoundedTable(max_entries, ttl)
        # MME id -> (Subscriber | None, (assoc, eNB id) | None)
        self._mme = BoundedTable(max_entries, ttl)
        # (MMEC, M-TMSI) -> Subscriber, of S-TMSIs and of the 5G-S-TMSIs mapped to them
        self._tmsi = BoundedTable(max_entries, ttl)
        self._bearer = BoundedTable(max_entries, ttl)  # (address, TEID) -> Subscriber
        # NGAP, as _enb/_mme: (assoc, RAN id) -> (Subscriber | None, AMF id | None) and
        # AMF id -> (Subscriber | None, (assoc, RAN id) | None)
        self._ran = BoundedTable(max_entries, ttl)
        self._amf = BoundedTable(max_entries, ttl)
        # pseudonym -> (S-TMSI key in use, S-TMSI key allocated since and not used yet)
        self._guti = BoundedTable(max_entries, ttl)

    # UE-associated logical S1-connections (TS 36.413 §3.1, §9.2.3.3-4)

    def ue_lookup(self, assoc: Hashable, enb_id: int | None, mme_id: int | None,
                  now: float) -> Subscriber | None:
        """Subscriber of the connection named by its ids (either may be None).

        A binding whose recorded partner id contradicts the other id is stale (the
        id was allocated again) and is not used.
        """
        if enb_id is not None:
            entry = self._enb.get((assoc, enb_id), now)
            if entry is not None and (mme_id is None or entry[1] in (None, mme_id)):
                return entry[0]
        if mme_id is not None:
            entry = self._mme.get(mme_id, now)
            if entry is not None and (enb_id is None or entry[1] in (None, (assoc, enb_id))):
                return entry[0]
        return None

    def ue_learn(self, assoc: Hashable, enb_id: int | None, mme_id: int | None,
                 sub: Subscriber | None, now: float) -> None:
        """Bind the given ids of one connection to each other and to `sub` (None: not known yet)."""
        if enb_id is not None:
            self._enb.put((assoc, enb_id), (sub, mme_id), now)
        if mme_id is not None:
            self._mme.put(mme_id, (sub, None if enb_id is None else (assoc, enb_id)), now)

    def ue_release(self, assoc: Hashable, enb_id: int | None, mme_id: int | None) -> None:
        """Forget a released connection (TS 36.413 §8.3.3 UE CONTEXT RELEASE)."""
        if enb_id is not None:
            self._enb.pop((assoc, enb_id))
            self._bearer.pop(("off", assoc, enb_id))
        if mme_id is not None:
            self._mme.pop(mme_id)

    def ue_switched(self, mme_id: int, now: float) -> None:
        """A PATH SWITCH REQUEST names the UE's connection by its MME id (§8.4.4): after an
        X2 handover the source eNB releases the UE over X2, never on S1, so the source
        side's binding is forgotten here (else it would stay a day)."""
        self._forget_partner(self._enb, self._mme, mme_id, now)

    def _forget_partner(self, ran: BoundedTable, core: BoundedTable, core_id: int,
                        now: float) -> None:
        entry = core.get(core_id, now)
        if entry is not None and entry[1] is not None:
            ran.pop(entry[1])
            self._bearer.pop(("off", *entry[1]))

    # temporary identities and bearers

    def tmsi_lookup(self, mmec: int, mtmsi: int, now: float) -> Subscriber | None:
        """Subscriber an S-TMSI (from a GUTI or S1AP S-TMSI) was allocated to."""
        return self._tmsi_used((mmec, mtmsi), now)

    def tmsi_learn(self, mmec: int, mtmsi: int, sub: Subscriber, now: float) -> None:
        """Record the S-TMSI part of a GUTI allocated to `sub`."""
        self._tmsi_learn((mmec, mtmsi), sub, now)

    # A GUTI reallocated (TAU, attach, GUTI reallocation: TS 24.301 §5.4.1) replaces the
    # old one once the phone uses the new one; until then both name it (the old one in a
    # retry when the accept was lost).  So the first use of the new S-TMSI retires the old
    # one: a phone holds one or two S-TMSI entries, not one per reallocation for a day.

    def _tmsi_used(self, key: tuple[int, int], now: float) -> Subscriber | None:
        sub = self._tmsi.get(key, now)
        if sub is not None:
            held = self._guti.get(sub.pseudonym, now)
            if held is not None and held[1] == key:  # the new one used: the old one retires
                self._tmsi.pop_if(held[0], sub)
                self._guti.put(sub.pseudonym, (key, None), now)
        return sub

    def _tmsi_learn(self, key: tuple[int, int], sub: Subscriber, now: float) -> None:
        self._tmsi.put(key, sub, now)
        held = self._guti.get(sub.pseudonym, now)
        if held is None:
            self._guti.put(sub.pseudonym, (key, None), now)
        elif key != held[0] and key != held[1]:
            if held[1] is not None:  # allocated, never used, replaced by this one
                self._tmsi.pop_if(held[1], sub)
            self._guti.put(sub.pseudonym, (held[0], key), now)

    def bearer_lookup(self, address: Hashable, teid: bytes, now: float) -> Subscriber | None:
        """Subscriber of the E-RAB whose S-GW end is (transport address, TEID)."""
        return self._bearer.get((address, teid), now)

    def bearer_learn(self, address: Hashable, teid: bytes, sub: Subscriber, now: float) -> None:
        """Record the S-GW F-TEID of an E-RAB of `sub`."""
        self._bearer.put((address, teid), sub, now)

    def state(self) -> dict:
        """Every table's entries, for a snapshot (collector.snapshot)."""
        return {name: getattr(self, name).state() for name in self.__slots__}

    # tables whose values are a Subscriber, the others (Subscriber | None, partner id)
    _SUBSCRIBER_VALUES = ("_tmsi", "_bearer")

    def restore(self, state: dict) -> None:
        """Take back a `state()` (Subscribers made again from their fields: a snapshot
        keeps tuples, not types).  A snapshot of the collector before 5G-S-TMSIs were
        mapped has a `_tmsi5g` table: its entries join `_tmsi` under their mapped keys."""
        for name in self.__slots__:
            if name not in state:  # a snapshot from before the table: it starts empty
                continue
            items, oldest = state[name]
            if name == "_guti":  # values are S-TMSI keys
                pass
            elif name in self._SUBSCRIBER_VALUES:
                items = [(k, t, Subscriber(*v)) for k, t, v in items]
            else:
                items = [(k, t, (None if v[0] is None else Subscriber(*v[0]), v[1]))
                         for k, t, v in items]
            getattr(self, name).restore((items, oldest))
        for k, t, v in sorted(state.get("_tmsi5g", ([], None))[0], key=lambda kt: kt[1]):
            key = mapped_s_tmsi(tuple(k))
            if self._tmsi.get(key, t) is None:
                self._tmsi.put(key, Subscriber(*v), t)

    def __repr__(self) -> str:  # sizes only
        return (f"Correlator(enb={len(self._enb)}, mme={len(self._mme)}, "
                f"tmsi={len(self._tmsi)}, bearer={len(self._bearer)}, ran={len(self._ran)}, "
                f"amf={len(self._amf)}, guti={len(self._guti)})")

    # UE-associated logical NG-connections (TS 38.413 §9.3.3.1 AMF UE NGAP ID, unique
    # within the AMF; §9.3.3.2 RAN UE NGAP ID, unique within the NG-RAN node) and
    # 5G-S-TMSIs (TS 23.003 §2.10.1: AMF Set ID, AMF Pointer, 5G-TMSI), kept as the
    # S-TMSIs they map to (§2.10.2.2): an AMF interworking with the MME (N26) hands the
    # same GUTI to both RATs, so a 5G-GUTI allocated in NGAP names the phone in S1AP
    # (mapped GUTI, TS 24.301 §5.5.3.2.2) and an EPS GUTI in NGAP (TS 24.501 §5.5.1.3.2).

    def ngap_ue_lookup(self, assoc: Hashable, ran_id: int | None, amf_id: int | None,
                       now: float) -> Subscriber | None:
        """Subscriber of the NG connection named by its ids (either may be None).

        As `ue_lookup`: a binding whose recorded partner id contradicts the other id is stale.
        """
        if ran_id is not None:
            entry = self._ran.get((assoc, ran_id), now)
            if entry is not None and (amf_id is None or entry[1] in (None, amf_id)):
                return entry[0]
        if amf_id is not None:
            entry = self._amf.get(amf_id, now)
            if entry is not None and (ran_id is None or entry[1] in (None, (assoc, ran_id))):
                return entry[0]
        return None

    def ngap_ue_learn(self, assoc: Hashable, ran_id: int | None, amf_id: int | None,
                      sub: Subscriber | None, now: float) -> None:
        """Bind the given ids of one NG connection to each other and to `sub` (None: not known yet)."""
        if ran_id is not None:
            self._ran.put((assoc, ran_id), (sub, amf_id), now)
        if amf_id is not None:
            self._amf.put(amf_id, (sub, None if ran_id is None else (assoc, ran_id)), now)

    def ngap_ue_switched(self, amf_id: int, now: float) -> None:
        """As `ue_switched`, for an NGAP PATH SWITCH REQUEST (TS 38.413 §8.4.4) naming the
        source AMF UE NGAP ID after an Xn handover."""
        self._forget_partner(self._ran, self._amf, amf_id, now)

    def ngap_ue_release(self, assoc: Hashable, ran_id: int | None, amf_id: int | None) -> None:
        """Forget a released NG connection (TS 38.413 §8.3.3 UE CONTEXT RELEASE)."""
        if ran_id is not None:
            self._ran.pop((assoc, ran_id))
            self._bearer.pop(("off", assoc, ran_id))
        if amf_id is not None:
            self._amf.pop(amf_id)

    # A connection whose UE switched off (UE-initiated de-registration or detach, TS 24.501
    # and TS 24.301 §5.5.2.2) lives on only to be released, and its UE CONTEXT RELEASE
    # COMPLETE may still name the UE's last cell (TS 38.413 and TS 36.413 §8.3.3).  It is
    # keyed by the RAN node's UE id and association (a Detach or Deregistration from idle
    # has no core id yet) in the bearer table under an "off" tag, its value the subscriber
    # who left.

    def connection_off(self, assoc: Hashable, ran_id: int | None, new: bool,
                       sub: Subscriber | None, says_off: bool, now: float) -> bool:
        """Whether a message on the connection (assoc, eNB / RAN UE id) is off the network:
        it says so (a UE-initiated Detach or Deregistration), or `sub` switched off on that
        connection before (the release that follows).  A message that opens the connection
        (`new`: its RAN UE id just allocated) forgets an earlier switch-off there; one that
        says off is recorded."""
        if ran_id is None:
            return says_off
        key, off = ("off", assoc, ran_id), says_off
        if new:
            self._bearer.pop(key)
        elif sub is not None and not off:
            off = self._bearer.get(key, now) == sub
        if says_off and sub is not None:
            self._bearer.put(key, sub, now)
        return off

    def tmsi5g_lookup(self, s_tmsi: tuple[int, int, int], now: float) -> Subscriber | None:
        """Subscriber a 5G-S-TMSI (from a 5G-GUTI, NAS or NGAP) or the S-TMSI of the GUTI
        it maps to was allocated to."""
        return self._tmsi_used(mapped_s_tmsi(s_tmsi), now)

    def tmsi5g_learn(self, s_tmsi: tuple[int, int, int], sub: Subscriber, now: float) -> None:
        """Record the 5G-S-TMSI part of a 5G-GUTI allocated to `sub` (under its mapped
        S-TMSI)."""
        self._tmsi_learn(mapped_s_tmsi(s_tmsi), sub, now)

    # GTPv2-C control-plane tunnels (TS 29.274 §5.5.1, §8.22): the TEID in a message
    # header is the one the receiver allocated and sent in an F-TEID, so (receiver
    # address, TEID) names the subscriber's session.  These keys live in the bearer
    # table under a "gtpc" tag (no new slot), apart from S1-U (address, TEID) keys.

    def tunnel_lookup(self, address: Hashable, teid: int, now: float) -> Subscriber | None:
        """Subscriber of the GTP-C tunnel whose receiving end is (address, TEID)."""
        return self._bearer.get(("gtpc", address, teid), now)

    def tunnel_learn(self, address: Hashable, teid: int, sub: Subscriber, now: float) -> None:
        """Record a GTP-C F-TEID (address, TEID) allocated for a session of `sub`."""
        self._bearer.put(("gtpc", address, teid), sub, now)

    # Diameter sessions (RFC 6733 §8.8: a Session-Id is globally and eternally unique).
    # A request names its subscriber (User-Name, Subscription-Id); the answer and the
    # later requests of the session often carry only the Session-Id.  The key is a
    # keyed hash of the Session-Id, never the text (some embed the IMSI, as magma's
    # "...;IMSI001010000000001"), kept in the bearer table under a "diameter" tag.

    def session_lookup(self, session: int, now: float) -> Subscriber | None:
        """Subscriber of the Diameter session whose Session-Id hashes to `session`."""
        return self._bearer.get(("diameter", session), now)

    def session_learn(self, session: int, sub: Subscriber, now: float) -> None:
        """Record the subscriber a Diameter session is about."""
        self._bearer.put(("diameter", session), sub, now)

    def session_end(self, session: int) -> None:
        """Forget a Diameter session that has ended."""
        self._bearer.pop(("diameter", session))
