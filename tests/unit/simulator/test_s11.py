"""S11 GTPv2-C of `tiny`: every message decodes with pycrate; each Create Session Request
names the phone of the S1AP attach just before it (IMSI, MSISDN, MEI) and its cell; the
tunnels hold together (TEIDs, sequence numbers), and the messages after it carry no IMSI
but the S-GW's or MME's TEID, as real networks send them."""

from __future__ import annotations

from collections import Counter

from simulator import gtpv2, population
from simulator.s1ap import S1APCodec
from simulator.scenario import BUILTIN, parse
from tests.unit.simulator._capture import observe, read_pcap, s1ap_frames
from tests.unit.simulator._core import GTP, Attaches, fteid, gtp_messages, ie_table
from tests.unit.simulator.conftest import SEED

REQUESTS = {32: 33, 34: 35, 36: 37, 170: 171, 176: 177}  # request -> response (§6.1)


def test_numbers_are_pycrates():
    import pycrate_mobile.TS29274_GTPC as GTPC

    names = {t: GTPC.GTPCIETags_dict[t][0].__name__ for t in (
        gtpv2.IMSI, gtpv2.CAUSE, gtpv2.APN, gtpv2.AMBR, gtpv2.EBI, gtpv2.MEI, gtpv2.MSISDN,
        gtpv2.PAA, gtpv2.BEARER_QOS, gtpv2.RAT_TYPE, gtpv2.SERVING_NETWORK, gtpv2.ULI,
        gtpv2.F_TEID, gtpv2.PDN_TYPE, gtpv2.APN_RESTRICTION, gtpv2.SELECTION_MODE)}
    assert names == {1: "IMSI", 2: "Cause", 71: "APN", 72: "AMBR", 73: "EBI", 75: "MEI",
                     76: "MSISDN", 79: "PAA", 80: "BearerQoS", 82: "RATType",
                     83: "ServingNetwork", 86: "ULI", 87: "FTEID", 99: "PDNType",
                     127: "APNRestriction", 128: "SelectionMode"}
    assert GTPC.FTEIDIF_dict[gtpv2.IF_S11_MME] == "S11 MME GTP-C interface"
    assert GTPC.FTEIDIF_dict[gtpv2.IF_S11_SGW] == "S11/S4 SGW GTP-C interface"
    assert GTPC.FTEIDIF_dict[gtpv2.IF_S1U_ENB] == "S1-U eNodeB GTP-U interface"
    assert GTPC.GTPCMsgType_dict[gtpv2.RELEASE_ACCESS_BEARERS_REQUEST] == (
        "Release Access Bearers Request")
    assert all(resp in GTPC.GTPCReqResp[req] for req, resp in REQUESTS.items())


def test_tunnels_hold_together(tiny, tiny_out):
    out, _ = tiny_out
    mme, sgw = tiny.network.mme_ip, tiny.network.sgw_ip
    msgs = gtp_messages(out / "s1.pcap")
    pending: dict[tuple[str, int], GTP] = {}  # (sender, seq) -> request
    next_seq: dict[str, int] = {}
    mme_teids: dict[int, int] = {}            # MME's TEID -> S-GW's TEID, live sessions
    for m in msgs:
        if m.type in REQUESTS:
            assert m.src == (sgw if m.type == 176 else mme)
            if m.src in next_seq:
                assert m.seq == next_seq[m.src]  # one counter per sender
            next_seq[m.src] = (m.seq + 1) & 0xFFFFFF
            pending[(m.src, m.seq)] = m
            if m.type == 32:
                assert m.teid == 0 and (1, 0) in m.ies  # the S-GW's TEID is not known yet
                kind, teid, ip = fteid(m.ies[(87, 0)])
                assert (kind, ip) == (gtpv2.IF_S11_MME, mme) and teid not in mme_teids
                mme_teids[teid] = 0
            elif m.type == 176:
                assert m.teid in mme_teids
            else:
                assert m.teid in mme_teids.values() and m.teid != 0
            if m.type != 32:
                assert (1, 0) not in m.ies  # no IMSI after the Create Session Request
        else:
            request = pending.pop((mme if m.src == sgw else sgw, m.seq))
            assert REQUESTS[request.type] == m.type
            assert m.ies[(2, 0)][1]["Val"].get_val() == gtpv2.REQUEST_ACCEPTED
            if m.type == 33:
                kind, teid, ip = fteid(m.ies[(87, 0)])
                assert (kind, ip) == (gtpv2.IF_S11_SGW, sgw) and m.teid in mme_teids
                mme_teids[m.teid] = teid
            elif m.type == 177:
                assert m.teid == mme_teids[request.teid]
            else:
                assert mme_teids[m.teid] == request.teid
            if m.type == 37:
                del mme_teids[m.teid]
            assert m.t_us - request.t_us < 30_000
    assert not pending
    assert {m.type for m in msgs} == set(REQUESTS) | set(REQUESTS.values())


def test_each_create_session_names_the_attaching_phone_and_its_cell(tiny, tiny_out):
    out, _ = tiny_out
    phones = {p.phone.imsi: p.phone for p in population.build(tiny, SEED) if p.phone}
    attach = Attaches(out / "s1.pcap", tiny.network.mme_ip)
    cells = {c.eci: c for c in tiny.cells}
    csrs = [m for m in gtp_messages(out / "s1.pcap") if m.type == 32]
    assert len(csrs) == len(attach.rows) and {a[1] for a in attach.rows} == set(phones)
    with_msisdn = with_mei = 0
    for m in csrs:
        t, imsi, eci = attach.before(m.t_us)
        assert m.t_us - t < 100_000  # within the attach, before the Initial Context Setup
        phone = phones[imsi]
        assert m.ies[(1, 0)][1].decode() == imsi
        if phone.msisdn is None:
            assert (76, 0) not in m.ies
        else:
            assert m.ies[(76, 0)][1].decode() == phone.msisdn
            with_msisdn += 1
        if phone.reports_imeisv:
            assert m.ies[(75, 0)][1].decode() == phone.imeisv
            with_mei += 1
        else:
            assert (75, 0) not in m.ies
        uli = m.ies[(86, 0)][1]
        assert uli["ECGI"].decode() == ("00101", eci)
        assert uli["TAI"].decode() == ("00101", cells[eci].tac)
        assert m.ies[(83, 0)][1]["PLMN"].decode() == "00101"
        assert m.ies[(82, 0)][1]["Val"].get_val() == gtpv2.RAT_EUTRAN
        assert m.ies[(71, 0)][1].decode() == "internet"
        assert type(m.ies[(gtpv2.BEARER_CONTEXT, 0)][1]).__name__ == (
            "CreateSessionReq_BearerContexttobecreated")  # pycrate read it as the grouped IE
        bearer = ie_table(m.ies[(93, 0)][1])
        assert bearer[(73, 0)][1]["Val"].get_val() == gtpv2.DEFAULT_EBI
    assert 0 < with_msisdn < len(csrs) and 0 < with_mei < len(csrs)  # both cases in tiny


def test_modify_bearer_names_the_cell_the_s1ap_shows(tiny, tiny_out):
    """The ULI of a Modify Bearer Request (sent when the cell changed) is the subscriber's
    cell in S1AP at that instant; the subscriber is found through the S-GW's TEID only."""
    out, _ = tiny_out
    msgs = gtp_messages(out / "s1.pcap")
    attach = Attaches(out / "s1.pcap", tiny.network.mme_ip)
    owner: dict[int, str] = {}  # S-GW TEID -> IMSI, learnt as the MME learns it
    csr_by_seq: dict[int, str] = {}
    position: dict[str, list] = {}
    for t, who, cell in observe(out / "s1.pcap", tiny.network.mme_ip):
        position.setdefault(who, []).append((t, cell))
    enb_ips = {e.ip for e in tiny.enbs}
    located = 0
    for m in msgs:
        if m.type == 32:
            csr_by_seq[m.seq] = attach.before(m.t_us)[1]
        elif m.type == 33:
            owner[fteid(m.ies[(87, 0)])[1]] = csr_by_seq.pop(m.seq)
        elif m.type == 34:
            bearer = ie_table(m.ies[(93, 0)][1])
            kind, _teid, ip = fteid(bearer[(87, 0)])
            assert kind == gtpv2.IF_S1U_ENB and ip in enb_ips
            if (86, 0) in m.ies:
                seen = [cell for t, cell in position[owner[m.teid]] if t < m.t_us]
                assert m.ies[(86, 0)][1]["ECGI"].decode() == ("00101", seen[-1])
                located += 1
    assert located >= 5


def test_timelines_see_s11_on_every_kind_of_step(tiny, tiny_out):
    """Counts that follow from the procedures: a session per attach, a Modify Bearer per
    connection set up and per path switch, a Release Access Bearers per inactivity release."""
    out, summary = tiny_out
    got = Counter(m.type for m in gtp_messages(out / "s1.pcap"))
    by = summary.by_message
    assert got[32] == by["InitialUEMessage/AttachRequest"]
    assert got[36] == by["InitialUEMessage/DetachRequest"] + by.get(
        "UplinkNASTransport/DetachRequest", 0)
    assert got[34] == by["InitialContextSetupResponse"] + by["PathSwitchRequest"]
    assert got[170] == by["UEContextReleaseRequest"]
    codec = S1APCodec()
    paging = {f.t_us for f in s1ap_frames(out / "s1.pcap") if codec.decode(f.payload)[0] == "Paging"}
    assert got[176] == len(paging) > 0  # one procedure pages every eNB of the TA at once


def test_core_signalling_off_gives_the_s1ap_frames_alone(tmp_path, tiny_out):
    """The switch: S1AP only, byte for byte the S1AP frames of the mixed capture."""
    from simulator.generate import generate

    out, _ = tiny_out
    text = (BUILTIN / "tiny.toml").read_text().replace("core_signalling = true",
                                                       "core_signalling = false")
    summary = generate(parse(text, "s1-only.toml"), tmp_path, SEED)
    assert summary.by_link == {"s1": summary.messages}
    alone = read_pcap(tmp_path / "s1.pcap")
    mixed = [f for f in read_pcap(out / "s1.pcap") if f.proto == "s1ap"]
    assert alone == mixed
    assert (tmp_path / "truth.json").read_bytes() == (out / "truth.json").read_bytes()
