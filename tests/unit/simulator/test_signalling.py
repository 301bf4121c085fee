"""The capture decodes back with pycrate, and what the network sees of each phone is the run's
network-visible steps: followed through identities and S1AP ids alone, each phone's
positions change exactly at those steps (what the truth's operator sections count, the
condition for the collector to equal the truth); idle moves within a tracking area are
seen late, at the phone's next procedure."""

from __future__ import annotations

from collections import Counter

from pycrate_mobile.NASLTE import parse_NASLTE_MO, parse_NASLTE_MT

from simulator import mobility, population, signalling
from simulator.s1ap import S1APCodec
from tests.unit.simulator._capture import changes, nas_of, observe, s1ap_frames
from tests.unit.simulator.conftest import SEED

ID = S1APCodec.ie_id
US = 1_000_000


def test_every_message_decodes_with_pycrate(tiny, tiny_out):
    out, summary = tiny_out
    codec = S1APCodec()
    frames = s1ap_frames(out / "s1.pcap")
    assert len(frames) == summary.by_link["s1"]
    names, nas_names = Counter(), Counter()
    for f in frames:
        uplink = f.dst == tiny.network.mme_ip
        name, ies = codec.decode(f.payload)
        names[name] += 1
        nas = nas_of(name, ies)
        if nas is not None:
            msg, err = (parse_NASLTE_MO if uplink else parse_NASLTE_MT)(nas)
            assert err == 0 and msg.to_bytes() == nas
            nas_names[msg._name] += 1
    # every procedure of the design shows up in tiny
    assert {"S1SetupRequest", "S1SetupResponse", "InitialUEMessage",
            "InitialContextSetupRequest", "InitialContextSetupResponse", "UplinkNASTransport",
            "DownlinkNASTransport", "UEContextReleaseRequest", "UEContextReleaseCommand",
            "UEContextReleaseComplete", "Paging", "LocationReportingControl", "LocationReport",
            "PathSwitchRequest", "PathSwitchRequestAcknowledge"} <= set(names)
    assert {"EMMAttachRequest", "EMMAttachAccept", "EMMAttachComplete", "EMMServiceRequest",
            "EMMTrackingAreaUpdateRequest", "EMMTrackingAreaUpdateAccept",
            "EMMTrackingAreaUpdateComplete", "EMMDetachRequestMO", "EMMIdentityRequest",
            "EMMIdentityResponse"} <= set(nas_names)


def test_s1ap_reencodes_to_the_same_bytes(tiny_out):
    """What pycrate decodes is the whole message: encoding it again gives the same bytes."""
    from pycrate_asn1dir import S1AP

    out, _ = tiny_out
    pdu = S1AP.S1AP_PDU_Descriptions.S1AP_PDU
    for f in s1ap_frames(out / "s1.pcap"):
        pdu.from_aper(f.payload)
        pdu.set_val(pdu.get_val())
        assert pdu.to_aper() == f.payload


def test_identities_in_the_capture_are_the_published_ones(tiny, tiny_out):
    out, _ = tiny_out
    ids = population.identities("tiny", SEED)
    codec = S1APCodec()
    imsis, imeisvs = set(), set()
    for f in s1ap_frames(out / "s1.pcap"):
        name, ies = codec.decode(f.payload)
        nas = nas_of(name, ies)
        if nas is None or f.dst != tiny.network.mme_ip:
            continue
        msg, _ = parse_NASLTE_MO(nas)
        if msg._name == "EMMAttachRequest" and msg["EPSID"][1].decode()[0] == 1:
            imsis.add(msg["EPSID"][1].decode()[1])
        if msg._name == "EMMIdentityResponse":
            imeisvs.add(msg["ID"][1].decode()[1])
    assert imsis == set(ids.imsis) and len(imsis) == tiny.population.operator_phones
    assert imeisvs == set(ids.imeisvs) and imeisvs
    assert all(len(i) == 15 and i.startswith("00101") for i in imsis)
    assert all(len(i) == 16 and i.isdigit() for i in imeisvs)


def test_the_capture_shows_exactly_the_visible_steps(tiny, tiny_out):
    out, _ = tiny_out
    _, phones = mobility.plan(tiny, population.build(tiny, SEED), SEED)
    visible = signalling.visible(tiny, phones, SEED)
    want = {tl.person.phone.imsi: [(t, c.eci if c else None) for t, c in steps]
            for tl, steps in zip(phones, visible, strict=True)}
    got = changes(observe(out / "s1.pcap", tiny.network.mme_ip))
    assert got == want
    # idle moves within a TA are seen late (or never): the true steps differ for some phones
    true = {tl.person.phone.imsi: [(s.t * US, s.cell.eci if s.cell else None)
                                   for s in tl.steps] for tl in phones}
    late = [imsi for imsi in want if want[imsi] != true[imsi]]
    assert len(late) >= 3, late
    # ... but every visible step is a true position at that instant
    for tl in phones:
        steps = want[tl.person.phone.imsi]
        for t, eci in steps:
            at = [s for s in tl.steps if s.t * US <= t][-1].cell
            assert (at.eci if at else None) == eci


def test_timelines_exercise_every_case(tiny):
    _, phones = mobility.plan(tiny, population.build(tiny, SEED), SEED)
    assert all(tl.steps[0].cell is not None for tl in phones)          # starts with power-on
    assert any(len([s for s in tl.steps if s.cell is None]) > 1 for tl in phones)  # power cycle
    for tl in phones:
        times = [s.t for s in tl.steps]
        assert times == sorted(times) and all(b - a >= mobility.MIN_GAP
                                              for a, b in zip(times, times[1:], strict=False))
        assert all(t % tiny.bin_seconds for t in times)                 # never on a boundary


def test_phones_on_are_never_silent_for_two_hours(tiny, tiny_out):
    """Periodic TAU (T3412, from the end of the last connection) keeps every phone that is
    on well within the collector's 2 h timeout."""
    out, _ = tiny_out
    by_imsi: dict[str, list] = {}
    for t, who, cell in observe(out / "s1.pcap", tiny.network.mme_ip):
        by_imsi.setdefault(who, []).append((t, cell))
    longest = tiny.network.t3412 + tiny.behaviour.session_seconds[1] + 60
    for events in by_imsi.values():
        for (t0, c0), (t1, _c1) in zip(events, events[1:], strict=False):
            if c0 is not None:
                assert t1 - t0 < longest * 1_000_000 < 7200 * 1_000_000


def test_phones_left_on_stop_signalling_at_the_end():
    """With at_end = "stay-on" nobody detaches: periodic TAUs must stop at the scenario end."""
    from simulator.scenario import BUILTIN, parse

    text = (BUILTIN / "tiny.toml").read_text().replace('at_end = "switch-off"',
                                                        'at_end = "stay-on"')
    scn = parse(text, "stay-on.toml")
    _, phones = mobility.plan(scn, population.build(scn, SEED), SEED)
    assert not any(s.cell is None and s.t > scn.end - 1300 for tl in phones for s in tl.steps)
    messages = signalling.simulate(scn, phones, SEED)
    assert messages[-1].t_us < scn.end * 1_000_000
    assert sum(m.name.endswith("DetachRequest") for m in messages) < len(phones)
