"""Hand-written EPS NAS reader (TS 24.301): a message's NASInfo without building pycrate objects.

It gives what `NASEPSDecoder` gives through pycrate 0.8.1, the reference path,
or raises `Doubt` for that path to decide.  The messages are walked as pycrate
walks them (NASLTE.parse_NASLTE_MO/MT with null_cipher, TS24007.Layer3E):

- the first octet's high nibble picks the format, whatever the protocol
  discriminator: 1-4 a security protected message (§9.3.1: 6-octet header, the
  message inside read as plain NAS, EEA0 assumed), 12 a SERVICE REQUEST
  (§8.2.25), anything else a plain message by discriminator, 7 EMM (type in
  octet 2) or 2 ESM (type in octet 3), another one fails;
- mandatory IEs in order; then optional IEs, each matched against those not
  yet seen in the order of the §8 table (half-octet IEIs by their high nibble
  or the whole octet), an unknown IEI skipped by its format (TS 24.007
  §11.2.4: bit 8 set, one octet; 0x7X, TLV-E; else TLV); an IE running past the
  end fails the message (`bad_nas`);
- the identity IEs decode as §9.9.3.12 / TS 24.008 §10.5.1.4 say when they
  are plain (IMSI digits, a 0xF filler only at the end; a GUTI of 11 octets);
  anything else is doubt.

Raw IMSI digits exist only inside `__call__`: they leave as a pseudonym.
"""

from __future__ import annotations

from collections.abc import Callable

from collector.decode.aper_bits import Doubt
from collector.decode.nas_eps import NASInfo
from collector.decode.nas_eps_layout import (
    DETACH_MO,
    DETACH_MT,
    EMM,
    ESM,
    LV,
    REST,
    SERVICE_REQUEST,
    TLV,
    TLVE,
    Layout,
    compile_table,
)
from collector.decode.plmn import imsi_digits_ok, tac_of_identity
from collector.identity import Subscriber

# type of identity: IMSI and GUTI (TS 24.301 §9.9.3.12, TS 24.008 §10.5.1.4), and the
# equipment identities, dropped on the spot (DESIGN.md): §9.9.3.12 IMEI; §10.5.1.4 IMEI, IMEISV
IMSI, GUTI = 1, 6
_EQUIPMENT = {True: (3,), False: (2, 3)}
_SECURITY_HEADER = 6   # §9.3.1: security header type + PD, MAC (4 octets), sequence number
_CIPHERED_HEADERS = (2, 4)

# BCD octets (TS 24.008 §10.5.1.4): both digits, or the last digit before an 0xF filler
_PAIR = [f"{o & 15}{o >> 4}" if o & 15 < 10 and o >> 4 < 10 else None for o in range(256)]
_LAST = [_PAIR[o] or (str(o & 15) if o & 15 < 10 and o >> 4 == 15 else None) for o in range(256)]


def walk(buf: bytes, start: int, layout: Layout) -> dict[str, tuple[int, int]] | None:
    """{role: (start, end) of its value} of a message body at `start`, or None when the
    body ends inside an IE (where pycrate's decode fails)."""
    end, roles = len(buf), {}
    pos = start
    for kind, role in layout.mandatory:
        if kind > 0:
            first, pos = pos, pos + kind
        elif kind == LV:
            first = pos + 1
            pos = first + buf[pos] if pos < end else end + 1
        else:
            first = pos + 2
            pos = first + (buf[pos] << 8 | buf[pos + 1]) if first <= end else end + 1
        if pos > end:
            return None
        if role:
            roles[role] = (first, pos)
    pending = layout.optional
    while pos < end:
        t8 = buf[pos]
        t4 = t8 >> 4
        for i, ie in enumerate(pending):
            if (ie[0] == 4 and ie[1] == t4) or ie[1] == t8:
                kind, role = ie[2], ie[3]
                pending = pending[:i] + pending[i + 1:]
                break
        else:  # unknown IEI (TS 24.007 §11.2.4), skipped as pycrate's Layer3E does
            kind, role = (1 if t8 & 0x80 else TLVE if t8 & 0x70 == 0x70 else TLV), None
        if kind > 0:
            first, pos = pos + 1, pos + kind
        elif kind == REST:
            first, pos = pos + 1, end
        elif kind == TLV:
            first = pos + 2
            pos = first + buf[pos + 1] if first <= end else end + 1
        else:
            first = pos + 3
            pos = first + (buf[pos + 1] << 8 | buf[pos + 2]) if first <= end else end + 1
        if pos > end:
            return None
        if role:
            roles[role] = (first, pos)
    return roles


def _digits(value: bytes) -> str:
    """Digits of an IMSI / IMEI(SV) identity value: digit 1 in the high nibble of octet 1."""
    first = value[0] >> 4
    if first > 9:
        raise Doubt("identity digits")
    last = _LAST[value[-1]] if len(value) > 1 else ""
    pairs = [_PAIR[o] for o in value[1:-1]]
    if last is None or None in pairs:
        raise Doubt("identity digits")
    return str(first) + "".join(pairs) + last


def _identity(value: bytes, eps: bool) -> tuple[int, object]:
    """(IMSI, digits) | (GUTI, (MMEC, M-TMSI)) | (IMEI or IMEISV type, TAC or None) of an
    identity value: of an IMEI/IMEISV only the TAC is read, the other digits never are.

    `eps`: an EPS mobile identity (§9.9.3.12: IMSI, IMEI, GUTI), else a TS 24.008
    mobile identity (§10.5.1.4: IMSI, IMEI, IMEISV).
    """
    if not value:
        raise Doubt("empty identity")
    kind = value[0] & 7
    if kind == IMSI:
        return IMSI, _digits(value)
    if kind in _EQUIPMENT[eps]:
        return kind, tac_of_identity(value)  # whatever its digits, pycrate decodes them
    if eps and kind == GUTI and len(value) == 11:
        # PLMN (3 octets), MME group id (2), MME code (1), M-TMSI (4)
        return GUTI, (value[6], int.from_bytes(value[7:11], "big"))
    raise Doubt("identity type")


class EPSNASReader:
    """`(buf, uplink) -> (NASInfo | None, reason | None)`, as the pycrate path; raises Doubt."""

    __slots__ = ("_pseudonymize", "_emm", "_esm", "_service", "_detach_mo", "_detach_mt")

    def __init__(self, pseudonymize: Callable[[str], int]) -> None:
        self._pseudonymize = pseudonymize
        self._emm, self._esm = compile_table(EMM), compile_table(ESM)
        self._service = Layout(*SERVICE_REQUEST)
        self._detach_mo, self._detach_mt = Layout(*DETACH_MO), Layout(*DETACH_MT)

    def __call__(self, buf: bytes, uplink: bool) -> tuple[NASInfo | None, str | None]:
        """Read one NAS PDU sent by the UE (`uplink`) or by the network."""
        if buf and 1 <= buf[0] >> 4 <= 4:  # §9.3.1 security protected NAS message
            if len(buf) < _SECURITY_HEADER:
                return None, "bad_nas"
            info = self._message(buf[_SECURITY_HEADER:], uplink)
            if info is None:
                return None, "ciphered" if buf[0] >> 4 in _CIPHERED_HEADERS else "bad_nas"
            return info, None
        info = self._message(buf, uplink)
        return (None, "bad_nas") if info is None else (info, None)

    def _message(self, buf: bytes, uplink: bool) -> NASInfo | None:
        """NASInfo of a message, None where pycrate's parse fails."""
        if not buf:
            return None
        header, pd = buf[0] >> 4, buf[0] & 15
        if 1 <= header <= 4:  # only inside one (see __call__): pycrate names it and stops
            return NASInfo("SecProtNASMessage", True) if len(buf) >= _SECURITY_HEADER else None
        if header == 12:
            layout, start = self._service, 1
        elif pd == 7 and len(buf) >= 2:
            layout, start = self._emm.get(buf[1]), 2
            if buf[1] == 0x45:  # §8.2.11 DETACH REQUEST: its layout depends on the direction
                layout = self._detach_mo if uplink else self._detach_mt
        elif pd == 2 and len(buf) >= 3:
            layout, start = self._esm.get(buf[2]), 3
        else:
            return None
        if layout is None:  # no such message type (pycrate has the same set)
            return None
        roles = walk(buf, start, layout)
        if roles is None:
            return None
        info = NASInfo(layout.name, pd == 7 or header == 12)
        self._read(buf, roles, info)
        info.off = layout is self._detach_mo
        return info

    def _read(self, buf: bytes, roles: dict, info: NASInfo) -> None:
        span = roles.get("id") or roles.get("mi")
        if span is not None:
            kind, value = _identity(buf[span[0]:span[1]], "id" in roles)
            if kind == IMSI and imsi_digits_ok(value):
                info.subscriber = Subscriber(self._pseudonymize(value), value[:3])
            elif kind == GUTI:
                info.tmsi = value
            elif kind != IMSI:
                info.imei_tac = value
        span = roles.get("guti")
        if span is not None:
            kind, value = _identity(buf[span[0]:span[1]], True)
            if kind == GUTI:
                info.new_tmsi = value
        span = roles.get("imeisv")
        if span is not None and info.imei_tac is None:
            kind, value = _identity(buf[span[0]:span[1]], False)
            if kind != IMSI:
                info.imei_tac = value
        info.has_tai = "tai" in roles
        info.psm = "psm" in roles
