"""EPS NAS decoding (collector/decode/nas_eps.py): names, identities, GUTIs, TAIs."""

from __future__ import annotations

import pytest

from collector.decode.nas_eps import NASEPSDecoder, spec_name
from collector.decode.pycrate_libs import TS24301_EMM
from collector.identity import Subscriber
from wire.pseudonym import Pseudonymizer

IMSI = "001019876543210"
PSEUDONYM = Pseudonymizer(bytes(range(32)))
# captured PDUs (magma gx_gy frames 339, 3585; testattach frame 236; srsenb frame 49)
ATTACH_ACCEPT_GUTI = bytes.fromhex(
    "27635765f00207420149062000f1100001003d5201c101090908696e7465726e65740501ac11f1ff5e04"
    "fefe9b6927208080211003010010810608080808830608080404000d04080808080010020578500bf6"
    "00f11000010106cbdaff172164020000")
DETACH_MO_GUTI = bytes.fromhex("27ef19a036030745010bf600f11000010106cbdaff")
TAU_ACCEPT_NO_GUTI = bytes.fromhex("27769be83d040749015a4954062009f1070001570220005949640101")
SERVICE_REQUEST = bytes.fromhex("c703c340")
ESM_INFO_RESPONSE = bytes.fromhex(
    "27acee9266010201da280908696e7465726e657427278080211001010010810600000000830600000000"
    "000a00000d00000500001100001000001a0105")


@pytest.fixture()
def nas() -> NASEPSDecoder:
    return NASEPSDecoder(PSEUDONYM)


def test_attach_request_with_imsi_is_pseudonymised(nas: NASEPSDecoder) -> None:
    buf = TS24301_EMM.EMMAttachRequest(val={"EPSID": {"type": 1, "ident": IMSI}}).to_bytes()
    info, reason = nas(buf, uplink=True)
    assert reason is None and info.name == "AttachRequest" and info.emm
    assert info.subscriber == Subscriber(PSEUDONYM(IMSI), "001")
    assert info.tmsi is None and info.has_identity and not info.off
    assert IMSI not in repr(info)


def test_attach_request_with_guti(nas: NASEPSDecoder) -> None:
    guti = ("00101", 1, 2, 0x1234ABCD)
    buf = TS24301_EMM.EMMAttachRequest(val={"EPSID": {"type": 6, "ident": guti}}).to_bytes()
    info, _ = nas(buf, uplink=True)
    assert info.subscriber is None and info.tmsi == (2, 0x1234ABCD)


def test_identity_response(nas: NASEPSDecoder) -> None:
    buf = TS24301_EMM.EMMIdentityResponse(val={"ID": {"type": 1, "ident": IMSI}}).to_bytes()
    info, _ = nas(buf, uplink=True)
    assert info.name == "IdentityResponse" and info.subscriber.pseudonym == PSEUDONYM(IMSI)
    imeisv = TS24301_EMM.EMMIdentityResponse(
        val={"ID": {"type": 3, "ident": "3555555555555555"}}).to_bytes()
    info, _ = nas(imeisv, uplink=True)
    assert info.subscriber is None and not info.has_identity  # IMEISV is dropped


def test_attach_accept_allocates_guti_and_tais(nas: NASEPSDecoder) -> None:
    info, reason = nas(ATTACH_ACCEPT_GUTI, uplink=False)
    assert reason is None and info.name == "AttachAccept"
    assert info.new_tmsi == (1, 0x06CBDAFF) and info.has_tai and info.subscriber is None


def test_tau_accept_without_guti_still_has_tais(nas: NASEPSDecoder) -> None:
    info, _ = nas(TAU_ACCEPT_NO_GUTI, uplink=False)
    assert info.name == "TrackingAreaUpdateAccept" and info.has_tai and info.new_tmsi is None


def test_detach_from_ue_is_off(nas: NASEPSDecoder) -> None:
    info, _ = nas(DETACH_MO_GUTI, uplink=True)
    assert info.name == "DetachRequest" and info.off and info.tmsi == (1, 0x06CBDAFF)


def test_service_request_and_esm(nas: NASEPSDecoder) -> None:
    info, _ = nas(SERVICE_REQUEST, uplink=True)
    assert info.name == "ServiceRequest" and not info.has_identity
    info, _ = nas(ESM_INFO_RESPONSE, uplink=True)
    assert info.name == "ESMInformationResponse" and not info.emm


@pytest.mark.parametrize("buf, reason", [
    (b"", "bad_nas"),
    (b"\x07", "bad_nas"),
    (b"\x07\xff", "bad_nas"),              # no such EMM message
    (b"\x07\x41\x70", "bad_nas"),          # attach request cut short
    (bytes.fromhex("27aabbccdd05ffffffff"), "ciphered"),  # EEA != 0: inner is noise
    (bytes.fromhex("17aabbccdd05ffffffff"), "bad_nas"),   # integrity only: inner is bad
])
def test_bad_nas_gives_reason(nas: NASEPSDecoder, buf: bytes, reason: str) -> None:
    assert nas(buf, uplink=True) == (None, reason)


def test_spec_name() -> None:
    assert spec_name("EMMAttachRequest") == "AttachRequest"
    assert spec_name("EMMDetachRequestMO") == "DetachRequest"
    assert spec_name("EMMDetachRequestMT") == "DetachRequest"
    assert spec_name("ESMPDNConnectivityRequest") == "PDNConnectivityRequest"
    assert spec_name("EMMStatus") == "EMMStatus"
