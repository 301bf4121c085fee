"""5GS NAS decoding (collector/decode/nas_5gs.py): names, SUCI -> SUPI, 5G-GUTIs, containers.

The PDUs are built with pycrate (TS24501_FGMM); the constants are shared with the
NGAP decoder tests.
"""

from __future__ import annotations

import pytest
from pycrate_mobile import TS24501_FGMM

from collector.decode.nas_5gs import NAS5GSDecoder, spec_name
from collector.identity import Subscriber
from wire.pseudonym import Pseudonymizer

MSIN = "0123456789"
SUPI = "00101" + MSIN
PSEUDONYM = Pseudonymizer(bytes(range(32)))
GUTI = (1, 0, 0xC0000580)  # AMF Set ID, AMF Pointer, 5G-TMSI


def suci(scheme: int = 0, plmn: str = "00101") -> dict:
    """A SUCI 5GS mobile identity (§9.11.3.4): null scheme, or ECIES profile A (scheme 1)."""
    output = MSIN if scheme == 0 else {"ECCEphemPK": bytes(range(32)), "CipherText": b"\x11" * 5,
                                       "MAC": b"\x22" * 8}
    return {"Type": 1, "Fmt": 0, "Value": {"PLMN": plmn, "RoutingInd": "0000",
                                          "ProtSchemeID": scheme, "HNPKID": scheme, "Output": output}}


GUTI_ID = {"Type": 2, "PLMN": "00101", "AMFRegionID": 2, "AMFSetID": GUTI[0], "AMFPtr": GUTI[1],
           "5GTMSI": GUTI[2]}
REGISTRATION_SUCI = TS24501_FGMM.FGMMRegistrationRequest(val={"5GSID": suci()}).to_bytes()
REGISTRATION_CONCEALED = TS24501_FGMM.FGMMRegistrationRequest(val={"5GSID": suci(1)}).to_bytes()
IDENTITY_CONCEALED = TS24501_FGMM.FGMMIdentityResponse(val={"5GSID": suci(1)}).to_bytes()
REGISTRATION_ACCEPT = TS24501_FGMM.FGMMRegistrationAccept(val={"GUTI": GUTI_ID}).to_bytes()
SERVICE_REQUEST = TS24501_FGMM.FGMMServiceRequest(val={"5GSID": {
    "Type": 4, "AMFSetID": GUTI[0], "AMFPtr": GUTI[1], "5GTMSI": GUTI[2]}}).to_bytes()
DEREGISTRATION_GUTI = TS24501_FGMM.FGMMMODeregistrationRequest(val={"5GSID": GUTI_ID}).to_bytes()
SMC_COMPLETE = TS24501_FGMM.FGMMSecurityModeComplete(val={"NASContainer": REGISTRATION_SUCI}).to_bytes()
AUTH_REQUEST = TS24501_FGMM.FGMMAuthenticationRequest().to_bytes()
AUTH_RESPONSE = TS24501_FGMM.FGMMAuthenticationResponse().to_bytes()


def protected(plain: bytes, header: int = 2) -> bytes:
    """`plain` behind a 5GS security header (§9.1.1: EPD, header type, MAC, sequence number)."""
    return bytes([0x7E, header]) + b"\xa1\xb2\xc3\xd4" + b"\x05" + plain


@pytest.fixture()
def nas() -> NAS5GSDecoder:
    return NAS5GSDecoder(PSEUDONYM)


def test_null_scheme_suci_gives_the_supi_pseudonym(nas: NAS5GSDecoder) -> None:
    info, reason = nas(REGISTRATION_SUCI)
    assert reason is None and (info.name, info.mm) == ("RegistrationRequest", True)
    assert info.subscriber == Subscriber(PSEUDONYM(SUPI), "001")
    assert info.suci and info.has_identity and not info.concealed and not info.off
    assert MSIN not in repr(info) and SUPI not in repr(info)


def test_three_digit_mnc_suci() -> None:
    buf = TS24501_FGMM.FGMMIdentityResponse(val={"5GSID": suci(0, "310410")}).to_bytes()
    info, _ = NAS5GSDecoder(PSEUDONYM)(buf[:-1] + b"\xf8")  # MSIN 012345678 (9 digits, filler)
    assert info.name == "IdentityResponse"
    assert info.subscriber == Subscriber(PSEUDONYM("310410012345678"), "310")


@pytest.mark.parametrize("buf", [REGISTRATION_CONCEALED, IDENTITY_CONCEALED])
def test_concealed_suci_names_nobody(nas: NAS5GSDecoder, buf: bytes) -> None:
    info, reason = nas(buf)
    assert reason is None and info.subscriber is None
    assert info.concealed and info.suci and info.has_identity


def test_nai_suci_is_not_an_imsi(nas: NAS5GSDecoder) -> None:
    buf = TS24501_FGMM.FGMMRegistrationRequest(val={"5GSID": {
        "Type": 1, "Fmt": 1, "Value": "user@example.org"}}).to_bytes()
    info, reason = nas(buf)
    assert reason is None and info.subscriber is None and not info.concealed


def test_guti_allocated_and_named(nas: NAS5GSDecoder) -> None:
    info, _ = nas(protected(REGISTRATION_ACCEPT))
    assert (info.name, info.new_tmsi, info.tmsi, info.subscriber) == (
        "RegistrationAccept", GUTI, None, None)
    info, _ = nas(protected(SERVICE_REQUEST, 1))
    assert (info.name, info.tmsi) == ("ServiceRequest", GUTI)
    info, _ = nas(protected(DEREGISTRATION_GUTI, 1))
    assert (info.name, info.tmsi, info.off) == ("DeregistrationRequest", GUTI, True)


def test_container_identities_are_read_name_stays_outer(nas: NAS5GSDecoder) -> None:
    info, reason = nas(protected(SMC_COMPLETE, 4))
    assert reason is None and info.name == "SecurityModeComplete"
    assert info.subscriber == Subscriber(PSEUDONYM(SUPI), "001")


def test_messages_without_identity(nas: NAS5GSDecoder) -> None:
    for buf, name in ((AUTH_REQUEST, "AuthenticationRequest"), (AUTH_RESPONSE, "AuthenticationResponse"),
                      (bytes.fromhex("7e006418"), "5GMMStatus")):
        info, reason = nas(buf)
        assert reason is None and info.name == name and not info.has_identity
    imei = TS24501_FGMM.FGMMIdentityResponse(val={"5GSID": {"Type": 3, "Digits": "356938035643809"}})
    info, _ = nas(imei.to_bytes())  # a PEI is never an identity; only its TAC is kept
    assert info.subscriber is None and not info.has_identity and info.imei_tac == "35693803"
    assert "35643809" not in repr(info)


@pytest.mark.parametrize("buf, reason", [
    (b"", "bad_nas"),
    (b"\x7e\x00", "bad_nas"),
    (b"\x7e\x00\xff", "bad_nas"),                                   # no such message type
    (b"\x07\x41", "bad_nas"),                                       # EPS NAS, not 5GS
    (bytes.fromhex("7e02a1b2c3d4050a") + b"\xff" * 8, "ciphered"),  # header 2: ciphered
    (bytes.fromhex("7e01a1b2c3d4050a") + b"\xff" * 8, "bad_nas"),   # header 1: not ciphered
])
def test_bad_pdus_give_reasons(nas: NAS5GSDecoder, buf: bytes, reason: str) -> None:
    assert nas(buf) == (None, reason)


@pytest.mark.parametrize("pycrate_name, name", [
    ("5GMMRegistrationRequest", "RegistrationRequest"),
    ("5GMMMODeregistrationRequest", "DeregistrationRequest"),
    ("5GMMMTDeregistrationAccept", "DeregistrationAccept"),
    ("5GMMULNASTransport", "ULNASTransport"),
    ("5GMMStatus", "5GMMStatus"),
    ("5GSMPDUSessionEstabRequest", "PDUSessionEstabRequest"),
    ("5GSMStatus", "5GSMStatus"),
])
def test_spec_names(pycrate_name: str, name: str) -> None:
    assert spec_name(pycrate_name) == name


def test_every_truncation_is_a_value(nas: NAS5GSDecoder) -> None:
    for buf in (protected(SMC_COMPLETE), REGISTRATION_CONCEALED, protected(REGISTRATION_ACCEPT)):
        for n in range(len(buf)):
            info, reason = nas(buf[:n])
            assert (info is None) == (reason is not None)
