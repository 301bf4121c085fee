"""Wireshark agrees: every frame of tiny dissects as S1AP, nothing malformed, no expert
warning, and every SCTP checksum verifies as CRC32c (skipped without tshark)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def _tshark(*args: str) -> str:
    proc = subprocess.run([TSHARK, "-o", "sctp.checksum:CRC-32C", *args], capture_output=True,
                          text=True, timeout=300, check=True)
    return proc.stdout


def test_every_frame_is_clean_s1ap(tiny_out):
    out, summary = tiny_out
    rows = _tshark("-r", str(out / "s1.pcap"), "-T", "fields", "-e", "frame.protocols",
                   "-e", "sctp.checksum.status", "-e", "_ws.expert.severity").splitlines()
    assert len(rows) == summary.messages
    for n, row in enumerate(rows, start=1):
        protocols, checksum, expert = (row.split("\t") + ["", "", ""])[:3]
        assert protocols.startswith("eth:ethertype:ip:sctp:s1ap"), (n, protocols)
        assert checksum == "1", (n, "checksum status", checksum)  # 1 = good
        assert expert == "", (n, "expert info", expert)
    verbose = _tshark("-r", str(out / "s1.pcap"), "-V")
    assert "malformed" not in verbose.lower()
    assert verbose.count("Non-Access-Stratum (NAS)PDU") >= 100
