"""EPS NAS (TS 24.301) messages the simulated phones and MME exchange, encoded with pycrate.

All messages are plain NAS (security header type 0), except the Service
Request, which has its own short format (§8.2.25, security header 12).
Identities: an IMSI or IMEISV is a string of digits, a GUTI a `Guti`.
The functions encode with pycrate; `NASMessages` has the same methods, filled from
templates.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from pycrate_mobile import TS24301_EMM as EMM
from pycrate_mobile import TS24301_ESM as ESM

from simulator.templates import Digits, Field, Kind, Octets, Templates, Uint

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


# §5.3.11 power saving mode, as an IoT module requests it: T3324 (GPRS timer 2, TS 24.008
# §10.5.7.4: unit 1 minute) 2 minutes of reachability after each exchange, T3412 extended
# (GPRS timer 3, §10.5.7.4a: unit 1 hour) 1 hour between periodic updates
PSM_TIMERS = {"T3324": {"Unit": 1, "Value": 2}, "T3412Ext": {"Unit": 1, "Value": 1}}


# §8.2.4 Attach request (with §8.3.20 PDN connectivity request in its ESM container)
def attach_request(identity: str | Guti, ksi: int = NO_KEY, psm: bool = False) -> bytes:
    """Attach Request with an IMSI (first attach) or the GUTI last allocated; `psm`: asking
    for power saving mode (`PSM_TIMERS`)."""
    esm = ESM.ESMPDNConnectivityRequest(val={"ESMHeader": {"EPSBearerId": 0, "PTI": 1},
                                             "PDNType": 1, "RequestType": 1}).to_bytes()
    return EMM.EMMAttachRequest(val={
        "NAS_KSI": {"TSC": 0, "Value": ksi}, "EPSAttachType": EPS_ATTACH,
        "EPSID": _epsid(identity), "UENetCap": b"\xe0\xe0\x00\x00", "ESMContainer": esm,
        **(PSM_TIMERS if psm else {}),
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
def tau_request(guti: Guti, old_tac: int, periodic: bool, ksi: int, psm: bool = False) -> bytes:
    """TAU Request (TA updating or periodic updating) with the old GUTI and old TAI;
    `psm`: asking for power saving mode (`PSM_TIMERS`)."""
    return EMM.EMMTrackingAreaUpdateRequest(val={
        "NAS_KSI": {"TSC": 0, "Value": ksi},
        "EPSUpdateType": {"Value": PERIODIC_UPDATING if periodic else TA_UPDATING},
        "OldGUTI": {"type": IDTYPE_GUTI, "ident": guti.ident()},
        "OldTAI": {"PLMN": guti.plmn, "TAC": old_tac},
        **(PSM_TIMERS if psm else {}),
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


class GutiField(Field):
    """A GUTI in an EPS mobile identity (§9.9.3.12): MMEGI, MMEC and M-TMSI, 56 bits after
    the PLMN, which shapes the template."""

    __slots__ = ()
    shaped = True
    plain_rep = False

    def shape(self, value: Guti) -> str:
        return value.plmn

    def shape_src(self, var: str) -> str:
        return f"{var}.plmn"

    def bits(self, shape: str) -> int:
        return 56

    def probes(self, shape: str) -> tuple[Guti, Guti]:
        return Guti(shape, 0x5555, 0x55, 0x55555555), Guti(shape, 0xAAAA, 0xAA, 0xAAAAAAAA)

    def sample(self, r: random.Random, shape: str) -> Guti:
        return Guti(shape, r.getrandbits(16), r.getrandbits(8), r.getrandbits(32))

    def rep(self, value: Guti) -> int:
        return value.mmegi << 40 | value.mmec << 32 | value.mtmsi


_GUTI, _TAC, _ADDR = GutiField(), Uint(16), Octets()
_KINDS = {  # name: (pycrate builder on (*constants, *values), fields)
    "attach_imsi": (lambda ksi, psm, imsi: attach_request(imsi, ksi, psm), Digits(IDTYPE_IMSI)),
    "attach_guti": (lambda ksi, psm, guti: attach_request(guti, ksi, psm), _GUTI),
    "attach_accept": (lambda t3412, tac, ip, guti: attach_accept(guti, [tac], t3412, ip),
                      _TAC, _ADDR, _GUTI),
    "attach_complete": (attach_complete,),
    "identity_request": (identity_request_imeisv,),
    "identity_response": (identity_response_imeisv, Digits(IDTYPE_IMEISV)),
    "tau_request": (lambda periodic, ksi, psm, guti, tac: tau_request(guti, tac, periodic, ksi,
                                                                      psm), _GUTI, _TAC),
    "tau_accept": (lambda plmn, t3412, tac: tau_accept(plmn, [tac], t3412, None), _TAC),
    "tau_accept_guti": (lambda plmn, t3412, tac, guti: tau_accept(plmn, [tac], t3412, guti),
                        _TAC, _GUTI),
    "tau_complete": (tau_complete,),
    "service_request": (service_request,),
    "detach": (lambda ksi, guti: detach_request_switch_off(guti, ksi), _GUTI),
}


class NASMessages:
    """The functions above, filled from templates (`simulator.templates`); same arguments."""

    __slots__ = ("templates", "_k")

    def __init__(self, templates: Templates | None = None) -> None:
        self.templates = templates if templates is not None else Templates()
        self._k = {name: Kind("NAS " + name, build, *fields)
                   for name, (build, *fields) in _KINDS.items()}

    def _fill(self, kind: str, consts: tuple, values: tuple) -> bytes:
        return self.templates.encode(self._k[kind], consts, values)

    def attach_request(self, identity: str | Guti, ksi: int = NO_KEY, psm: bool = False) -> bytes:
        """See `attach_request`."""
        if isinstance(identity, Guti):
            return self._fill("attach_guti", (ksi, psm), (identity,))
        return self._fill("attach_imsi", (ksi, psm), (identity,))

    def attach_accept(self, guti: Guti, tacs: list[int], t3412: int, ue_ip: bytes) -> bytes:
        """See `attach_accept` (one TAC in the list: templated; more: pycrate)."""
        if len(tacs) != 1:
            return attach_accept(guti, tacs, t3412, ue_ip)
        return self._fill("attach_accept", (t3412,), (tacs[0], ue_ip, guti))

    def attach_complete(self) -> bytes:
        """See `attach_complete`."""
        return self._fill("attach_complete", (), ())

    def identity_request_imeisv(self) -> bytes:
        """See `identity_request_imeisv`."""
        return self._fill("identity_request", (), ())

    def identity_response_imeisv(self, imeisv: str) -> bytes:
        """See `identity_response_imeisv`."""
        return self._fill("identity_response", (), (imeisv,))

    def tau_request(self, guti: Guti, old_tac: int, periodic: bool, ksi: int,
                    psm: bool = False) -> bytes:
        """See `tau_request`."""
        return self._fill("tau_request", (periodic, ksi, psm), (guti, old_tac))

    def tau_accept(self, plmn: str, tacs: list[int], t3412: int,
                   new_guti: Guti | None) -> bytes:
        """See `tau_accept` (one TAC in the list: templated; more: pycrate)."""
        if len(tacs) != 1:
            return tau_accept(plmn, tacs, t3412, new_guti)
        if new_guti is None:
            return self._fill("tau_accept", (plmn, t3412), (tacs[0],))
        return self._fill("tau_accept_guti", (plmn, t3412), (tacs[0], new_guti))

    def tau_complete(self) -> bytes:
        """See `tau_complete`."""
        return self._fill("tau_complete", (), ())

    def service_request(self, ksi: int, seq: int) -> bytes:
        """See `service_request` (one template per key set identifier and sequence number)."""
        return self._fill("service_request", (ksi, seq), ())

    def detach_request_switch_off(self, guti: Guti, ksi: int) -> bytes:
        """See `detach_request_switch_off`."""
        return self._fill("detach", (ksi,), (guti,))
