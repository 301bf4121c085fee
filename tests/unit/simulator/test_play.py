"""`simulator play`: pacing by capture time, re-framing as Ethernet, and (as root) the
frames of a simulated city arriving intact and in order at the far end of a veth pair."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from collector.sources.pcap import read_capture
from collector.telemetry import Counters
from simulator.play import ethernet, frames, play
from tests.conftest import CAPTURES


class FakeClock:
    """A clock that only moves when slept on (and by `cost` per send)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_frames_leave_at_their_capture_time_divided_by_speed():
    fake, sent = FakeClock(), []
    stream = [(1000.0, b"a"), (1000.5, b"b"), (1002.0, b"c"), (1002.0, b"d")]
    stats = play(stream, lambda d: sent.append((fake.now, d)), speed=2.0,
                 clock=fake.clock, sleep=fake.sleep)
    assert sent == [(100.0, b"a"), (100.25, b"b"), (101.0, b"c"), (101.0, b"d")]
    assert (stats.frames, stats.bytes, stats.span, stats.seconds) == (4, 4, 2.0, 1.0)
    assert stats.late_max == 0.0


def test_a_slow_sender_is_reported_late_and_never_waits():
    fake = FakeClock()

    def slow_send(_data: bytes) -> None:
        fake.now += 0.3  # each send takes 0.3 s; frames are due every 0.1 s

    stats = play([(float(i) / 10, b"x") for i in range(5)], slow_send, speed=1.0,
                 clock=fake.clock, sleep=fake.sleep)
    assert fake.sleeps == []
    assert stats.late_max == pytest.approx(0.8)  # the 5th frame: due at 0.4, sent at 1.2


def test_top_speed_pauses_once_per_burst():
    fake = FakeClock()
    stats = play([(0.0, b"x")] * 1001, lambda d: None, speed=0, burst=200,
                 clock=fake.clock, sleep=fake.sleep)
    assert stats.frames == 1001 and len(fake.sleeps) == 5  # before frames 201, 401, ... 1001


def test_negative_speed_is_refused():
    with pytest.raises(ValueError, match="speed"):
        play([], lambda d: None, speed=-1)


def test_other_link_types_become_ethernet_with_the_same_ip_packet():
    """Every golden capture: a re-framed frame ends with the original frame's IP packet."""
    from collector.framing.link import ip_offset
    seen = set()
    for path in sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng")):
        for _n, _ts, linktype, frame in read_capture(str(path), Counters()):
            where = ip_offset(linktype, frame)
            out = ethernet(linktype, frame)
            if linktype == 1:  # Ethernet frames are sent as they are, ARP and all
                assert out == frame
                seen.add(1)
                continue
            if isinstance(where, str):
                assert out is None
                continue
            seen.add(linktype)
            assert out[12:14] in (b"\x08\x00", b"\x86\xdd")
            assert out[14:] == frame[where[0]:]
    assert 1 in seen and len(seen) >= 2  # Ethernet and at least one other link type


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                    reason="needs root and iproute2 (network namespaces, veth)")
def test_play_delivers_a_simulated_city_through_a_veth_pair(tmp_path: Path):
    from simulator.generate import generate
    from simulator.scenario import load
    generate(load("tiny"), tmp_path, 2)
    cap = str(tmp_path / "s1.pcap")
    want = [data for _ts, data in frames([cap])]
    ns = f"ccplay{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:  # no IPv6 in the namespace: no router solicitation frames beside the played ones
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                        "net.ipv6.conf.default.disable_ipv6=1"], check=True)
        for cmd in (["link", "add", "a0", "type", "veth", "peer", "name", "b0"],
                    ["link", "set", "a0", "up"], ["link", "set", "b0", "up"]):
            subprocess.run(["ip", "-n", ns, *cmd], check=True)
        # the receiving socket in the namespace is opened by a child, which prints frames
        recv = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", _RECEIVER, str(len(want))],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert recv.stderr.readline() == b"ready\n"
        player = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-m", "simulator", "play",
             "--capture", cap, "--interface", "a0", "--speed", "0"],
            capture_output=True, timeout=120, cwd=Path(__file__).parents[3])
        assert player.returncode == 0, player.stderr.decode()
        out, err = recv.communicate(timeout=60)
        assert recv.returncode == 0, err.decode()
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=False)
    got = [bytes.fromhex(line) for line in out.decode().split()]
    assert got == want
    assert f"sent {len(want)} frames".encode() in player.stderr


_RECEIVER = """
import socket, sys
n = int(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 25)
s.bind(("b0", 0))
s.settimeout(30)
print("ready", file=sys.stderr, flush=True)
got = []
while len(got) < n:
    data, addr = s.recvfrom(65535)
    if addr[2] != socket.PACKET_OUTGOING and data[12:14] in (b"\\x08\\x00", b"\\x86\\xdd"):
        got.append(data.hex())
print("\\n".join(got))
"""

