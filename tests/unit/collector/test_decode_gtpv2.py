"""GTPv2-C decoder (collector/decode/gtpv2.py, gtpv2_ies.py): events, tunnels, robustness, privacy."""

from __future__ import annotations

import time as clock
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.decode import gtpv2_ies as L
from collector.decode.gtpv2 import GTPv2Decoder, receivers, s1ap_addresses
from collector.decode.pycrate_libs import TS29274_GTPC as GTPC
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import REASONS, Counters
from tests.helpers import capture_paths, tbcd, tsv_equipment, tsv_identities
from wire.pseudonym import Pseudonymizer

IMSI, MSISDN, IMEI = "001019876543210", "33612345678", "3534900698733190"
PSEUDONYM = Pseudonymizer(bytes(range(32)))
MME, SGW, ENB = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x05"
S11 = ((MME, 2123), (SGW, 2123))  # both ends on the GTP-C port, as most nodes send


def ie(kind: int, value: bytes, inst: int = 0) -> bytes:
    """An IE (TS 29.274 §8.2.1): type, length, spare | instance, value."""
    return bytes([kind]) + len(value).to_bytes(2, "big") + bytes([inst]) + value


def gtp(kind: int, ies: list[bytes], teid: int | None = 0, piggyback: bool = False) -> bytes:
    """A GTPv2-C message (§5.1); `teid=None` clears the T flag."""
    body = (b"" if teid is None else teid.to_bytes(4, "big")) + b"\x00\x00\x01\x00" + b"".join(ies)
    flags = 0x40 | (0x10 if piggyback else 0) | (0 if teid is None else 0x08)
    return bytes([flags, kind]) + len(body).to_bytes(2, "big") + body


def fteid(interface: int, teid: int, v4: bytes | None = None, v6: bytes | None = None,
          inst: int = 0) -> bytes:
    flags = (0x80 if v4 else 0) | (0x40 if v6 else 0) | interface
    return ie(87, bytes([flags]) + teid.to_bytes(4, "big") + (v4 or b"") + (v6 or b""), inst)


def uli(plmn: bytes = b"\x00\xf1\x10", tac: int = 7, eci: int = 0x1234501) -> bytes:
    """ULI with a TAI and an ECGI (§8.21: flags 0x18)."""
    return ie(86, b"\x18" + plmn + tac.to_bytes(2, "big") + plmn + eci.to_bytes(4, "big"))


def create_session(imsi: str = IMSI, mme_teid: int = 0x10) -> bytes:
    return gtp(32, [ie(1, tbcd(imsi)), ie(76, tbcd(MSISDN)), ie(75, tbcd(IMEI)), uli(),
                    ie(83, b"\x00\xf1\x10"), ie(82, b"\x06"), fteid(10, mme_teid, MME),
                    fteid(7, 0, SGW, inst=1), ie(93, ie(73, b"\x05"))])


def create_session_response(mme_teid: int = 0x10, sgw_teid: int = 0x20) -> bytes:
    bearer = ie(93, ie(73, b"\x05") + ie(2, b"\x10\x00") + fteid(1, 0x99, SGW))
    return gtp(33, [ie(2, b"\x10\x00"), fteid(11, sgw_teid, SGW), bearer], teid=mme_teid)


def modify_bearer(sgw_teid: int = 0x20, piggyback: bool = False) -> bytes:
    return gtp(34, [uli(tac=8), ie(93, ie(73, b"\x05") + fteid(0, 0x77, ENB))], teid=sgw_teid,
               piggyback=piggyback)


def decoder(ttl: float = 3600.0) -> GTPv2Decoder:
    return GTPv2Decoder(PSEUDONYM, Correlator(max_entries=1000, ttl=ttl))


def test_tables_come_from_pycrate() -> None:
    tags = GTPC.GTPCIETagDesc_dict
    assert tags[L.IMSI].endswith("(IMSI)") and tags[L.MEI].endswith("(MEI)")
    assert (tags[L.MSISDN], tags[L.RAT_TYPE], tags[L.SERVING_NETWORK]) == \
        ("MSISDN", "RAT Type", "Serving Network")
    assert tags[L.ULI].endswith("(ULI)") and tags[L.F_TEID].endswith("(F-TEID)")
    assert tags[L.PDN_CONNECTION] == "PDN Connection"
    assert GTPC.CreateSessionReqIEs.MAND[(L.BEARER_CONTEXT, 0)][1] == "BearerContexttobecreated"
    assert [L.MESSAGE_NAMES[c] for c in (32, 33, 34, 36, 96, 98, 100, 170)] == [
        "CreateSessionRequest", "CreateSessionResponse", "ModifyBearerRequest",
        "DeleteSessionRequest", "CreateBearerResponse", "UpdateBearerResponse",
        "DeleteBearerResponse", "ReleaseAccessBearersRequest"]
    assert 33 in L.TRIGGERED and 32 not in L.TRIGGERED and 96 in L.TRIGGERED
    assert {10, 11, 6, 7} <= L.CONTROL_INTERFACES and not {0, 1, 4, 5} & L.CONTROL_INTERFACES
    assert L.S1U_SGW == 1  # TS 29.274 Table 8.22-1: S1-U SGW GTP-U interface


def test_create_session_request_gives_who_and_where() -> None:
    d = decoder()
    (event,), reason = d(create_session(), S11, 3, 10.0)
    assert reason is None
    assert event.inspect_record() == {
        "frame": 3, "time": 10.0, "proto": "gtpv2", "msg": "CreateSessionRequest", "nas": None,
        "subscriber": f"{PSEUDONYM(IMSI):016x}", "home_mcc": "001", "plmn": "00101", "tac": 7,
        "cell": 0x1234501, "rat": "eutran"}
    (_head, facts), = d.read(create_session())
    assert (facts.serving, facts.rat_type, facts.msisdn) == ("00101", 6, True)


def test_three_digit_mnc_reads_as_ts24008() -> None:
    (event,), _ = decoder()(gtp(34, [uli(plmn=bytes.fromhex("214365"))], teid=1), S11, 1, 1.0)
    assert event.plmn == "123564"  # as tshark's GTPv2 text and pycrate (MNC digit 3: octet 2 high)


def test_tunnels_carry_the_subscriber_to_later_messages() -> None:
    d = decoder()
    d(create_session(), S11, 1, 1.0)
    assert d(create_session_response(), S11, 2, 2.0) == ([], None)  # nothing carried: no event
    (event,), _ = d(modify_bearer(), S11, 3, 3.0)  # header TEID = S-GW's F-TEID of the response
    assert event.subscriber == PSEUDONYM(IMSI) and event.tac == 8
    corr = d._correlator  # the S1-U S-GW end, as S1AP E-RABs name it (TS 36.413 §9.2.2.1)
    assert corr.bearer_lookup((int.from_bytes(SGW, "big"), 32), b"\x00\x00\x00\x99", 4.0)
    assert corr.tunnel_lookup(SGW, 0x20, 4.0).home_mcc == "001"
    assert corr.tunnel_lookup(SGW, 0, 4.0) is None  # TEID 0 is never learnt


def test_colliding_teids_need_the_receiver_address() -> None:
    # subscriber A: MME TEID 3, S-GW TEID 1; subscriber B: MME TEID 5, S-GW TEID 3
    other = "001010000000002"
    d = decoder()
    d(create_session(IMSI, 3), S11, 1, 1.0)
    d(create_session_response(3, 1), S11, 2, 2.0)
    d(create_session(other, 5), S11, 3, 3.0)
    d(create_session_response(5, 3), S11, 4, 4.0)
    (event,), _ = d(modify_bearer(3), S11, 5, 5.0)  # to the S-GW's TEID 3: B, or MME's 3: A?
    assert event.subscriber is None  # both ends of the association answer: unknown
    (event,), _ = d(modify_bearer(3), S11, 6, 6.0, receiver=SGW)
    assert event.subscriber == PSEUDONYM(other)


def test_receivers_follow_the_gtp_c_port() -> None:
    ephemeral = ((MME, 40364), (SGW, 2123))
    assert receivers(ephemeral, triggered=False) == [SGW]
    assert receivers(ephemeral, triggered=True) == [MME]
    assert receivers(S11, triggered=False) == [MME, SGW]
    assert receivers(((SGW, 1), (SGW, 2123)), triggered=True) == [SGW]
    assert receivers(("a", "b"), triggered=False) == []


def test_s1ap_address_forms() -> None:
    v6 = bytes(15) + b"\x01"
    f = L.FTEID(1, 9, SGW, v6)
    assert s1ap_addresses(f) == [(0x0A000002, 32), (1, 128), ((0x0A000002 << 128) | 1, 160)]


def test_piggybacked_message_is_decoded_too() -> None:
    bearer = ie(93, ie(73, b"\x06") + ie(2, b"\x10\x00"))
    piggy = gtp(96, [ie(2, b"\x10\x00"), bearer, uli(tac=9)], teid=0x55)
    events, reason = decoder()(modify_bearer(piggyback=True) + piggy, S11, 1, 1.0)
    assert reason is None
    assert [(e.msg, e.tac) for e in events] == [("ModifyBearerRequest", 8),
                                                ("CreateBearerResponse", 9)]
    events, reason = decoder()(modify_bearer(piggyback=True) + b"\x48\x60", S11, 1, 1.0)
    assert [e.msg for e in events] == ["ModifyBearerRequest"] and reason == "truncated"


@pytest.mark.parametrize(("payload", "reason"), [
    (b"", "truncated"),
    (bytes.fromhex("3220000800000000"), "unsupported"),      # GTPv1-C on port 2123
    (gtp(32, [ie(1, tbcd(IMSI))])[:-2], "truncated"),        # length beyond the datagram
    (gtp(32, [ie(1, tbcd(IMSI))[:-1] + b"\x00\x10"]), "truncated"),  # IE beyond the message
    (gtp(0, [ie(3, b"\x01")]), "unsupported"),                # reserved message type
    (gtp(1, [ie(3, b"\x01")], teid=None), None),              # Echo Request: no UE, no event
])
def test_bad_or_empty_messages_give_a_reason_and_no_event(payload: bytes, reason) -> None:
    assert decoder()(payload, S11, 1, 1.0) == ([], reason)


def test_malformed_ies_are_skipped_and_counted() -> None:
    short_uli = ie(86, b"\x18\x00\xf1\x10")  # flags name a TAI and an ECGI, 3 octets follow
    (event,), reason = decoder()(gtp(32, [ie(1, tbcd(IMSI)), short_uli, ie(87, b"\x8a")]),
                                 S11, 1, 1.0)
    assert reason == "bad_ie" and event.subscriber == PSEUDONYM(IMSI) and event.plmn is None
    (event,), reason = decoder()(gtp(32, [ie(1, b"\x21\xfa"), uli()]), S11, 1, 1.0)
    assert reason == "bad_ie" and event.subscriber is None and event.tac == 7


def test_no_identity_digits_in_events_or_reprs() -> None:
    d = decoder()
    events, _ = d(create_session(), S11, 1, 1.0)
    (_head, facts), = d.read(create_session())
    text = "".join(repr(x) for x in (*events, events[0].inspect_record(), facts, d))
    for digits in (IMSI, MSISDN, IMEI, IMSI[3:], IMEI[:14]):
        assert digits not in text


@cache
def seeds() -> list[bytes]:
    """Distinct real GTPv2-C payloads of the golden captures."""
    return sorted({bytes(m.payload) for p in capture_paths()
                   for _f, _t, m in iter_messages(str(p), Counters()) if m.proto == "gtpv2"})


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data) - 1)) if data else 0
        op = draw(st.sampled_from(["flip", "cut", "insert", "length", "piggyback", "splice"]))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "length" and len(data) > pos + 1:  # a length field anywhere
            data[pos:pos + 2] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big")
        elif op == "piggyback" and data:
            data[0] |= 0x10
            data += draw(st.sampled_from(seeds()))[:draw(st.integers(0, 64))]
        elif op == "splice":
            data[pos:] = draw(st.sampled_from(seeds()))[pos:]
    return bytes(data)


def test_mutated_real_messages_never_raise() -> None:
    imsis, msisdns = tsv_identities()
    secrets = sorted(imsis | msisdns | tsv_equipment())
    d = decoder()

    @settings(max_examples=4000, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated(), st.sampled_from([S11, ((MME, 40000), (SGW, 2123)), ("a", "b"), None]))
    def run(data: bytes, assoc) -> None:
        started = clock.monotonic()
        events, reason = d(data, assoc, 1, 1.0)
        assert clock.monotonic() - started < 5.0  # a hang guard (µs per message), not speed
        assert reason is None or reason in REASONS
        text = "".join(repr(e) for e in events)
        assert all(e.subscriber is None or e.subscriber >= 0 for e in events)
        assert not [s for s in secrets if s in text]

    run()
