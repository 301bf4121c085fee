"""Test helpers: the S11 (GTPv2-C) and S6a (Diameter) messages of a capture, decoded with
pycrate alone (the oracle), and who each one is about, from the S1AP attaches."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import pycrate_mobile.TS29274_GTPC as GTPC
from pycrate_diameter.Diameter3GPP import Diameter3GPP

from tests.unit.simulator._capture import attaches, read_pcap


@dataclass(frozen=True)
class GTP:
    """One GTPv2-C message: header fields and its top-level IEs {(type, instance): IE}."""

    t_us: int
    src: str
    type: int
    teid: int
    seq: int
    ies: dict[tuple[int, int], Any]


@dataclass(frozen=True)
class Dia:
    """One Diameter message: header fields and its AVPs {(vendor, code): pycrate AVP}."""

    t_us: int
    src: str
    command: int
    request: bool
    application: int
    hop: int
    end: int
    avps: dict[tuple[int, int], Any]

    def value(self, vendor: int, code: int) -> Any:
        """The decoded value of a top-level AVP."""
        return self.avps[(vendor, code)][1].get_val()


def gtp_messages(path) -> list[GTP]:
    """Every GTPv2-C message; each must decode with pycrate and encode back to its bytes."""
    out = []
    for f in read_pcap(path):
        if f.proto != "gtpv2":
            continue
        msg, err = GTPC.parse_GTPC(f.payload)
        assert err == 0 and msg is not None, f.payload.hex()
        assert msg.to_bytes() == f.payload
        head = msg[0]
        out.append(GTP(f.t_us, f.src, head["Type"].get_val(), head["TEID"].get_val(),
                       head["SeqNum"].get_val(), ie_table(msg[1])))
    return out


def ie_table(ies) -> dict[tuple[int, int], Any]:
    """{(type, instance): IE} of an IE list (a type and instance never repeat here)."""
    table = {}
    for ie in ies:
        key = (ie[0]["Type"].get_val(), ie[0]["Inst"].get_val())
        assert key not in table, key
        table[key] = ie
    return table


def fteid(ie) -> tuple[int, int, str]:
    """(interface type, TEID, IPv4 dotted) of an F-TEID IE."""
    data = ie[1]
    return (data["IF"].get_val(), data["TEID_GREKey"].get_val(),
            ".".join(map(str, data["IPv4Addr"].to_bytes())))


def diameter_messages(path) -> list[Dia]:
    """Every Diameter message; each must decode with pycrate and encode back to its bytes."""
    out = []
    for f in read_pcap(path):
        if f.proto != "diameter":
            continue
        msg = Diameter3GPP()
        msg.from_bytes(f.payload)
        assert msg.to_bytes() == f.payload
        h = msg[0]
        avps = {}
        for a in msg[1]:
            hdr = a[0]
            vendor = hdr["VendorID"].get_val() if hdr["V"].get_val() else 0
            avps[(vendor, hdr["Code"].get_val())] = a
        out.append(Dia(f.t_us, f.src, h["Cmd"].get_val(), bool(h["R"].get_val()),
                       h["AppID"].get_val(), h["HHID"].get_val(), h["EEID"].get_val(), avps))
    return out


def grouped(avp) -> dict[tuple[int, int], Any]:
    """{(vendor, code): AVP} inside a Grouped AVP."""
    out = {}
    for a in avp[1]:
        hdr = a[0]
        out[(hdr["VendorID"].get_val() if hdr["V"].get_val() else 0, hdr["Code"].get_val())] = a
    return out


class Attaches:
    """The S1AP Attach Requests of a capture, to find the one before an instant."""

    def __init__(self, path, mme_ip: str) -> None:
        self.rows = attaches(path, mme_ip)
        self._times = [t for t, _, _ in self.rows]

    def before(self, t_us: int) -> tuple[int, str, int]:
        """(time, IMSI, ECI) of the last Attach Request before `t_us`."""
        i = bisect.bisect_left(self._times, t_us) - 1
        assert i >= 0, t_us
        return self.rows[i]
