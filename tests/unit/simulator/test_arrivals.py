"""Visitors arrive as networks see them: a foreign roamer landing attaches with its IMSI; a
domestic visitor's phone, already on, comes in by a TAU with the GUTI and TA another MME of
the operator gave it (TS 23.401 §5.3.3.1).  Oracle: the messages decoded with pycrate,
against the timelines (who arrives when)."""

from __future__ import annotations

import pytest
from pycrate_mobile.NAS5G import parse_NAS5G
from pycrate_mobile.NASLTE import parse_NASLTE_MO

from simulator import agents, nas5g, phones, schedule, signalling
from simulator.s1ap import NGAPCodec, S1APCodec
from tests.unit.simulator.conftest import nr_demo

SEED = 5
US = 1_000_000
ID, NG = S1APCodec.ie_id, NGAPCodec.ie_id


@pytest.fixture(scope="module")
def run():
    scn = nr_demo(0.2)
    sched = schedule.plan(scn, agents.build(scn, SEED), SEED)
    _persons, timelines = phones.build(scn, sched, SEED)
    return scn, timelines, signalling.simulate(scn, timelines, SEED)


def _initial(messages, name: str):
    """(t µs, decoded NAS, S1AP IEs) of every InitialUEMessage carrying `name`."""
    codec, out = S1APCodec(), []
    for m in messages:
        if m.link == "s1" and m.name == f"InitialUEMessage/{name}":
            _, ies = codec.decode(m.payload)
            msg, err = parse_NASLTE_MO(ies[ID("id-NAS-PDU")])
            assert err == 0
            out.append((m.t_us, msg, ies))
    return out


def _registrations(messages):
    """(t µs, decoded 5GS NAS, NGAP IEs) of every NGAP InitialUEMessage/RegistrationRequest."""
    codec, out = NGAPCodec(), []
    for m in messages:
        if m.link == "ng" and m.name == "InitialUEMessage/RegistrationRequest":
            _, ies = codec.decode(m.payload)
            msg, err = parse_NAS5G(ies[NG("id-NAS-PDU")])
            assert err == 0
            out.append((m.t_us, msg, ies))
    return out


def _first_rat(tl) -> str:
    return tl.steps[0].cell.rat


def test_domestic_visitors_arrive_by_tau_from_another_mme(run):
    scn, timelines, messages = run
    net = scn.network
    arriving = {tl.steps[0].t * US for tl in timelines if tl.arrives and _first_rat(tl) == "lte"}
    assert len(arriving) >= 5
    assert all(tl.person.phone.imsi.startswith(net.plmn) for tl in timelines if tl.arrives)
    foreign_guti = set()
    for t, msg, ies in _initial(messages, "TrackingAreaUpdateRequest"):
        kind, *ident = msg["OldGUTI"][1].decode()
        plmn, mmegi, mmec, _mtmsi = ident
        if mmegi != net.mme_group_id:
            assert kind == 6 and plmn == net.plmn
            assert msg["OldTAI"]["TAI"]["TAC"].get_val() not in {c.tac for c in scn.cells}
            assert ID("id-S-TMSI") not in ies  # the S-TMSI would name an MME of this pool
            foreign_guti.add(t)
    assert foreign_guti == arriving


def test_foreign_roamers_land_with_an_attach_by_imsi(run):
    scn, timelines, messages = run
    roamers = {tl.steps[0].t * US for tl in timelines if _first_rat(tl) == "lte"
               and not tl.person.phone.imsi.startswith(scn.network.mcc)}
    assert len(roamers) >= 5
    by_imsi = {t for t, msg, _ in _initial(messages, "AttachRequest")
               if msg["EPSID"][1].decode()[0] == 1
               and not msg["EPSID"][1].decode()[1].startswith(scn.network.mcc)}
    assert by_imsi == roamers


def test_in_nr_cells_visitors_register_the_same_way(run):
    """Arriving on in an NR cell: a mobility registration with another AMF's 5G-GUTI and no
    5G-S-TMSI; a roamer landing there: an initial registration by SUCI of its home PLMN."""
    scn, timelines, messages = run
    net = scn.network
    ours = nas5g.amf_ids(nas5g.Guti(net.plmn, net.mme_group_id, net.mme_code, 0))[:2]
    arriving = {tl.steps[0].t * US for tl in timelines if tl.arrives and _first_rat(tl) == "nr"}
    roamers = {tl.steps[0].t * US for tl in timelines if _first_rat(tl) == "nr"
               and not tl.person.phone.imsi.startswith(net.mcc)}
    assert arriving and roamers
    foreign_amf, suci = set(), set()
    for t, msg, ies in _registrations(messages):
        ident = msg["5GSID"][1]
        if ident["Type"].get_val() == 2:
            if (ident["AMFRegionID"].get_val(), ident["AMFSetID"].get_val()) != ours:
                assert msg["5GSRegType"][0]["Value"].get_val() == nas5g.MOBILITY
                assert NG("id-FiveG-S-TMSI") not in ies
                foreign_amf.add(t)
        elif not ident["Value"]["PLMN"].decode().startswith(net.mcc):
            suci.add(t)
    assert foreign_amf == arriving and suci == roamers


def test_residents_power_on_with_an_attach(run):
    scn, timelines, messages = run
    attach_times = {t for t, _, _ in _initial(messages, "AttachRequest")}
    attach_times |= {t for t, msg, _ in _registrations(messages)
                     if msg["5GSRegType"][0]["Value"].get_val() == nas5g.INITIAL}
    residents = [tl for tl in timelines if not tl.arrives and not tl.person.m2m
                 and tl.person.home_zone]
    assert residents and all(tl.steps[0].t * US in attach_times for tl in residents)
