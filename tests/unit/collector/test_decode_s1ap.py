"""S1AP decoder (collector/decode/s1ap.py): events, correlation, robustness, privacy."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.decode.pycrate_libs import S1AP, TS24301_EMM
from collector.decode.s1ap import S1APDecoder
from collector.identity import Correlator
from wire.pseudonym import Pseudonymizer

IMSI = "001019876543210"
PSEUDONYM = Pseudonymizer(bytes(range(32)))
PLMN = b"\x00\xf1\x10"
ASSOC = ((b"\x0a\x00\x00\x01", 36412), (b"\x0a\x00\x00\x02", 40000))
ATTACH_IMSI = TS24301_EMM.EMMAttachRequest(val={"EPSID": {"type": 1, "ident": IMSI}}).to_bytes()
AUTH_RESPONSE = bytes.fromhex("075308654c2c6e2556e6b5")
AUTH_REQUEST = bytes.fromhex("0752000123456789abcdef0123456789abcdef102d25f84a16edb9b97c7af8d28804445f")
ATTACH_ACCEPT_GUTI = bytes.fromhex(  # GUTI 001-01-0001-01-06cbdaff, TAI list
    "27635765f00207420149062000f1100001003d5201c101090908696e7465726e65740501ac11f1ff5e04"
    "fefe9b6927208080211003010010810608080808830608080404000d04080808080010020578500bf6"
    "00f11000010106cbdaff172164020000")
SERVICE_REQUEST = bytes.fromhex("c703c340")
DETACH_MO_GUTI = bytes.fromhex("27ef19a036030745010bf600f11000010106cbdaff")
IMSI_TBCD = bytes.fromhex("00019178563412f0")  # IMSI as S1AP carries it (TS 36.413 §9.2.3.11)
PADDED_INITIAL_UE = bytes.fromhex(  # testsimple frame 66: ENB-UE-S1AP-ID padded to 3 octets
    "000c404900000600080003000200001a001615172ba435db040745090bf600f110000201020003e6"
    "004300060000f1102b67006440080000f1109d67aa500086400130006000060040020003e6")


def pdu(kind: str, code: int, name: str, ies: list[tuple[int, tuple]]) -> bytes:
    """An S1AP PDU encoded by pycrate from (IE id, (type name, value)) pairs."""
    p = S1AP.S1AP_PDU_Descriptions.S1AP_PDU
    p.set_val((kind, {"procedureCode": code, "criticality": "ignore", "value": (name, {
        "protocolIEs": [{"id": i, "criticality": "reject", "value": v} for i, v in ies]})}))
    return p.to_aper()


def location(cell: int = 0x1234501, tac: int = 1) -> list[tuple[int, tuple]]:
    return [(67, ("TAI", {"pLMNidentity": PLMN, "tAC": tac.to_bytes(2, "big")})),
            (100, ("EUTRAN-CGI", {"pLMNidentity": PLMN, "cell-ID": (cell, 28)}))]


def initial_ue(enb: int, nas: bytes, s_tmsi: tuple[int, int] | None = None) -> bytes:
    ies = [(8, ("ENB-UE-S1AP-ID", enb)), (26, ("NAS-PDU", nas)), *location(),
           (134, ("RRC-Establishment-Cause", "mo-Signalling"))]
    if s_tmsi:
        ies.append((96, ("S-TMSI", {"mMEC": bytes([s_tmsi[0]]), "m-TMSI": s_tmsi[1].to_bytes(4, "big")})))
    return pdu("initiatingMessage", 12, "InitialUEMessage", ies)


def uplink(mme: int, enb: int, nas: bytes) -> bytes:
    return pdu("initiatingMessage", 13, "UplinkNASTransport",
               [(0, ("MME-UE-S1AP-ID", mme)), (8, ("ENB-UE-S1AP-ID", enb)),
                (26, ("NAS-PDU", nas)), *location()])


def downlink(mme: int, enb: int, nas: bytes) -> bytes:
    return pdu("initiatingMessage", 11, "DownlinkNASTransport",
               [(0, ("MME-UE-S1AP-ID", mme)), (8, ("ENB-UE-S1AP-ID", enb)), (26, ("NAS-PDU", nas))])


def context_setup(mme: int, enb: int, nas: bytes) -> bytes:
    erab = {"e-RAB-ID": 5, "e-RABlevelQoSParameters": {"qCI": 9, "allocationRetentionPriority": {
        "priorityLevel": 9, "pre-emptionCapability": "shall-not-trigger-pre-emption",
        "pre-emptionVulnerability": "not-pre-emptable"}},
        "transportLayerAddress": (0x7F000001, 32), "gTP-TEID": b"\x00\x00\x00\x08", "nAS-PDU": nas}
    return pdu("initiatingMessage", 9, "InitialContextSetupRequest", [
        (0, ("MME-UE-S1AP-ID", mme)), (8, ("ENB-UE-S1AP-ID", enb)),
        (66, ("UEAggregateMaximumBitrate", {"uEaggregateMaximumBitRateDL": 1000,
                                            "uEaggregateMaximumBitRateUL": 1000})),
        (24, ("E-RABToBeSetupListCtxtSUReq", [{"id": 52, "criticality": "reject",
                                                "value": ("E-RABToBeSetupItemCtxtSUReq", erab)}])),
        (107, ("UESecurityCapabilities", {"encryptionAlgorithms": (0, 16),
                                          "integrityProtectionAlgorithms": (0, 16)})),
        (73, ("SecurityKey", (1, 256)))])


def release_complete(mme: int, enb: int) -> bytes:
    return pdu("successfulOutcome", 23, "UEContextReleaseComplete",
               [(0, ("MME-UE-S1AP-ID", mme)), (8, ("ENB-UE-S1AP-ID", enb))])


def paging(paging_id: tuple, tacs: list[int]) -> bytes:
    tais = [{"id": 47, "criticality": "ignore",
             "value": ("TAIItem", {"tAI": {"pLMNidentity": PLMN, "tAC": t.to_bytes(2, "big")}})}
            for t in tacs]
    return pdu("initiatingMessage", 10, "Paging", [
        (80, ("UEIdentityIndexValue", (5, 10))), (43, ("UEPagingID", paging_id)),
        (109, ("CNDomain", "ps")), (46, ("TAIList", tais))])


@pytest.fixture()
def decode() -> S1APDecoder:
    return S1APDecoder(PSEUDONYM, Correlator())


def one(result: tuple) -> object:
    events, reason = result
    assert reason is None and len(events) == 1
    return events[0]


def test_attach_then_correlated_uplink(decode: S1APDecoder) -> None:
    ev = one(decode(initial_ue(7, ATTACH_IMSI), ASSOC, 1, 10.0))
    assert (ev.msg, ev.nas, ev.subscriber, ev.home_mcc) == (
        "InitialUEMessage", "AttachRequest", PSEUDONYM(IMSI), "001")
    assert (ev.plmn, ev.tac, ev.cell, ev.rat, ev.proto) == ("00101", 1, 0x1234501, "eutran", "s1ap")
    assert decode(downlink(900, 7, AUTH_REQUEST), ASSOC, 2, 10.1) == ([], None)  # no id, no place
    ev = one(decode(uplink(900, 7, AUTH_RESPONSE), ASSOC, 3, 10.2))
    assert (ev.nas, ev.subscriber) == ("AuthenticationResponse", PSEUDONYM(IMSI))


def test_guti_from_attach_accept_names_later_service_request(decode: S1APDecoder) -> None:
    decode(initial_ue(7, ATTACH_IMSI), ASSOC, 1, 10.0)
    ev = one(decode(context_setup(900, 7, ATTACH_ACCEPT_GUTI), ASSOC, 2, 10.1))
    assert (ev.msg, ev.nas, ev.subscriber, ev.cell) == (
        "InitialContextSetupRequest", "AttachAccept", PSEUDONYM(IMSI), None)
    decode(release_complete(900, 7), ASSOC, 3, 11.0)
    assert one(decode(uplink(900, 7, AUTH_RESPONSE), ASSOC, 4, 11.1)).subscriber is None
    ev = one(decode(initial_ue(8, SERVICE_REQUEST, s_tmsi=(1, 0x06CBDAFF)), ASSOC, 5, 60.0))
    assert (ev.nas, ev.subscriber, ev.home_mcc) == ("ServiceRequest", PSEUDONYM(IMSI), "001")
    ev = one(decode(uplink(901, 8, DETACH_MO_GUTI), ASSOC, 6, 61.0))
    assert (ev.nas, ev.subscriber, ev.off) == ("DetachRequest", PSEUDONYM(IMSI), True)


def test_paging_by_imsi_and_by_s_tmsi(decode: S1APDecoder) -> None:
    ev = one(decode(paging(("iMSI", IMSI_TBCD), [5, 6]), ASSOC, 1, 1.0))
    assert (ev.msg, ev.subscriber, ev.home_mcc, ev.plmn, ev.tac, ev.cell, ev.rat) == (
        "Paging", PSEUDONYM(IMSI), "001", "00101", 5, None, None)
    decode(initial_ue(7, ATTACH_IMSI), ASSOC, 2, 2.0)
    decode(context_setup(900, 7, ATTACH_ACCEPT_GUTI), ASSOC, 3, 2.1)
    ev = one(decode(paging(("s-TMSI", {"mMEC": b"\x01", "m-TMSI": b"\x06\xcb\xda\xff"}), [1]),
                    ASSOC, 4, 3.0))
    assert ev.subscriber == PSEUDONYM(IMSI)


def test_a_paging_sent_to_every_enb_is_read_once_and_counted_each_time() -> None:
    """The PAGING memo: the same bytes on other associations give the same facts (read
    once, counted as read each time, as without the memo); an IMSI paging is read afresh
    each time (its pseudonym depends on the key: a ring may have changed it)."""
    by_tmsi = paging(("s-TMSI", {"mMEC": b"\x01", "m-TMSI": b"\x06\xcb\xda\xff"}), [1, 2])
    by_imsi = paging(("iMSI", IMSI_TBCD), [5])
    memo, plain = S1APDecoder(PSEUDONYM, Correlator()), S1APDecoder(PSEUDONYM, Correlator())
    first = memo.facts(by_tmsi)
    assert [memo.facts(by_tmsi) for _ in range(3)] == [first] * 3
    assert memo._paging  # remembered
    assert first == plain._facts(by_tmsi)  # as read without the memo
    for _ in range(3):
        plain._facts(by_tmsi)
    assert memo.decoded == plain.decoded
    keys = iter([bytes(range(32)), bytes(range(1, 33))])
    ring = S1APDecoder(lambda digits: Pseudonymizer(next(keys))(digits), Correlator())
    assert ring.facts(by_imsi).subscriber != ring.facts(by_imsi).subscriber


def test_release_complete_with_user_location(decode: S1APDecoder) -> None:
    decode(initial_ue(7, ATTACH_IMSI), ASSOC, 1, 0.0)
    uli = {"eutran-cgi": {"pLMNidentity": PLMN, "cell-ID": (0x42, 28)},
           "tai": {"pLMNidentity": PLMN, "tAC": b"\x00\x09"}}
    done = pdu("successfulOutcome", 23, "UEContextReleaseComplete", [
        (0, ("MME-UE-S1AP-ID", 900)), (8, ("ENB-UE-S1AP-ID", 7)),
        (189, ("UserLocationInformation", uli))])
    ev = one(decode(done, ASSOC, 2, 1.0))  # User Location Information: where the UE was last
    assert (ev.msg, ev.subscriber, ev.tac, ev.cell) == (
        "UEContextReleaseComplete", PSEUDONYM(IMSI), 9, 0x42)
    assert decode(release_complete(900, 7), ASSOC, 3, 2.0) == ([], None)
    assert one(decode(uplink(900, 7, AUTH_RESPONSE), ASSOC, 4, 3.0)).subscriber is None


def test_node_level_procedures_give_nothing(decode: S1APDecoder) -> None:
    setup = pdu("initiatingMessage", 17, "S1SetupRequest", [
        (59, ("Global-ENB-ID", {"pLMNidentity": PLMN, "eNB-ID": ("macroENB-ID", (1, 20))})),
        (64, ("SupportedTAs", [{"tAC": b"\x00\x01", "broadcastPLMNs": [PLMN]}])),
        (137, ("PagingDRX", "v64"))])
    assert decode(setup, ASSOC, 1, 0.0) == ([], None)


def test_padded_ue_id_from_old_asn1c_decodes(decode: S1APDecoder) -> None:
    ev = one(decode(PADDED_INITIAL_UE, ASSOC, 66, 0.0))
    assert (ev.nas, ev.plmn, ev.tac, ev.cell, ev.off) == ("DetachRequest", "00101", 11111,
                                                          0x9D67AA5, True)


@pytest.mark.parametrize("payload, reason", [
    (b"", "bad_asn1"),
    (b"\x00\x0c\x40", "bad_asn1"),
    (b"\x00\xfe\x40\x00", "unsupported"),    # no procedure code 254
    (b"\xe0\x0c\x40\x00", "unsupported"),    # PDU CHOICE extension
    (b"\x00\x0c\x40\x05\x00\x00\x01\x00\x08", "bad_asn1"),
])
def test_bad_payloads_give_reasons(decode: S1APDecoder, payload: bytes, reason: str) -> None:
    assert decode(payload, ASSOC, 1, 0.0) == ([], reason)


def test_nas_failure_keeps_the_s1ap_event(decode: S1APDecoder) -> None:
    events, reason = decode(uplink(900, 7, b"\x07\xff"), ASSOC, 1, 0.0)
    assert reason == "bad_nas" and events[0].nas is None and events[0].cell == 0x1234501


def test_every_truncation_of_a_real_message_is_a_reason(decode: S1APDecoder) -> None:
    msg = context_setup(900, 7, ATTACH_ACCEPT_GUTI)
    for n in range(len(msg)):
        events, reason = decode(msg[:n], ASSOC, 1, 0.0)
        assert isinstance(events, list) and (events or reason)


SAMPLES = [initial_ue(7, ATTACH_IMSI), uplink(900, 7, DETACH_MO_GUTI), PADDED_INITIAL_UE,
           context_setup(900, 7, ATTACH_ACCEPT_GUTI), paging(("iMSI", b"\x00\x01\x10\x89"), [1, 2])]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_mutated_messages_never_raise(sample: bytes, data: st.DataObject) -> None:
    buf = bytearray(sample)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(len(buf) - 1, 0)))
        if op == "flip" and buf:
            buf[at] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del buf[at:]
        elif op == "insert":
            buf[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        elif buf:
            del buf[at]
    events, reason = S1APDecoder(PSEUDONYM, Correlator())(bytes(buf), ASSOC, 1, 0.0)
    assert isinstance(events, list) and (reason is None or isinstance(reason, str))


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_garbage_never_raises(buf: bytes) -> None:
    events, reason = S1APDecoder(PSEUDONYM, Correlator())(buf, ASSOC, 1, 0.0)
    assert isinstance(events, list)


def test_no_raw_imsi_in_events_reprs_or_tables() -> None:
    corr = Correlator()
    decode = S1APDecoder(PSEUDONYM, corr)
    identity = TS24301_EMM.EMMIdentityResponse(val={"ID": {"type": 1, "ident": IMSI}}).to_bytes()
    events = []
    for i, buf in enumerate([initial_ue(7, ATTACH_IMSI), uplink(900, 7, identity),
                             context_setup(900, 7, ATTACH_ACCEPT_GUTI),
                             paging(("iMSI", IMSI_TBCD), [1])]):
        events += decode(buf, ASSOC, i, float(i))[0]
    assert len(events) == 4 and all(e.subscriber == PSEUDONYM(IMSI) for e in events)
    texts = [repr(decode), repr(corr)] + [repr(e) for e in events]
    texts += [repr(getattr(e, f)) for e in events for f in e.__slots__]
    for table in (corr._enb, corr._mme, corr._tmsi, corr._bearer):
        texts.append(repr(list(table._items.items())))
    for text in texts:
        assert IMSI not in text and IMSI[3:] not in text


def test_failed_decodes_leave_pycrate_codec_state_balanced(decode: S1APDecoder) -> None:
    from pycrate_asn1rt.codecs import ASN1CodecPER

    depth = len(ASN1CodecPER._off)
    bad = bytearray(context_setup(900, 7, ATTACH_ACCEPT_GUTI))
    bad[40] ^= 0xFF
    for _ in range(3):
        decode(bytes(bad), ASSOC, 1, 0.0)
    assert len(ASN1CodecPER._off) == depth
    assert one(decode(initial_ue(7, ATTACH_IMSI), ASSOC, 2, 0.0)).subscriber == PSEUDONYM(IMSI)


def test_release_after_detach_is_off_too(decode: S1APDecoder) -> None:
    """A switch-off Detach (TS 24.301 §5.5.2.2) is followed by the release of the
    connection, whose UE CONTEXT RELEASE COMPLETE may carry the UE's last location
    (User Location Information, TS 36.413 §8.3.3): that event is `off` too."""
    one(decode(initial_ue(7, ATTACH_IMSI), ASSOC, 1, 10.0))
    decode(context_setup(500, 7, ATTACH_ACCEPT_GUTI), ASSOC, 2, 10.1)
    decode(release_complete(500, 7), ASSOC, 3, 11.0)
    ev = one(decode(initial_ue(8, DETACH_MO_GUTI), ASSOC, 4, 20.0))
    assert (ev.nas, ev.subscriber, ev.off) == ("DetachRequest", PSEUDONYM(IMSI), True)
    uli = (189, ("UserLocationInformation", {
        "eutran-cgi": {"pLMNidentity": PLMN, "cell-ID": (0x1234502, 28)},
        "tai": {"pLMNidentity": PLMN, "tAC": b"\x00\x01"}}))
    done = pdu("successfulOutcome", 23, "UEContextReleaseComplete",
               [(0, ("MME-UE-S1AP-ID", 501)), (8, ("ENB-UE-S1AP-ID", 8)), uli])
    ev = one(decode(done, ASSOC, 5, 20.02))
    assert (ev.subscriber, ev.cell, ev.off) == (PSEUDONYM(IMSI), 0x1234502, True)
    ev = one(decode(initial_ue(8, SERVICE_REQUEST, (1, 0x06CBDAFF)), ASSOC, 6, 90.0))
    assert (ev.subscriber, ev.off) == (PSEUDONYM(IMSI), False)


def test_association_numbers_survive_a_snapshot() -> None:
    """The correlation tables key UE contexts by association number: a restored decoder
    must number the associations as before, whichever speaks first after the restart
    (through the snapshot's msgpack round trip)."""
    from collector.snapshot import _pack, _unpack

    other = ((b"\x0a\x00\x00\x01", 36412), (b"\x0a\x00\x00\x03", 40000))
    second = TS24301_EMM.EMMAttachRequest(
        val={"EPSID": {"type": 1, "ident": "001011111111111"}}).to_bytes()
    corr = Correlator()
    before = S1APDecoder(PSEUDONYM, corr)
    one(before(initial_ue(7, ATTACH_IMSI), ASSOC, 1, 10.0))
    before(context_setup(500, 7, ATTACH_ACCEPT_GUTI), ASSOC, 2, 10.1)
    one(before(initial_ue(7, second), other, 3, 11.0))
    before(context_setup(501, 7, ATTACH_ACCEPT_GUTI), other, 4, 11.1)
    saved = _unpack(_pack({"corr": corr.state(), "s1ap": before.state()}))
    corr = Correlator()
    corr.restore(saved["corr"])
    after = S1APDecoder(PSEUDONYM, corr)
    after.restore(saved["s1ap"])
    ev = one(after(uplink(501, 7, AUTH_RESPONSE), other, 5, 12.0))  # `other` speaks first
    assert ev.subscriber == PSEUDONYM("001011111111111")
    ev = one(after(uplink(500, 7, AUTH_RESPONSE), ASSOC, 6, 12.1))
    assert ev.subscriber == PSEUDONYM(IMSI)
