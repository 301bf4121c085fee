"""GTPv2-C (TS 29.274) decoder: one UDP payload in, SignallingEvents out.

Layout is `gtpv2_ies` (header, IE TLVs, the IE values read); meaning is here: who (a
pseudonym, carried in the IMSI IE or correlated by tunnel) and where (the TAI and
ECGI of the ULI IE) for every message that carries an identity or a location, the
set tshark reports (IMSI, MSISDN, ULI TAI/ECGI, Serving Network).

Correlation (§5.5.1): the TEID of a message header is the one its receiver sent
earlier in an F-TEID (§8.22), so every control-plane F-TEID of a message whose
subscriber is known is learnt as (address, TEID) -> subscriber, and a message
without an IMSI is attributed by (receiver address, header TEID).  A Create Session
Response's header TEID is the MME's S11 F-TEID of the request, a Modify Bearer
Request's the S-GW's F-TEID of the response, and so on.  S1-U F-TEIDs are learnt in
the form S1AP E-RABs carry them, for the S1AP decoder's bearer lookups.

The receiver is the message's destination address when the caller gives it
(`receiver=`); otherwise it is inferred from the association: the end at the GTP-C
port for an initial message, the other end for a triggered one (§4.2.2), and either
end when both use port 2123, accepted only when the ends do not disagree.

Identities are pseudonymised here; raw IMSI digits exist only inside one call, MSISDN
digits are never read, and of the MEI only the TAC (`SignallingEvent.imei_tac`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from collector.decode.gtpv2_ies import (
    CONTROL_INTERFACES,
    FTEID,
    MESSAGE_NAMES,
    S1U_SGW,
    TRIGGERED,
    GTPv2Facts,
    Header,
    read_facts,
    split_message,
)
from collector.decode.plmn import decode_tbcd, imsi_digits_ok
from collector.events import SignallingEvent
from collector.identity import Correlator, Subscriber

GTPC_PORT = 2123        # §4.2.2.1 UDP destination port of initial messages
MAX_MESSAGES = 2        # a message and the one piggybacked on it (§5.5.1: P flag)


class GTPv2Decoder:
    """`(payload, assoc, frame, time) -> (events, drop reason | None)`; never raises on bad bytes.

    A reason returned with events means a part was dropped (a malformed IE, a bad
    piggybacked message) and the rest still gave its events.
    """

    __slots__ = ("_pseudonymize", "_correlator")

    def __init__(self, pseudonymizer: Callable[[str], int], correlator: Correlator) -> None:
        self._pseudonymize = pseudonymizer
        self._correlator = correlator

    def __call__(self, payload: bytes, assoc: Hashable, frame: int, time: float,
                 receiver: Hashable | None = None) -> tuple[list[SignallingEvent], str | None]:
        """Decode the GTPv2-C message(s) of one UDP payload seen in `frame` at capture `time`.

        `assoc` is the ((address, port), (address, port)) pair of the datagram; `receiver`,
        if known, its destination address (then the association is not needed).
        """
        read = self.facts(payload)
        if isinstance(read, str):
            return [], read
        return self.attribute(read, assoc, frame, time, receiver)

    def facts(self, payload: bytes) -> tuple[list, str | None] | str:
        """What the message(s) of one payload say, without correlation (a pure function of
        the bytes and the key): `(messages, trailing reason)` or a reason.

        Each message is a reason, or `(name, type, teid, facts, subscriber, reason)` with the
        IMSI already pseudonymised and its octets dropped (facts cross process boundaries).
        """
        out: list = []
        buf = payload
        for _ in range(MAX_MESSAGES):
            head = split_message(buf)
            if isinstance(head, str):
                return (out, head) if out else head
            out.append(self._message_facts(head))
            if not (head.piggybacked and head.rest):
                break
            buf = head.rest
        return out, None

    def _message_facts(self, head: Header) -> tuple | str:
        name = MESSAGE_NAMES.get(head.type)
        if name is None:
            return "unsupported"
        facts = read_facts(head.ies)
        if isinstance(facts, str):
            return facts
        sub, reason = self._carried(facts)
        facts.imsi = b"" if facts.imsi is not None else None  # present; digits gone
        return name, head.type, head.teid, facts, sub, reason or ("bad_ie" if facts.bad else None)

    def attribute(self, read: tuple[list, str | None], assoc: Hashable, frame: int, time: float,
                  receiver: Hashable | None = None) -> tuple[list[SignallingEvent], str | None]:
        """Events of what `facts` read, attributed (carried, else by tunnel) in order."""
        messages, trailing = read
        events: list[SignallingEvent] = []
        reason = None
        for item in messages:
            if isinstance(item, str):
                reason = reason or item
                continue
            event, why = self._message(item, assoc, receiver, frame, time)
            if event is not None:
                events.append(event)
            reason = reason or why
        return events, reason or trailing

    def read(self, payload: bytes) -> list[tuple[Header, GTPv2Facts]] | str:
        """Headers and facts of the message(s) of a payload, or a reason (for tests and tools)."""
        out, buf = [], payload
        while len(out) < MAX_MESSAGES:
            head = split_message(buf)
            facts = head if isinstance(head, str) else read_facts(head.ies)
            if isinstance(facts, str):
                return out or facts
            out.append((head, facts))
            if not (head.piggybacked and head.rest):
                break
            buf = head.rest
        return out

    def _message(self, item: tuple, assoc: Hashable, receiver: Hashable | None, frame: int,
                 now: float) -> tuple[SignallingEvent | None, str | None]:
        name, kind, teid, facts, sub, reason = item
        if sub is None and teid:  # TEID 0: not allocated by the receiver yet (§5.5.2)
            sub = self._by_tunnel(kind, teid, assoc, receiver, now)
        if sub is not None:
            self._learn(facts.fteids, sub, now)
        if not facts.carries:
            return None, reason
        return SignallingEvent(
            frame, now, "gtpv2", name, subscriber=sub.pseudonym if sub else None,
            home_mcc=sub.home_mcc if sub else None, plmn=facts.plmn, tac=facts.tac,
            cell=facts.cell, rat="eutran" if facts.cell is not None else None,
            imei_tac=facts.imei_tac), reason

    def _carried(self, facts: GTPv2Facts) -> tuple[Subscriber | None, str | None]:
        """The subscriber of the IMSI IE (§8.3, TBCD digits), if any and valid."""
        if facts.imsi is None:
            return None, None
        digits = decode_tbcd(facts.imsi)
        if digits is None or not imsi_digits_ok(digits):
            return None, "bad_ie"
        return Subscriber(self._pseudonymize(digits), digits[:3]), None

    def _by_tunnel(self, kind: int, teid: int, assoc: Hashable, receiver: Hashable | None,
                   now: float) -> Subscriber | None:
        if receiver is not None:  # (a replay or live capture knows it: one lookup)
            return self._correlator.tunnel_lookup(receiver, teid, now)
        ends = receivers(assoc, kind in TRIGGERED)
        found = {self._correlator.tunnel_lookup(end, teid, now) for end in ends}
        found.discard(None)
        return found.pop() if len(found) == 1 else None  # both ends, two subscribers: unknown

    def _learn(self, fteids: list[FTEID], sub: Subscriber, now: float) -> None:
        corr = self._correlator
        for f in fteids:
            if f.teid == 0:  # not allocated (e.g. the PGW F-TEID of a first request)
                continue
            if f.interface in CONTROL_INTERFACES:
                for address in (f.ipv4, f.ipv6):
                    if address:
                        corr.tunnel_learn(address, f.teid, sub, now)
            elif f.interface == S1U_SGW:  # (the eNB's end: no S1AP message is looked up by it)
                teid = f.teid.to_bytes(4, "big")
                for address in s1ap_addresses(f):
                    corr.bearer_learn(address, teid, sub, now)

    def __repr__(self) -> str:
        return f"GTPv2Decoder({self._correlator!r})"


def receivers(assoc: Hashable, triggered: bool) -> list[Hashable]:
    """Addresses of `assoc` that may have received a message (initial or `triggered`).

    §4.2.2.1: an initial message is sent to port 2123; §4.2.2.2: a triggered one is
    sent from the port the initial one was sent to.  When both ends use 2123 (or the
    same address: some loopback captures), either end may be the receiver.
    """
    try:
        (a, port_a), (b, port_b) = assoc
    except (TypeError, ValueError):
        return []
    if a == b:
        return [a]
    if (port_a == GTPC_PORT) != (port_b == GTPC_PORT):
        at_port, other = (a, b) if port_a == GTPC_PORT else (b, a)
        return [other if triggered else at_port]
    return [a, b]


def s1ap_addresses(f: FTEID) -> list[tuple[int, int]]:
    """An S1-U F-TEID's address as S1AP's Transport Layer Address BIT STRING (value, bits).

    TS 36.414 §5.1 / TS 36.413 §9.2.2.1: 32 bits for IPv4, 128 for IPv6, 160 for both
    (IPv4 first); all the forms the F-TEID allows are returned.
    """
    out = [(int.from_bytes(ip, "big"), 8 * len(ip)) for ip in (f.ipv4, f.ipv6) if ip]
    if f.ipv4 and f.ipv6:
        out.append((int.from_bytes(f.ipv4 + f.ipv6, "big"), 160))
    return out
