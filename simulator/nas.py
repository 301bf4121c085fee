"""EPS NAS (TS 24.301) messages the simulated phones and MME exchange, encoded with pycrate.

All messages are plain NAS (security header type 0), except the Service
Request, which has its own short format (§8.2.25, security header 12).
Identities: an IMSI or IMEISV is a string of digits, a GUTI a `Guti`.
"""

from __future__ import annotations

from typing import NamedTuple

from pycrate_mobile import TS24301_EMM as EMM
from pycrate_mobile import TS24301_ESM as ESM

# TS 24.301 §9.9.3.12 EPS mobile identity types, §9.9.3.21 key set identifier
IDTYPE_IMSI, IDTYPE_IMEISV, IDTYPE_GUTI = 1, 3, 6
NO_KEY = 7
# §9.9.3.11 EPS attach type, §9.9.3.14 EPS update type, §9.9.3.7 detach type
EPS_ATTACH = 1
TA_UPDATING, PERIODIC_UPDATING = 0, 3
EPS_DETACH = 1
DEFAULT_BEARER = 5
APN = b"\x08internet"  # §9.9.4.1: length-prefixed labels


class Guti(NamedTuple):
    """Globally unique temporary identity (TS 23.003 §2.8)."""

    plmn: str
    mmegi: int
    mmec: int
    mtmsi: int

    def ident(self) -> tuple[str, int, int, int]:
        """The 4-tuple pycrate's EPSID.encode takes."""
        return (self.plmn, self.mmegi, self.mmec, self.mtmsi)


def gprs_timer(seconds: int) -> dict:
    """§9.9.3.16 GPRS timer: unit and 5-bit value (2 s, 1 min or decihour steps)."""
    for unit, step in ((0, 2), (1, 60), (2, 360)):
        if seconds % step == 0 and seconds // step < 32:
            return {"Unit": unit, "Value": seconds // step}
    raise ValueError(f"GPRS timer cannot hold {seconds} s")


def _tai_list(plmn: str, tacs: list[int]) -> list[dict]:
    """§9.9.3.33 list of non-consecutive TACs of one PLMN."""
    return [{"Type": 0, "PTAI": {"PLMN": plmn, "TACs": sorted(tacs)}}]


def _epsid(identity: str | Guti) -> dict:
    if isinstance(identity, Guti):
        return {"type": IDTYPE_GUTI, "ident": identity.ident()}
    return {"type": IDTYPE_IMSI, "ident": identity}


# §8.2.4 Attach request (with §8.3.20 PDN connectivity request in its ESM container)
def attach_request(identity: str | Guti, ksi: int = NO_KEY) -> bytes:
    """Attach Request with an IMSI (first attach) or the GUTI last allocated."""
    esm = ESM.ESMPDNConnectivityRequest(val={"ESMHeader": {"EPSBearerId": 0, "PTI": 1},
                                             "PDNType": 1, "RequestType": 1}).to_bytes()
    return EMM.EMMAttachRequest(val={
        "NAS_KSI": {"TSC": 0, "Value": ksi}, "EPSAttachType": EPS_ATTACH,
        "EPSID": _epsid(identity), "UENetCap": b"\xe0\xe0\x00\x00", "ESMContainer": esm,
    }).to_bytes()


# §8.2.1 Attach accept (with §8.3.6 activate default EPS bearer context request)
def attach_accept(guti: Guti, tacs: list[int], t3412: int, ue_ip: bytes) -> bytes:
    """Attach Accept allocating `guti`, with the TAI list and T3412 (seconds)."""
    esm = ESM.ESMActDefaultEPSBearerCtxtRequest(val={
        "ESMHeader": {"EPSBearerId": DEFAULT_BEARER, "PTI": 1}, "EPSQoS": {"QCI": 9},
        "APN": APN, "PDNAddr": {"Type": 1, "Addr": ue_ip}}).to_bytes()
    return EMM.EMMAttachAccept(val={
        "EPSAttachResult": EPS_ATTACH, "T3412": gprs_timer(t3412),
        "TAIList": _tai_list(guti.plmn, tacs), "ESMContainer": esm,
        "GUTI": {"type": IDTYPE_GUTI, "ident": guti.ident()},
    }).to_bytes()


# §8.2.2 Attach complete (with §8.3.4 activate default EPS bearer context accept)
def attach_complete() -> bytes:
    """Attach Complete."""
    esm = ESM.ESMActDefaultEPSBearerCtxtAccept(
        val={"ESMHeader": {"EPSBearerId": DEFAULT_BEARER, "PTI": 0}}).to_bytes()
    return EMM.EMMAttachComplete(val={"ESMContainer": esm}).to_bytes()


# §8.2.18 Identity request, §8.2.19 Identity response
def identity_request_imeisv() -> bytes:
    """Identity Request for the IMEISV."""
    return EMM.EMMIdentityRequest(val={"IDType": IDTYPE_IMEISV}).to_bytes()


def identity_response_imeisv(imeisv: str) -> bytes:
    """Identity Response carrying the 16-digit IMEISV."""
    return EMM.EMMIdentityResponse(
        val={"ID": {"type": IDTYPE_IMEISV, "ident": imeisv}}).to_bytes()


# §8.2.29 Tracking area update request, §8.2.26 accept, §8.2.27 complete
def tau_request(guti: Guti, old_tac: int, periodic: bool, ksi: int) -> bytes:
    """TAU Request (TA updating or periodic updating) with the old GUTI and old TAI."""
    return EMM.EMMTrackingAreaUpdateRequest(val={
        "NAS_KSI": {"TSC": 0, "Value": ksi},
        "EPSUpdateType": {"Value": PERIODIC_UPDATING if periodic else TA_UPDATING},
        "OldGUTI": {"type": IDTYPE_GUTI, "ident": guti.ident()},
        "OldTAI": {"PLMN": guti.plmn, "TAC": old_tac},
    }).to_bytes()


def tau_accept(plmn: str, tacs: list[int], t3412: int,
               new_guti: Guti | None) -> bytes:
    """TAU Accept, reallocating the GUTI when `new_guti` is given."""
    val: dict = {"EPSUpdateResult": 0, "T3412": gprs_timer(t3412),
                 "TAIList": _tai_list(plmn, tacs)}
    if new_guti is not None:
        val["GUTI"] = {"type": IDTYPE_GUTI, "ident": new_guti.ident()}
    return EMM.EMMTrackingAreaUpdateAccept(val=val).to_bytes()


def tau_complete() -> bytes:
    """TAU Complete (sent when the accept reallocated the GUTI)."""
    return EMM.EMMTrackingAreaUpdateComplete().to_bytes()


# §8.2.25 Service request
def service_request(ksi: int, seq: int) -> bytes:
    """Service Request: key set identifier, 5-bit sequence number, short MAC."""
    mac = bytes([(seq * 37) & 0xFF, (seq * 91 + ksi) & 0xFF])
    return EMM.EMMServiceRequest(val={"KSI": ksi, "SeqnShort": seq & 0x1F,
                                      "MACShort": mac}).to_bytes()


# §8.2.11.1 Detach request (UE originating)
def detach_request_switch_off(guti: Guti, ksi: int) -> bytes:
    """Detach Request, switch off, EPS detach, with the GUTI."""
    return EMM.EMMDetachRequestMO(val={
        "NAS_KSI": {"TSC": 0, "Value": ksi}, "EPSDetachType": {"SwitchOff": 1, "Type": EPS_DETACH},
        "EPSID": {"type": IDTYPE_GUTI, "ident": guti.ident()},
    }).to_bytes()
