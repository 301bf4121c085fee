"""Byte layout of an *AP PDU and its protocol IE container in ALIGNED PER (X.691).

S1AP (TS 36.413 §9.3) and NGAP (TS 38.413 §9.4) share it:

    PDU ::= CHOICE { initiatingMessage, successfulOutcome, unsuccessfulOutcome, ... }
      each SEQUENCE { procedureCode (0..255), criticality, value OPEN TYPE }
    message ::= SEQUENCE { protocolIEs ProtocolIE-Container, ... }
    ProtocolIE-Container ::= SEQUENCE (SIZE (0..65535)) OF
      ProtocolIE-Field ::= SEQUENCE { id (0..65535), criticality, value OPEN TYPE }

The walk below honours every open-type length, so each IE value is handed to
pycrate as exactly its own bytes.  pycrate's whole-PDU decode does not skip the
unread end of an open type: some encoders (the asn1c of nextepc, 2018) pad an
ENB-UE-S1AP-ID to 3 octets, and the rest of such a message then fails to decode.
"""

from __future__ import annotations

_FRAGMENT_UNIT = 16384  # X.691 §11.9.3.8


def read_open(buf: bytes, off: int) -> tuple[bytes, int] | None:
    """An open type at octet `off` (X.691 §10.2, length §11.9.3.5-8): (content, next offset).

    None when the length runs past the buffer.
    """
    parts = []
    while True:
        if off >= len(buf):
            return None
        first = buf[off]
        if first < 0x80:  # short form, 0..127 octets
            length, off = first, off + 1
        elif first < 0xC0:  # long form, 14 bits
            if off + 2 > len(buf):
                return None
            length, off = ((first & 0x3F) << 8) | buf[off + 1], off + 2
        else:  # fragment of m * 16K octets, more length determinants follow
            m = first & 0x3F
            if not 1 <= m <= 4 or off + 1 + m * _FRAGMENT_UNIT > len(buf):
                return None
            parts.append(buf[off + 1:off + 1 + m * _FRAGMENT_UNIT])
            off += 1 + m * _FRAGMENT_UNIT
            continue
        if off + length > len(buf):
            return None
        parts.append(buf[off:off + length])
        return b"".join(parts), off + length


def split_pdu(buf: bytes) -> tuple[int, int, bytes] | str:
    """(PDU choice index, procedure code, message bytes) of an *AP PDU, or a reason.

    Choice index 0 = initiatingMessage, 1 = successfulOutcome, 2 = unsuccessfulOutcome.
    """
    if len(buf) < 4:
        return "bad_asn1"
    if buf[0] & 0x80:  # extension of the PDU CHOICE: none is defined
        return "unsupported"
    choice, code = (buf[0] >> 5) & 0x3, buf[1]
    opened = read_open(buf, 3)
    if opened is None:
        return "bad_asn1"
    return choice, code, opened[0]


def split_ies(body: bytes) -> list[tuple[int, bytes]] | str:
    """The protocol IEs of a message as (IE id, value bytes) in order, or a reason."""
    if len(body) < 3:
        return "bad_asn1"
    count, off, ies = (body[1] << 8) | body[2], 3, []
    for _ in range(count):
        if off + 3 > len(body):
            return "bad_asn1"
        ie_id = (body[off] << 8) | body[off + 1]
        opened = read_open(body, off + 3)  # id (2 octets), criticality (1 octet)
        if opened is None:
            return "bad_asn1"
        value, off = opened
        ies.append((ie_id, value))
    return ies
