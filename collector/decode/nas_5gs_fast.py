"""Hand-written 5GS NAS reader (TS 24.501): a message's NAS5GSInfo without pycrate objects.

It gives what `NAS5GSDecoder` gives through pycrate 0.8.1, the reference path,
or raises `Doubt` for that path to decide.  Messages are walked as pycrate
walks them (`NAS5G.parse_NAS5G`, `TS24007.Layer3E`), with the walker of the EPS
reader (`nas_eps_fast.walk`):

- octet 1 is the extended protocol discriminator (§9.2): 0x7E 5GMM, 0x2E 5GSM,
  anything else fails; a 5GMM octet 2 of 1-4 is a security protected message
  (§9.1.1: 7-octet header, the message inside read as plain NAS, NEA0 assumed);
  the type is octet 3 (5GMM, §9.7) or octet 4 (5GSM, after PSI and PTI);
- the layout of each message (mandatory IEs in order, then optional IEs
  matched against those not yet seen in table order) is taken once from
  pycrate's message classes (`TS24501_FGMM`, `TS24501_FGSM`), as `ngap_schema`
  takes NGAP's from its ASN.1: the reference parses with the same tables;
- a 5GS mobile identity (§9.11.3.4) is read when it is plain: a SUCI of SUPI
  format IMSI (null scheme: the SUPI; ECIES profile A or B, or another scheme:
  `concealed`), a 5G-GUTI of 11 octets, a 5G-S-TMSI of 7; a NAI, a short or
  over-long value is doubt.

The SUPI digits exist only inside `_identity`: they leave as a pseudonym.
"""

from __future__ import annotations

from collections.abc import Callable

from collector.decode.aper_bits import Doubt
from collector.decode.nas_5gs import (
    ALLOCATED_GUTI_IES,
    CONTAINER_IE,
    EQUIPMENT,
    EQUIPMENT_IES,
    GUTI,
    LEAVING,
    NAS5G,
    NULL_SCHEME,
    S_TMSI,
    SUCI,
    SUPI_FORMAT_IMSI,
    UE_IDENTITY_IES,
    NAS5GSInfo,
    spec_name,
)
from collector.decode.nas_eps_fast import walk
from collector.decode.nas_eps_layout import Layout
from collector.decode.plmn import decode_plmn, decode_tbcd, imsi_digits_ok, tac_of_identity
from collector.identity import Subscriber

EPD_5GMM, EPD_5GSM = 0x7E, 0x2E           # §9.2 extended protocol discriminator
_SECURITY_HEADER = 7                      # §9.1.1: EPD, header type, MAC (4), sequence number
_CIPHERED_HEADERS = (2, 4)
_MAX_NESTING = 2                          # as nas_5gs: a container inside a container stops
# TS 33.501 Annex C.3: ECIES profile A (scheme 1) and B (scheme 2) scheme output:
# ephemeral public key (32 / 33 octets), ciphertext, MAC (8): shorter ones are doubt
_ECIES_MIN_OUTPUT = {1: 40, 2: 41}
_SUCI_HEAD = 8                            # type octet, PLMN (3), routing indicator (2), scheme, key id
_NAI_FORMATS = (1, 2, 3)                  # pycrate reads these SUCI formats as NAI text


class _Message:
    """A message type compiled for the walker, with what the decoder reads of it."""

    __slots__ = ("layout", "name", "mm", "ids", "equipment", "guti", "container", "leaving")

    def __init__(self, cls) -> None:
        msg = cls()
        pycrate_name = msg._name
        self.name, self.mm = spec_name(pycrate_name), pycrate_name.startswith("5GMM")
        self.ids = UE_IDENTITY_IES.get(pycrate_name, ())
        self.equipment = EQUIPMENT_IES.get(pycrate_name, ())
        self.guti = ALLOCATED_GUTI_IES.get(pycrate_name)
        roles = set(self.ids) | set(self.equipment) | {self.guti, CONTAINER_IE}
        self.layout = Layout(pycrate_name, *_layout(msg, roles))
        self.container = any(o[3] == CONTAINER_IE for o in self.layout.optional)
        self.leaving = pycrate_name in LEAVING


def _layout(msg, roles: set) -> tuple[str, str]:
    """(mandatory, optional) of a pycrate message in `nas_eps_layout` notation: the IEs after
    the header, half-octet V IEs paired into octets, the IEs named in `roles` tagged."""
    mandatory, optional, halves = [], [], 0
    for ie in msg._content[1:]:
        kind, tag = type(ie).__name__, f"@{ie._name}" if ie._name in roles else ""
        if kind in ("Type1V", "Uint"):
            halves += 1
            if halves % 2 == 0:
                mandatory.append("1")
        elif kind == "Type3V":
            mandatory.append(str(ie[-1]._bl // 8) + tag)
        elif kind in ("Type4LV", "Type6LVE"):
            mandatory.append(("LV" if kind == "Type4LV" else "LVE") + tag)
        elif kind == "Type1TV":
            optional.append(f"{ie[0]():X}-{tag}")
        elif kind in ("Type2", "Type3TV"):
            size = 1 if kind == "Type2" else 1 + ie[-1]._bl // 8
            optional.append(f"{ie[0]():02X}:{size}{tag}")
        elif kind in ("Type4TLV", "Type6TLVE"):
            optional.append(f"{ie[0]():02X}{'=' if kind == 'Type6TLVE' else ''}{tag}")
        else:  # no other IE kind in pycrate 0.8.1's 5GS messages
            raise TypeError(f"{msg._name}: {ie._name} is a {kind}")
    if halves % 2:
        raise TypeError(f"{msg._name}: odd number of half-octet IEs")
    return " ".join(mandatory), " ".join(optional)


def compile_messages() -> tuple[dict[int, _Message], dict[int, _Message]]:
    """({5GMM type: _Message}, {5GSM type: _Message}) from pycrate's message classes."""
    return ({t: _Message(c) for t, c in NAS5G.FGMMTypeClasses.items()},
            {t: _Message(c) for t, c in NAS5G.FGSMTypeClasses.items()})


class FiveGSNASReader:
    """`buf -> (NAS5GSInfo | None, reason | None)`, as `NAS5GSDecoder`; raises Doubt."""

    __slots__ = ("_pseudonymize", "_mm", "_sm")

    def __init__(self, pseudonymize: Callable[[str], int]) -> None:
        self._pseudonymize = pseudonymize
        self._mm, self._sm = compile_messages()

    def __call__(self, buf: bytes) -> tuple[NAS5GSInfo | None, str | None]:
        """Read one NAS PDU (5GMM or 5GSM, plain or behind a security header)."""
        if len(buf) >= 3 and buf[0] == EPD_5GMM and 1 <= buf[1] <= 4:
            if len(buf) < _SECURITY_HEADER:
                return None, "bad_nas"
            inner = buf[_SECURITY_HEADER:]
            found = self._plain(inner)
            if found is None:
                return None, "ciphered" if buf[1] in _CIPHERED_HEADERS else "bad_nas"
            return self._info(inner, *found), None
        found = self._plain(buf)
        return (None, "bad_nas") if found is None else (self._info(buf, *found), None)

    def _plain(self, buf: bytes) -> tuple[_Message, dict] | None:
        """(message, {role: value span}) of a plain message, None where pycrate's parse
        fails or finds a security protected message."""
        if len(buf) < 3:
            return None
        if buf[0] == EPD_5GMM:
            if 1 <= buf[1] <= 4:
                return None
            message, start = self._mm.get(buf[2]), 3
        elif buf[0] == EPD_5GSM and len(buf) >= 4:
            message, start = self._sm.get(buf[3]), 4
        else:
            return None
        if message is None:
            return None
        roles = walk(buf, start, message.layout)
        return None if roles is None else (message, roles)

    def _info(self, buf: bytes, message: _Message, roles: dict) -> NAS5GSInfo:
        info = NAS5GSInfo(message.name, message.mm)
        self._read(buf, message, roles, info, 0)
        return info

    def _read(self, buf: bytes, message: _Message, roles: dict, info: NAS5GSInfo,
              depth: int) -> None:
        for ie_name in message.ids:
            span = roles.get(ie_name)
            if span is not None:
                self._identity(buf[span[0]:span[1]], info)
        for ie_name in message.equipment:
            span = roles.get(ie_name)
            if span is not None and span[1] > span[0] and buf[span[0]] & 7 in EQUIPMENT:
                info.imei_tac = info.imei_tac or tac_of_identity(buf[span[0]:span[1]])
        span = roles.get(message.guti) if message.guti else None
        if span is not None:
            value = buf[span[0]:span[1]]
            if value and value[0] & 7 == GUTI:
                info.new_tmsi = _guti(value)
        info.off = info.off or message.leaving
        span = roles.get(CONTAINER_IE) if message.container else None
        if span is not None and depth < _MAX_NESTING:
            inner = buf[span[0]:span[1]]
            found = self._plain(inner)
            if found is not None and found[0].mm:
                self._read(inner, found[0], found[1], info, depth + 1)

    def _identity(self, value: bytes, info: NAS5GSInfo) -> None:
        """Fill `info` from a 5GS mobile identity value (§9.11.3.4); of an IMEI/IMEISV only the
        TAC is read, a MAC address or EUI-64 is dropped."""
        if not value:
            raise Doubt("empty identity")
        kind = value[0] & 7
        if kind in EQUIPMENT:
            info.imei_tac = info.imei_tac or tac_of_identity(value)
        elif kind == GUTI:
            info.tmsi = info.tmsi or _guti(value)
        elif kind == S_TMSI:
            if len(value) != 7:
                raise Doubt("5G-S-TMSI length")
            info.tmsi = info.tmsi or _tmsi(value, 1)
        elif kind == SUCI:
            fmt = value[0] >> 4 & 7
            if fmt in _NAI_FORMATS:
                raise Doubt("SUCI NAI")
            if fmt != SUPI_FORMAT_IMSI:
                info.suci = True
                return
            if len(value) < _SUCI_HEAD:
                raise Doubt("SUCI length")
            scheme = value[6] & 0xF
            if len(value) - _SUCI_HEAD < _ECIES_MIN_OUTPUT.get(scheme, 0):
                raise Doubt("SUCI scheme output")
            info.suci = True
            if scheme != NULL_SCHEME:
                info.concealed = True
                return
            home, msin = decode_plmn(value[1:4]), decode_tbcd(value[_SUCI_HEAD:])
            if home and msin and imsi_digits_ok(home + msin) and info.subscriber is None:
                info.subscriber = Subscriber(self._pseudonymize(home + msin), home[:3])


def _guti(value: bytes) -> tuple[int, int, int]:
    # 5G-GUTI: type octet, PLMN (3), AMF Region ID (1), then as a 5G-S-TMSI
    if len(value) != 11:
        raise Doubt("5G-GUTI length")
    return _tmsi(value, 5)


def _tmsi(value: bytes, at: int) -> tuple[int, int, int]:
    # TS 23.003 §2.10.1: AMF Set ID (10 bits), AMF Pointer (6 bits), 5G-TMSI (32 bits)
    return (value[at] << 2 | value[at + 1] >> 6, value[at + 1] & 0x3F,
            int.from_bytes(value[at + 2:at + 6], "big"))
