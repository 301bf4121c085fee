"""From capture files to transport messages: the framing stage of the pipeline.

`iter_messages` reads a capture, walks link, IP and transport layers and
yields each complete signalling message with the protocol it is carried for,
chosen by SCTP payload protocol identifier first and well-known port second:
S1AP (PPID 18, port 36412), NGAP (PPID 60, port 38412), Diameter (PPID 46/47,
port 3868), GTPv2-C (UDP 2123).  Every frame that yields nothing is counted
by reason, so that frames = messages + drops can be reconciled.
"""

from __future__ import annotations

from collections.abc import Iterator

from collector.framing.ip import parse_ip
from collector.framing.link import ip_offset
from collector.framing.sctp import SCTPReassembler
from collector.sources.pcap import read_capture
from collector.telemetry import Counters

SCTP_PPIDS = {18: "s1ap", 60: "ngap", 46: "diameter", 47: "diameter"}
SCTP_PORTS = {36412: "s1ap", 38412: "ngap", 3868: "diameter"}
UDP_PORTS = {2123: "gtpv2"}
IPPROTO_UDP, IPPROTO_SCTP = 17, 132


class TransportMessage:
    """One complete signalling message and where it came from."""

    __slots__ = ("proto", "assoc", "payload", "src", "dst", "sport", "dport", "ppid")

    def __init__(self, proto: str, assoc: tuple, payload: bytes, src: bytes, dst: bytes,
                 sport: int, dport: int, ppid: int = 0) -> None:
        self.proto = proto
        self.assoc = assoc  # same key for both directions of an association
        self.payload = payload
        self.src, self.dst, self.sport, self.dport, self.ppid = src, dst, sport, dport, ppid


class Framer:
    """Turns (linktype, frame bytes) into transport messages; holds SCTP reassembly state."""

    __slots__ = ("_counters", "_sctp")

    def __init__(self, counters: Counters) -> None:
        self._counters = counters
        self._sctp = SCTPReassembler()

    def __call__(self, linktype: int, frame: bytes) -> list[TransportMessage]:
        """Messages carried in one frame (counted drop, empty list, when none)."""
        where = ip_offset(linktype, frame)
        if isinstance(where, str):
            return self._drop(where)
        ip = parse_ip(frame, *where)
        if isinstance(ip, str):
            return self._drop(ip)
        src, dst, proto, l4 = ip
        if proto == IPPROTO_SCTP:
            return self._sctp_messages(src, dst, l4)
        if proto == IPPROTO_UDP and len(l4) >= 8:
            sport, dport = (l4[0] << 8) | l4[1], (l4[2] << 8) | l4[3]
            name = UDP_PORTS.get(dport) or UDP_PORTS.get(sport)
            if name:
                return [TransportMessage(name, _assoc(src, sport, dst, dport), l4[8:],
                                         src, dst, sport, dport)]
        return self._drop("not_signalling")

    def _sctp_messages(self, src: bytes, dst: bytes, l4: bytes) -> list[TransportMessage]:
        if len(l4) < 12:
            return self._drop("truncated")
        sport, dport = (l4[0] << 8) | l4[1], (l4[2] << 8) | l4[3]
        chunks, reason = self._sctp((src, dst, sport, dport), l4)
        if reason:
            self._counters.drop("framing", "bad_chunk" if reason == "bad_chunk" else reason)
        assoc = _assoc(src, sport, dst, dport)
        by_port = SCTP_PORTS.get(dport) or SCTP_PORTS.get(sport)
        out = []
        for _stream, ppid, data in chunks:
            name = SCTP_PPIDS.get(ppid) or by_port
            if name is None:
                self._counters.drop("framing", "not_signalling")
                continue
            out.append(TransportMessage(name, assoc, data, src, dst, sport, dport, ppid))
        return out

    def _drop(self, reason: str) -> list[TransportMessage]:
        self._counters.drop("framing", reason)
        return []


def _assoc(src: bytes, sport: int, dst: bytes, dport: int) -> tuple:
    a, b = (src, sport), (dst, dport)
    return (a, b) if a <= b else (b, a)


def iter_messages(path: str, counters: Counters) -> Iterator[tuple[int, float, TransportMessage]]:
    """Yield (frame number, capture time, message) for every signalling message of a capture."""
    framer = Framer(counters)
    for frame_no, ts, linktype, frame in read_capture(path, counters):
        counters.frames += 1
        for msg in framer(linktype, frame):
            yield frame_no, ts, msg
