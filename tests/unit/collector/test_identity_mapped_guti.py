"""Mapped GUTIs (TS 23.003 §2.10.2.2): a phone moving between 4G and 5G is one subscriber.

An AMF interworking with the MME (N26) gives a phone one GUTI for both RATs: the UE maps
its EPS GUTI to a 5G-GUTI when it registers in 5G (TS 24.501 §5.5.1.3.2) and its 5G-GUTI to
an EPS GUTI when it updates its tracking area in 4G (TS 24.301 §5.5.3.2.2).  The mapping
puts MMEGI = AMF Region ID and the 8 high bits of the AMF Set ID, MMEC = the 2 low bits of
the AMF Set ID and the AMF Pointer, M-TMSI = 5G-TMSI: in the encoded identities (TS 24.301
§9.9.3.12, TS 24.501 §9.11.3.4) the octets after the type octet are the same.  The oracle
is pycrate reading those octets as each RAT's identity; the NAS and S1AP/NGAP messages are
pycrate's encodings.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from pycrate_mobile.TS24301_IE import EPSID
from pycrate_mobile.TS24501_FGMM import (
    FGMMRegistrationAccept,
    FGMMRegistrationRequest,
    FGMMServiceRequest,
)
from pycrate_mobile.TS24501_IE import FGSID

from collector.decode.ngap import NGAPDecoder
from collector.decode.pycrate_libs import TS24301_EMM
from collector.decode.s1ap import S1APDecoder
from collector.identity import Correlator, Subscriber, mapped_s_tmsi
from tests.unit.collector import test_decode_ngap as ng
from tests.unit.collector import test_decode_s1ap as s1
from tests.unit.collector.test_decode_nas_5gs import SUPI

PSEUDONYM = s1.PSEUDONYM
GUTI_4G = ("00101", 0x8123, 0xC5, 0xDEADBEEF)  # PLMN, MMEGI, MMEC, M-TMSI


def eps_guti(guti: tuple) -> EPSID:
    ident = EPSID()
    ident.encode(6, guti)
    return ident


def fgs_guti_of(eps: EPSID) -> FGSID:
    """The 5G-GUTI mapped from an EPS GUTI: the same octets after a 5G-GUTI type octet."""
    ident = FGSID()
    ident.from_bytes(bytes([0xF2]) + eps.to_bytes()[1:])
    return ident


def eps_guti_of(fgs: FGSID) -> EPSID:
    """The EPS GUTI mapped from a 5G-GUTI."""
    ident = EPSID()
    ident.from_bytes(bytes([0xF6]) + fgs.to_bytes()[1:])
    return ident


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFF), st.integers(0, 0xFFFFFFFF))
def test_mapped_s_tmsi_is_the_spec_bit_layout(mmegi: int, mmec: int, mtmsi: int) -> None:
    fgs = fgs_guti_of(eps_guti(("20801", mmegi, mmec, mtmsi)))
    _typ, five = fgs.decode()
    assert five["AMFRegionID"] == mmegi >> 8
    s_tmsi = (five["AMFSetID"], five["AMFPtr"], five["5GTMSI"])
    assert mapped_s_tmsi(s_tmsi) == (mmec, mtmsi)
    assert eps_guti_of(fgs).decode() == (6, "20801", mmegi, mmec, mtmsi)


def test_a_4g_guti_names_the_phone_registering_in_5g() -> None:
    """Attach by IMSI in 4G, GUTI allocated; then in 5G a mobility Registration with the
    mapped 5G-GUTI (no NGAP 5G-S-TMSI), and a Service Request by the 5G-S-TMSI."""
    corr = Correlator()
    lte, nr = S1APDecoder(PSEUDONYM, corr), NGAPDecoder(PSEUDONYM, corr)
    lte(s1.initial_ue(7, s1.ATTACH_IMSI), s1.ASSOC, 1, 10.0)
    accept = TS24301_EMM.EMMAttachAccept(val={
        "EPSAttachResult": 1, "TAIList": b"\x00\x00\xf1\x10\x00\x01", "ESMContainer": b"\x00",
        "GUTI": {"type": 6, "ident": GUTI_4G}}).to_bytes()
    lte(s1.downlink(500, 7, accept), s1.ASSOC, 2, 10.1)
    fgs = fgs_guti_of(eps_guti(GUTI_4G))
    req = FGMMRegistrationRequest(val={"5GSRegType": {"FOR": 1, "Value": 2},
                                       "5GSID": fgs.get_val()}).to_bytes()
    ev = ng.one(nr(ng.initial_ue(3, req), ng.ASSOC, 3, 60.0))
    assert (ev.proto, ev.nas, ev.subscriber, ev.rat) == (
        "ngap", "RegistrationRequest", PSEUDONYM(s1.IMSI), "nr")
    _typ, five = fgs.decode()
    service = FGMMServiceRequest(val={"ServiceType": 1, "5GSID": {
        "Type": 4, "AMFSetID": five["AMFSetID"], "AMFPtr": five["AMFPtr"],
        "5GTMSI": five["5GTMSI"]}}).to_bytes()
    ngap_s_tmsi = {"aMFSetID": (five["AMFSetID"], 10), "aMFPointer": (five["AMFPtr"], 6),
                   "fiveG-TMSI": five["5GTMSI"].to_bytes(4, "big")}
    msg = ng.pdu("initiatingMessage", 15, "InitialUEMessage", [
        (85, ("RAN-UE-NGAP-ID", 4)), (38, ("NAS-PDU", service)), ng.uli(),
        (90, ("RRCEstablishmentCause", "mo-Data")), (26, ("FiveG-S-TMSI", ngap_s_tmsi))])
    ev = ng.one(nr(msg, ng.ASSOC, 4, 70.0))
    assert (ev.nas, ev.subscriber) == ("ServiceRequest", PSEUDONYM(s1.IMSI))


def test_a_5g_guti_names_the_phone_updating_in_4g() -> None:
    """Registration by null-scheme SUCI in 5G, 5G-GUTI allocated; then in 4G a TAU with the
    mapped GUTI (no S1AP S-TMSI), and a Service Request by the S1AP S-TMSI alone."""
    corr = Correlator()
    lte, nr = S1APDecoder(PSEUDONYM, corr), NGAPDecoder(PSEUDONYM, corr)
    nr(ng.initial_ue(7, ng.REGISTRATION_SUCI), ng.ASSOC, 1, 10.0)
    fgs = fgs_guti_of(eps_guti(GUTI_4G))
    accept = FGMMRegistrationAccept(val={"GUTI": fgs.get_val()}).to_bytes()
    nr(ng.downlink(900, 7, accept), ng.ASSOC, 2, 10.1)
    _typ, plmn, mmegi, mmec, mtmsi = eps_guti_of(fgs).decode()
    tau = TS24301_EMM.EMMTrackingAreaUpdateRequest(val={
        "EPSUpdateType": {"Value": 0}, "OldGUTI": {"type": 6, "ident": (plmn, mmegi, mmec, mtmsi)},
    }).to_bytes()
    ev = s1.one(lte(s1.initial_ue(3, tau), s1.ASSOC, 3, 60.0))
    assert (ev.proto, ev.nas, ev.subscriber, ev.rat) == (
        "s1ap", "TrackingAreaUpdateRequest", PSEUDONYM(SUPI), "eutran")
    ev = s1.one(lte(s1.initial_ue(4, s1.SERVICE_REQUEST, (mmec, mtmsi)), s1.ASSOC, 4, 70.0))
    assert (ev.nas, ev.subscriber) == ("ServiceRequest", PSEUDONYM(SUPI))


def test_snapshot_of_separate_5g_table_is_restored_under_mapped_keys() -> None:
    """A snapshot written before 5G-S-TMSIs were mapped kept them in a `_tmsi5g` table."""
    old = Correlator().state()
    sub = Subscriber(123, "001")
    old["_tmsi5g"] = [[((0x23 << 2 | 3, 5, 77), 10.0, tuple(sub))], 10.0]
    corr = Correlator()
    corr.restore(old)
    assert corr.tmsi_lookup(3 << 6 | 5, 77, 11.0) == sub
    assert corr.tmsi5g_lookup((0x23 << 2 | 3, 5, 77), 11.0) == sub
