"""Test helpers: read the simulator's pcap with struct, and follow subscribers through
the S1AP/NAS messages with pycrate, independently of the simulator's own state.

A frame's protocol is what its transport says: SCTP PPID 18 S1AP, PPID 46 Diameter,
UDP port 2123 GTPv2-C."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from pycrate_mobile.NASLTE import parse_NASLTE_MO, parse_NASLTE_MT

from simulator.s1ap import S1APCodec

ID = S1APCodec.ie_id


@dataclass(frozen=True)
class Frame:
    """One captured frame, split into its layers."""

    t_us: int
    eth: bytes
    ip: bytes
    transport: bytes  # the SCTP packet or UDP datagram

    @property
    def src(self) -> str:
        return ".".join(map(str, self.ip[12:16]))

    @property
    def dst(self) -> str:
        return ".".join(map(str, self.ip[16:20]))

    @property
    def proto(self) -> str:
        """'s1ap', 'diameter' or 'gtpv2' (anything else fails the test that meets it)."""
        if self.ip[9] == 17 and struct.unpack_from("!HH", self.transport) == (2123, 2123):
            return "gtpv2"
        assert self.ip[9] == 132, self.ip[9]
        return {18: "s1ap", 46: "diameter"}[struct.unpack_from("!I", self.transport, 24)[0]]

    @property
    def payload(self) -> bytes:
        """The message of the (single) SCTP DATA chunk or of the UDP datagram."""
        if self.ip[9] == 17:
            return self.transport[8:]
        length = struct.unpack_from("!H", self.transport, 14)[0]
        return self.transport[28:12 + length]


def read_pcap(path) -> list[Frame]:
    """Frames of a classic little-endian microsecond pcap with Ethernet/IPv4."""
    data = Path(path).read_bytes()
    assert struct.unpack_from("<IHHiIII", data, 0)[0] == 0xA1B2C3D4
    assert struct.unpack_from("<IHHiIII", data, 0)[6] == 1  # Ethernet
    frames, off = [], 24
    while off < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        assert incl == orig
        pkt = data[off + 16:off + 16 + incl]
        ihl = (pkt[14] & 0x0F) * 4
        frames.append(Frame(sec * 1_000_000 + usec, pkt[:14], pkt[14:14 + ihl], pkt[14 + ihl:]))
        off += 16 + incl
    return frames


def s1ap_frames(path) -> list[Frame]:
    """The S1AP frames of a capture."""
    return [f for f in read_pcap(path) if f.proto == "s1ap"]


def nas_of(name: str, ies: dict) -> bytes | None:
    """The NAS PDU of a decoded S1AP message (also inside an E-RAB setup item)."""
    if ID("id-NAS-PDU") in ies:
        return ies[ID("id-NAS-PDU")]
    for item in ies.get(ID("id-E-RABToBeSetupListCtxtSUReq"), ()):
        return item["value"][1].get("nAS-PDU")
    return None


def observe(path, mme_ip: str) -> list[tuple[int, str, int | None]]:
    """(time µs, IMSI, ECI or None for a power-off) of every location-bearing message.

    Identities are carried as a collector would: IMSI or GUTI in NAS, S-TMSI in
    S1AP, then S1AP UE ids (eNB id per eNB, MME id, source MME id of a path switch).
    """
    return [(t, who, cell) for t, who, cell, _nas in follow(path, mme_ip)]


def attaches(path, mme_ip: str) -> list[tuple[int, str, int]]:
    """(time µs, IMSI, ECI) of every Attach Request, whatever identity it carries."""
    return [(t, who, cell) for t, who, cell, nas in follow(path, mme_ip)
            if nas == "EMMAttachRequest"]


def follow(path, mme_ip: str) -> list[tuple[int, str, int | None, str | None]]:
    """`observe`'s rows with the name of the NAS message (None without one)."""
    codec = S1APCodec()
    owner_of_mtmsi: dict[int, str] = {}
    by_enb_id: dict[tuple[str, int], str] = {}
    by_mme_id: dict[int, str] = {}
    out = []
    for f in s1ap_frames(path):
        uplink = f.dst == mme_ip
        enb = f.src if uplink else f.dst
        name, ies = codec.decode(f.payload)
        nas = nas_of(name, ies)
        msg = None
        if nas is not None:
            msg, err = (parse_NASLTE_MO if uplink else parse_NASLTE_MT)(nas)
            assert err == 0, (name, nas.hex())
        who = None
        if name == "InitialUEMessage":
            who = _initial_identity(msg, ies, owner_of_mtmsi)
            by_enb_id[(enb, ies[ID("id-eNB-UE-S1AP-ID")])] = who
        elif name == "PathSwitchRequest":
            who = by_mme_id[ies[ID("id-SourceMME-UE-S1AP-ID")]]
            by_enb_id[(enb, ies[ID("id-eNB-UE-S1AP-ID")])] = who
        elif ID("id-eNB-UE-S1AP-ID") in ies:
            who = by_enb_id[(enb, ies[ID("id-eNB-UE-S1AP-ID")])]
            by_mme_id[ies[ID("id-MME-UE-S1AP-ID")]] = who
        if msg is not None and not uplink and "GUTI" in msg._by_name and not msg["GUTI"].get_trans():
            owner_of_mtmsi[msg["GUTI"][2].decode()[4]] = who
        nas_name = None if msg is None else msg._name
        if ID("id-EUTRAN-CGI") in ies:
            assert who is not None, name
            out.append((f.t_us, who, ies[ID("id-EUTRAN-CGI")]["cell-ID"][0], nas_name))
        if nas_name == "EMMDetachRequestMO":
            out.append((f.t_us, who, None, nas_name))
    return out


def _initial_identity(msg, ies: dict, owner_of_mtmsi: dict[int, str]) -> str:
    if msg._name == "EMMServiceRequest":
        return owner_of_mtmsi[int.from_bytes(ies[ID("id-S-TMSI")]["m-TMSI"], "big")]
    field = "OldGUTI" if msg._name == "EMMTrackingAreaUpdateRequest" else "EPSID"
    ident = msg[field][1].decode()
    return ident[1] if ident[0] == 1 else owner_of_mtmsi[ident[4]]


def changes(events: list[tuple[int, str, int | None]]) -> dict[str, list[tuple[int, int | None]]]:
    """{IMSI: [(time µs, ECI or None)]} keeping only the instants the position changed."""
    last: dict[str, int | None] = {}
    out: dict[str, list] = {}
    for t, who, cell in events:
        if last.get(who) != cell:
            out.setdefault(who, []).append((t, cell))
            last[who] = cell
    return out
