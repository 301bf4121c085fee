"""NGAP decoder (collector/decode/ngap.py): events, correlation, robustness, privacy."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.decode.ngap import NGAPDecoder
from collector.decode.ngap_schema import NGAP
from collector.decode.stage import DecodeStage
from collector.framing.messages import TransportMessage, iter_messages
from collector.identity import Correlator
from collector.telemetry import Counters
from tests.helpers import capture_paths, tsv_equipment, tsv_identities
from tests.unit.collector.test_decode_nas_5gs import (
    AUTH_REQUEST,
    AUTH_RESPONSE,
    DEREGISTRATION_GUTI,
    GUTI,
    IDENTITY_CONCEALED,
    MSIN,
    REGISTRATION_ACCEPT,
    REGISTRATION_CONCEALED,
    REGISTRATION_SUCI,
    SERVICE_REQUEST,
    SUPI,
    protected,
)
from wire.pseudonym import Pseudonymizer

PSEUDONYM = Pseudonymizer(bytes(range(32)))
PLMN = b"\x00\xf1\x10"  # 001-01
ASSOC = ((b"\x0a\x00\x00\x01", 38412), (b"\x0a\x00\x00\x02", 40000))
S_TMSI = {"aMFSetID": (GUTI[0], 10), "aMFPointer": (GUTI[1], 6),
          "fiveG-TMSI": GUTI[2].to_bytes(4, "big")}


def pdu(kind: str, code: int, name: str, ies: list[tuple[int, tuple]]) -> bytes:
    """An NGAP PDU encoded by pycrate from (IE id, (type name, value)) pairs."""
    p = NGAP.NGAP_PDU_Descriptions.NGAP_PDU
    p.set_val((kind, {"procedureCode": code, "criticality": "ignore", "value": (name, {
        "protocolIEs": [{"id": i, "criticality": "reject", "value": v} for i, v in ies]})}))
    return p.to_aper()


def tai(tac: int) -> dict:
    return {"pLMNIdentity": PLMN, "tAC": tac.to_bytes(3, "big")}


def uli(cell: int = 0x123456789, tac: int = 0x010203) -> tuple[int, tuple]:
    return (121, ("UserLocationInformation", ("userLocationInformationNR", {
        "nR-CGI": {"pLMNIdentity": PLMN, "nRCellIdentity": (cell, 36)}, "tAI": tai(tac)})))


def initial_ue(ran: int, nas: bytes, s_tmsi: bool = False) -> bytes:
    ies = [(85, ("RAN-UE-NGAP-ID", ran)), (38, ("NAS-PDU", nas)), uli(),
           (90, ("RRCEstablishmentCause", "mo-Signalling"))]
    if s_tmsi:
        ies.append((26, ("FiveG-S-TMSI", S_TMSI)))
    return pdu("initiatingMessage", 15, "InitialUEMessage", ies)


def uplink(amf: int, ran: int, nas: bytes) -> bytes:
    return pdu("initiatingMessage", 46, "UplinkNASTransport",
               [(10, ("AMF-UE-NGAP-ID", amf)), (85, ("RAN-UE-NGAP-ID", ran)),
                (38, ("NAS-PDU", nas)), uli()])


def downlink(amf: int, ran: int, nas: bytes) -> bytes:
    return pdu("initiatingMessage", 4, "DownlinkNASTransport",
               [(10, ("AMF-UE-NGAP-ID", amf)), (85, ("RAN-UE-NGAP-ID", ran)), (38, ("NAS-PDU", nas))])


def with_ids(code: int, name: str, amf: int, ran: int, *ies: tuple[int, tuple],
             kind: str = "initiatingMessage") -> bytes:
    return pdu(kind, code, name, [(10, ("AMF-UE-NGAP-ID", amf)), (85, ("RAN-UE-NGAP-ID", ran)), *ies])


def paging(tacs: list[int]) -> bytes:
    return pdu("initiatingMessage", 24, "Paging", [
        (115, ("UEPagingIdentity", ("fiveG-S-TMSI", S_TMSI))),
        (103, ("TAIListForPaging", [{"tAI": tai(t)} for t in tacs]))])


@pytest.fixture()
def decode() -> NGAPDecoder:
    return NGAPDecoder(PSEUDONYM, Correlator())


def one(result: tuple):
    events, reason = result
    assert reason is None and len(events) == 1
    return events[0]


def register(decode: NGAPDecoder, ran: int = 7, amf: int = 900) -> None:
    """SUCI registration on (ran, amf), then a 5G-GUTI allocated in the accept."""
    one(decode(initial_ue(ran, REGISTRATION_SUCI), ASSOC, 1, 10.0))
    decode(downlink(amf, ran, protected(REGISTRATION_ACCEPT)), ASSOC, 2, 10.1)


def test_null_scheme_suci_then_correlated_uplink(decode: NGAPDecoder) -> None:
    ev = one(decode(initial_ue(7, REGISTRATION_SUCI), ASSOC, 1, 10.0))
    assert (ev.proto, ev.msg, ev.nas, ev.subscriber, ev.home_mcc) == (
        "ngap", "InitialUEMessage", "RegistrationRequest", PSEUDONYM(SUPI), "001")
    assert (ev.plmn, ev.tac, ev.cell, ev.rat, ev.off) == ("00101", 0x010203, 0x123456789, "nr", False)
    assert decode(downlink(900, 7, AUTH_REQUEST), ASSOC, 2, 10.1) == ([], None)  # no id, no place
    ev = one(decode(uplink(900, 7, AUTH_RESPONSE), ASSOC, 3, 10.2))
    assert (ev.nas, ev.subscriber) == ("AuthenticationResponse", PSEUDONYM(SUPI))


def test_guti_names_later_service_request_paging_and_deregistration(decode: NGAPDecoder) -> None:
    register(decode)
    ev = one(decode(downlink(900, 7, protected(REGISTRATION_ACCEPT)), ASSOC, 3, 10.2))
    assert (ev.msg, ev.nas, ev.subscriber, ev.cell) == (
        "DownlinkNASTransport", "RegistrationAccept", PSEUDONYM(SUPI), None)
    decode(with_ids(41, "UEContextReleaseComplete", 900, 7, kind="successfulOutcome"),
           ASSOC, 4, 11.0)
    assert one(decode(uplink(900, 7, AUTH_RESPONSE), ASSOC, 5, 11.1)).subscriber is None
    ev = one(decode(paging([5, 6]), ASSOC, 6, 50.0))
    assert (ev.msg, ev.subscriber, ev.home_mcc, ev.plmn, ev.tac, ev.cell) == (
        "Paging", PSEUDONYM(SUPI), "001", "00101", 5, None)
    ev = one(decode(initial_ue(8, protected(SERVICE_REQUEST, 1), s_tmsi=True), ASSOC, 7, 60.0))
    assert (ev.nas, ev.subscriber) == ("ServiceRequest", PSEUDONYM(SUPI))
    ev = one(decode(uplink(901, 8, protected(DEREGISTRATION_GUTI, 1)), ASSOC, 8, 61.0))
    assert (ev.nas, ev.subscriber, ev.off) == ("DeregistrationRequest", PSEUDONYM(SUPI), True)


def release_complete(amf: int, ran: int, *ies: tuple[int, tuple]) -> bytes:
    return with_ids(41, "UEContextReleaseComplete", amf, ran, *ies, kind="successfulOutcome")


@pytest.mark.parametrize("connected", [False, True], ids=["from-idle", "in-connection"])
def test_release_after_switch_off_is_off_too(decode: NGAPDecoder, connected: bool) -> None:
    """A switch-off Deregistration (TS 24.501 §5.5.2.2) is followed by the release of the
    connection, whose UE CONTEXT RELEASE COMPLETE carries the UE's last known location
    (TS 38.413 §8.3.3): the UE is gone, so that event is `off` too (it kept the phone
    present, on its last cell, for the hold time after it switched off)."""
    register(decode)
    if connected:
        ev = one(decode(uplink(900, 7, protected(DEREGISTRATION_GUTI, 1)), ASSOC, 3, 20.0))
        amf, ran = 900, 7
    else:
        decode(release_complete(900, 7, uli()), ASSOC, 3, 11.0)
        ev = one(decode(initial_ue(8, protected(DEREGISTRATION_GUTI, 1), s_tmsi=True),
                        ASSOC, 4, 20.0))
        amf, ran = 901, 8
    assert (ev.nas, ev.subscriber, ev.off) == ("DeregistrationRequest", PSEUDONYM(SUPI), True)
    decode(pdu("initiatingMessage", 41, "UEContextReleaseCommand", [
        (114, ("UE-NGAP-IDs", ("uE-NGAP-ID-pair", {"aMF-UE-NGAP-ID": amf, "rAN-UE-NGAP-ID": ran}))),
        (15, ("Cause", ("nas", "deregister")))]), ASSOC, 5, 20.01)
    ev = one(decode(release_complete(amf, ran, uli(0x46, 4)), ASSOC, 6, 20.02))
    assert (ev.subscriber, ev.cell, ev.off) == (PSEUDONYM(SUPI), 0x46, True)
    # the RAN id is free again: a new connection on it is not off
    ev = one(decode(initial_ue(ran, protected(SERVICE_REQUEST, 1), s_tmsi=True), ASSOC, 7, 90.0))
    assert (ev.subscriber, ev.off) == (PSEUDONYM(SUPI), False)
    ev = one(decode(release_complete(902, ran, uli()), ASSOC, 8, 91.0))
    assert (ev.subscriber, ev.off) == (PSEUDONYM(SUPI), False)


def test_handover_path_switch_and_release_with_location(decode: NGAPDecoder) -> None:
    register(decode)
    ev = one(decode(pdu("initiatingMessage", 25, "PathSwitchRequest", [
        (85, ("RAN-UE-NGAP-ID", 4)), (100, ("AMF-UE-NGAP-ID", 900)), uli(0x44, 3),
        (119, ("UESecurityCapabilities", {
            "nRencryptionAlgorithms": (0, 16), "nRintegrityProtectionAlgorithms": (0, 16),
            "eUTRAencryptionAlgorithms": (0, 16), "eUTRAintegrityProtectionAlgorithms": (0, 16)})),
        (76, ("PDUSessionResourceToBeSwitchedDLList",
              [{"pDUSessionID": 1, "pathSwitchRequestTransfer": b"\x00"}]))]), ASSOC, 3, 11.0))
    assert (ev.msg, ev.subscriber, ev.cell, ev.tac, ev.target) == (
        "PathSwitchRequest", PSEUDONYM(SUPI), 0x44, 3, False)
    ev = one(decode(with_ids(11, "HandoverNotify", 900, 4, uli(0x45, 4)), ASSOC, 4, 12.0))
    assert (ev.msg, ev.subscriber, ev.cell) == ("HandoverNotify", PSEUDONYM(SUPI), 0x45)
    required = with_ids(12, "HandoverRequired", 900, 4,
                        (29, ("HandoverType", "intra5gs")),
                        (15, ("Cause", ("radioNetwork", "handover-desirable-for-radio-reason"))),
                        (105, ("TargetID", ("targetRANNodeID", {"globalRANNodeID": ("globalGNB-ID", {
                            "pLMNIdentity": PLMN, "gNB-ID": ("gNB-ID", (1, 22))}),
                            "selectedTAI": tai(9)}))),
                        (61, ("PDUSessionResourceListHORqd",
                              [{"pDUSessionID": 1, "handoverRequiredTransfer": b"\x00"}])),
                        (101, ("SourceToTarget-TransparentContainer", target_container(0x99))))
    ev = one(decode(required, ASSOC, 5, 13.0))
    assert (ev.msg, ev.subscriber, ev.tac, ev.cell, ev.rat, ev.target) == (
        "HandoverRequired", PSEUDONYM(SUPI), 9, 0x99, "nr", True)
    done = with_ids(41, "UEContextReleaseComplete", 900, 4, uli(0x46, 4), kind="successfulOutcome")
    ev = one(decode(done, ASSOC, 6, 14.0))  # User Location Information: where the UE was last
    assert (ev.subscriber, ev.cell) == (PSEUDONYM(SUPI), 0x46)
    assert decode(with_ids(18, "LocationReport", 900, 4, uli()), ASSOC, 7, 15.0)[0][0].subscriber is None


def target_container(cell: int) -> bytes:
    """A Source NG-RAN Node to Target NG-RAN Node Transparent Container naming `cell`."""
    c = NGAP.NGAP_IEs.SourceNGRANNode_ToTargetNGRANNode_TransparentContainer
    source = {"globalCellID": ("nR-CGI", {"pLMNIdentity": PLMN, "nRCellIdentity": (0x45, 36)}),
              "cellType": {"cellSize": "small"}, "timeUEStayedInCell": 10}
    c.set_val({"rRCContainer": b"\x00", "targetCell-ID": ("nR-CGI", {
        "pLMNIdentity": PLMN, "nRCellIdentity": (cell, 36)}),
        "uEHistoryInformation": [{"lastVisitedCellInformation": ("nGRANCell", source)}]})
    return c.to_aper()


def test_ng_enb_cell_is_eutran(decode: NGAPDecoder) -> None:
    eutra = (121, ("UserLocationInformation", ("userLocationInformationEUTRA", {
        "eUTRA-CGI": {"pLMNIdentity": PLMN, "eUTRACellIdentity": (0x1234567, 28)}, "tAI": tai(5)})))
    ev = one(decode(pdu("initiatingMessage", 15, "InitialUEMessage", [
        (85, ("RAN-UE-NGAP-ID", 1)), (38, ("NAS-PDU", REGISTRATION_SUCI)), eutra,
        (90, ("RRCEstablishmentCause", "mo-Signalling"))]), ASSOC, 1, 0.0))
    assert (ev.cell, ev.rat, ev.tac) == (0x1234567, "eutran", 5)


def test_concealed_suci_is_counted_and_still_gives_its_event() -> None:
    counters = Counters()
    stage = DecodeStage(PSEUDONYM, counters)
    msg = TransportMessage("ngap", ASSOC, initial_ue(3, REGISTRATION_CONCEALED), b"", b"", 1, 2, 60)
    [ev] = stage(1, 0.0, msg)
    assert (ev.nas, ev.subscriber, ev.cell) == ("RegistrationRequest", None, 0x123456789)
    assert counters.dropped[("decode", "concealed")] == 1
    # the same concealed SUCI on a connection already attributed is not a loss
    decode = NGAPDecoder(PSEUDONYM, Correlator())
    register(decode)
    events, reason = decode(uplink(900, 7, IDENTITY_CONCEALED), ASSOC, 3, 11.0)
    assert reason is None and events[0].subscriber == PSEUDONYM(SUPI)


def test_node_level_procedures_give_nothing(decode: NGAPDecoder) -> None:
    setup = pdu("initiatingMessage", 21, "NGSetupRequest", [
        (27, ("GlobalRANNodeID", ("globalGNB-ID", {"pLMNIdentity": PLMN, "gNB-ID": ("gNB-ID", (1, 22))}))),
        (102, ("SupportedTAList", [{"tAC": b"\x00\x00\x01", "broadcastPLMNList": [
            {"pLMNIdentity": PLMN, "tAISliceSupportList": [{"s-NSSAI": {"sST": b"\x01"}}]}]}])),
        (21, ("PagingDRX", "v64"))])
    assert decode(setup, ASSOC, 1, 0.0) == ([], None)


@pytest.mark.parametrize("payload, reason", [
    (b"", "bad_asn1"),
    (b"\x00\x0f\x40", "bad_asn1"),
    (b"\x00\xfe\x40\x00", "unsupported"),    # no procedure code 254
    (b"\xe0\x0f\x40\x00", "unsupported"),    # PDU CHOICE extension
    (b"\x00\x0f\x40\x05\x00\x00\x01\x00\x55", "bad_asn1"),
])
def test_bad_payloads_give_reasons(decode: NGAPDecoder, payload: bytes, reason: str) -> None:
    assert decode(payload, ASSOC, 1, 0.0) == ([], reason)


def test_nas_failure_keeps_the_ngap_event(decode: NGAPDecoder) -> None:
    events, reason = decode(uplink(900, 7, b"\x7e\x00\xff"), ASSOC, 1, 0.0)
    assert reason == "bad_nas" and events[0].nas is None and events[0].cell == 0x123456789
    events, reason = decode(uplink(900, 7, bytes.fromhex("7e0211223344550a") + b"\xff" * 9),
                            ASSOC, 2, 0.0)
    assert reason == "ciphered" and events[0].nas is None


def test_every_truncation_of_a_real_message_is_a_reason(decode: NGAPDecoder) -> None:
    for msg in (initial_ue(7, REGISTRATION_SUCI, s_tmsi=True), downlink(9, 7, REGISTRATION_ACCEPT)):
        for n in range(len(msg)):
            events, reason = decode(msg[:n], ASSOC, 1, 0.0)
            assert isinstance(events, list) and (events or reason)


@cache
def real_payloads() -> list[bytes]:
    """Distinct NGAP payloads of the golden captures."""
    return sorted({bytes(m.payload) for p in capture_paths()
                   for _f, _t, m in iter_messages(str(p), Counters()) if m.proto == "ngap"})


_FUZZ_DECODER = NGAPDecoder(PSEUDONYM, Correlator(max_entries=100, ttl=60.0))


@settings(max_examples=3000, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_real_messages_never_raise(data: st.DataObject) -> None:
    buf = bytearray(data.draw(st.sampled_from(real_payloads())))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(len(buf) - 1, 0)))
        if op == "flip" and buf:
            buf[at] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del buf[at:]
        elif op == "insert":
            buf[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        elif buf:
            del buf[at:at + data.draw(st.integers(1, 4))]
    events, reason = _FUZZ_DECODER(bytes(buf), ASSOC, 1, 0.0)
    assert isinstance(events, list) and (reason is None or isinstance(reason, str))


def test_no_raw_identity_in_events_reprs_or_tables() -> None:
    corr = Correlator()
    decode = NGAPDecoder(PSEUDONYM, corr)
    events = []
    for i, buf in enumerate(real_payloads() + [initial_ue(5, REGISTRATION_SUCI)]):
        events += decode(buf, ASSOC, i, float(i))[0]
    assert sum(e.subscriber == PSEUDONYM(SUPI) for e in events) == 1
    texts = [repr(decode), repr(corr)] + [repr(e) for e in events]
    texts += [repr(getattr(e, f)) for e in events for f in e.__slots__]
    for table in (corr._ran, corr._amf, corr._tmsi):
        texts.append(repr(list(table._items.items())))
    imsis, _msisdns = tsv_identities()
    secrets = [s for s in imsis | tsv_equipment() | {SUPI} if len(s) >= 10]
    secrets += [MSIN]
    for text in texts:
        assert not [s for s in secrets if s in text]
