"""PLMN identities, TBCD digit strings, TACs and cell identities as S1AP carries them.

PLMN Identity (TS 36.413 §9.2.3.8) is read as TS 24.008 §10.5.1.13 codes it:
octet 1 = MCC digit 2 | MCC digit 1, octet 2 = MNC digit 3 (or filler 0xF) | MCC
digit 3, octet 3 = MNC digit 2 | MNC digit 1.  For a 3-digit MNC the S1AP text
reads as plain TBCD order (MNC digit 1 in octet 2), which tshark follows (`041`
where NAS shows `410`); implementations encode the same octets for the same network
in S1AP, NAS and GTPv2, so one reading everywhere gives a network one PLMN.
"""

from __future__ import annotations

from functools import lru_cache

_FILLER = 0xF


@lru_cache(maxsize=4096)  # a network has few PLMNs; they come in every message
def decode_plmn(octets: bytes) -> str | None:
    """MCCMNC digits of a 3-octet PLMN identity, or None when it is not one."""
    if len(octets) != 3:
        return None
    d = [octets[0] & 0xF, octets[0] >> 4, octets[1] & 0xF,
         octets[2] & 0xF, octets[2] >> 4, octets[1] >> 4]
    if d[5] == _FILLER:
        d.pop()
    if any(x > 9 for x in d):
        return None
    return "".join(map(str, d))


def decode_tbcd(octets: bytes) -> str | None:
    """Digits of a TBCD-STRING (TS 29.002; S1AP IMSI, TS 36.413 §9.2.3.11).

    Low nibble first; a 0xF filler may only end the string.  None if not digits.
    """
    out = []
    for b in octets:
        for nib in (b & 0xF, b >> 4):
            if nib == _FILLER:
                out.append(None)
            elif nib > 9:
                return None
            else:
                out.append(nib)
    while out and out[-1] is None:
        out.pop()
    if not out or None in out:
        return None
    return "".join(map(str, out))


def imsi_digits_ok(digits: str) -> bool:
    """An IMSI is 6 to 15 decimal digits (TS 23.003 §2.2: MCC + MNC + MSIN)."""
    return 6 <= len(digits) <= 15 and digits.isdigit()


def decode_tac(octets: bytes) -> int | None:
    """Tracking area code (TS 36.413 §9.2.3.7, 2 octets) as an int."""
    return int.from_bytes(octets, "big") if len(octets) == 2 else None


def decode_cell_identity(bits: tuple[int, int]) -> int | None:
    """E-UTRAN cell identity (TS 36.413 §9.2.1.38, BIT STRING SIZE(28)) as an int."""
    value, length = bits
    return value if length == 28 else None


# An IMEI / IMEISV (TS 23.003 §6.2) begins with its 8-digit type allocation code (TAC); the
# TAC alone is kept (DESIGN.md "Pseudonymisation"), the other digits are never read.
TAC_DIGITS = 8


def tac_of_identity(value: bytes) -> str | None:
    """TAC of an IMEI/IMEISV mobile identity value (TS 24.008 §10.5.1.4, TS 24.301 §9.9.3.12,
    TS 24.501 §9.11.3.4: digit 1 in the high nibble of octet 1 beside odd/even and type, then
    two digits an octet, low nibble first); None unless its first 8 digits are decimal."""
    if len(value) < 5:
        return None
    nibbles = (value[0] >> 4, value[1] & 0xF, value[1] >> 4, value[2] & 0xF, value[2] >> 4,
               value[3] & 0xF, value[3] >> 4, value[4] & 0xF)
    if any(n > 9 for n in nibbles):
        return None
    return "".join(map(str, nibbles))


def tac_of_tbcd(octets: bytes) -> str | None:
    """TAC of an IMEI/IMEISV in TBCD (TS 29.274 §8.10 MEI: digit 1 in the low nibble of the
    first octet); None unless its first 8 digits are decimal."""
    if len(octets) < TAC_DIGITS // 2:
        return None
    nibbles = [n for o in octets[:TAC_DIGITS // 2] for n in (o & 0xF, o >> 4)]
    if any(n > 9 for n in nibbles):
        return None
    return "".join(map(str, nibbles))


def tac_of_digits(digits: str | bytes) -> str | None:
    """TAC of an IMEI/IMEISV digit string (ASCII text or bytes, e.g. TS 29.272 §7.3.4 IMEI);
    None unless it starts with 8 decimal digits."""
    head = digits[:TAC_DIGITS]
    if isinstance(head, bytes):
        head = head.decode("ascii") if head.isdigit() else ""  # bytes.isdigit: ASCII only
    return head if len(head) == TAC_DIGITS and head.isascii() and head.isdigit() else None
