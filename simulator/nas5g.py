"""The 5GS NAS messages (TS 24.501 §8.2) the simulated phones and AMF exchange, in plain
NAS (no security header, as the EPS ones): pycrate builders and their templated versions.

The AMF is the MME's own node (one operator core, N26 interworking): a phone's GUTI is one
identity for both, the 5G-GUTI being the EPS GUTI mapped (TS 23.003 §2.10.2.2): MMEGI =
AMF Region ID (8 bits) and the top 8 bits of the AMF Set ID, MMEC = its last 2 bits and
the AMF Pointer, 5G-TMSI = M-TMSI; the bits are the same, in the same order.  The first
registration names the phone by a SUCI with the null protection scheme (the MSIN in
clear, BCD), later ones by the 5G-GUTI, Service Requests by the 5G-S-TMSI.
"""

from __future__ import annotations

from pycrate_mobile import TS24501_FGMM as FGMM

from simulator.nas import Guti, GutiField
from simulator.templates import Kind, Tbcd, Templates, Uint

# §9.11.3.7 5GS registration type
INITIAL, MOBILITY, PERIODIC = 1, 2, 3
NO_KEY = 7


def amf_ids(g: Guti) -> tuple[int, int, int]:
    """(AMF Region ID, AMF Set ID, AMF Pointer) of a GUTI's MMEGI and MMEC."""
    return g.mmegi >> 8, (g.mmegi & 0xFF) << 2 | g.mmec >> 6, g.mmec & 0x3F


def s_tmsi(g: Guti) -> int:
    """The 48 bits of the 5G-S-TMSI: AMF Set ID, AMF Pointer, 5G-TMSI."""
    return (g.mmegi & 0xFF) << 40 | g.mmec << 32 | g.mtmsi


def _guti(g: Guti) -> dict:
    region, aset, ptr = amf_ids(g)
    return {"Type": 2, "PLMN": g.plmn, "AMFRegionID": region, "AMFSetID": aset,
            "AMFPtr": ptr, "5GTMSI": g.mtmsi}


def _suci(plmn: str, msin: str) -> dict:
    return {"Type": 1, "Fmt": 0, "Value": {"PLMN": plmn, "RoutingInd": "0000",
                                           "ProtSchemeID": 0, "HNPKID": 0, "Output": msin}}


def _tai_list(plmn: str, tac: int) -> list:
    # §9.11.3.9 type 0: one PLMN, its TACs (here one)
    return [{"Type": 0, "PTAI": {"PLMN": plmn, "TACs": [tac]}}]


# §8.2.6 Registration request
def registration_suci(kind: int, ksi: int, plmn: str, msin: str) -> bytes:
    """Registration Request naming the phone by a null-scheme SUCI (first registration)."""
    return FGMM.FGMMRegistrationRequest(val={
        "NAS_KSI": {"Value": ksi}, "5GSRegType": {"FOR": 1, "Value": kind},
        "5GSID": _suci(plmn, msin)}).to_bytes()


def registration_guti(kind: int, ksi: int, guti: Guti) -> bytes:
    """Registration Request with the 5G-GUTI (initial, mobility or periodic updating)."""
    return FGMM.FGMMRegistrationRequest(val={
        "NAS_KSI": {"Value": ksi}, "5GSRegType": {"FOR": 1, "Value": kind},
        "5GSID": _guti(guti)}).to_bytes()


# §8.2.7 Registration accept, §8.2.8 complete
def registration_accept(t3512: int, plmn: str, tac: int, guti: Guti | None) -> bytes:
    """Registration Accept: 3GPP access, the TA list, T3512, a new 5G-GUTI when given."""
    val: dict = {"5GSRegResult": {"Value": 1}, "5GSTAIList": _tai_list(plmn, tac),
                 "T3512": gprs_timer3(t3512)}
    if guti is not None:
        val["GUTI"] = _guti(guti)
    return FGMM.FGMMRegistrationAccept(val=val).to_bytes()


def registration_complete() -> bytes:
    """Registration Complete (after an accept that allocated a 5G-GUTI)."""
    return FGMM.FGMMRegistrationComplete().to_bytes()


# §8.2.21 Identity request, §8.2.22 Identity response
def identity_request_suci() -> bytes:
    """Identity Request for the SUCI (the AMF could not get the UE's context)."""
    return FGMM.FGMMIdentityRequest(val={"5GSIDType": 1}).to_bytes()


def identity_response_suci(plmn: str, msin: str) -> bytes:
    """Identity Response with a null-scheme SUCI."""
    return FGMM.FGMMIdentityResponse(val={"5GSID": _suci(plmn, msin)}).to_bytes()


# §8.2.16 Service request
def service_request(ksi: int, stmsi: int) -> bytes:
    """Service Request for data (service type 1) with the 5G-S-TMSI."""
    return FGMM.FGMMServiceRequest(val={
        "ServiceType": 1, "NAS_KSI": ksi,
        "5GSID": {"Type": 4, "AMFSetID": stmsi >> 38, "AMFPtr": stmsi >> 32 & 0x3F,
                  "5GTMSI": stmsi & 0xFFFFFFFF}}).to_bytes()


# §8.2.12 Deregistration request (UE originating)
def deregistration_switch_off(ksi: int, guti: Guti) -> bytes:
    """Deregistration Request, switch off, 3GPP access, with the 5G-GUTI."""
    return FGMM.FGMMMODeregistrationRequest(val={
        "NAS_KSI": ksi, "DeregistrationType": 0b1001,
        "5GSID": _guti(guti)}).to_bytes()


def gprs_timer3(seconds: int) -> dict:
    """§10.5.7.4a GPRS timer 3 (T3512): the first unit that holds `seconds` exactly (2 s,
    30 s, 1 min, 10 min, 1 h, 10 h), else the nearest count of 10 minutes (54 min → 50)."""
    for unit, step in ((3, 2), (4, 30), (5, 60), (0, 600), (1, 3600), (2, 36000)):
        if seconds % step == 0 and seconds // step < 32:
            return {"Unit": unit, "Value": seconds // step}
    return {"Unit": 0, "Value": max(1, min(31, round(seconds / 600)))}


def t3512(seconds: int) -> int:
    """The periodic registration timer a Registration Accept gives for `seconds`."""
    v = gprs_timer3(seconds)
    return v["Value"] * {3: 2, 4: 30, 5: 60, 0: 600, 1: 3600, 2: 36000}[v["Unit"]]


_GUTI, _TAC = GutiField(), Uint(24)
_KINDS = {  # name: (pycrate builder on (*constants, *values), fields)
    "reg_suci": (registration_suci, Tbcd()),
    "reg_guti": (registration_guti, _GUTI),
    "reg_accept": (lambda t3512, plmn, tac: registration_accept(t3512, plmn, tac, None), _TAC),
    "reg_accept_guti": (lambda t3512, plmn, tac, g: registration_accept(t3512, plmn, tac, g),
                        _TAC, _GUTI),
    "reg_complete": (registration_complete,),
    "identity_request": (identity_request_suci,),
    "identity_response": (identity_response_suci, Tbcd()),
    "service_request": (service_request, Uint(48)),
    "deregistration": (deregistration_switch_off, _GUTI),
}


class NAS5GMessages:
    """The functions above, filled from templates (`simulator.templates`)."""

    __slots__ = ("templates", "_k")

    def __init__(self, templates: Templates | None = None) -> None:
        self.templates = templates if templates is not None else Templates()
        self._k = {name: Kind(f"5GNAS {name}", build, *fields)
                   for name, (build, *fields) in _KINDS.items()}

    def registration(self, kind: int, ksi: int, imsi: str | None, plmn: str,
                     guti: Guti | None) -> bytes:
        """Registration Request: by SUCI (`imsi`'s MSIN, `plmn` its home) or by 5G-GUTI."""
        if guti is None:
            return self.templates.encode(self._k["reg_suci"], (kind, ksi, plmn),
                                         (imsi[len(plmn):],))
        return self.templates.encode(self._k["reg_guti"], (kind, ksi), (guti,))

    def registration_accept(self, t3512: int, plmn: str, tac: int, guti: Guti | None) -> bytes:
        """Registration Accept (a new 5G-GUTI when given)."""
        if guti is None:
            return self.templates.encode(self._k["reg_accept"], (t3512, plmn), (tac,))
        return self.templates.encode(self._k["reg_accept_guti"], (t3512, plmn), (tac, guti))

    def registration_complete(self) -> bytes:
        """Registration Complete."""
        return self.templates.encode(self._k["reg_complete"], (), ())

    def identity_request(self) -> bytes:
        """Identity Request (SUCI)."""
        return self.templates.encode(self._k["identity_request"], (), ())

    def identity_response(self, imsi: str, plmn: str) -> bytes:
        """Identity Response: `imsi` as a null-scheme SUCI of its home `plmn`."""
        return self.templates.encode(self._k["identity_response"], (plmn,),
                                     (imsi[len(plmn):],))

    def service_request(self, ksi: int, guti: Guti) -> bytes:
        """Service Request with the 5G-S-TMSI of `guti`."""
        return self.templates.encode(self._k["service_request"], (ksi,), (s_tmsi(guti),))

    def deregistration(self, ksi: int, guti: Guti) -> bytes:
        """Deregistration Request (switch off)."""
        return self.templates.encode(self._k["deregistration"], (ksi,), (guti,))
