"""Hand-written S1AP IE readers (collector/decode/s1ap_fast.py) against pycrate, the reference.

Differential: on every S1AP message of every golden capture and of simulated
captures (three seeds of the `tiny` scenario, the simulator the bench capture
comes from, generated here), the fast decoder (the one-pass walk of `s1ap_walk`)
and the pycrate one (`fast=False`) give the same facts, the same NASInfo for
every NAS-PDU and the same events and reasons, field by field.  Mutated real IE
values and messages read the same on both paths, or the fast path is in doubt.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.decode.aper import split_ies, split_pdu
from collector.decode.aper_bits import Doubt
from collector.decode.nas_eps import NASEPSDecoder
from collector.decode.nas_eps_fast import EPSNASReader
from collector.decode.pycrate_libs import S1AP, aper_decode
from collector.decode.s1ap import UPLINK_NAS, S1APDecoder
from collector.decode.s1ap_fast import READERS, readers_for, type_name
from collector.decode.s1ap_ies import WANTED, read_facts
from collector.decode.s1ap_schema import S1APSchema
from collector.decode.s1ap_walk import KINDS, S1APWalk
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import Counters
from tests.helpers import capture_paths, run
from wire.pseudonym import Pseudonymizer

PSEUDONYM = Pseudonymizer(bytes(range(32)))
SEEDS = (1, 2, 3)


def s1ap_messages(path: Path) -> list[tuple[int, float, bytes, tuple]]:
    """(frame, time, payload, association) of every S1AP message of a capture."""
    return [(frame, t, bytes(msg.payload), msg.assoc)
            for frame, t, msg in iter_messages(str(path), Counters()) if msg.proto == "s1ap"]


@cache
def golden_corpus() -> list[bytes]:
    """Distinct S1AP payloads of the golden captures."""
    return sorted({m[2] for path in capture_paths() for m in s1ap_messages(path)})


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Captures of the `tiny` scenario, one per seed."""
    paths = []
    for seed in SEEDS:
        out = tmp_path_factory.mktemp(f"tiny-{seed}")
        run("simulator", "generate", "--scenario", "tiny", "--out", str(out), "--seed", str(seed))
        paths.append(out / "s1.pcap")
    return paths


def fields(obj) -> tuple | None:
    """Every slot of a facts / NASInfo / event object, for comparison."""
    return None if obj is None else tuple(getattr(obj, s) for s in obj.__slots__)


def compare_capture(path: Path) -> tuple[Counter, list[str], S1APDecoder]:
    """Run both paths over one capture; (counts, mismatches, the fast decoder)."""
    fast = S1APDecoder(PSEUDONYM, Correlator(), fast=True)
    slow = S1APDecoder(PSEUDONYM, Correlator(), fast=False)
    nas_fast, nas_slow = EPSNASReader(PSEUDONYM), NASEPSDecoder(PSEUDONYM)
    stats, bad = Counter(), []
    for frame, t, payload, assoc in s1ap_messages(path):
        where = f"{path.name} frame {frame}"
        read, read_ref = fast.facts(payload), slow.facts(payload)
        if read != read_ref:  # the one-pass walk (s1ap_walk) against pycrate, NAS included
            bad.append(f"{where}: {read!r} != {read_ref!r}")
        got, want = fast.ies_facts(payload), slow.ies_facts(payload)
        stats["messages"] += 1
        if isinstance(want, str) or isinstance(got, str):
            if got != want:
                bad.append(f"{where}: facts {got!r} != {want!r}")
        elif (got[0], fields(got[1])) != (want[0], fields(want[1])):
            bad.append(f"{where}: facts {fields(got[1])} != {fields(want[1])}")
        else:
            for pdu in want[1].nas_pdus:
                stats["NAS-PDUs"] += 1
                ref = nas_slow(pdu, want[0] in UPLINK_NAS)
                try:
                    mine = nas_fast(pdu, want[0] in UPLINK_NAS)
                except Doubt:
                    stats["NAS-PDUs in doubt"] += 1
                    continue
                if (fields(mine[0]), mine[1]) != (fields(ref[0]), ref[1]):
                    bad.append(f"{where}: NAS {pdu.hex()}: {fields(mine[0])} != {fields(ref[0])}")
        events, events_ref = fast(payload, assoc, frame, t), slow(payload, assoc, frame, t)
        stats["events"] += len(events_ref[0])
        if [fields(e) for e in events[0]] != [fields(e) for e in events_ref[0]] \
                or events[1] != events_ref[1]:
            bad.append(f"{where}: events {events} != {events_ref}")
    return stats, bad, fast


@pytest.mark.parametrize("capture", capture_paths(), ids=lambda p: p.name)
def test_golden_capture_reads_the_same_on_both_paths(capture: Path) -> None:
    stats, bad, fast = compare_capture(capture)
    assert not bad, "\n".join(bad[:10])
    if stats["messages"]:  # hand-written wherever the IE is plain (padded ids of nextepc: pycrate)
        assert sum(fast.fallback.values()) <= 0.05 * sum(fast.decoded.values()), fast.fallback


def test_simulated_captures_read_the_same_on_both_paths(simulated: list[Path]) -> None:
    for path in simulated:
        stats, bad, fast = compare_capture(path)
        assert not bad, "\n".join(bad[:10])
        assert stats["messages"] > 300 and stats["events"] > 100 and stats["NAS-PDUs"] > 100
        assert not fast.fallback and not stats["NAS-PDUs in doubt"]  # all by hand


# single IE values encoded by pycrate, read back by hand

_IES = S1AP.S1AP_IEs
_CONTENTS = S1AP.S1AP_PDU_Contents
PLMN = b"\x02\xf8\x39"
TAI = {"pLMNidentity": PLMN, "tAC": b"\x12\x34"}
ECGI = {"pLMNidentity": PLMN, "cell-ID": (0xABCDEF1, 28)}
ERAB_QOS = {"qCI": 9, "allocationRetentionPriority": {
    "priorityLevel": 15, "pre-emptionCapability": "may-trigger-pre-emption",
    "pre-emptionVulnerability": "pre-emptable"}}
GBR = dict(ERAB_QOS, gbrQosInformation={
    "e-RAB-MaximumBitrateDL": 10_000_000_000, "e-RAB-MaximumBitrateUL": 0,
    "e-RAB-GuaranteedBitrateDL": 256, "e-RAB-GuaranteedBitrateUL": 65536})
ERAB_CTXT = {"e-RAB-ID": 15, "e-RABlevelQoSParameters": GBR,
             "transportLayerAddress": (0x20010DB8 << 96 | 1, 128), "gTP-TEID": b"\x01\x02\x03\x04",
             "nAS-PDU": bytes(300)}
ERAB_HO = {"e-RAB-ID": 1, "transportLayerAddress": (0x0A000001, 32), "gTP-TEID": b"\xff" * 4,
           "e-RABlevelQosParameters": ERAB_QOS}
BUILT = [  # (pycrate type, value)
    (_IES.MME_UE_S1AP_ID, 0), (_IES.MME_UE_S1AP_ID, 2**32 - 1), (_IES.MME_UE_S1AP_ID, 256),
    (_IES.ENB_UE_S1AP_ID, 2**24 - 1), (_IES.ENB_UE_S1AP_ID, 7),
    (_IES.UE_S1AP_IDs, ("uE-S1AP-ID-pair", {"mME-UE-S1AP-ID": 70000, "eNB-UE-S1AP-ID": 3})),
    (_IES.UE_S1AP_IDs, ("mME-UE-S1AP-ID", 2**31)),
    (_IES.NAS_PDU, b"\x07\x41" * 100), (_IES.NAS_PDU, b""),
    (_IES.TAI, TAI), (_IES.EUTRAN_CGI, ECGI),
    (_IES.S_TMSI, {"mMEC": b"\xa5", "m-TMSI": b"\xde\xad\xbe\xef"}),
    (_IES.UEPagingID, ("s-TMSI", {"mMEC": b"\x5a", "m-TMSI": b"\x00\x00\x00\x01"})),
    (_IES.UEPagingID, ("iMSI", b"\x21\x43\x65\x87\x09\xf1")),
    (_IES.UserLocationInformation, {"eutran-cgi": ECGI, "tai": TAI}),
    (_IES.TargetID, ("targeteNB-ID", {"global-ENB-ID": {
        "pLMNidentity": PLMN, "eNB-ID": ("homeENB-ID", (0xFFFFFFF, 28))}, "selected-TAI": TAI})),
    (_IES.TargetID, ("targeteNB-ID", {"global-ENB-ID": {
        "pLMNidentity": PLMN, "eNB-ID": ("macroENB-ID", (0x12345, 20))}, "selected-TAI": TAI})),
    (_IES.HandoverType, "gerantolte"),
    (_CONTENTS.TAIList, [{"id": 47, "criticality": "ignore", "value": ("TAIItem", {"tAI": TAI})}] * 3),
    (_CONTENTS.E_RABToBeSetupListCtxtSUReq, [{"id": 52, "criticality": "reject", "value": (
        "E-RABToBeSetupItemCtxtSUReq", ERAB_CTXT)}]),
    (_CONTENTS.E_RABToBeSetupListBearerSUReq, [{"id": 17, "criticality": "reject", "value": (
        "E-RABToBeSetupItemBearerSUReq", {**ERAB_CTXT, "e-RAB-ID": 0})}] * 2),
    (_CONTENTS.E_RABToBeSetupListHOReq, [{"id": 27, "criticality": "reject", "value": (
        "E-RABToBeSetupItemHOReq", ERAB_HO)}]),
]


@pytest.mark.parametrize("ie_type, value", BUILT, ids=lambda x: getattr(x, "_name", None))
def test_built_values_read_as_pycrate_reads_them(ie_type, value) -> None:
    ie_type.set_val(value)
    raw = ie_type.to_aper()
    ref, _reason = aper_decode(ie_type, raw)
    got = READERS[ie_type._name](raw)
    if isinstance(ref, (int, str, bytes)):
        assert got == ref
    else:  # the fields read_facts reads, through read_facts
        ie_id = next(i for i, (name, _r) in readers_for(_all_type_names(), WANTED).items()
                     if name == ie_type._name)
        assert fields(read_facts({ie_id: got})) == fields(read_facts({ie_id: ref}))
        assert fields(read_facts({ie_id: got})) != fields(read_facts({}))


@cache
def _all_types() -> dict:
    types: dict = {}
    for _name, ie_types in S1APSchema()._procedures.values():
        types.update(ie_types)
    return types


@cache
def _all_type_names() -> dict[int, str]:
    """{IE id: ASN.1 type name}, what `readers_for` takes (as s1ap_table holds it)."""
    return {i: type_name(t) for i, t in _all_types().items()}


@pytest.mark.parametrize("type_name, raw", [
    ("ENB-UE-S1AP-ID", bytes.fromhex("000200")),        # nextepc's padded id: open type too long
    ("ENB-UE-S1AP-ID", bytes.fromhex("c001020304")),    # 4 octets: over 2^24 - 1
    ("MME-UE-S1AP-ID", b""),
    ("NAS-PDU", bytes.fromhex("c1") + bytes(16384)),    # a fragment (X.691 §11.9.3.8)
    ("NAS-PDU", bytes.fromhex("0307")),                 # shorter than its length
    ("TAI", bytes.fromhex("4002f83912340001020304")),   # iE-Extensions present
    ("TAI", bytes.fromhex("8002f8391234")),             # extension bit
    ("EUTRAN-CGI", bytes.fromhex("0002f839abcdef")),    # cut short
    ("UEPagingID", bytes.fromhex("c0")),                # an extension alternative
    ("UEPagingID", bytes.fromhex("78") + bytes(10)),    # IMSI of 10 octets (SIZE (3..8))
    ("HandoverType", bytes.fromhex("50")),              # index 5 without the extension bit
    ("TargetID", bytes.fromhex("20") + bytes(8)),       # targetRNC-ID: pycrate reads it
])
def test_doubt_on_what_is_not_plainly_read(type_name: str, raw: bytes) -> None:
    with pytest.raises(Doubt):
        READERS[type_name](raw)


@cache
def wanted_ie_values() -> list[tuple[int, str, bytes, object]]:
    """(IE id, type name, value bytes, pycrate type) of every wanted IE of the golden captures."""
    schema, out = S1APSchema(), set()
    for payload in golden_corpus():
        head = split_pdu(payload)
        proc = None if isinstance(head, str) else schema.procedure(head[0], head[1])
        ies = [] if proc is None else split_ies(head[2])
        for ie_id, raw in [] if isinstance(ies, str) else ies:
            if ie_id in WANTED and ie_id in proc[1]:
                out.add((ie_id, raw, proc[1][ie_id]))
    return sorted(((i, type_name(t), raw, t) for i, raw, t in out), key=lambda x: (x[0], x[2]))


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "byte", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[at] = draw(st.sampled_from([0, 0x40, 0x7F, 0x80, 0xC0, 0xFF]))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif data:
            del data[at:at + draw(st.integers(1, 4))]
    return bytes(data)


@settings(max_examples=600, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_ie_values_read_the_same_or_doubt(data: st.DataObject) -> None:
    ie_id, name, seed, ie_type = data.draw(st.sampled_from(wanted_ie_values()))
    raw = data.draw(mutated(seed))
    read = READERS.get(name)
    if read is None:  # SONConfigurationTransfer: pycrate only
        return
    try:
        got = read(raw)
    except Doubt:
        return
    ref, reason = aper_decode(ie_type, raw)
    assert reason is None, f"{name} {raw.hex()}: read by hand, pycrate fails"
    assert fields(read_facts({ie_id: got})) == fields(read_facts({ie_id: ref})), raw.hex()


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_messages_give_the_same_events_on_both_paths(data: st.DataObject) -> None:
    raw = data.draw(mutated(data.draw(st.sampled_from(golden_corpus()))))
    fast, slow = S1APDecoder(PSEUDONYM, Correlator()), S1APDecoder(PSEUDONYM, Correlator(), False)
    assert fast.facts(raw) == slow.facts(raw), raw.hex()
    fast = fast(raw, ("a", "b"), 1, 0.0)
    slow = slow(raw, ("a", "b"), 1, 0.0)
    assert [fields(e) for e in fast[0]] == [fields(e) for e in slow[0]] and fast[1] == slow[1]


def test_fallbacks_are_counted_by_element() -> None:
    padded = bytes.fromhex(  # testsimple frame 66: ENB-UE-S1AP-ID padded to 3 octets
        "000c404900000600080003000200001a001615172ba435db040745090bf600f110000201020003e6"
        "004300060000f1102b67006440080000f1109d67aa500086400130006000060040020003e6")
    decoder = S1APDecoder(PSEUDONYM, Correlator())
    events, reason = decoder(padded, ("a", "b"), 66, 0.0)
    assert reason is None and events[0].tac == 11111
    assert decoder.fallback == Counter({"ENB-UE-S1AP-ID": 1})
    assert decoder.decoded == Counter({"ENB-UE-S1AP-ID": 1, "NAS-PDU": 1, "TAI": 1, "EUTRAN-CGI": 1,
                                       "S-TMSI": 1, "NAS-PDU EPS NAS": 1})
    slow = S1APDecoder(PSEUDONYM, Correlator(), fast=False)
    slow(padded, ("a", "b"), 66, 0.0)
    assert not slow.decoded and not slow.fallback


# the one-pass walk (s1ap_walk) against the readers above, IE value by IE value

def _container(ie_id: int, raw: bytes) -> bytes:
    """A message body holding one protocol IE (criticality reject) with value `raw`."""
    size = len(raw).to_bytes(1, "big") if len(raw) < 128 else (0x8000 | len(raw)).to_bytes(2, "big")
    return b"\x00\x00\x01" + ie_id.to_bytes(2, "big") + b"\x00" + size + raw


def _walked_facts(walked: tuple) -> tuple:
    _seen, enb, mme, source, nas, plmn, tac, cell, s_tmsi, paging_imsi, bearers = walked
    return enb, mme, source, nas or [], plmn, tac, cell, s_tmsi, paging_imsi, list(bearers)


def _read_facts_of(ie_id: int, value) -> tuple:
    f = read_facts({ie_id: value})
    return (f.enb_id, f.mme_id, f.source_mme_id, f.nas_pdus, f.plmn, f.tac, f.cell, f.s_tmsi,
            f.paging_imsi, f.bearers)


def _walk_seeds() -> list[tuple[int, str, bytes]]:
    seeds = [(i, name, raw) for i, name, raw, _t in wanted_ie_values() if i in KINDS]
    for ie_type, value in BUILT:
        ie_type.set_val(value)
        ie_id = next((i for i, (name, _r) in readers_for(_all_type_names(), WANTED).items()
                      if name == ie_type._name and i in KINDS), None)
        if ie_id is not None:
            seeds.append((ie_id, ie_type._name, ie_type.to_aper()))
    return seeds


@settings(max_examples=1500, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_walk_reads_each_value_as_the_readers_or_doubts_with_them(data: st.DataObject) -> None:
    ie_id, name, seed = data.draw(st.sampled_from(_walk_seeds()))
    raw = data.draw(st.one_of(st.just(seed), mutated(seed)))
    walked = S1APWalk().walk(_container(ie_id, raw), {ie_id: KINDS[ie_id]})
    try:
        want = _read_facts_of(ie_id, READERS[name](raw))
    except Doubt:
        assert walked is None, f"{name} {raw.hex()}: read by the walk, the reader doubts"
        return
    assert walked is not None, f"{name} {raw.hex()}: the walk doubts, the reader reads it"
    assert _walked_facts(walked) == want, raw.hex()


def test_walk_serves_the_bench_procedures_without_the_careful_path(simulated: list[Path]) -> None:
    decoder = S1APDecoder(PSEUDONYM, Correlator())
    for _frame, _t, payload, _a in s1ap_messages(simulated[0]):
        decoder.facts(payload)
    walked, careful = sum(decoder._walked.values()), sum(decoder._careful.values())
    assert walked > 300 and careful == decoder._careful["NAS-PDU EPS NAS"], decoder._careful
