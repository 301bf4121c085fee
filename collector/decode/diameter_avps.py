"""Diameter byte layout (RFC 6733): the message header (§3) and AVPs (§4.1, §4.4).

Only layout lives here; what the AVPs mean is `collector.decode.diameter`.
The walk is by hand (pycrate's whole-message decode is ~100x slower and, keyed
by AVP code without the Vendor-Id, stops silently on a 3GPP AVP whose code an
IETF AVP of another type also uses).  Which AVPs are Grouped comes from pycrate's
dictionaries, kept apart per vendor: IETF (vendor 0) and 3GPP TS 29.230 (10415),
through the generated `diameter_table` (`python -m collector.tables`, checked
against pycrate by a unit test): the walk itself never imports pycrate.

Every length is checked before it is used: an AVP shorter than its own header
(the zero-length AVP that makes a naive walk loop forever) or longer than what
holds it is `bad_avp`; the walk is also bounded in depth and in AVP count.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from collector.decode.diameter_table import GROUPED_3GPP, GROUPED_IETF

VENDOR_3GPP = 10415
HEADER_LEN = 20
MAX_DEPTH = 8        # Grouped AVPs nested deeper than this are not entered
MAX_AVPS = 4096      # AVPs visited in one message, all levels together

_AVP_HEAD = struct.Struct("!II")  # AVP Code; flags (8 bits) and AVP Length (24 bits)
_VENDOR = struct.Struct("!I")


def avp_key(vendor: int, code: int) -> int:
    """One int for (Vendor-Id, AVP code), the way the walk looks AVPs up."""
    return (vendor << 32) | code


# every Grouped AVP (RFC 6733 §4.4) pycrate knows, as avp_key(vendor, code)
GROUPED = frozenset({avp_key(0, code) for code in GROUPED_IETF}
                    | {avp_key(VENDOR_3GPP, code) for code in GROUPED_3GPP})


class Header(NamedTuple):
    """The fixed part of a Diameter message (RFC 6733 §3)."""

    length: int       # Message Length, header included
    request: bool     # R flag
    error: bool       # E flag
    command: int      # Command Code
    application: int  # Application-ID


Avp = tuple[int, int, bytes]  # (Vendor-Id or 0, AVP code, data without padding)


def read_header(buf: bytes) -> Header | str:
    """The header of the message in `buf`, or a reason (`truncated`, `bad_diameter`)."""
    if len(buf) < HEADER_LEN:
        return "truncated"
    if buf[0] != 1:  # Version (§3): 1
        return "bad_diameter"
    length = int.from_bytes(buf[1:4], "big")
    if length < HEADER_LEN:
        return "bad_diameter"
    if length > len(buf):
        return "truncated"
    flags = buf[4]
    return Header(length, bool(flags & 0x80), bool(flags & 0x20),
                  int.from_bytes(buf[5:8], "big"), int.from_bytes(buf[8:12], "big"))


def split_avps(buf: bytes, start: int, end: int) -> tuple[list[tuple[int, int, int, int]], str | None]:
    """One level of AVPs in `buf[start:end]`: [(vendor, code, data start, data end)], reason.

    The walk stops at the first malformed AVP header (reason `bad_avp`); what
    precedes it is returned.  The last AVP may omit its padding (§4: AVP Length
    excludes it).
    """
    out, p = [], start
    while p < end:
        if end - p < 8:
            return out, "bad_avp"
        code, flags_len = _AVP_HEAD.unpack_from(buf, p)
        length = flags_len & 0xFFFFFF
        head = 12 if flags_len & 0x80000000 else 8  # V flag: a Vendor-ID follows (§4.1)
        if length < head or p + length > end:
            return out, "bad_avp"
        vendor = _VENDOR.unpack_from(buf, p + 8)[0] if head == 12 else 0
        out.append((vendor, code, p + head, p + length))
        p += (length + 3) & ~3
    return out, None


def walk_avps(buf: bytes, wanted: frozenset, end: int | None = None) -> tuple[list[Avp], str | None]:
    """Every AVP of `wanted` (`avp_key` values) in the message, in order of appearance.

    Grouped AVPs (`GROUPED`) are entered depth first, except wanted ones, which are
    returned whole for the caller to split.  A malformed AVP inside a Grouped AVP
    gives up the rest of that group only (its own length still delimits it) and
    the walk goes on; the reason is returned with what was found.
    """
    found: list[Avp] = []
    budget = [MAX_AVPS]
    reason = _walk(buf, HEADER_LEN, len(buf) if end is None else end, 0, wanted, found, budget)
    return found, reason


def _walk(buf: bytes, p: int, end: int, depth: int, wanted: frozenset, found: list,
          budget: list[int]) -> str | None:
    """One level of `walk_avps` (recursion bounded by MAX_DEPTH, visits by MAX_AVPS)."""
    reason = None
    while p < end:
        budget[0] -= 1
        if end - p < 8 or budget[0] < 0:
            return "bad_avp"
        code, flags_len = _AVP_HEAD.unpack_from(buf, p)
        length = flags_len & 0xFFFFFF
        if flags_len & 0x80000000:
            if length < 12 or p + length > end:
                return "bad_avp"
            key, data = (_VENDOR.unpack_from(buf, p + 8)[0] << 32) | code, p + 12
        else:
            if length < 8 or p + length > end:
                return "bad_avp"
            key, data = code, p + 8
        if key in wanted:
            found.append((key >> 32, code, buf[data:p + length]))
        elif key in GROUPED and depth < MAX_DEPTH:
            reason = _walk(buf, data, p + length, depth + 1, wanted, found, budget) or reason
        p += (length + 3) & ~3
    return reason
