"""5G standalone cells: phones camping on NR cells register over NGAP with 5GS NAS (SUCI
with the null scheme at the first registration, the 5G-GUTI after), every NGAP and 5GS
NAS template equals pycrate's encoding, and the messages decode back with pycrate (the
MSIN read from the SUCI's own field: pycrate 0.8.1's `to_sba` gets it wrong)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from pycrate_mobile.NAS5G import parse_NAS5G

from simulator import agents, nas5g, phones, schedule, signalling
from simulator.nas import Guti
from simulator.ngap_messages import NGAPMessages
from simulator.s1ap import NGAPCodec
from simulator.scenario import load
from simulator.templates import Templates, locate
from tests.unit.simulator.conftest import nr_demo

SEED = 3
ID = NGAPCodec.ie_id


@pytest.fixture(scope="module")
def nr_run():
    scn = nr_demo(0.2)
    sched = schedule.plan(scn, agents.build(scn, SEED), SEED)
    _persons, timelines = phones.build(scn, sched, SEED)
    templates = Templates(enabled=True)
    return scn, timelines, signalling.simulate(scn, timelines, SEED, templates), templates


def test_nr_cells_carry_ngap_and_every_kind_is_templated(nr_run):
    scn, timelines, messages, templates = nr_run
    assert {c.rat for c in scn.cells} == {"lte", "nr"}
    on_nr = [tl for tl in timelines if any(s.cell is not None and s.cell.rat == "nr"
                                           for s in tl.steps)]
    assert on_nr and not any(s.cell.rat == "nr" for tl in timelines if tl.person.m2m
                             for s in tl.steps if s.cell is not None)
    names = Counter(m.name for m in messages if m.link == "ng")
    assert {"NGSetupRequest", "InitialUEMessage/RegistrationRequest",
            "InitialContextSetupRequest/RegistrationAccept",
            "UplinkNASTransport/RegistrationComplete", "InitialUEMessage/ServiceRequest",
            "DownlinkNASTransport/RegistrationAccept", "UEContextReleaseComplete",
            "Paging"} <= set(names)
    assert templates.counts["untemplatable"] == 0 and templates.counts["pycrate"] == 0
    kinds = {k.name for k, _, _ in templates.cached()}
    assert {"NGAP InitialUEMessage", "NGAP InitialUEMessage+5G-S-TMSI", "5GNAS reg_suci",
            "5GNAS reg_guti", "5GNAS service_request"} <= kinds


def test_nr_templates_equal_pycrate_on_random_values(nr_run):
    *_, templates = nr_run
    r = random.Random(11)
    checked = 0
    for kind, consts, shapes in templates.cached():
        if not kind.name.startswith(("NGAP", "5GNAS")):
            continue
        t = locate(kind, consts, shapes)
        assert t is not None, kind.name
        for _ in range(20):
            values = tuple(f.sample(r, s) for f, s in zip(kind.fields, shapes, strict=True))
            assert t.fill(values) == kind.build(*consts, *values), (kind.name, consts)
        checked += 1
    assert checked >= 12


@pytest.mark.parametrize("amf_width,ran_width", [(1, 1), (2, 2), (3, 3), (5, 4), (4, 1)])
def test_ngap_equals_pycrate_at_every_id_width(amf_width, ran_width):
    scn = load("demo")
    fast = NGAPMessages(scn.network, Templates(enabled=True))
    slow = NGAPMessages(scn.network, Templates(enabled=False))
    cell = next(c for c in scn.cells if c.rat == "nr")
    amf, ran = (1 << 8 * amf_width) - 3, (1 << 8 * ran_width) - 7
    calls = [("initial_ue_message", (ran, b"\x7e\x00\x41\x01", cell, "mo-Data")),
             ("initial_ue_message", (ran, b"\x7e\x00", cell, "mt-Access", (1 << 48) - 5)),
             ("downlink_nas", (amf, ran, b"\x7e\x00\x42")),
             ("uplink_nas", (amf, ran, b"\x7e\x00\x43", cell)),
             ("initial_context_setup_request", (amf, ran, b"\x7e\x00\x42", 7)),
             ("initial_context_setup_request", (amf, ran, None, 1 << 255)),
             ("initial_context_setup_response", (amf, ran)),
             ("ue_context_release_request", (amf, ran)),
             ("ue_context_release_command", (amf, ran, ("nas", "deregister"))),
             ("ue_context_release_complete", (amf, ran, cell)),
             ("location_report", (amf, ran, cell)),
             ("path_switch_request", (ran, amf, cell, "10.0.9.1")),
             ("path_switch_request_acknowledge", (amf, ran, 5)),
             ("paging", ((1 << 48) - 2, cell.tac))]
    codec = NGAPCodec()
    for name, args in calls:
        a, b = getattr(fast, name)(*args), getattr(slow, name)(*args)
        assert a == b, name
        codec.decode(a)


def test_5gs_nas_reads_back_and_suci_only_at_first_registration(nr_run):
    scn, timelines, messages, _ = nr_run
    codec, plmn = NGAPCodec(), scn.network.plmn
    imsis = {tl.person.phone.imsi for tl in timelines}
    suci, by_guti, allocated = Counter(), 0, set()
    for m in messages:
        if m.link != "ng" or "/" not in m.name:
            continue
        name, ies = codec.decode(m.payload)
        nas = ies.get(ID("id-NAS-PDU"))
        assert nas is not None, m.name
        msg, err = parse_NAS5G(nas)
        assert err == 0 and msg.to_bytes() == nas, m.name
        if msg._name == "5GMMRegistrationAccept" and msg["GUTI"].get_trans() is False:
            allocated.add(msg["GUTI"][2]["5GTMSI"].get_val())
        if msg._name != "5GMMRegistrationRequest":
            continue
        ident = msg["5GSID"][1]
        if ident["Type"].get_val() == 1:  # SUCI: read the scheme output itself
            value = ident["Value"]
            assert value["ProtSchemeID"].get_val() == 0
            home = value["PLMN"].decode()
            suci[home + value["Output"].get_alt().decode()] += 1
        else:
            by_guti += 1
            assert ident["PLMN"].decode() == plmn
    assert suci and set(suci) <= imsis and max(suci.values()) == 1  # once per phone
    assert by_guti > sum(suci.values())
    assert allocated


def test_guti_maps_to_the_5g_guti_bit_for_bit():
    g = Guti("00101", 0x8001, 0x41, 0x12345678)
    region, aset, ptr = nas5g.amf_ids(g)
    assert (region, aset, ptr) == (0x80, 0x005, 0x01)
    assert nas5g.s_tmsi(g) == (aset << 6 | ptr) << 32 | 0x12345678
    msg, err = parse_NAS5G(nas5g.registration_guti(nas5g.PERIODIC, 1, g))
    assert err == 0 and msg["5GSID"][1].decode()[1] == {
        "PLMN": "00101", "AMFRegionID": 0x80, "AMFSetID": 5, "AMFPtr": 1, "5GTMSI": 0x12345678}
    assert nas5g.gprs_timer3(3240) == {"Unit": 0, "Value": 5}
    assert nas5g.gprs_timer3(3600) == {"Unit": 0, "Value": 6}  # the first exact unit
    assert nas5g.gprs_timer3(7200) == {"Unit": 0, "Value": 12}
