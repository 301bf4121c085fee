"""DiameterDecoder on messages built with scapy's Diameter layer (an independent encoder):
S6a/S6d requests and answers (TS 29.272), Gx/Gy/Rx identities and locations,
Session-Id correlation, and malformed input returned as reasons."""

from __future__ import annotations

import struct

import pytest
from scapy.contrib.diameter import AVP, DiamAns, DiamReq

from collector.decode.diameter import DiameterDecoder
from collector.decode.diameter_avps import avp_key, read_header, split_avps, walk_avps
from collector.identity import Correlator
from wire.pseudonym import Pseudonymizer

PSEUDONYM = Pseudonymizer(bytes(range(32)))
IMSI, IMSI2, MSISDN = "208930000000001", "001010123456789", "33612345678"
S6A, GX, GY, RX = 16777251, 16777238, 4, 16777236
VPLMN = AVP([1407, 10415], val=b"\x02\xf8\x39")  # Visited-PLMN-Id 208-93
ULI_TAI_ECGI = bytes.fromhex("8202f839" "3039" "02f839" "01234567")  # TAC 12345, ECI 0x1234567


def uli(value: bytes):
    """3GPP-User-Location-Info (TS 29.061 §16.4.7.2), unknown to scapy's dictionary."""
    return AVP([22, 10415], avpFlags=0xC0, val=value)


def sub_id(kind: int, value: str):
    return AVP("Subscription-Id", val=[AVP("Subscription-Id-Type", val=kind),
                                       AVP("Subscription-Id-Data", val=value)])


def request(code: int, app: int, *avps, session: str = "mme;1") -> bytes:
    return bytes(DiamReq(code, drAppId=app, drFlags=0xC0, drHbHId=1, drEtEId=1,
                         avpList=[AVP("Session-Id", val=session), *avps]))


def answer(code: int, app: int, *avps, session: str = "mme;1") -> bytes:
    return bytes(DiamAns(code, drAppId=app, drFlags=0x40, drHbHId=1, drEtEId=1,
                         avpList=[AVP("Session-Id", val=session), AVP("Result-Code", val=2001),
                                  *avps]))


@pytest.fixture
def decode():
    decoder = DiameterDecoder(PSEUDONYM, Correlator(max_entries=100, ttl=3600.0))

    def run(payload: bytes, t: float = 1.0):
        events, reason = decoder(payload, ("a", "b"), 7, t)
        return [e.inspect_record() for e in events], reason
    return run


def who(imsi: str) -> dict:
    return {"subscriber": f"{PSEUDONYM(imsi):016x}", "home_mcc": imsi[:3]}


@pytest.mark.parametrize("code,name", [
    (316, "UpdateLocationRequest"), (318, "AuthenticationInformationRequest"),
    (321, "PurgeUERequest"), (317, "CancelLocationRequest"), (323, "NotifyRequest"),
    (319, "InsertSubscriberDataRequest"), (320, "DeleteSubscriberDataRequest")])
def test_s6a_requests_name_the_subscriber(decode, code: int, name: str) -> None:
    (rec,), reason = decode(request(code, S6A, AVP("User-Name", val=IMSI), VPLMN))
    assert reason is None
    assert rec == {"frame": 7, "time": 1.0, "proto": "diameter", "msg": name, "nas": None,
                   **who(IMSI), "plmn": None, "tac": None, "cell": None, "rat": None}


def test_answer_attributed_by_session_id_then_session_ends(decode) -> None:
    decode(request(316, S6A, AVP("User-Name", val=IMSI), VPLMN, session="mme;42"))
    ula = answer(316, S6A, AVP("Subscription-Data", val=[AVP("MSISDN", val=MSISDN)]),
                 session="mme;42")
    (rec,), _ = decode(ula)
    assert rec["msg"] == "UpdateLocationAnswer" and rec["subscriber"] == who(IMSI)["subscriber"]
    (rec,), _ = decode(ula)  # S6a holds no session state past the answer (TS 29.272 §7.1)
    assert rec["subscriber"] is None
    assert decode(answer(318, S6A, session="mme;43")) == ([], None)  # AIA: nothing carried


def test_reset_and_base_protocol_give_no_event(decode) -> None:
    assert decode(request(322, S6A, AVP([1444, 10415], avpFlags=0xC0, val=b"00101"))) == ([], None)
    for code in (257, 280, 282):
        assert decode(bytes(DiamReq(code, drAppId=0, avpList=[
            AVP("Origin-Host", val="mme")]))) == ([], None)


def test_gx_credit_control_location_and_session(decode) -> None:
    ccr_i = request(272, GX, sub_id(0, MSISDN), sub_id(1, IMSI), uli(ULI_TAI_ECGI),
                    AVP("CC-Request-Type", val=1), session="pgw;9")
    (rec,), reason = decode(ccr_i)
    assert reason is None
    assert rec | {"time": 0} == {"frame": 7, "time": 0, "proto": "diameter",
                                 "msg": "CreditControlRequest", "nas": None, **who(IMSI),
                                 "plmn": "20893", "tac": 12345, "cell": 0x1234567,
                                 "rat": "eutran"}
    ccr_u = request(272, GX, uli(bytes.fromhex("81" "02f839" "f7654321")), session="pgw;9")
    (rec,), _ = decode(ccr_u)  # ECGI only, spare bits set; subscriber by session
    assert (rec["subscriber"], rec["plmn"], rec["tac"], rec["cell"]) == (
        who(IMSI)["subscriber"], "20893", None, 0x7654321)
    cca_t = answer(272, GX, AVP("CC-Request-Type", val=3), session="pgw;9")
    assert decode(cca_t) == ([], None)
    (rec,), _ = decode(ccr_u)
    assert rec["subscriber"] is None  # the session ended with the CCA-Termination


def test_gy_location_inside_service_information(decode) -> None:
    ps = AVP("PS-Information", val=[AVP([2, 10415], avpFlags=0xC0, val=b"\x00\x00\x00\x01"),
                                    uli(bytes.fromhex("80" "02f839" "0001"))])
    ccr = request(272, GY, AVP("Service-Information", val=[ps]), sub_id(1, IMSI2))
    (rec,), _ = decode(ccr)
    assert (rec["plmn"], rec["tac"], rec["cell"], rec["home_mcc"]) == ("20893", 1, None, "001")


def test_which_values_are_identities(decode) -> None:
    # User-Name is an IMSI in S6a/S6d, not in Gx; an E.164 number names no subscriber
    assert decode(request(272, GX, AVP("User-Name", val=IMSI))) == ([], None)
    (rec,), _ = decode(request(272, GX, sub_id(0, MSISDN), session="x;1"))
    assert rec["subscriber"] is None
    # Rx test traffic carries a 16-digit "IMSI": too long for TS 23.003 §2.2
    (rec,), _ = decode(request(265, RX, sub_id(1, "0123456789012345"), session="x;2"))
    assert rec["msg"] == "AARequest" and rec["subscriber"] is None
    # a location type with no E-UTRAN cell (CGI) is no location
    assert decode(request(272, GX, uli(bytes.fromhex("00" "02f839" "0001" "0002")))) == ([], None)


def test_no_identity_digits_anywhere() -> None:
    decoder = DiameterDecoder(PSEUDONYM, Correlator(max_entries=100, ttl=3600.0))
    msgs = [request(316, S6A, AVP("User-Name", val=IMSI), session=f"x;IMSI{IMSI}"),
            answer(316, S6A, AVP("Subscription-Data", val=[AVP("MSISDN", val=MSISDN)]),
                   session=f"x;IMSI{IMSI}"),
            request(272, GX, sub_id(0, MSISDN), sub_id(1, IMSI2), uli(ULI_TAI_ECGI))]
    text = repr(decoder)
    for m in msgs:
        events, _ = decoder(m, ("a", "b"), 1, 1.0)
        text += repr(events) + repr(decoder.facts(m)) + repr(decoder._correlator)
    for digits in (IMSI, IMSI2, MSISDN, IMSI[5:], MSISDN[2:]):
        assert digits not in text


# ------------------------------------------------------------- malformed input

def test_header_reasons() -> None:
    good = request(316, S6A, AVP("User-Name", val=IMSI))
    assert read_header(good[:19]) == "truncated"
    assert read_header(b"\x02" + good[1:]) == "bad_diameter"
    assert read_header(good[:1] + b"\x00\x00\x10" + good[4:]) == "bad_diameter"
    assert read_header(good[:-4]) == "truncated"
    head = read_header(good)
    assert (head.length, head.request, head.command, head.application) == (len(good), True, 316, S6A)


@pytest.mark.parametrize("avp_len", [0, 1, 7, 8, 11, 10_000])
def test_bad_avp_lengths_never_loop(decode, avp_len: int) -> None:
    """An AVP shorter than its header (0: the classic infinite loop) or longer than the
    message ends the walk with `bad_avp`; what came before it is kept."""
    good = request(316, S6A, AVP("User-Name", val=IMSI))
    bad = struct.pack("!IB", 1407, 0xC0) + avp_len.to_bytes(3, "big") + b"\x00\x00\x28\xaf"
    msg = bytearray(good + bad)
    msg[1:4] = len(msg).to_bytes(3, "big")
    events, reason = decode(bytes(msg))
    assert reason == "bad_avp"
    assert [e["subscriber"] for e in events] == [who(IMSI)["subscriber"]]


def test_bad_avp_inside_a_group_gives_up_that_group_only() -> None:
    group = struct.pack("!IBB2s", 443, 0x40, 0, (8 + 8).to_bytes(2, "big")) + \
        struct.pack("!IB3s", 450, 0x40, b"\x00\x00\x00")  # inner AVP of length 0
    msg = request(272, GX, sub_id(1, IMSI2)) + group
    msg = msg[:1] + len(msg).to_bytes(3, "big") + msg[4:]
    found, reason = walk_avps(msg, frozenset({avp_key(0, 443), avp_key(0, 444)}))
    assert reason is None and len(found) == 2  # Subscription-Id is returned whole
    found, reason = walk_avps(msg, frozenset({avp_key(0, 444), avp_key(0, 450)}))
    assert reason == "bad_avp" and len(found) == 2  # the first group's two, then the bad one
    assert split_avps(b"\x00" * 7, 0, 7) == ([], "bad_avp")
