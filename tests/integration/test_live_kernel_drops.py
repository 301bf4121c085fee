"""Frames the kernel drops because the capture socket's buffer is full are counted, as
tcpdump's "dropped by kernel" and Suricata's `capture.kernel_drops` are: by the capture
source (PACKET_STATISTICS) and by `collector live` (`capture/kernel_drop` in its
summary).  The frames are sent into one end of a veth pair inside a network namespace
the test creates; the collector reads the other end."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from tests.helpers import ROOT
from tests.integration.conftest import in_ns, stop_live, wait_capturing

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 (network namespaces, veth)")

FRAMES = 3000
# an Ethernet frame of the local experimental EtherType (IEEE 802 88B5): nothing answers it
SEND = f"""
import socket, sys
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
tx.bind(("span0", 0))
frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + bytes([0x88, 0xB5]) + bytes(986)
for _ in range({FRAMES}):
    tx.send(frame)
"""
SOURCE = SEND.replace("import socket, sys", """import socket, sys
sys.path.insert(0, {root!r})
from collector.sources.live import LiveCapture
cap = LiveCapture("probe0", buffer_bytes=4096)""") + """
got = sum(1 for _ in cap.poll(0.5))
drops = cap.kernel_drops()
print(got, drops, cap.kernel_drops(), cap.dropped)
"""


def test_the_capture_source_counts_what_the_kernel_dropped(netns: str) -> None:
    out = subprocess.run(in_ns(netns, "-c", SOURCE.format(root=str(ROOT))), check=True,
                         capture_output=True, text=True, timeout=60).stdout
    got, drops, again, total = map(int, out.split())
    assert drops > 0 and got > 0
    assert got + drops == FRAMES  # every frame sent is either read or counted dropped
    assert again == 0 and total == drops  # the kernel's counts reset once read


@pytest.mark.parametrize("workers", [1, 2])
def test_collector_live_reports_kernel_drops(netns: str, workers: int) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    live = subprocess.Popen(in_ns(netns, "-m", "collector", "live", "--interface", "probe0",
                                  "--dry-run", "--buffer-kib", "4", "--workers", str(workers)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
                            start_new_session=True)
    try:
        wait_capturing(live)
        os.killpg(live.pid, signal.SIGSTOP)  # a collector (all its workers) too slow
        subprocess.run(in_ns(netns, "-c", SEND), check=True, timeout=60)
        os.killpg(live.pid, signal.SIGCONT)
        out, err = stop_live(live, 1.5)
    finally:
        if live.poll() is None:
            live.kill()
    assert live.returncode == 0, err.decode()[-2000:]
    text = out.decode()
    frames = int(re.search(r"^interface\s+probe0 \((\d+) frames\)", text, re.M).group(1))
    drops = int(re.search(r"capture/kernel_drop (\d+)", text).group(1))
    assert drops > 0 and frames + drops == FRAMES, text
    assert b"kernel dropped frames" in err
    bad = subprocess.run([sys.executable, "-m", "collector", "live", "--interface", "lo",
                          "--dry-run", "--buffer-kib", "0"], capture_output=True, env=env,
                         cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and b"--buffer-kib" in bad.stderr
