"""Wireshark agrees: every frame of tiny dissects as S1AP, GTPv2 or DIAMETER (and of a
demo with 5G cells as NGAP with 5GS NAS too), nothing
malformed, no expert info at all, every SCTP checksum verifies as CRC32c and every UDP
checksum as correct; the IMSIs tshark reads in Create Session Requests and in S6a
User-Names are the phones' (skipped without tshark)."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter

import pytest

from simulator import population
from tests.unit.simulator.conftest import SEED

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
PREFIXES = {"s1": "eth:ethertype:ip:sctp:s1ap", "s11": "eth:ethertype:ip:udp:gtp:gtpv2",
            "s6a": "eth:ethertype:ip:sctp:diameter", "ng": "eth:ethertype:ip:sctp:ngap"}


def _tshark(*args: str) -> str:
    proc = subprocess.run([TSHARK, "-o", "sctp.checksum:CRC-32C", "-o", "udp.check_checksum:TRUE",
                           *args], capture_output=True, text=True, timeout=300, check=True)
    return proc.stdout


def test_every_frame_is_clean_s1ap_gtpv2_or_diameter(tiny_out):
    out, summary = tiny_out
    rows = _tshark("-r", str(out / "s1.pcap"), "-T", "fields", "-e", "frame.protocols",
                   "-e", "sctp.checksum.status", "-e", "udp.checksum.status",
                   "-e", "_ws.expert.severity").splitlines()
    assert len(rows) == summary.messages
    links = Counter()
    for n, row in enumerate(rows, start=1):
        protocols, sctp_ok, udp_ok, expert = (row.split("\t") + ["", "", "", ""])[:4]
        link = next((k for k, p in PREFIXES.items() if protocols.startswith(p)), None)
        assert link is not None, (n, protocols)
        links[link] += 1
        if link == "s11":
            assert udp_ok == "1" and sctp_ok == "", (n, "checksum status", udp_ok)  # 1 = good
        else:
            assert sctp_ok == "1" and udp_ok == "", (n, "checksum status", sctp_ok)
        assert expert == "", (n, "expert info", expert)
    assert links == summary.by_link and len(links) == 3
    verbose = _tshark("-r", str(out / "s1.pcap"), "-V")
    assert "malformed" not in verbose.lower()
    assert verbose.count("Non-Access-Stratum (NAS)PDU") >= 100


def test_tshark_reads_the_phones_imsis_on_s11_and_s6a(tiny_out):
    out, _ = tiny_out
    rows = _tshark("-r", str(out / "s1.pcap"), "-Y", "gtpv2.message_type == 32 || "
                   "(diameter.flags.request == 1 && diameter.cmd.code in {316, 318, 321})",
                   "-T", "fields", "-e", "gtpv2.message_type", "-e", "e212.imsi",
                   "-e", "diameter.User-Name").splitlines()
    imsis = set(population.identities("tiny", SEED).imsis)
    seen = {"gtpv2": set(), "diameter": set()}
    for row in rows:
        gtp, imsi, user = row.split("\t")
        if gtp:
            seen["gtpv2"].add(imsi)
        else:
            seen["diameter"].add(user)
    assert seen == {"gtpv2": imsis, "diameter": imsis}


def test_a_small_demo_with_roamers_is_clean(tmp_path):
    """The city model (roamers' IMSIs of five countries, arrivals, nights off, M2M) encodes
    into frames tshark reads without a warning; roamers' IMSIs keep their MCC; the M2M
    module asks for power saving mode (T3324 of 2 minutes) in its attach and TAU requests."""
    from pathlib import Path

    from simulator.generate import generate
    from simulator.scenario import parse, resize

    demo = Path(population.__file__).parent / "scenarios" / "demo.toml"
    text = demo.read_text().replace("m2m_psm_share = 0.5 ", "m2m_psm_share = 1.0 ")
    summary = generate(resize(parse(text, "demo.toml"), 0.03, 1), tmp_path, SEED)
    rows = _tshark("-r", str(tmp_path / "s1.pcap"), "-T", "fields", "-e", "frame.protocols",
                   "-e", "_ws.expert.severity", "-e", "e212.imsi", "-e", "e212.mcc"
                   ).splitlines()
    assert len(rows) == summary.messages > 1000
    mccs = Counter()
    for n, row in enumerate(rows, start=1):
        protocols, expert, imsi, mcc = (row.split("\t") + ["", "", "", ""])[:4]
        assert any(protocols.startswith(p) for p in PREFIXES.values()), (n, protocols)
        assert expert == "", (n, "expert info", expert)
        mccs.update({i[:3] for i in imsi.split(",") if i})
        mccs.update({m for m in mcc.split(",") if m})  # the home PLMN of a SUCI (NR cells)
    assert mccs["001"] and set(mccs) - {"001"}  # a few roamers at this scale
    psm = _tshark("-r", str(tmp_path / "s1.pcap"), "-Y", "nas_eps.nas_msg_emm_type == 0x41 || nas_eps.nas_msg_emm_type == 0x48",
                  "-V")
    assert "malformed" not in psm.lower()
    assert psm.count("GPRS Timer 2 - T3324 value") >= 2 and "GPRS Timer: 2 min" in psm


def test_ngap_and_5gs_nas_of_nr_cells_are_clean(tmp_path):
    """NR cells (demo's gNB): every frame dissects, NGAP ones as NGAP with the SCTP checksum
    good and no expert info; the 5GS NAS inside reads without a malformed warning, SUCIs
    with the null scheme show their MSIN."""
    from simulator.generate import generate
    from tests.unit.simulator.conftest import nr_demo

    summary = generate(nr_demo(0.1), tmp_path, SEED)
    pcap = str(tmp_path / "s1.pcap")
    rows = _tshark("-r", pcap, "-T", "fields", "-e", "frame.protocols",
                   "-e", "sctp.checksum.status", "-e", "_ws.expert.severity").splitlines()
    assert len(rows) == summary.messages
    links = Counter()
    for n, row in enumerate(rows, start=1):
        protocols, sctp_ok, expert = (row.split("\t") + ["", "", ""])[:3]
        link = next((k for k, p in PREFIXES.items() if protocols.startswith(p)), None)
        assert link is not None, (n, protocols)
        links[link] += 1
        assert expert == "", (n, "expert info", expert)
        assert link == "s11" or sctp_ok == "1", (n, "checksum status", sctp_ok)
    assert links == summary.by_link and links["ng"] > 100
    verbose = _tshark("-o", "nas-5gs.null_decipher:TRUE", "-r", pcap, "-Y", "ngap", "-V")
    assert "malformed" not in verbose.lower()
    assert verbose.count("Non-Access-Stratum 5GS (NAS)PDU") >= 50
    assert "Protection scheme Id: NULL scheme" in verbose and "MSIN: " in verbose
    cells = (tmp_path / "cells.csv").read_text().splitlines()
    assert sum(line.startswith("NR,") for line in cells) == 2
