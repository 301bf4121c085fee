"""Hand-written NGAP IE readers (collector/decode/ngap_fast.py) against pycrate, the reference.

Differential: on every NGAP message of every golden capture, the fast decoder and
the pycrate one (`fast=False`) give the same facts (`NGAPRead`, field by field) and
the same events and reasons; so do the messages the NGAP unit tests build (paging,
handover, path switch, ng-eNB cells).  IE values encoded by pycrate read back the
same; values that are not the plain case are doubt; mutated real IE values and
messages read the same on both paths, or the fast path is in doubt.

One documented difference: a PDU Session Resource ... Request Transfer (an OCTET
STRING CONTAINING the user-plane set-up, nothing we read) is checked by hand only
down to its IE container; pycrate decodes its IE values too and rejects the whole
message when one is bad.  The mutation tests accept that case, and only it.
"""

from __future__ import annotations

import pickle
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.decode.aper import split_ies, split_pdu
from collector.decode.aper_bits import Bits, Doubt
from collector.decode.ngap import NGAPDecoder, NGAPRead
from collector.decode.ngap_fast import READERS, readers_for, type_name, user_location_bits
from collector.decode.ngap_ies import WANTED, read_facts
from collector.decode.ngap_schema import NGAP, NGAPSchema
from collector.decode.pycrate_libs import aper_decode
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import Counters
from tests.helpers import capture_paths
from tests.unit.collector import test_decode_ngap as built
from tests.unit.collector.test_decode_nas_5gs import REGISTRATION_ACCEPT, REGISTRATION_SUCI
from wire.pseudonym import Pseudonymizer

PSEUDONYM = Pseudonymizer(bytes(range(32)))
_IES = NGAP.NGAP_IEs
_TRANSFERS = (_IES.PDUSessionResourceSetupRequestTransfer, _IES.PDUSessionResourceModifyRequestTransfer)


def ngap_messages(path: Path) -> list[tuple[int, float, bytes, tuple]]:
    """(frame, time, payload, association) of every NGAP message of a capture."""
    return [(frame, t, bytes(msg.payload), msg.assoc)
            for frame, t, msg in iter_messages(str(path), Counters()) if msg.proto == "ngap"]


@cache
def golden_corpus() -> list[bytes]:
    """Distinct NGAP payloads of the golden captures."""
    return sorted({m[2] for path in capture_paths() for m in ngap_messages(path)})


def fields(obj) -> tuple | None:
    return None if obj is None else tuple(getattr(obj, s) for s in obj.__slots__)


def compare(messages: list[tuple[int, float, bytes, tuple]], where: str
            ) -> tuple[Counter, list[str], NGAPDecoder]:
    """Run both paths over messages; (counts, mismatches, the fast decoder)."""
    fast = NGAPDecoder(PSEUDONYM, Correlator(), fast=True)
    slow = NGAPDecoder(PSEUDONYM, Correlator(), fast=False)
    stats, bad = Counter(), []
    for frame, t, payload, assoc in messages:
        got, want = fast.facts(payload), slow.facts(payload)
        stats["messages"] += 1
        if got != want:
            bad.append(f"{where} frame {frame}: facts {got!r} != {want!r}")
        events = ([], got) if isinstance(got, str) else fast.attribute(got, assoc, frame, t)
        events_ref = slow(payload, assoc, frame, t)
        stats["events"] += len(events_ref[0])
        if [fields(e) for e in events[0]] != [fields(e) for e in events_ref[0]] \
                or events[1] != events_ref[1]:
            bad.append(f"{where} frame {frame}: events {events} != {events_ref}")
    return stats, bad, fast


@pytest.mark.parametrize("capture", capture_paths(), ids=lambda p: p.name)
def test_golden_capture_reads_the_same_on_both_paths(capture: Path) -> None:
    stats, bad, fast = compare(ngap_messages(capture), capture.name)
    assert not bad, "\n".join(bad[:10])
    decoded, fallback = sum(fast.decoded.values()), sum(fast.fallback.values())
    print(f"\n{capture.name}: {stats['messages']} NGAP messages, {stats['events']} events, "
          f"{decoded} values read, {fallback} by pycrate ({fast.fallback})")
    if stats["messages"]:
        assert decoded and fallback <= 0.01 * decoded, fast.fallback


def test_fallback_share_over_all_golden_captures_is_reported() -> None:
    fast = NGAPDecoder(PSEUDONYM, Correlator())
    for payload in golden_corpus():
        fast.facts(payload)
    decoded, fallback = sum(fast.decoded.values()), sum(fast.fallback.values())
    print(f"\nfallback share on {len(golden_corpus())} distinct golden NGAP payloads: "
          f"{fallback}/{decoded} = {fallback / decoded:.2%} {dict(fast.fallback)}")
    assert decoded > 2500 and fallback == 0  # every IE value and NAS-PDU of them by hand


def _code(name: str) -> int:
    return NGAPSchema().message_codes()[name][1]


def built_messages() -> list[bytes]:
    """The messages the NGAP unit tests build with pycrate: handover, paging, path switch..."""
    b = built
    eutra = (121, ("UserLocationInformation", ("userLocationInformationEUTRA", {
        "eUTRA-CGI": {"pLMNIdentity": b.PLMN, "eUTRACellIdentity": (0x1234567, 28)},
        "tAI": b.tai(5), "timeStamp": b"\x01\x02\x03\x04"})))
    return [
        b.initial_ue(7, REGISTRATION_SUCI), b.initial_ue(8, REGISTRATION_SUCI, s_tmsi=True),
        b.downlink(900, 7, REGISTRATION_ACCEPT), b.uplink(900, 7, REGISTRATION_SUCI),
        b.paging([5, 6]), b.paging(list(range(16))),
        b.pdu("initiatingMessage", 15, "InitialUEMessage", [
            (85, ("RAN-UE-NGAP-ID", 2**32 - 1)), (38, ("NAS-PDU", REGISTRATION_SUCI)), eutra,
            (90, ("RRCEstablishmentCause", "mo-Signalling"))]),
        b.with_ids(12, "HandoverRequired", 2**40 - 1, 4, (29, ("HandoverType", "intra5gs")),
                   (15, ("Cause", ("radioNetwork", "handover-desirable-for-radio-reason"))),
                   (105, ("TargetID", ("targetRANNodeID", {"globalRANNodeID": ("globalGNB-ID", {
                       "pLMNIdentity": b.PLMN, "gNB-ID": ("gNB-ID", (1, 22))}),
                       "selectedTAI": b.tai(9)}))),
                   (61, ("PDUSessionResourceListHORqd",
                         [{"pDUSessionID": 1, "handoverRequiredTransfer": b"\x00"}])),
                   (101, ("SourceToTarget-TransparentContainer", b.target_container(0x99)))),
        b.with_ids(41, "UEContextReleaseComplete", 900, 4, b.uli(0x46, 4), kind="successfulOutcome"),
        b.pdu("initiatingMessage", _code("UEContextReleaseCommand"), "UEContextReleaseCommand", [
            (114, ("UE-NGAP-IDs", ("uE-NGAP-ID-pair", {"aMF-UE-NGAP-ID": 70000,
                                                       "rAN-UE-NGAP-ID": 3}))),
            (15, ("Cause", ("nas", "normal-release")))]),
        b.pdu("initiatingMessage", _code("CellTrafficTrace"), "CellTrafficTrace", [
            (10, ("AMF-UE-NGAP-ID", 1)), (85, ("RAN-UE-NGAP-ID", 1)),
            (44, ("NGRANTraceID", b"\x00" * 8)),
            (43, ("NGRAN-CGI", ("eUTRA-CGI", {"pLMNIdentity": b.PLMN,
                                              "eUTRACellIdentity": (0xABCDEF0, 28)}))),
            (109, ("TransportLayerAddress", (0x0A000001, 32)))]),
    ]


def test_built_messages_read_the_same_on_both_paths() -> None:
    messages = [(i, float(i), buf, built.ASSOC) for i, buf in enumerate(built_messages())]
    stats, bad, fast = compare(messages, "built")
    assert not bad, "\n".join(bad)
    assert stats["events"] == len(messages) - 1  # the release command names no place
    assert fast.fallback == Counter()


# single IE values encoded by pycrate, read back by hand

PLMN = b"\x02\xf8\x39"
TAI = {"pLMNIdentity": PLMN, "tAC": b"\x12\x34\x56"}
NR_CGI = {"pLMNIdentity": PLMN, "nRCellIdentity": (0xABCDEF012, 36)}
EUTRA_CGI = {"pLMNIdentity": PLMN, "eUTRACellIdentity": (0xABCDEF1, 28)}
S_TMSI = {"aMFSetID": (0x3FF, 10), "aMFPointer": (0x2A, 6), "fiveG-TMSI": b"\xde\xad\xbe\xef"}
SNSSAI = {"sST": b"\x01", "sD": b"\x00\x00\x01"}
TRANSFER = bytes.fromhex("0000020082000a0c3e800000303e800000008b001a09f07f00000700000000000"
                         "0000000000000000000010000000c")  # testregistration, a real one


def _gnb(bits: int) -> tuple:
    return ("targetRANNodeID", {"globalRANNodeID": ("globalGNB-ID", {
        "pLMNIdentity": PLMN, "gNB-ID": ("gNB-ID", ((1 << bits) - 1, bits))}), "selectedTAI": TAI})


def _ng_enb(kind: str, bits: int) -> tuple:
    return ("targetRANNodeID", {"globalRANNodeID": ("globalNgENB-ID", {
        "pLMNIdentity": PLMN, "ngENB-ID": (kind, (1, bits))}), "selectedTAI": TAI})


BUILT = [  # (pycrate type, value)
    (_IES.AMF_UE_NGAP_ID, 0), (_IES.AMF_UE_NGAP_ID, 2**40 - 1), (_IES.AMF_UE_NGAP_ID, 65536),
    (_IES.RAN_UE_NGAP_ID, 2**32 - 1), (_IES.RAN_UE_NGAP_ID, 7),
    (_IES.UE_NGAP_IDs, ("uE-NGAP-ID-pair", {"aMF-UE-NGAP-ID": 2**40 - 1, "rAN-UE-NGAP-ID": 3})),
    (_IES.UE_NGAP_IDs, ("aMF-UE-NGAP-ID", 2**31)),
    (_IES.NAS_PDU, b"\x7e\x00\x41" * 100), (_IES.NAS_PDU, b""),
    (_IES.UserLocationInformation, ("userLocationInformationNR", {"nR-CGI": NR_CGI, "tAI": TAI})),
    (_IES.UserLocationInformation, ("userLocationInformationNR", {
        "nR-CGI": NR_CGI, "tAI": TAI, "timeStamp": b"\xe1\x00\x00\x01"})),
    (_IES.UserLocationInformation, ("userLocationInformationEUTRA", {
        "eUTRA-CGI": EUTRA_CGI, "tAI": TAI})),
    (_IES.NGRAN_CGI, ("nR-CGI", NR_CGI)), (_IES.NGRAN_CGI, ("eUTRA-CGI", EUTRA_CGI)),
    (_IES.FiveG_S_TMSI, S_TMSI), (_IES.UEPagingIdentity, ("fiveG-S-TMSI", S_TMSI)),
    (_IES.TAIListForPaging, [{"tAI": TAI}]), (_IES.TAIListForPaging, [{"tAI": TAI}] * 16),
    (_IES.HandoverType, "intra5gs"), (_IES.HandoverType, "fivegs-to-eps"),
    (_IES.HandoverType, "eps-to-5gs"),
    *[(_IES.TargetID, _gnb(bits)) for bits in range(22, 33)],
    (_IES.TargetID, _ng_enb("macroNgENB-ID", 20)), (_IES.TargetID, _ng_enb("shortMacroNgENB-ID", 18)),
    (_IES.TargetID, _ng_enb("longMacroNgENB-ID", 21)),
    (_IES.PDUSessionResourceSetupListCxtReq, [
        {"pDUSessionID": 5, "nAS-PDU": b"\x7e" * 200, "s-NSSAI": SNSSAI,
         "pDUSessionResourceSetupRequestTransfer": TRANSFER},
        {"pDUSessionID": 255, "s-NSSAI": {"sST": b"\x02"},
         "pDUSessionResourceSetupRequestTransfer": TRANSFER}]),
    (_IES.PDUSessionResourceSetupListSUReq, [
        {"pDUSessionID": 1, "pDUSessionNAS-PDU": b"\x7e\x00", "s-NSSAI": SNSSAI,
         "pDUSessionResourceSetupRequestTransfer": TRANSFER}] * 3),
]


def _raw(ie_type, value) -> bytes:
    """The APER encoding of `value` by pycrate."""
    ie_type.set_val(value)
    return ie_type.to_aper()


@cache
def _all_types() -> dict:
    types: dict = {}
    for _name, ie_types in NGAPSchema()._procedures.values():
        types.update(ie_types)
    return types


def _ie_id(name: str) -> int:
    return next(i for i, (n, _r) in readers_for(_all_types(), WANTED).items() if n == name)


def _prepared(value):
    """Transfers given as bytes, decoded to the value pycrate encodes them from."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        out = []
        for item in value:
            item = dict(item)
            for key in ("pDUSessionResourceSetupRequestTransfer",):
                if isinstance(item.get(key), bytes):
                    item[key] = ("PDUSessionResourceSetupRequestTransfer",
                                 aper_decode(_TRANSFERS[0], item[key])[0])
            out.append(item)
        return out
    return value


@pytest.mark.parametrize("ie_type, value", BUILT, ids=lambda x: getattr(x, "_name", None))
def test_built_values_read_as_pycrate_reads_them(ie_type, value) -> None:
    raw = _raw(ie_type, _prepared(value))
    ref, reason = aper_decode(ie_type, raw)
    assert reason is None
    got = READERS[type_name(ie_type)](raw)
    if isinstance(ref, (int, str, bytes)):
        assert got == ref
    else:  # the fields read_facts reads, through read_facts
        ie_id = _ie_id(type_name(ie_type))
        mine, theirs = read_facts({ie_id: got}), read_facts({ie_id: ref})
        assert fields(mine) == fields(theirs)
        if ie_id not in (29, 105):  # HandoverType, TargetID alone: no location of their own
            assert fields(mine) != fields(read_facts({}))


def test_user_location_shortcut_reads_as_the_bit_reader() -> None:
    """The octet shortcut of the usual ULI (NR or E-UTRA, with or without time stamp)."""
    ulis = [raw for ie_id, _n, raw, _t in wanted_ie_values() if ie_id == 121]
    ulis += [_raw(t, v) for t, v in BUILT if t is _IES.UserLocationInformation]
    assert len(ulis) > 10
    for raw in ulis:
        assert READERS["UserLocationInformation"](raw) == user_location_bits(raw), raw.hex()


def _flip_first_bit_after(raw: bytes, skip: int) -> bytes:
    """`raw` with the bit `skip` bits in set (an extension or OPTIONAL bit)."""
    b = bytearray(raw)
    b[skip // 8] |= 0x80 >> (skip % 8)
    return bytes(b)


ULI_NR = _raw(_IES.UserLocationInformation, BUILT[9][1])


@pytest.mark.parametrize("name, raw", [
    ("AMF-UE-NGAP-ID", bytes.fromhex("a0") + bytes(6)),          # 6 octets: over 2^40 - 1
    ("AMF-UE-NGAP-ID", bytes.fromhex("000100")),                  # open type longer than it
    ("RAN-UE-NGAP-ID", b""),
    ("NAS-PDU", bytes.fromhex("c1") + bytes(16384)),              # a fragment (X.691 §11.9.3.8)
    ("UserLocationInformation", _flip_first_bit_after(ULI_NR, 2)),  # NR: extension bit
    ("UserLocationInformation", _flip_first_bit_after(ULI_NR, 4)),  # NR: iE-Extensions present
    ("UserLocationInformation", _flip_first_bit_after(ULI_NR, 5)),  # NR-CGI: extension bit
    ("UserLocationInformation", bytes.fromhex("80") + bytes(12)),   # N3IWF: pycrate reads it
    ("UserLocationInformation", bytes.fromhex("c0") + bytes(12)),   # choice-Extensions
    ("UserLocationInformation", ULI_NR[:-1]),                       # cut short
    ("UserLocationInformation", ULI_NR + b"\x00"),                  # longer than its value
    ("UEPagingIdentity", bytes.fromhex("80") + bytes(8)),           # choice-Extensions
    ("FiveG-S-TMSI", bytes.fromhex("80") + bytes(6)),               # extension bit
    ("HandoverType", bytes.fromhex("60")),                          # index 3 without extension
    ("HandoverType", bytes.fromhex("80")),                          # fivegs-to-utran (extension)
    ("TargetID", bytes.fromhex("40") + bytes(12)),                  # targeteNB-ID: pycrate
    ("TAIListForPaging", bytes.fromhex("10") + bytes(6)),           # two items announced, one there
    ("PDUSessionResourceSetupListSUReq",                            # a transfer cut short
     _raw(_IES.PDUSessionResourceSetupListSUReq, _prepared(BUILT[-1][1]))[:-2]),
])
def test_doubt_on_what_is_not_plainly_read(name: str, raw: bytes) -> None:
    with pytest.raises(Doubt):
        READERS[name](raw)


ULI_PSCELL = ("UserLocationInformation", ("userLocationInformationNR", {  # an NR-DC UE
    "nR-CGI": NR_CGI, "tAI": TAI, "iE-Extensions": [
        {"id": 149, "criticality": "ignore", "extensionValue": ("NGRAN-CGI", ("nR-CGI", NR_CGI))}]}))


def test_fallbacks_are_counted_by_element() -> None:
    """An iE-Extensions container (PSCell Information, §9.3.1.16) is pycrate's to read."""
    payload = built.pdu("initiatingMessage", 46, "UplinkNASTransport", [
        (10, ("AMF-UE-NGAP-ID", 1)), (85, ("RAN-UE-NGAP-ID", 1)),
        (38, ("NAS-PDU", bytes.fromhex("7e0211223344550a") + b"\xff" * 9)), (121, ULI_PSCELL)])
    decoder = NGAPDecoder(PSEUDONYM, Correlator())
    slow = NGAPDecoder(PSEUDONYM, Correlator(), fast=False)
    assert decoder.facts(payload) == slow.facts(payload)
    events, reason = decoder(payload, built.ASSOC, 1, 0.0)
    assert (events[0].cell, events[0].tac, reason) == (0xABCDEF012, 0x123456, "ciphered")
    assert decoder.fallback == Counter({"UserLocationInformation": 2})
    assert decoder.decoded == Counter({"AMF-UE-NGAP-ID": 2, "RAN-UE-NGAP-ID": 2, "NAS-PDU": 2,
                                       "UserLocationInformation": 2, "NAS-PDU 5GS NAS": 2})
    assert not slow.decoded and not slow.fallback


def test_facts_are_pure_and_picklable() -> None:
    decoder = NGAPDecoder(PSEUDONYM, None, fast=True)  # no correlator: facts never use one
    for payload in golden_corpus()[:200] + built_messages():
        read = decoder.facts(payload)
        assert isinstance(read, (str, NGAPRead))
        assert pickle.loads(pickle.dumps(read, protocol=pickle.HIGHEST_PROTOCOL)) == read


# mutations of real values and messages

@cache
def wanted_ie_values() -> list[tuple[int, str, bytes, object]]:
    """(IE id, type name, value bytes, pycrate type) of every wanted IE of the golden captures
    and of the built messages."""
    schema, out = NGAPSchema(), set()
    for payload in golden_corpus() + built_messages():
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


def _bad_transfer(name: str, raw: bytes) -> bool:
    """True if `raw`, a PDU session list, holds a transfer whose IE values pycrate rejects
    (the one case where the fast path reads what pycrate does not)."""
    if not name.startswith("PDUSessionResource"):
        return False
    b, sliced = Bits(raw), "Modify" not in name
    transfer = _TRANSFERS[not sliced]
    for _ in range(b.octets(1)[0] + 1):  # the layout ngap_fast reads
        b.bits(1)
        nas = b.bits(1)
        b.bits(1)
        b.octets(1)
        if nas:
            b.octets(b.length())
        if sliced:
            b.bits(1)
            sd = b.bits(2) >> 1
            b.bits(8)
            if sd:
                b.octets(3)
        if aper_decode(transfer, b.octets(b.length()))[1]:
            return True
    return False


@settings(max_examples=1500, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_ie_values_read_the_same_or_doubt(data: st.DataObject) -> None:
    ie_id, name, seed, ie_type = data.draw(st.sampled_from(wanted_ie_values()))
    raw = data.draw(mutated(seed))
    try:
        got = READERS[name](raw)
    except Doubt:
        return
    ref, reason = aper_decode(ie_type, raw)
    if reason is not None and _bad_transfer(name, raw):
        return
    assert reason is None, f"{name} {raw.hex()}: read by hand, pycrate fails"
    assert fields(read_facts({ie_id: got})) == fields(read_facts({ie_id: ref})), raw.hex()


@settings(max_examples=600, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_messages_give_the_same_facts_and_events_on_both_paths(
        data: st.DataObject) -> None:
    raw = data.draw(mutated(data.draw(st.sampled_from(golden_corpus() + built_messages()))))
    fast = NGAPDecoder(PSEUDONYM, Correlator(), fast=True)
    slow = NGAPDecoder(PSEUDONYM, Correlator(), fast=False)
    got, want = fast.facts(raw), slow.facts(raw)
    if got != want:
        assert want == "bad_asn1" and _message_has_bad_transfer(raw), raw.hex()
        return
    a, b = fast(raw, ("a", "b"), 1, 0.0), slow(raw, ("a", "b"), 1, 0.0)
    assert [fields(e) for e in a[0]] == [fields(e) for e in b[0]] and a[1] == b[1]


def _message_has_bad_transfer(payload: bytes) -> bool:
    head = split_pdu(payload)
    proc = NGAPSchema().procedure(head[0], head[1])
    ies = split_ies(head[2])
    return any(_bad_transfer(type_name(proc[1][i]), raw) for i, raw in ies
               if i in proc[1] and type_name(proc[1][i]).startswith("PDUSessionResource")
               and i in WANTED)
