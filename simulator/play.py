"""Stream a capture into a network interface, paced by its timestamps, as a mirror (SPAN)
port feeds a probe: `simulator play` (root or CAP_NET_RAW).

Frames of any link type are re-framed as Ethernet (the link header replaced by one with
the IP ethertype); VLAN tags of Ethernet frames are kept.  Pacing: frame i leaves at
`(t_i - t_0) / speed` seconds after the first (`speed` 1: real time, 60: an hour a
minute); `speed` 0 sends as fast as the receiver can follow, with a short pause every
`burst` frames (a mirror port has no back-pressure, a probe's ring buffer is finite).
A frame whose pacing instant has passed is sent at once; how late the worst one left is
reported (`late_max`), as tcpreplay reports its accuracy.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from collector.framing.link import ip_offset
from collector.sources.pcap import read_capture
from collector.telemetry import Counters

_MACS = bytes.fromhex("020000000002" "020000000001")  # destination, source (local admin)
_TOP_SPEED_PAUSE = 0.002  # seconds of pause after each burst when speed is 0


def ethernet(linktype: int, frame: bytes) -> bytes | None:
    """The frame as an Ethernet frame, or None when it carries no IP packet."""
    if linktype == 1:
        return frame
    where = ip_offset(linktype, frame)
    if isinstance(where, str):
        return None
    off, version = where
    return _MACS + (b"\x08\x00" if version == 4 else b"\x86\xdd") + frame[off:]


def frames(paths: Iterable[str]) -> Iterator[tuple[float, bytes]]:
    """(capture time, Ethernet frame) of every IP frame of the captures, in their order."""
    for path in paths:
        for _n, ts, linktype, frame in read_capture(path, Counters()):
            data = ethernet(linktype, frame)
            if data is not None:
                yield ts, data


@dataclass(slots=True)
class PlayStats:
    """What a play did."""

    frames: int = 0
    bytes: int = 0
    seconds: float = 0.0   # wall clock from the first frame sent to the last
    span: float = 0.0      # capture time from the first frame to the last
    late_max: float = 0.0  # seconds the latest frame left after its pacing instant

    def line(self) -> str:
        rate = self.frames / self.seconds if self.seconds > 0 else 0.0
        return (f"sent {self.frames} frames ({self.bytes} bytes) in {self.seconds:.2f} s "
                f"({rate:,.0f} frames/s) for {self.span:.0f} s of capture; "
                f"late_max {self.late_max * 1000:.1f} ms")


def play(stream: Iterable[tuple[float, bytes]], send, speed: float = 1.0, burst: int = 200,
         clock=time.perf_counter, sleep=time.sleep) -> PlayStats:
    """Send every frame through `send(bytes)`, paced by its capture time / `speed`."""
    if speed < 0:
        raise ValueError(f"speed must be >= 0, not {speed}")
    stats = PlayStats()
    t0 = start = None
    last_ts = 0.0
    for ts, data in stream:
        if t0 is None:
            t0, start = ts, clock()
        elif speed > 0:
            due = start + (ts - t0) / speed
            ahead = due - clock()
            if ahead > 0.0005:
                sleep(ahead)
            else:
                stats.late_max = max(stats.late_max, -ahead)
        elif stats.frames % burst == 0:
            sleep(_TOP_SPEED_PAUSE)
        send(data)
        stats.frames += 1
        stats.bytes += len(data)
        last_ts = ts
    if t0 is not None:
        stats.seconds = clock() - start
        stats.span = last_ts - t0
    return stats


def open_interface(name: str):
    """A raw AF_PACKET socket bound to interface `name`; its `send`."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((name, 0))
    return sock
