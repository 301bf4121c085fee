"""`SignallingEvent.imei_tac`: the TAC of an IMEI / IMEISV, and only it, handed on by every
decoder (contract A of session 3).

Oracles: pycrate (the S1AP and NGAP decoders with `fast=False` read every IE and NAS
message through it), tshark (tests/golden/captures/equipment.tsv: every IMEI, IMEISV and
PEI it reads in the golden captures) and the simulator's own phones (which of them are
M2M modules, which report their IMEISV, and its digits).
"""

from __future__ import annotations

import io
import logging
import pickle
from pathlib import Path

import pytest
from pycrate_mobile import TS24301_EMM, TS24501_FGMM

from collector.app import EdgeConfig, replay
from collector.decode.nas_5gs import NAS5GSDecoder
from collector.decode.nas_5gs_fast import FiveGSNASReader
from collector.decode.nas_eps import NASEPSDecoder
from collector.decode.nas_eps_fast import EPSNASReader
from collector.decode.ngap import NGAPDecoder
from collector.decode.plmn import tac_of_digits, tac_of_identity, tac_of_tbcd
from collector.decode.s1ap import S1APDecoder
from collector.decode.stage import DecodeStage
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.inspect import run_inspect
from collector.telemetry import Counters
from simulator import agents, phones, schedule
from simulator.city import M2M_TACS
from simulator.generate import generate
from simulator.scenario import BUILTIN, parse, resize
from tests.helpers import CAPTURES, capture_paths, nas_identity, needles, scan, tbcd
from wire.pseudonym import Pseudonymizer
from wire.tally import encode_batch

PSEUDONYM = Pseudonymizer(bytes(range(32)))
IMEISV = "3547331012345678"   # an M2M TAC of simulator/city.py, then serial and SV
IMEI = "354733101234564"
SEED = 3


# the three layouts of the digits

def test_tac_of_each_layout() -> None:
    assert tac_of_identity(nas_identity(IMEISV, 3)) == IMEISV[:8]
    assert tac_of_identity(nas_identity(IMEI, 2)) == IMEI[:8]
    assert tac_of_tbcd(tbcd(IMEISV)) == IMEISV[:8]
    assert tac_of_digits(IMEI[:14]) == tac_of_digits(IMEI[:14].encode()) == IMEI[:8]
    # too short, or a non-decimal nibble / character among the 8: no TAC
    assert tac_of_identity(nas_identity(IMEISV, 3)[:4]) is None
    assert tac_of_identity(b"\xc3" + nas_identity(IMEISV, 3)[1:]) is None
    assert tac_of_tbcd(tbcd("3547331")) is None
    assert tac_of_tbcd(b"\x53\x74\x3a\x01") is None
    assert tac_of_digits("3547331") is None and tac_of_digits(b"354733a0123456") is None
    assert tac_of_digits("３５４７３３１０") is None  # Unicode digits are not IMEI digits


# NAS messages: the fast readers against pycrate, the TAC kept and the rest gone

EPS_FAST, EPS_SLOW = EPSNASReader(PSEUDONYM), NASEPSDecoder(PSEUDONYM)
FGS_FAST, FGS_SLOW = FiveGSNASReader(PSEUDONYM), NAS5GSDecoder(PSEUDONYM)


def _eps(buf: bytes) -> str | None:
    fast, slow = EPS_FAST(buf, True)[0], EPS_SLOW(buf, True)[0]
    assert fast.imei_tac == slow.imei_tac and fast.name == slow.name
    assert IMEISV[8:] not in repr(fast) and IMEI[8:] not in repr(slow)
    return fast.imei_tac


def _5gs(buf: bytes) -> str | None:
    fast, slow = FGS_FAST(buf)[0], FGS_SLOW(buf)[0]
    assert fast.imei_tac == slow.imei_tac and fast.name == slow.name
    assert IMEISV[8:] not in repr(fast) and IMEI[8:] not in repr(slow)
    return fast.imei_tac


@pytest.mark.parametrize("kind, digits", [(3, IMEISV), (2, IMEI)])
def test_eps_identity_response(kind: int, digits: str) -> None:
    msg = TS24301_EMM.EMMIdentityResponse(val={"ID": {"type": kind, "ident": digits}})
    assert _eps(msg.to_bytes()) == digits[:8]


def test_eps_security_mode_complete_and_emergency_attach() -> None:
    smc = TS24301_EMM.EMMSecurityModeComplete(val={"IMEISV": {"type": 3, "ident": IMEISV}})
    assert _eps(smc.to_bytes()) == IMEISV[:8]
    assert _eps(TS24301_EMM.EMMSecurityModeComplete().to_bytes()) is None  # IMEISV absent
    # §9.9.3.12: an emergency ATTACH REQUEST names the UE by its IMEI (type 3 there)
    attach = TS24301_EMM.EMMAttachRequest(val={"EPSID": {"type": 3, "ident": IMEI}})
    assert _eps(attach.to_bytes()) == IMEI[:8]


@pytest.mark.parametrize("kind, digits", [(5, IMEISV), (3, IMEI)])
def test_5gs_identity_response(kind: int, digits: str) -> None:
    msg = TS24501_FGMM.FGMMIdentityResponse(val={"5GSID": {"Type": kind, "Digits": digits}})
    assert _5gs(msg.to_bytes()) == digits[:8]


def test_5gs_security_mode_complete() -> None:
    smc = TS24501_FGMM.FGMMSecurityModeComplete(val={"IMEISV": {"Type": 5, "Digits": IMEISV}})
    assert _5gs(smc.to_bytes()) == IMEISV[:8]
    pei = TS24501_FGMM.FGMMSecurityModeComplete(val={"PEI": {"Type": 3, "Digits": IMEI}})
    assert _5gs(pei.to_bytes()) == IMEI[:8]


# every message of every golden capture: fast ≡ pycrate, and the TACs tshark reads

def _decoders(fast: bool) -> dict:
    corr = Correlator()
    return {"s1ap": S1APDecoder(PSEUDONYM, corr, fast=fast),
            "ngap": NGAPDecoder(PSEUDONYM, corr, fast=fast)}


def _events(paths: list[Path], protos: tuple = ("s1ap", "ngap")) -> tuple[list, list]:
    """(fast, pycrate) [(inspect record, imei_tac)] of every S1AP / NGAP message."""
    out = []
    for fast in (True, False):
        decoders, rows = _decoders(fast), []
        for path in paths:
            for frame, time, msg in iter_messages(str(path), Counters()):
                if msg.proto in protos:
                    events, _reason = decoders[msg.proto](msg.payload, msg.assoc, frame, time)
                    rows += [(e.inspect_record(), e.imei_tac) for e in events]
        out.append(rows)
    return out[0], out[1]


def test_golden_fast_paths_hand_on_the_tacs_pycrate_reads() -> None:
    fast, slow = _events(capture_paths())
    assert fast == slow
    assert sum(tac is not None for _r, tac in fast) >= 4


def _tshark_tacs() -> dict[str, set[str]]:
    """capture -> TACs of the IMEIs / IMEISVs tshark reads in it."""
    out: dict[str, set[str]] = {}
    for line in (CAPTURES / "equipment.tsv").read_text().splitlines()[1:]:
        capture, _field, value = line.split("\t")
        if len(value) >= 14 and value.isdigit():  # not the 3-digit PEI of the oai capture
            out.setdefault(capture, set()).add(value[:8])
    return out


def test_golden_tacs_are_those_tshark_reads() -> None:
    """Every protocol (S1AP/NGAP NAS, GTPv2 MEI, Diameter IMEI): what `DecodeStage` hands on
    equals tshark's IMEIs cut to their TAC, capture by capture, and comes with a subscriber."""
    want, got = _tshark_tacs(), {}
    for path in capture_paths():
        stage = DecodeStage(PSEUDONYM, Counters())
        for frame, time, msg in iter_messages(str(path), Counters()):
            for ev in stage(frame, time, msg):
                if ev.imei_tac is not None:
                    assert ev.subscriber is not None, (path.name, frame, ev.msg)
                    got.setdefault(path.name, set()).add(ev.imei_tac)
    assert got == want


# the simulator: its M2M modules that report an IMEISV are flagged and left out

def _simulated(out: Path) -> tuple:
    """(scenario, persons) of a small demo city (1 day, 5 %) with 10 M2M modules, written to
    `out`; half of all phones, modules included, report their IMEISV."""
    text = (BUILTIN / "demo.toml").read_text().replace("m2m_devices = 20 ", "m2m_devices = 200 ")
    scn = resize(parse(text, "demo.toml"), 0.05, 1)
    generate(scn, out, SEED)
    persons, _timelines = phones.build(scn, schedule.plan(scn, agents.build(scn, SEED), SEED),
                                       SEED, [])
    return scn, persons


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> tuple[Path, object, tuple]:
    out = tmp_path_factory.mktemp("m2m")
    scn, persons = _simulated(out)
    return out, scn, persons


def test_simulated_fast_paths_agree_with_pycrate(simulated) -> None:
    out, _scn, persons = simulated
    fast, slow = _events([out / "s1.pcap"])
    assert fast == slow
    reporting = {p.phone.imeisv[:8] for p in persons if p.phone and p.phone.reports_imeisv}
    assert {tac for _r, tac in fast if tac} == reporting


def test_simulated_m2m_modules_reporting_imeisv_are_flagged(simulated) -> None:
    out, scn, persons = simulated
    modules = [p.phone for p in persons if p.m2m]
    reporting = {PSEUDONYM(ph.imsi) for ph in modules if ph.reports_imeisv}
    assert len(modules) == 10 and 0 < len(reporting) < 10
    stage, flagged = DecodeStage(PSEUDONYM, Counters()), set()
    for frame, time, msg in iter_messages(str(out / "s1.pcap"), Counters()):
        for ev in stage(frame, time, msg):
            if ev.imei_tac in M2M_TACS:
                flagged.add(ev.subscriber)
    assert flagged == reporting
    cfg = EdgeConfig("t", 1, scn.bin_seconds, reference=str(out), m2m_tacs=frozenset(M2M_TACS))
    summary = replay([str(out / "s1.pcap")], cfg, PSEUDONYM)
    assert summary.m2m_tac == len(reporting)


def test_simulated_imeisv_digits_never_leave(simulated, caplog) -> None:
    """The IMEISVs (ASCII, TBCD, NAS) appear nowhere: inspect output, logs, tallies, facts."""
    out, scn, persons = simulated
    imeisvs = {p.phone.imeisv for p in persons if p.phone and p.phone.reports_imeisv}
    # whole IMEISVs in ASCII, TBCD and as NAS writes them; the IMEI part (14 digits) in ASCII
    needle_map = needles(imeisvs, kind=3) | {i[:14].encode(): "imei ascii" for i in imeisvs}
    caplog.set_level(logging.DEBUG)
    text = io.StringIO()
    run_inspect([str(out / "s1.pcap")], PSEUDONYM, text)
    batches: list[bytes] = []

    class Sender:
        def send(self, batch) -> None:
            batches.append(encode_batch(batch))

    cfg = EdgeConfig("t", 1, scn.bin_seconds, reference=str(out), m2m_tacs=frozenset(M2M_TACS))
    replay([str(out / "s1.pcap")], cfg, PSEUDONYM, sender=Sender())
    stage, facts = DecodeStage(PSEUDONYM, Counters()), []
    for _frame, _time, msg in iter_messages(str(out / "s1.pcap"), Counters()):
        facts.append(pickle.dumps(stage.facts(msg)))
    blobs = {"inspect": text.getvalue().encode(), "log": caplog.text.encode(),
             "tallies": b"".join(batches), "facts": b"".join(facts)}
    assert batches and len(blobs["inspect"]) > 1000
    assert not scan(blobs, needle_map)
