"""EPS NAS (TS 24.301) carried in S1AP: what a message says about who and where.

Layout is pycrate's (`TS24301_EMM`, `TS24301_ESM`, parsed by `NASLTE`); meaning
is `NASInfo`.  The IMSI is turned into a pseudonym here, inside the decode call:
the digits never reach a NASInfo, an exception, a log line or a table.

Security protected messages (§9.3.1, header types 1-4) are read through their
6-octet header as plain NAS: every capture we hold uses EEA0 null ciphering.
Detecting the EEA algorithm of a connection, and counting the rest as
`ciphered`, comes with the security-mode tracking.

pycrate (`NASLTE`, with the NAS and MAP modules it pulls, ~0.15 s) is imported by
the first call: `nas_eps_fast` reads most messages by hand and takes `NASInfo`
from here, so importing this module must not import pycrate.
"""

from __future__ import annotations

from collections.abc import Callable

from collector.decode import pycrate_libs
from collector.decode.plmn import imsi_digits_ok, tac_of_digits
from collector.identity import Subscriber

# TS 24.008 §10.5.1.4 / TS 24.301 §9.9.3.12 type of identity
IMSI, IMEI, IMEISV, TMSI, GUTI = 1, 2, 3, 4, 6

# IEs naming the UE that sends the message (pycrate IE names)
UE_IDENTITY_IES = {
    "EMMAttachRequest": "EPSID",                 # §8.2.4 ATTACH REQUEST, EPS mobile identity
    "EMMDetachRequestMO": "EPSID",               # §8.2.11.1 DETACH REQUEST (UE originating)
    "EMMIdentityResponse": "ID",                 # §8.2.19 IDENTITY RESPONSE, mobile identity
    "EMMTrackingAreaUpdateRequest": "OldGUTI",   # §8.2.29 TRACKING AREA UPDATE REQUEST
}
# IEs holding the UE's IMEISV (§8.2.21 SECURITY MODE COMPLETE, TS 24.008 mobile identity)
IMEISV_IES = {"EMMSecurityModeComplete": "IMEISV"}
# equipment identity types: §9.9.3.12 EPS mobile identity (IMEI), TS 24.008 §10.5.1.4 (IMEI,
# IMEISV); only their TAC is kept (DESIGN.md), the other digits are dropped on the spot
EQUIPMENT = {"EPSID": (3,), "ID": (IMEI, IMEISV), "IMEISV": (IMEI, IMEISV)}
# IEs holding a GUTI the network allocates to the UE
ALLOCATED_GUTI_IES = {
    "EMMAttachAccept": "GUTI",                   # §8.2.1 ATTACH ACCEPT
    "EMMTrackingAreaUpdateAccept": "GUTI",       # §8.2.26 TRACKING AREA UPDATE ACCEPT
    "EMMGUTIReallocCommand": "GUTI",             # §8.2.16 GUTI REALLOCATION COMMAND
}
# IEs holding tracking area identities (§9.9.3.33 TAI list, §9.9.3.32 last visited TAI)
TAI_IES = {
    "EMMAttachAccept": "TAIList",
    "EMMTrackingAreaUpdateAccept": "TAIList",
    "EMMGUTIReallocCommand": "TAIList",
    "EMMAttachRequest": "OldTAI",
    "EMMTrackingAreaUpdateRequest": "OldTAI",
}
# the UE leaves the network (§5.5.2.2 UE initiated detach)
LEAVING = frozenset({"EMMDetachRequestMO"})
# §8.2.4 / §8.2.29: the UE asks for power saving mode (an active time T3324, §5.3.11), which
# IoT modules do and handsets do not (collector.m2m)
PSM_IES = {"EMMAttachRequest": "T3324", "EMMTrackingAreaUpdateRequest": "T3324"}
# messages whose title in §8.2/§8.3 itself starts with EMM or ESM (EMM STATUS, ESM STATUS, ...)
_PREFIXED_IN_SPEC = frozenset({"EMMInformation", "EMMStatus", "ESMInformationRequest",
                               "ESMInformationResponse", "ESMStatus", "ESMDummyMessage",
                               "ESMDataTransport"})
_SECURITY_PROTECTED = "EMMSecProtNASMessage"  # §9.3.1 header types 1 to 4
_CIPHERED_HEADERS = (2, 4)


class NASInfo:
    """What one NAS message tells: its name, the UE identity, GUTIs, TAIs, detach."""

    __slots__ = ("name", "emm", "subscriber", "tmsi", "new_tmsi", "has_tai", "off", "imei_tac",
                 "psm")

    def __init__(self, name: str, emm: bool) -> None:
        self.name = name                              # spec-style name, e.g. 'AttachRequest'
        self.emm = emm                                # EPS mobility management, not ESM
        self.subscriber: Subscriber | None = None     # from an IMSI the message carries
        self.tmsi: tuple[int, int] | None = None      # (MMEC, M-TMSI) of a GUTI naming the UE
        self.new_tmsi: tuple[int, int] | None = None  # (MMEC, M-TMSI) allocated to the UE
        self.has_tai = False
        self.off = False
        self.imei_tac: str | None = None              # TAC of an IMEI / IMEISV it carries
        self.psm = False                              # the UE requests power saving mode

    @property
    def has_identity(self) -> bool:
        """True if the message carries an IMSI or a GUTI."""
        return self.subscriber is not None or self.tmsi is not None or self.new_tmsi is not None

    def __repr__(self) -> str:
        return (f"NASInfo({self.name!r}, subscriber={self.subscriber!r}, tmsi={self.tmsi!r}, "
                f"new_tmsi={self.new_tmsi!r}, has_tai={self.has_tai}, off={self.off}, "
                f"imei_tac={self.imei_tac!r}, psm={self.psm})")


def spec_name(pycrate_name: str) -> str:
    """'EMMAttachRequest' -> 'AttachRequest', 'EMMDetachRequestMO' -> 'DetachRequest',
    'ESMInformationResponse' stays (pycrate's class name, less the prefix the spec lacks)."""
    name = pycrate_name
    if name.startswith(("EMM", "ESM")) and name not in _PREFIXED_IN_SPEC:
        name = name[3:]
    return name[:-2] if name.endswith(("MO", "MT")) else name


class NASEPSDecoder:
    """Decodes one EPS NAS PDU: `(buf, uplink) -> (NASInfo | None, reason | None)`."""

    __slots__ = ("_pseudonymize",)

    def __init__(self, pseudonymize: Callable[[str], int]) -> None:
        self._pseudonymize = pseudonymize

    def __call__(self, buf: bytes, uplink: bool) -> tuple[NASInfo | None, str | None]:
        """Read one NAS PDU sent by the UE (`uplink`) or by the network."""
        nas = pycrate_libs.NASLTE  # imported on the first message read by pycrate
        parse = nas.parse_NASLTE_MO if uplink else nas.parse_NASLTE_MT
        try:
            msg, _err = parse(buf, null_cipher=True)
        except Exception:  # pycrate catches most errors itself; never let one escape
            msg = None
        if msg is None:
            return None, "bad_nas"
        if msg._name == _SECURITY_PROTECTED:
            msg = msg[3]
            if msg._name == "NASMessage":  # the plain message inside did not parse
                return None, "ciphered" if buf[0] >> 4 in _CIPHERED_HEADERS else "bad_nas"
        info = NASInfo(spec_name(msg._name), msg._name.startswith("EMM"))
        try:
            self._read(msg, info)
        except Exception:  # a pycrate IE that fails to decode its own value
            return None, "bad_nas"
        return info, None

    def _read(self, msg, info: NASInfo) -> None:
        cls = msg._name
        name = UE_IDENTITY_IES.get(cls)
        ident = _decoded(msg, name)
        info.imei_tac = _equipment_tac(msg, name, ident) or _equipment_tac(
            msg, IMEISV_IES.get(cls), _decoded(msg, IMEISV_IES.get(cls)))
        if ident and ident[0] == IMSI and imsi_digits_ok(ident[1]):
            info.subscriber = Subscriber(self._pseudonymize(ident[1]), ident[1][:3])
        elif ident and ident[0] == GUTI:
            info.tmsi = (ident[3], ident[4])
        guti = _decoded(msg, ALLOCATED_GUTI_IES.get(cls))
        if guti and guti[0] == GUTI:
            info.new_tmsi = (guti[3], guti[4])
        info.has_tai = _present(msg, TAI_IES.get(cls)) is not None
        info.off = cls in LEAVING
        info.psm = _present(msg, PSM_IES.get(cls)) is not None


def _present(msg, ie_name: str | None):
    """The IE of that name if the message has it, else None."""
    if ie_name is None:
        return None
    ie = msg[ie_name]
    return None if ie.get_trans() else ie


def _equipment_tac(msg, ie_name: str | None, ident: tuple | None) -> str | None:
    """TAC of an IMEI/IMEISV identity IE (decoded as `ident`), else None.  pycrate writes
    digit 1 as a number (an octet's 0xA-0xF as two characters): it must be a digit."""
    if not ident or ident[0] not in EQUIPMENT.get(ie_name, ()) or msg[ie_name][-1][0].get_val() > 9:
        return None
    return tac_of_digits(ident[1])


def _decoded(msg, ie_name: str | None) -> tuple | None:
    """The decoded mobile identity of an IE: (1, imsi) / (6, plmn, mmegi, mmec, mtmsi) / ..."""
    ie = _present(msg, ie_name)
    return None if ie is None else ie[-1].decode()
