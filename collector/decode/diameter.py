"""Diameter decoder (RFC 6733): one Diameter message in, SignallingEvents out.

S6a/S6d (TS 29.272) is what DESIGN.md asks for: User-Name (the IMSI, §7.3.x) and
Visited-PLMN-Id (§7.3.9) of ULR, AIR, PUR, CLR, IDR, DSR, NOR, and the answers
attributed through their Session-Id.  Every other application is read the same
generic way, which is what tshark reports too: Subscription-Id (RFC 4006 §8.46)
of type END_USER_IMSI names the subscriber in Gx (TS 29.212), Gy (RFC 4006,
TS 32.299) and Rx (TS 29.214); 3GPP-User-Location-Info (TS 29.061 §16.4.7.2) gives
the TAI and ECGI of Gx and Gy requests.  Base-protocol messages (CER, DWR, DPR)
carry neither and give no event, without being errors.

An event is made for a message that carries an identity (IMSI, MSISDN), a
location or a Visited-PLMN-Id: the rows tshark reports (captures/README.md).
Visited-PLMN-Id is the PLMN of the serving MME, not of a location: `plmn` stays
that of a 3GPP-User-Location-Info, as tshark's `plmn` column.  MSISDNs are
dropped on the spot; of an IMEI (Terminal-Information of S6a ULR, S13 ECR) only its
TAC is kept.  Identities are pseudonymised here: raw digits exist only
inside one call, and the Session-Id is kept only as a keyed hash.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from collector.decode.diameter_avps import (
    VENDOR_3GPP,
    Avp,
    avp_key,
    read_header,
    split_avps,
    walk_avps,
)
from collector.decode.diameter_commands import (
    CC_TERMINATION_REQUEST,
    CREDIT_CONTROL,
    SESSION_TERMINATION,
    USER_NAME_IS_IMSI,
    command_name,
)
from collector.decode.plmn import decode_plmn, imsi_digits_ok, tac_of_digits
from collector.events import SignallingEvent
from collector.identity import Correlator, Subscriber

SESSION_ID, USER_NAME, SUBSCRIPTION_ID, CC_REQUEST_TYPE = (0, 263), (0, 1), (0, 443), (0, 416)
SUBSCRIPTION_ID_TYPE, SUBSCRIPTION_ID_DATA = (0, 450), (0, 444)
MSISDN = (VENDOR_3GPP, 701)             # TS 29.329 §6.3.2, in Subscription-Data (TS 29.272 §7.3.2)
VISITED_PLMN_ID = (VENDOR_3GPP, 1407)   # TS 29.272 §7.3.9
USER_LOCATION_INFO = (VENDOR_3GPP, 22)  # 3GPP-User-Location-Info, TS 29.061 §16.4.7.2
IMEI = (VENDOR_3GPP, 1402)              # TS 29.272 §7.3.4, in Terminal-Information (§7.3.3)
WANTED = frozenset(avp_key(*k) for k in (SESSION_ID, USER_NAME, SUBSCRIPTION_ID, CC_REQUEST_TYPE,
                                         MSISDN, VISITED_PLMN_ID, USER_LOCATION_INFO, IMEI))
END_USER_E164, END_USER_IMSI = 0, 1     # Subscription-Id-Type (RFC 4006 §8.47)
# Geographic Location Type (TS 29.061 §16.4.7.2; TAI and ECGI as TS 29.274 §8.21.4-5)
ULI_TAI, ULI_ECGI, ULI_TAI_ECGI = 128, 129, 130


class DiameterFacts:
    """What one Diameter message says, identities already pseudonymised.

    `named` is True when the message carries an IMSI (valid or not) or an MSISDN;
    `subscriber` is the Subscriber of the first IMSI, when it is a valid one.
    """

    __slots__ = ("name", "request", "command", "application", "session", "named", "subscriber",
                 "visited_plmn", "plmn", "tac", "cell", "cc_request_type", "imei_tac")

    def __init__(self, name: str, request: bool, command: int, application: int) -> None:
        self.name, self.request = name, request
        self.command, self.application = command, application
        self.session: int | None = None  # keyed hash of the Session-Id
        self.named = False
        self.subscriber: Subscriber | None = None
        self.visited_plmn: str | None = None
        self.plmn: str | None = None
        self.tac: int | None = None
        self.cell: int | None = None
        self.cc_request_type: int | None = None
        self.imei_tac: str | None = None  # TAC of the IMEI AVP (its other digits never kept)

    @property
    def located(self) -> bool:
        """Whether a 3GPP-User-Location-Info gave a PLMN, TAC or cell."""
        return self.plmn is not None or self.tac is not None or self.cell is not None


class DiameterDecoder:
    """`(payload, assoc, frame, time) -> (events, drop reason | None)`; never raises on bad bytes.

    A reason returned with an event means a part of the message was malformed
    (an AVP) and what was read before it still gave the event.
    """

    __slots__ = ("_pseudonymize", "_correlator")

    def __init__(self, pseudonymizer: Callable[[str], int], correlator: Correlator) -> None:
        self._pseudonymize = pseudonymizer
        self._correlator = correlator

    def __call__(self, payload: bytes, assoc: Hashable, frame: int,
                 time: float) -> tuple[list[SignallingEvent], str | None]:
        """Decode one Diameter message seen in `frame` at capture `time`."""
        read = self.facts(payload)
        if isinstance(read, str):
            return [], read
        return self.attribute(read, assoc, frame, time)

    def attribute(self, read: tuple[DiameterFacts, str | None], assoc: Hashable, frame: int,
                  time: float) -> tuple[list[SignallingEvent], str | None]:
        """The event of what `facts` read, attributed (carried, else by Session-Id)."""
        facts, reason = read
        sub = self._attribute(facts, time)
        if not (facts.named or facts.located or facts.visited_plmn is not None):
            return [], reason
        event = SignallingEvent(
            frame, time, "diameter", facts.name, subscriber=sub.pseudonym if sub else None,
            home_mcc=sub.home_mcc if sub else None, plmn=facts.plmn, tac=facts.tac,
            cell=facts.cell, rat="eutran" if facts.cell is not None else None,
            imei_tac=facts.imei_tac)
        return [event], reason

    def facts(self, payload: bytes) -> tuple[DiameterFacts, str | None] | str:
        """(DiameterFacts, reason or None) of one message, or a reason when its header is bad.

        Pure (the bytes and the key only): identities are pseudonyms here, the facts may
        cross process boundaries."""
        head = read_header(payload)
        if isinstance(head, str):
            return head
        facts = DiameterFacts(command_name(head.command, head.request), head.request,
                              head.command, head.application)
        avps, reason = walk_avps(payload, WANTED, head.length)
        for avp in avps:
            reason = self._read(facts, avp) or reason
        return facts, reason

    def _read(self, f: DiameterFacts, avp: Avp) -> str | None:
        """Take what one wanted AVP says into `f`; a reason if it is malformed."""
        vendor, code, data = avp
        key = (vendor, code)
        if key == SESSION_ID:
            if f.session is None:
                f.session = self._pseudonymize("diameter-session:" + data.hex())
        elif key == USER_NAME:
            if f.application in USER_NAME_IS_IMSI:
                self._identity(f, data)
        elif key == SUBSCRIPTION_ID:
            return self._subscription_id(f, data)
        elif key == MSISDN:
            f.named = f.named or bool(data)
        elif key == VISITED_PLMN_ID:
            if f.visited_plmn is None and len(data) == 3:  # "" when not BCD digits
                f.visited_plmn = decode_plmn(data) or ""
        elif key == USER_LOCATION_INFO:
            return _user_location(f, data)
        elif key == IMEI:  # UTF8String of the IMEI's 14 first digits (TS 23.003 §6.2.1)
            f.imei_tac = f.imei_tac or tac_of_digits(data)
        elif key == CC_REQUEST_TYPE and len(data) == 4 and f.cc_request_type is None:
            f.cc_request_type = int.from_bytes(data, "big")
        return None

    def _identity(self, f: DiameterFacts, data: bytes) -> None:
        """An IMSI as UTF-8 digits (TS 23.003 §2.2); the first valid one is the subscriber."""
        if not data.isdigit():  # bytes.isdigit: ASCII digits only
            return
        f.named = True
        digits = data.decode("ascii")
        if f.subscriber is None and imsi_digits_ok(digits):
            f.subscriber = Subscriber(self._pseudonymize(digits), digits[:3])

    def _subscription_id(self, f: DiameterFacts, data: bytes) -> str | None:
        """Subscription-Id (RFC 4006 §8.46): an IMSI or an E.164 number (then dropped)."""
        inner, reason = split_avps(data, 0, len(data))
        kind = value = None
        for vendor, code, a, b in inner:
            if (vendor, code) == SUBSCRIPTION_ID_TYPE and b - a == 4:
                kind = int.from_bytes(data[a:b], "big")
            elif (vendor, code) == SUBSCRIPTION_ID_DATA:
                value = data[a:b]
        if value and kind == END_USER_IMSI:
            self._identity(f, value)
        elif value and kind == END_USER_E164:
            f.named = True
        return reason

    def _attribute(self, f: DiameterFacts, now: float) -> Subscriber | None:
        """The message's subscriber (carried, else by Session-Id) and what it teaches."""
        corr, sub = self._correlator, f.subscriber
        if f.session is None:
            return sub
        if sub is None:
            sub = corr.session_lookup(f.session, now)
        else:
            corr.session_learn(f.session, sub, now)
        if not f.request and _session_ends(f):
            corr.session_end(f.session)
        return sub

    def __repr__(self) -> str:
        return f"DiameterDecoder({self._correlator!r})"


def _session_ends(f: DiameterFacts) -> bool:
    """Whether this answer ends its session (RFC 6733 §8.4, RFC 4006 §8.3, TS 29.272 §7.1)."""
    return (f.application in USER_NAME_IS_IMSI or f.command == SESSION_TERMINATION
            or (f.command == CREDIT_CONTROL and f.cc_request_type == CC_TERMINATION_REQUEST))


def _user_location(f: DiameterFacts, data: bytes) -> str | None:
    """TAI and/or ECGI of a 3GPP-User-Location-Info; the first of each value is kept.

    Other location types (CGI, SAI, RAI, eNodeB ID…) name no E-UTRAN cell and are
    passed over, as tshark does.
    """
    if not data:
        return "bad_avp"
    kind, body = data[0], data[1:]
    parts = {ULI_TAI: (5, 0), ULI_ECGI: (0, 7), ULI_TAI_ECGI: (5, 7)}.get(kind)
    if parts is None:
        return None
    tai_len, ecgi_len = parts
    if len(body) < tai_len + ecgi_len:
        return "bad_avp"
    if tai_len:
        f.plmn = f.plmn or decode_plmn(body[:3])
        f.tac = f.tac if f.tac is not None else int.from_bytes(body[3:5], "big")
    if ecgi_len:
        ecgi = body[tai_len:tai_len + 7]
        f.plmn = f.plmn or decode_plmn(ecgi[:3])
        if f.cell is None:
            f.cell = int.from_bytes(ecgi[3:7], "big") & 0x0FFFFFFF  # 4 spare bits, 28-bit ECI
    return None
