"""S6a Diameter of `tiny`: every message decodes with pycrate; answers match their request
(hop-by-hop, end-to-end, Session-Id) with DIAMETER_SUCCESS; each AIR / ULR names the phone
of the S1AP attach just before it, the served PLMN and E-UTRAN; a ULR follows the first
attach of every phone and any attach after a Purge-UE."""

from __future__ import annotations

from pycrate_diameter import Diameter3GPP as TS29230
from pycrate_diameter import DiameterIETF as RFC
from pycrate_mobile.TS24008_IE import PLMN, decode_bcd

from simulator import diameter, population
from tests.unit.simulator._capture import observe
from tests.unit.simulator._core import Attaches, diameter_messages, grouped
from tests.unit.simulator.conftest import SEED

V = diameter.VENDOR_3GPP
REALM = "epc.mnc001.mcc001.3gppnetwork.org"


def test_numbers_are_pycrates():
    ietf = {c: RFC.AVPCodes_dict[c] for c in (
        diameter.USER_NAME, diameter.HOST_IP_ADDRESS, diameter.AUTH_APPLICATION_ID,
        diameter.VENDOR_SPECIFIC_APPLICATION_ID, diameter.SESSION_ID, diameter.ORIGIN_HOST,
        diameter.SUPPORTED_VENDOR_ID, diameter.VENDOR_ID, diameter.RESULT_CODE,
        diameter.PRODUCT_NAME, diameter.AUTH_SESSION_STATE, diameter.DESTINATION_REALM,
        diameter.DESTINATION_HOST, diameter.ORIGIN_REALM)}
    assert ietf == {1: "User-Name", 257: "Host-IP-Address", 258: "Auth-Application-Id",
                    260: "Vendor-Specific-Application-Id", 263: "Session-Id",
                    264: "Origin-Host", 265: "Supported-Vendor-Id", 266: "Vendor-Id",
                    268: "Result-Code", 269: "Product-Name", 277: "Auth-Session-State",
                    283: "Destination-Realm", 293: "Destination-Host", 296: "Origin-Realm"}
    tgpp = {c: TS29230.TGPPAVPInfos_dict[c][0] for c in (
        diameter.MAX_BANDWIDTH_DL, diameter.MAX_BANDWIDTH_UL, diameter.MSISDN, diameter.RAT_TYPE,
        diameter.SUBSCRIPTION_DATA, diameter.ULR_FLAGS, diameter.ULA_FLAGS,
        diameter.VISITED_PLMN_ID, diameter.REQUESTED_EUTRAN_AUTH_INFO,
        diameter.NUMBER_OF_REQUESTED_VECTORS, diameter.IMMEDIATE_RESPONSE_PREFERRED,
        diameter.AUTHENTICATION_INFO, diameter.E_UTRAN_VECTOR, diameter.NETWORK_ACCESS_MODE,
        diameter.SUBSCRIBER_STATUS, diameter.AMBR, diameter.RAND, diameter.XRES,
        diameter.AUTN, diameter.KASME)}
    assert tgpp == {515: "Max-Requested-Bandwidth-DL", 516: "Max-Requested-Bandwidth-UL",
                    701: "MSISDN", 1032: "RAT-Type", 1400: "Subscription-Data",
                    1405: "ULR-Flags", 1406: "ULA-Flags", 1407: "Visited-PLMN-Id",
                    1408: "Requested-EUTRAN-Authentication-Info",
                    1410: "Number-Of-Requested-Vectors", 1412: "Immediate-Response-Preferred",
                    1413: "Authentication-Info", 1414: "E-UTRAN-Vector",
                    1417: "Network-Access-Mode", 1424: "Subscriber-Status", 1435: "AMBR",
                    1447: "RAND", 1448: "XRES", 1449: "AUTN", 1450: "KASME"}
    assert diameter.realm("00101") == REALM and diameter.realm("208123").startswith(
        "epc.mnc123.mcc208.")


def test_answers_match_requests(tiny, tiny_out):
    out, _ = tiny_out
    mme, hss = tiny.network.mme_ip, tiny.network.hss_ip
    msgs = diameter_messages(out / "s1.pcap")
    assert [(m.command, m.request) for m in msgs[:2]] == [(257, True), (257, False)]  # CER/CEA
    pending = {}
    for m in msgs:
        assert m.src == (mme if m.request else hss)
        if m.request:
            assert (m.hop, m.end) not in pending
            pending[(m.hop, m.end)] = m
            assert m.value(0, diameter.ORIGIN_HOST) == f"mme.{REALM}".encode()
            continue
        req = pending.pop((m.hop, m.end))
        assert (m.command, m.application) == (req.command, req.application)
        assert m.value(0, diameter.RESULT_CODE) == diameter.DIAMETER_SUCCESS
        assert m.value(0, diameter.ORIGIN_HOST) == f"hss.{REALM}".encode()
        assert m.t_us - req.t_us < 30_000
        if m.command not in (257, 280):  # base protocol: CER/CEA, DWR/DWA (application 0)
            assert m.application == diameter.S6A
            assert m.value(0, diameter.SESSION_ID) == req.value(0, diameter.SESSION_ID)
            assert m.value(0, diameter.SESSION_ID).startswith(f"mme.{REALM};")
            assert req.value(0, diameter.DESTINATION_HOST) == f"hss.{REALM}".encode()
    assert not pending
    sessions = [m.value(0, diameter.SESSION_ID) for m in msgs
                if m.request and m.command not in (257, 280)]
    assert len(set(sessions)) == len(sessions)
    assert {m.command for m in msgs} == {257, 280, 316, 318, 321}


def test_device_watchdog_when_the_connection_is_idle(tiny_out):
    """RFC 6733 §5.5: after Tw (30 s ± 2 s) without a message on the connection the MME
    sends a DWR, answered by a DWA; never while other messages keep it busy."""
    out, _ = tiny_out
    msgs = diameter_messages(out / "s1.pcap")
    watchdogs = [m for m in msgs if m.command == diameter.DEVICE_WATCHDOG]
    assert len(watchdogs) > 20  # a 3-hour evening of a few phones: mostly idle
    for before, m in zip(msgs, msgs[1:], strict=False):
        gap = m.t_us - before.t_us
        assert gap <= 32_000_000 + 20_000  # the timer expires within 32 s, answered in 20 ms
        if m.command == diameter.DEVICE_WATCHDOG and m.request:
            assert gap >= 28_000_000  # only after Tw (less the jitter) of silence
            assert m.value(0, diameter.ORIGIN_HOST) == f"mme.{REALM}".encode()
            assert set(m.avps) == {(0, diameter.ORIGIN_HOST), (0, diameter.ORIGIN_REALM)}


def test_air_and_ulr_name_the_attaching_phone(tiny, tiny_out):
    out, _ = tiny_out
    phones = {p.phone.imsi: p.phone for p in population.build(tiny, SEED) if p.phone}
    attach = Attaches(out / "s1.pcap", tiny.network.mme_ip)
    detaches = [(t, who) for t, who, cell in observe(out / "s1.pcap", tiny.network.mme_ip)
                if cell is None]
    first = {}
    for t, imsi, _eci in attach.rows:
        first.setdefault(imsi, t)
    msgs = diameter_messages(out / "s1.pcap")
    air, ulr, purged = set(), [], set()
    for m in msgs:
        if not m.request or m.command in (257, 280):  # base protocol: no subscriber
            continue
        imsi = m.value(0, diameter.USER_NAME)
        assert imsi in phones
        if m.command == diameter.PURGE_UE:  # after the phone's detach
            assert [who for t, who in detaches if t < m.t_us][-1] == imsi
            purged.add(imsi)
            continue
        t, attaching, _eci = attach.before(m.t_us)
        assert attaching == imsi and m.t_us - t < 100_000
        plmn = PLMN()
        plmn.from_bytes(m.value(V, diameter.VISITED_PLMN_ID))
        assert plmn.decode() == "00101"
        if m.command == diameter.AUTHENTICATION_INFORMATION:
            assert t == first[imsi] and imsi not in air  # the MME has no context yet
            air.add(imsi)
            info = grouped(m.avps[(V, diameter.REQUESTED_EUTRAN_AUTH_INFO)])
            assert info[(V, diameter.NUMBER_OF_REQUESTED_VECTORS)][1].get_val() == 1
        else:
            assert m.value(V, diameter.RAT_TYPE) == diameter.EUTRAN
            assert m.value(V, diameter.ULR_FLAGS) & diameter.ULR_S6A_INDICATOR
            assert t == first[imsi] or imsi in purged  # registered once, again after a purge
            purged.discard(imsi)
            ulr.append(imsi)
    assert air == set(phones) and set(ulr) == set(phones)


def test_ula_carries_the_msisdn_of_the_subscription(tiny, tiny_out):
    out, _ = tiny_out
    numbers = {p.phone.msisdn for p in population.build(tiny, SEED) if p.phone}
    seen = set()
    for m in diameter_messages(out / "s1.pcap"):
        if m.command == diameter.UPDATE_LOCATION and not m.request:
            data = grouped(m.avps[(V, diameter.SUBSCRIPTION_DATA)])
            msisdn = data.get((V, diameter.MSISDN))
            seen.add(None if msisdn is None else decode_bcd(msisdn[1].get_val()))
    assert seen == numbers and None in seen

