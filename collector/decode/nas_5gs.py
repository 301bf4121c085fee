"""5GS NAS (TS 24.501) carried in NGAP: what a message says about who it names.

Layout is pycrate's (`TS24501_FGMM`, `TS24501_FGSM`, parsed by `NAS5G`); meaning
is `NAS5GSInfo`.  A SUPI read from a null-scheme SUCI is turned into a pseudonym
here, inside the decode call: the digits never reach a NAS5GSInfo, an exception,
a log line or a table.  A SUCI concealed by a protection scheme (TS 33.501
§6.12.2, Annex C) cannot be turned into a SUPI: the message is flagged
`concealed` and the caller attributes it by correlation if it can.

Security protected messages (§9.1.1, security header types 1-4, a 7-octet header:
EPD, header type, MAC, sequence number) are read as plain NAS through the header:
every capture we hold uses NEA0 null ciphering.  A protected message whose inner
message does not parse is `ciphered` when its header says ciphered, else `bad_nas`.

An initial NAS message may carry the whole message in a NAS message container
(§4.4.6, §9.11.3.33): the identities of the contained message are read too, the
name stays the outer one's (as tshark lists them, outer first).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

import collector.decode.pycrate_libs  # noqa: F401  (quiet pycrate loggers before importing it)
from collector.decode.plmn import decode_plmn, decode_tbcd, imsi_digits_ok, tac_of_digits
from collector.identity import Subscriber

NAS5G = import_module("pycrate_mobile.NAS5G")  # not in pycrate_libs (yet)

# §9.11.3.4 5GS mobile identity: type of identity
SUCI, GUTI, IMEI, S_TMSI, IMEISV = 1, 2, 3, 4, 5
EQUIPMENT = (IMEI, IMEISV)  # only their TAC is kept (DESIGN.md), the other digits dropped
SUPI_FORMAT_IMSI = 0  # §9.11.3.4: SUPI format of a SUCI
NULL_SCHEME = 0       # TS 33.501 Annex C.1: protection scheme identifier of the null scheme

# IEs naming the UE that sends the message (pycrate IE names)
UE_IDENTITY_IES = {
    "5GMMRegistrationRequest": ("5GSID", "AddGUTI"),  # §8.2.6 REGISTRATION REQUEST
    "5GMMMODeregistrationRequest": ("5GSID",),        # §8.2.12 DEREGISTRATION REQUEST (UE orig.)
    "5GMMIdentityResponse": ("5GSID",),               # §8.2.22 IDENTITY RESPONSE
    "5GMMServiceRequest": ("5GSID",),                 # §8.2.16 SERVICE REQUEST (5G-S-TMSI)
}
# IEs holding the UE's equipment identity (§8.2.26 SECURITY MODE COMPLETE: IMEISV, and a
# non-IMEISV PEI, 5GS mobile identities)
EQUIPMENT_IES = {"5GMMSecurityModeComplete": ("IMEISV", "PEI")}
# IEs holding a 5G-GUTI the network allocates to the UE
ALLOCATED_GUTI_IES = {
    "5GMMRegistrationAccept": "GUTI",                 # §8.2.7 REGISTRATION ACCEPT
    "5GMMConfigurationUpdateCommand": "GUTI",         # §8.2.19 CONFIGURATION UPDATE COMMAND
}
CONTAINER_IE = "NASContainer"                         # §9.11.3.33 NAS message container
# the UE leaves the network (§5.5.2.2 UE-initiated de-registration)
LEAVING = frozenset({"5GMMMODeregistrationRequest"})
# messages whose title in §8.2/§8.3 itself starts with 5GMM or 5GSM
_PREFIXED_IN_SPEC = frozenset({"5GMMStatus", "5GSMStatus"})
_SECURITY_PROTECTED = "5GMMSecProtNASMessage"         # §8.2.28, header types 1 to 4
_CIPHERED_HEADERS = (2, 4)
_MAX_NESTING = 2  # a container inside a container is not valid NAS; stop there


class NAS5GSInfo:
    """What one 5GS NAS message tells: its name, the UE identity, 5G-GUTIs, de-registration."""

    __slots__ = ("name", "mm", "subscriber", "tmsi", "new_tmsi", "suci", "concealed", "off",
                 "imei_tac")

    def __init__(self, name: str, mm: bool) -> None:
        self.name = name                                   # spec-style, e.g. 'RegistrationRequest'
        self.mm = mm                                       # 5G mobility management, not 5GSM
        self.subscriber: Subscriber | None = None          # from a null-scheme SUCI
        self.tmsi: tuple[int, int, int] | None = None      # 5G-S-TMSI naming the UE
        self.new_tmsi: tuple[int, int, int] | None = None  # 5G-S-TMSI of a 5G-GUTI allocated
        self.suci = False                                  # carries a SUCI, whatever its scheme
        self.concealed = False                             # carries a SUCI of a non-null scheme
        self.off = False
        self.imei_tac: str | None = None                   # TAC of an IMEI / IMEISV it carries

    @property
    def has_identity(self) -> bool:
        """True if the message carries a SUCI, a 5G-GUTI or a 5G-S-TMSI."""
        return self.suci or self.tmsi is not None or self.new_tmsi is not None

    def __repr__(self) -> str:
        return (f"NAS5GSInfo({self.name!r}, subscriber={self.subscriber!r}, tmsi={self.tmsi!r}, "
                f"new_tmsi={self.new_tmsi!r}, concealed={self.concealed}, off={self.off}, "
                f"imei_tac={self.imei_tac!r})")


def spec_name(pycrate_name: str) -> str:
    """'5GMMRegistrationRequest' -> 'RegistrationRequest', '5GMMMODeregistrationRequest' ->
    'DeregistrationRequest'; '5GMMStatus' stays (the spec's title is 5GMM STATUS)."""
    if pycrate_name in _PREFIXED_IN_SPEC:
        return pycrate_name
    name = pycrate_name[4:] if pycrate_name.startswith(("5GMM", "5GSM")) else pycrate_name
    if name.startswith(("MO", "MT")) and name[2:3].isupper():
        name = name[2:]
    return name


class NAS5GSDecoder:
    """Decodes one 5GS NAS PDU: `buf -> (NAS5GSInfo | None, reason | None)`."""

    __slots__ = ("_pseudonymize",)

    def __init__(self, pseudonymize: Callable[[str], int]) -> None:
        self._pseudonymize = pseudonymize

    def __call__(self, buf: bytes) -> tuple[NAS5GSInfo | None, str | None]:
        """Read one NAS PDU (5GMM or 5GSM, plain or behind a null-ciphered security header)."""
        msg = _parse(buf)
        if msg is None:
            return None, "bad_nas"
        if msg._name == _SECURITY_PROTECTED:
            msg = _parse(msg[3].get_val())  # the plain message behind the header, if NEA0
            if msg is None or msg._name == _SECURITY_PROTECTED:
                return None, "ciphered" if (buf[1] & 0xF) in _CIPHERED_HEADERS else "bad_nas"
        info = NAS5GSInfo(spec_name(msg._name), msg._name.startswith("5GMM"))
        try:
            self._read(msg, info, 0)
        except Exception:  # a pycrate IE that fails to decode its own value
            return None, "bad_nas"
        return info, None

    def _read(self, msg, info: NAS5GSInfo, depth: int) -> None:
        cls = msg._name
        for ie_name in UE_IDENTITY_IES.get(cls, ()):
            ident = _present(msg, ie_name)
            if ident is not None:
                self._read_identity(ident[-1], info)
        for ie_name in EQUIPMENT_IES.get(cls, ()):
            ident = _present(msg, ie_name)
            if ident is not None and _identity_type(ident[-1]) in EQUIPMENT:
                info.imei_tac = info.imei_tac or _equipment_tac(ident[-1])
        guti = _present(msg, ALLOCATED_GUTI_IES.get(cls))
        if guti is not None and _identity_type(guti[-1]) == GUTI:
            info.new_tmsi = _s_tmsi(guti[-1])
        info.off = info.off or cls in LEAVING
        container = _present(msg, CONTAINER_IE)
        if container is not None and depth < _MAX_NESTING:
            inner = _parse(container[-1].get_val())
            if inner is not None and inner._name.startswith("5GMM") \
                    and inner._name != _SECURITY_PROTECTED:
                self._read(inner, info, depth + 1)

    def _read_identity(self, fgsid, info: NAS5GSInfo) -> None:
        """Fill `info` from a 5GS mobile identity (§9.11.3.4); of an IMEI/IMEISV only the TAC
        is kept, a MAC address or EUI-64 is dropped."""
        kind = _identity_type(fgsid)
        if kind in EQUIPMENT:
            info.imei_tac = info.imei_tac or _equipment_tac(fgsid)
        elif kind in (GUTI, S_TMSI):
            info.tmsi = info.tmsi or _s_tmsi(fgsid)
        elif kind == SUCI:
            info.suci = True
            if fgsid["Fmt"].get_val() != SUPI_FORMAT_IMSI:
                return  # a network specific identifier (NAI): not an IMSI
            suci = fgsid["Value"].get_alt()
            if suci["ProtSchemeID"].get_val() != NULL_SCHEME:
                info.concealed = True
                return
            # read the MSIN octets directly: pycrate 0.8.1 to_sba() returns them as hex
            home = decode_plmn(suci["PLMN"].to_bytes())
            msin = decode_tbcd(suci["Output"].get_alt().to_bytes())
            if home and msin and imsi_digits_ok(home + msin) and info.subscriber is None:
                info.subscriber = Subscriber(self._pseudonymize(home + msin), home[:3])


def _parse(buf: bytes):
    """One 5GS NAS message, its containers left as bytes (parsed on demand, to a bounded
    depth: pycrate's own recursion costs time with the nesting), or None."""
    try:
        msg, _err = NAS5G.parse_NAS5G(buf, inner=False)
    except Exception:  # pycrate catches most errors itself; never let one escape
        return None
    return msg


def _present(msg, ie_name: str | None):
    """The IE of that name if the message has it, else None."""
    if ie_name is None or ie_name not in msg._by_name:
        return None
    ie = msg[ie_name]
    return None if ie.get_trans() else ie


def _identity_type(fgsid) -> int | None:
    """Type of identity of a 5GS mobile identity, None when it is empty or stayed raw bytes
    (pycrate keeps an IE it cannot decode, e.g. some NAI SUCIs, as a plain buffer)."""
    fields = getattr(fgsid, "_by_name", None)
    return fgsid["Type"].get_val() if fields and "Type" in fields else None


def _equipment_tac(fgsid) -> str | None:
    """TAC of an IMEI/IMEISV 5GS mobile identity; pycrate writes digit 1 as a number (0xA-0xF
    as two characters): it must be a digit."""
    if fgsid["Digit1"].get_val() > 9:
        return None
    return tac_of_digits(fgsid.decode()[1])


def _s_tmsi(fgsid) -> tuple[int, int, int]:
    # TS 23.003 §2.10.1: 5G-S-TMSI = AMF Set ID (10 bits), AMF Pointer (6 bits), 5G-TMSI (32 bits)
    return fgsid["AMFSetID"].get_val(), fgsid["AMFPtr"].get_val(), fgsid["5GTMSI"].get_val()
