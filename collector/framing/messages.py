"""From capture files to transport messages: the framing stage of the pipeline.

`iter_messages` reads a capture, walks link, IP and transport layers and
yields each complete signalling message with the protocol it is carried for,
chosen by SCTP payload protocol identifier first and well-known port second:
S1AP (PPID 18, port 36412), NGAP (PPID 60, port 38412), Diameter (PPID 46/47,
port 3868 over SCTP or TCP), GTPv2-C (UDP 2123).  IP fragments are reassembled
first (`fragments`), TCP byte streams cut into Diameter messages (`tcp`).  A
message is yielded with the frame that completes it, as tshark reports
reassembled PDUs.  Every frame that yields nothing is counted by reason, except
those whose bytes are held for a message still incomplete (a fragment, a
segment, a DATA chunk) and transport control (SCTP SACKs, TCP ACKs on a
signalling port); reassembly state left at the end of the input is counted too.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from collector.framing.columnar import SCTP, UDP, fast_spans
from collector.framing.fragments import FragmentReassembler
from collector.framing.ip import Fragment, parse_ip
from collector.framing.link import ip_offset
from collector.framing.sctp import SCTPReassembler
from collector.framing.tcp import TCPStreams, parse_tcp
from collector.sources.pcap import Records, read_records
from collector.telemetry import Counters

SCTP_PPIDS = {18: "s1ap", 60: "ngap", 46: "diameter", 47: "diameter"}
SCTP_PORTS = {36412: "s1ap", 38412: "ngap", 3868: "diameter"}
UDP_PORTS = {2123: "gtpv2"}
TCP_PORTS = {3868: "diameter"}
IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP = 6, 17, 132


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
    """Turns (linktype, frame bytes, time) into transport messages; holds reassembly state
    (IP fragments, SCTP user messages, TCP streams), all bounded."""

    __slots__ = ("_counters", "_sctp", "_fragments", "_tcp", "_flows", "_udp", "_fast")

    def __init__(self, counters: Counters, fast: bool = True) -> None:
        self._fast = fast  # False: every frame by the general path (the tests' reference)
        self._counters = counters
        self._sctp = SCTPReassembler()
        self._fragments = FragmentReassembler(counters)
        self._tcp = TCPStreams(counters)
        # SCTP addresses and ports (12 bytes of the frame) -> (src, dst, sport, dport, assoc,
        # protocol by port): the fast path's per-association values, made once
        self._flows: dict[bytes, tuple] = {}
        self._udp: dict[bytes, tuple] = {}  # the same for UDP flows

    def __call__(self, linktype: int, frame: bytes, time: float = 0.0) -> list[TransportMessage]:
        """Messages carried in (or completed by) one frame captured at `time`."""
        # Fast path, the common frames of an MME's links: Ethernet, IPv4 without options or
        # fragmentation, then SCTP with one DATA chunk holding a whole user message (B and E
        # flags; S1/N2/S6a) or UDP (S11).  Anything else, or any doubt, takes the general
        # path below.
        if (self._fast and linktype == 1 and len(frame) >= 42 and frame[12] == 8
                and frame[13] == 0 and frame[14] == 0x45 and not frame[20] & 0x3F
                and not frame[21]):
            end = 14 + ((frame[16] << 8) | frame[17])
            if (frame[23] == 132 and len(frame) >= 62 and frame[46] == 0
                    and frame[47] & 3 == 3):
                clen = (frame[48] << 8) | frame[49]
                if clen >= 16 and 46 + ((clen + 3) & ~3) == end <= len(frame):
                    msg = self._sctp_fast(frame[26:38], int.from_bytes(frame[58:62], "big"),
                                          frame[62:46 + clen])
                    if msg is not None:
                        return [msg]
            elif frame[23] == 17 and 42 <= end <= len(frame):
                msg = self._udp_fast(frame[26:38], frame[42:end])
                if msg is not None:
                    return [msg]
        return self._general(linktype, frame, time)

    def batch(self, rec: Records) -> list[tuple[int, TransportMessage]]:
        """(index in the batch, message) of a batch of packets, in packet order: the fast
        path tested on the whole batch at once (`columnar.fast_spans`), the general path
        for the other packets.  The same messages as `__call__` on each packet."""
        buf, offsets, lengths, linktypes = rec.buf, rec.offsets, rec.lengths, rec.linktypes
        if not self._fast:
            return [(i, msg) for i, (off, size) in enumerate(zip(offsets, lengths, strict=True))
                    for msg in self._general(linktypes[i], buf[off:off + size], rec.times[i])]
        view = np.frombuffer(buf, dtype=np.uint8)
        kinds, starts, stops, ppids = fast_spans(view, offsets, lengths, linktypes)
        del view  # the capture's map can be closed once no view is held
        out = []
        for i, kind in enumerate(kinds):
            off = offsets[i]
            if kind == SCTP:
                msg = self._sctp_fast(buf[off + 26:off + 38], ppids[i], buf[starts[i]:stops[i]])
            elif kind == UDP:
                msg = self._udp_fast(buf[off + 26:off + 38], buf[starts[i]:stops[i]])
            else:
                msg = None
            if msg is not None:
                out.append((i, msg))
                continue
            for msg in self._general(linktypes[i], buf[off:off + lengths[i]], rec.times[i]):
                out.append((i, msg))
        return out

    def _sctp_fast(self, key: bytes, ppid: int, payload: bytes) -> TransportMessage | None:
        """The message of a whole SCTP DATA chunk the fast path found (`key`: the frame's 12
        bytes of addresses and ports), or None when neither its PPID nor its ports name a
        signalling protocol (the general path then counts it)."""
        flows = self._flows
        src, dst, sport, dport, assoc, by_port = (flows.get(key)
                                                  or self._flow(flows, key, SCTP_PORTS))
        name = SCTP_PPIDS.get(ppid) or by_port
        return (None if name is None
                else TransportMessage(name, assoc, payload, src, dst, sport, dport, ppid))

    def _udp_fast(self, key: bytes, payload: bytes) -> TransportMessage | None:
        """As `_sctp_fast`, for a UDP datagram (its protocol by port only)."""
        src, dst, sport, dport, assoc, name = (self._udp.get(key)
                                               or self._flow(self._udp, key, UDP_PORTS))
        return (None if name is None
                else TransportMessage(name, assoc, payload, src, dst, sport, dport))

    def _general(self, linktype: int, frame: bytes, time: float) -> list[TransportMessage]:
        """Any frame, layer by layer: link, IP (fragments reassembled), SCTP, TCP, UDP."""
        where = ip_offset(linktype, frame)
        if isinstance(where, str):
            return self._drop(where)
        ip = parse_ip(frame, *where)
        if isinstance(ip, str):
            return self._drop(ip)
        if isinstance(ip, Fragment):
            ip = self._fragments(ip, time)
            if ip is None:
                return []
        src, dst, proto, l4 = ip
        if proto == IPPROTO_SCTP:
            return self._sctp_messages(src, dst, l4)
        if proto == IPPROTO_TCP:
            return self._tcp_messages(src, dst, l4, time)
        if proto == IPPROTO_UDP and len(l4) >= 8:
            sport, dport = (l4[0] << 8) | l4[1], (l4[2] << 8) | l4[3]
            name = UDP_PORTS.get(dport) or UDP_PORTS.get(sport)
            if name:
                return [TransportMessage(name, _assoc(src, sport, dst, dport), l4[8:],
                                         src, dst, sport, dport)]
        return self._drop("not_signalling")

    @staticmethod
    def _flow(flows: dict[bytes, tuple], key: bytes, ports: dict[int, str]) -> tuple:
        """The fast path's values of a flow: addresses, ports, association key, protocol by
        port."""
        if len(flows) >= 65536:
            flows.clear()
        src, dst = key[:4], key[4:8]
        sport, dport = (key[8] << 8) | key[9], (key[10] << 8) | key[11]
        flow = flows[key] = (src, dst, sport, dport, _assoc(src, sport, dst, dport),
                             ports.get(dport) or ports.get(sport))
        return flow

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

    def _tcp_messages(self, src: bytes, dst: bytes, l4: bytes, time: float
                      ) -> list[TransportMessage]:
        if len(l4) < 20:
            return self._drop("truncated")
        # ports first: only the streams of a signalling port are parsed and kept
        name = TCP_PORTS.get((l4[2] << 8) | l4[3]) or TCP_PORTS.get((l4[0] << 8) | l4[1])
        if name is None:
            return self._drop("not_signalling")
        seg = parse_tcp(l4)
        if isinstance(seg, str):
            return self._drop(seg)
        sport, dport, seq, flags, payload = seg
        assoc = _assoc(src, sport, dst, dport) + ("tcp",)
        return [TransportMessage(name, assoc, m, src, dst, sport, dport)
                for m in self._tcp(src, dst, sport, dport, seq, flags, payload, time)]

    def flush(self) -> None:
        """End of input: count what reassembly still holds (incomplete datagrams, streams)."""
        self._fragments.flush()
        self._tcp.flush()

    def _drop(self, reason: str) -> list[TransportMessage]:
        self._counters.drop("framing", reason)
        return []


def _assoc(src: bytes, sport: int, dst: bytes, dport: int) -> tuple:
    a, b = (src, sport), (dst, dport)
    return (a, b) if a <= b else (b, a)


def iter_messages(path: str, counters: Counters) -> Iterator[tuple[int, float, TransportMessage]]:
    """Yield (frame number, capture time, message) for every signalling message of a capture."""
    framer = Framer(counters)
    for rec in read_records(path, counters):
        counters.frames += len(rec)
        first, times = rec.first, rec.times
        for i, msg in framer.batch(rec):
            yield first + i, times[i], msg
    framer.flush()
