"""GTPv2-C byte layout (TS 29.274): the header, the IE TLVs and the IE values we read.

Where the bytes are, apart from what they mean (`gtpv2`, STYLE habit 7).  Code tables
come from pycrate's `TS29274_GTPC` (message types §6.1, request/response pairs,
F-TEID interface types §8.22), through the generated `gtpv2_table` (`python -m
collector.tables`, checked against pycrate by a unit test), so none is written by
hand and none costs pycrate's import (~0.07 s with the MAP ASN.1 it pulls) at
start-up; the IE type numbers below are checked against pycrate's IE table by the
unit tests.

Privacy: the IMSI octets are kept only in the `GTPv2Facts` of one decode call (its
repr never shows them); the MSISDN value is skipped unread, and of the MEI only the
first 4 octets (the 8-digit TAC) are read (DESIGN.md).

The ULI IE (§8.21, up to Rel-18) has no NR field: its flags name CGI, SAI, RAI, TAI,
ECGI, LAI and (extended) macro eNodeB ids only.  The NR forms (5GS TAI, NCGI) exist
in the 3GPP-User-Location-Info of TS 29.061 §16.4.7.2 (Gx, GTPv1), not in GTPv2-C.
"""

from __future__ import annotations

from typing import NamedTuple

from collector.decode.gtpv2_table import (  # noqa: F401  (the code tables, served from here)
    CONTROL_INTERFACES,
    MESSAGE_NAMES,
    S1U_SGW,
    TRIGGERED,
)
from collector.decode.plmn import decode_plmn, tac_of_tbcd

# §8.1 Table 8.1-1 Information Element types (the ones read)
IMSI = 1               # §8.3
MEI = 75               # §8.10 (only its TAC read)
MSISDN = 76            # §8.11 (skipped unread)
RAT_TYPE = 82          # §8.17
SERVING_NETWORK = 83   # §8.18
ULI = 86               # §8.21 User Location Information
F_TEID = 87            # §8.22
BEARER_CONTEXT = 93    # §8.28, grouped
PDN_CONNECTION = 109   # §8.39, grouped (Context Response, Forward Relocation Request)
GROUPED = frozenset({BEARER_CONTEXT, PDN_CONNECTION})
_READ = frozenset({IMSI, MEI, MSISDN, RAT_TYPE, SERVING_NETWORK, ULI, F_TEID}) | GROUPED
_READ_INSIDE = frozenset({F_TEID}) | GROUPED  # what a grouped IE is read for
_MAX_DEPTH = 2         # a PDN Connection holds Bearer Contexts, which hold no grouped IE

# §8.21 Figure 8.21-1: (flag bit, field, length) in the order the fields follow octet 5
_ULI_FIELDS = ((0x01, "CGI", 7), (0x02, "SAI", 7), (0x04, "RAI", 7), (0x08, "TAI", 5),
               (0x10, "ECGI", 7), (0x20, "LAI", 5), (0x40, "MacroENBID", 6),
               (0x80, "ExtMacroENBID", 6))


class Header(NamedTuple):
    """A GTPv2-C message header (§5.1) and what follows it."""

    piggybacked: bool   # P flag: another message follows this one (§5.5.1)
    type: int
    teid: int | None    # None when the T flag is 0 (Echo, Version Not Supported)
    seq: int
    ies: bytes          # the IEs, up to the Message Length
    rest: bytes         # the bytes after this message in the datagram


# a named tuple made without its Python-level __new__ (per message: the header, F-TEIDs)
_NEW_TUPLE = tuple.__new__


class FTEID(NamedTuple):
    """A Fully Qualified TEID (§8.22): interface type, TEID or GRE key, addresses."""

    interface: int
    teid: int
    ipv4: bytes | None
    ipv6: bytes | None


def split_message(buf: bytes) -> Header | str:
    """The header of the GTPv2-C message at the start of `buf`, or a drop reason.

    §5.1: octet 1 = version (3 bits) | P | T | MP | spare, octet 2 = type, octets 3-4 =
    length of what follows octet 4, then the TEID (if T), sequence number (3 octets) and
    a spare or priority octet.  GTPv1-C shares UDP port 2123 and is `unsupported`.
    """
    if len(buf) < 8:
        return "truncated"
    if buf[0] >> 5 != 2:
        return "unsupported"
    head = 12 if buf[0] & 0x08 else 8
    end = 4 + ((buf[2] << 8) | buf[3])
    if end < head or end > len(buf):
        return "truncated"
    teid = int.from_bytes(buf[4:8], "big") if head == 12 else None  # (32 bits: not in C ints)
    seq = (buf[head - 4] << 16) | (buf[head - 3] << 8) | buf[head - 2]
    return _NEW_TUPLE(Header, (bool(buf[0] & 0x10), buf[1], teid, seq, buf[head:end], buf[end:]))


class GTPv2Facts:
    """What one GTPv2-C message carries, read in IE order.

    The location is the first TAI and the first ECGI of the ULI IEs, the PLMN that of
    whichever comes first, as tshark lists them.  `bad` is True when an IE value was
    malformed and skipped.
    """

    __slots__ = ("imsi", "msisdn", "imei_tac", "plmn", "tac", "cell", "serving", "rat_type",
                 "fteids", "bad")

    def __init__(self) -> None:
        self.imsi: bytes | None = None      # TBCD octets; pseudonymised by the decoder
        self.msisdn = False                 # present (its digits are never read)
        self.imei_tac: str | None = None    # TAC of the MEI (the other digits never read)
        self.plmn: str | None = None
        self.tac: int | None = None
        self.cell: int | None = None        # 28-bit E-UTRAN cell identity
        self.serving: str | None = None     # Serving Network PLMN
        self.rat_type: int | None = None    # §8.17 (6 = EUTRAN, 10 = NR)
        self.fteids: list[FTEID] = []       # top level and inside grouped IEs
        self.bad = False

    @property
    def carries(self) -> bool:
        """True if the message names a subscriber or a location (a tshark row)."""
        return (self.imsi is not None or self.msisdn or self.serving is not None
                or self.plmn is not None or self.tac is not None or self.cell is not None)

    def __repr__(self) -> str:  # never the IMSI octets
        return (f"GTPv2Facts(imsi={'<present>' if self.imsi else None}, plmn={self.plmn!r}, "
                f"tac={self.tac}, cell={self.cell}, fteids={len(self.fteids)}, bad={self.bad})")


def read_facts(buf: bytes, facts: GTPv2Facts | None = None, depth: int = 0) -> GTPv2Facts | str:
    """Facts of a message from its IEs, or 'truncated' when an IE overruns them.

    §8.2.1: each IE is type (1 octet), length (2), spare | instance (1), value.  Only the
    IEs read are sliced; inside grouped IEs (malformed ones only set `bad`) only the
    F-TEIDs are.
    """
    f = facts if facts is not None else GTPv2Facts()
    wanted = _READ_INSIDE if depth else _READ
    off, size = 0, len(buf)
    while off < size:
        end = off + 4 + ((buf[off + 1] << 8) | buf[off + 2]) if off + 3 <= size else size + 1
        if end > size:
            return "truncated"
        kind = buf[off]
        if kind in wanted:
            _read_ie(f, kind, buf[off + 4:end], depth)
        off = end
    return f


def _read_ie(f: GTPv2Facts, kind: int, value: bytes, depth: int) -> None:
    """Fold one IE value of a type in _READ into the facts."""
    if kind == IMSI:
        f.imsi = value if f.imsi is None else f.imsi
    elif kind == MSISDN:
        f.msisdn = True
    elif kind == MEI:  # TBCD digits (§8.10), an IMEI or IMEISV: the TAC only
        f.imei_tac = f.imei_tac or tac_of_tbcd(value[:4])
    elif kind == ULI:
        f.bad |= not _read_uli(f, value)
    elif kind == SERVING_NETWORK:
        f.bad |= len(value) < 3
        f.serving = decode_plmn(value[:3]) if f.serving is None else f.serving
    elif kind == RAT_TYPE:
        f.rat_type = value[0] if f.rat_type is None and value else f.rat_type
    elif kind == F_TEID:
        fteid = read_fteid(value)
        f.bad |= fteid is None
        f.fteids += [fteid] if fteid else []
    elif depth < _MAX_DEPTH:  # a grouped IE
        f.bad |= isinstance(read_facts(value, f, depth + 1), str)


def _read_uli(f: GTPv2Facts, value: bytes) -> bool:
    """Take the TAI and ECGI of a ULI IE (§8.21.4, §8.21.5); False if malformed."""
    if not value:
        return False
    flags, off, found = value[0], 1, {}
    for bit, name, length in _ULI_FIELDS:
        if flags & bit:
            found[name] = value[off:off + length]
            off += length
    if off > len(value):
        return False
    if "TAI" in found:  # PLMN (§8.21.4 as TS 24.301 §9.9.3.32), TAC
        tai = found["TAI"]
        f.plmn = f.plmn or decode_plmn(tai[:3])
        f.tac = int.from_bytes(tai[3:5], "big") if f.tac is None else f.tac
    if "ECGI" in found:  # PLMN, 4 spare bits, 28-bit ECI (§8.21.5)
        ecgi = found["ECGI"]
        f.plmn = f.plmn or decode_plmn(ecgi[:3])
        f.cell = int.from_bytes(ecgi[3:7], "big") & 0x0FFFFFFF if f.cell is None else f.cell
    return True


def read_fteid(value: bytes) -> FTEID | None:
    """An F-TEID (§8.22): V4 | V6 | interface type (6 bits), TEID, IPv4 and/or IPv6."""
    if len(value) < 5:
        return None
    v4, v6 = value[0] & 0x80, value[0] & 0x40
    end = 5 + (4 if v4 else 0) + (16 if v6 else 0)
    if len(value) < end:
        return None
    ipv4 = value[5:9] if v4 else None
    ipv6 = value[end - 16:end] if v6 else None
    return _NEW_TUPLE(FTEID, (value[0] & 0x3F, int.from_bytes(value[1:5], "big"), ipv4, ipv6))
