"""Send the frames of a capture out of a network interface, as a mirror port would
deliver them to a probe (test tool; root or CAP_NET_RAW).

    python -m tests.inject --interface IF CAPTURE...

Frames of any link type are re-framed as Ethernet (the link header replaced by one
with the IP ethertype); VLAN tags of Ethernet frames are kept as they are.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

from collector.framing.link import ip_offset
from collector.sources.pcap import read_capture
from collector.telemetry import Counters

_MACS = bytes.fromhex("020000000002" "020000000001")


def ethernet(linktype: int, frame: bytes) -> bytes | None:
    """The frame as an Ethernet frame, or None when it carries no IP packet."""
    if linktype == 1:
        return frame
    where = ip_offset(linktype, frame)
    if isinstance(where, str):
        return None
    off, version = where
    return _MACS + (b"\x08\x00" if version == 4 else b"\x86\xdd") + frame[off:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interface", required=True)
    ap.add_argument("--pause-every", type=int, default=200, help="frames between short pauses")
    ap.add_argument("captures", nargs="+")
    args = ap.parse_args(argv)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((args.interface, 0))
    sent = 0
    for path in args.captures:
        for _n, _ts, linktype, frame in read_capture(path, Counters()):
            data = ethernet(linktype, frame)
            if data is None:
                continue
            sock.send(data)
            sent += 1
            if sent % args.pause_every == 0:
                time.sleep(0.002)  # let the probe keep up: a mirror port has no back-pressure
    print(f"sent {sent} frames", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
