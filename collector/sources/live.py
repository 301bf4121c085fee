"""Live capture from a network interface with an AF_PACKET raw socket (Linux).

The probe listens on a port that mirrors the signalling links (SPAN/TAP), like
heplify and Zeek do.  Each packet comes with its kernel receive timestamp
(SO_TIMESTAMPNS) so that presence bins follow the time packets were seen, not
when Python got to them.  Frames the host sends itself (PACKET_OUTGOING: on
`lo` every packet shows twice) are skipped.  Frames longer than the snap length
are counted `truncated` by the framing that reads them.  Frames the kernel dropped
because the socket's buffer was full (PACKET_STATISTICS, as tcpdump's "dropped by
kernel" and Suricata's `capture.kernel_drops`) are read with `kernel_drops()`.

Needs CAP_NET_RAW (root, or the capability in the systemd unit).
"""

from __future__ import annotations

import select
import socket
import struct
from collections.abc import Iterator

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET, PACKET_FANOUT = 263, 18                      # linux/if_packet.h
PACKET_STATISTICS = 6                                    # struct tpacket_stats
_TPACKET_STATS = struct.Struct("@II")                    # tp_packets, tp_drops
PACKET_FANOUT_HASH, PACKET_FANOUT_FLAG_DEFRAG = 0, 0x8000
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
LINKTYPE_ETHERNET = 1
_ARPHRD_LINKTYPES = {1: LINKTYPE_ETHERNET, 772: LINKTYPE_ETHERNET,  # ether, loopback
                     65534: 101}                                     # none (tun): raw IP
_TIMESPEC = struct.Struct("@qq")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size)


class LiveError(Exception):
    """An interface that cannot be captured from; the message names it."""


class LiveCapture:
    """Frames of one interface: `poll(timeout)` yields (frame number, time, linktype, bytes)
    for what arrived, or nothing after `timeout` seconds of silence."""

    def __init__(self, interface: str, snaplen: int = 65535, buffer_bytes: int = 32 << 20,
                 fanout: int | None = None) -> None:
        """`fanout`: a group id; the sockets of one group share the interface's packets
        by a symmetric hash of their flow, IP fragments reassembled first (several
        worker processes, as Suricata's and Zeek's AF_PACKET clusters do)."""
        self.interface = interface
        self.snaplen = snaplen
        self.frames = 0
        self.dropped = 0  # frames the kernel dropped so far (kernel_drops)
        try:
            # protocol 0: the socket receives nothing until it is bound to the interface
            # (with ETH_P_ALL it would queue frames of every interface in between, as
            # libpcap avoids too)
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise LiveError(f"{interface}: capturing needs CAP_NET_RAW (run as root or grant "
                            "the capability)") from None
        except OSError as e:
            raise LiveError(f"{interface}: cannot open a packet socket: {e.strerror}") from None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_bytes)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.bind((interface, ETH_P_ALL))  # CPython applies htons
            if fanout is not None:
                mode = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG
                sock.setsockopt(SOL_PACKET, PACKET_FANOUT,
                                struct.pack("@I", (fanout & 0xFFFF) | (mode << 16)))
        except OSError as e:
            sock.close()
            raise LiveError(f"{interface}: cannot capture: {e.strerror}") from None
        sock.setblocking(False)
        self._sock = sock

    def poll(self, timeout: float) -> Iterator[tuple[int, float, int, bytes]]:
        """What arrived within `timeout` seconds (everything waiting, then returns)."""
        if not select.select([self._sock], [], [], timeout)[0]:
            return
        recvmsg, size = self._sock.recvmsg, self.snaplen
        while True:
            try:
                data, ancdata, _flags, addr = recvmsg(size, _ANCILLARY)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            if addr[2] == PACKET_OUTGOING:
                continue
            linktype = _ARPHRD_LINKTYPES.get(addr[3], LINKTYPE_ETHERNET)
            self.frames += 1
            yield self.frames, _timestamp(ancdata), linktype, data

    def kernel_drops(self) -> int:
        """Frames the kernel dropped for want of buffer room since the last call (the
        kernel resets its counts when they are read); also added to `dropped`."""
        try:
            raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _TPACKET_STATS.size)
        except OSError:
            return 0
        drops = _TPACKET_STATS.unpack(raw)[1]
        self.dropped += drops
        return drops

    def close(self) -> None:
        """Stop capturing."""
        self._sock.close()


def _timestamp(ancdata: list) -> float:
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(data)
            return sec + nsec * 1e-9
    import time  # no kernel timestamp (should not happen): the time it was read
    return time.time()
