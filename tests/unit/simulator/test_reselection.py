"""Idle phones reselect cells silently (TS 36.304 §5.2.4, TS 38.304 §5.2.4): an idle move
within the tracking area sends nothing, and the phone's next procedure carries the new
cell; a move into another tracking area still sends a TAU (a registration in NR), and a
connected phone still hands over.  Oracle: hand-made timelines, the messages decoded with
pycrate."""

from __future__ import annotations

import pytest

from simulator import signalling
from simulator.mobility import PhoneTimeline, Session, Step
from simulator.population import Person, Phone
from simulator.s1ap import NGAPCodec, S1APCodec
from simulator.scenario import load
from simulator.visible import VisibleSteps

SEED = 11
US = 1_000_000
ID, NG = S1APCodec.ie_id, NGAPCodec.ie_id


def _timeline(scn, steps, sessions) -> PhoneTimeline:
    person = Person(0, "bellecour", Phone("001010000000017", "3520990000000017", False))
    return PhoneTimeline(person, tuple(Step(scn.start + t, c) for t, c in steps),
                         tuple(Session(scn.start + t, s, mt) for t, s, mt in sessions))


def _cells(scn, rat: str, tac: int) -> list:
    return [c for c in scn.cells if c.rat == rat and c.tac == tac]


def _ue_messages(messages) -> list:
    """The phone's messages (not the eNB set-ups nor the watchdog)."""
    return [m for m in messages if m.link in ("s1", "ng") and m.stream != 0
            or m.name == "Paging"]


def _cell_of(m) -> int | None:
    """The ECI or NCI an S1AP / NGAP message carries, decoded with pycrate (None: none)."""
    if m.link == "s1":
        _, ies = S1APCodec().decode(m.payload)
        cgi = ies.get(ID("id-EUTRAN-CGI"))
        return None if cgi is None else cgi["cell-ID"][0]
    _, ies = NGAPCodec().decode(m.payload)
    uli = ies.get(NG("id-UserLocationInformation"))
    return None if uli is None else uli[1]["nR-CGI"]["nRCellIdentity"][0]


@pytest.fixture(scope="module")
def lte():
    """tiny: on in A (TA 1) at 100 s; idle move to B (TA 1) at 300 s; data at 900 s (MO);
    idle move to A again at 1200 s; paged at 1500 s; idle move into TA 2 at 2000 s; a long
    session at 2400 s and, connected, a move to another TA 2 cell at 2500 s."""
    scn = load("tiny")
    a, b = _cells(scn, "lte", 1)[:2]
    c, d = _cells(scn, "lte", 2)[:2]
    tl = _timeline(scn, [(100, a), (300, b), (1200, a), (2000, c), (2500, d)],
                   [(900, 20, False), (1500, 20, True), (2400, 300, False)])
    seen = VisibleSteps()
    messages = list(m for chunk in signalling.stream(scn, (tl,), SEED, seen=seen)
                    for m in chunk)
    return scn, (a, b, c, d), _ue_messages(messages), next(seen.per_phone(scn, 1))


def _between(messages, lo: int, hi: int) -> list:
    return [m for m in messages if lo * US <= m.t_us < hi * US]


def test_an_idle_move_within_the_ta_sends_nothing(lte):
    scn, _cells4, messages, _ = lte
    t0 = scn.start
    # released a few seconds after the attach: nothing from then until the session at 900
    assert _between(messages, t0 + 300, t0 + 900) == []
    assert _between(messages, t0 + 1200, t0 + 1500) == []


def test_the_next_service_request_carries_the_new_cell(lte):
    scn, (a, b, _c, _d), messages, _ = lte
    t0 = scn.start
    sr = [m for m in messages if m.name == "InitialUEMessage/ServiceRequest"]
    assert [(m.t_us >= (t0 + 900) * US, _cell_of(m)) for m in sr][:2] == [
        (True, b.eci), (True, a.eci)]
    assert sr[0].t_us == (t0 + 900) * US  # mobile originated: at the session's start
    # mobile terminated: paged in the TA first, answered from the cell it camps on
    paging = [m for m in messages if m.name == "Paging"]
    assert paging and all(m.t_us == (t0 + 1500) * US for m in paging)
    assert sr[1].t_us > (t0 + 1500) * US


def test_a_move_into_another_ta_sends_a_tau_there(lte):
    scn, (_a, _b, c, _d), messages, _ = lte
    tau = [m for m in messages if m.name == "InitialUEMessage/TrackingAreaUpdateRequest"]
    at = [m for m in tau if m.t_us == (scn.start + 2000) * US]
    assert len(at) == 1 and _cell_of(at[0]) == c.eci


def test_a_connected_phone_still_hands_over(lte):
    scn, (_a, _b, _c, d), messages, _ = lte
    moved = [m for m in messages if m.t_us == (scn.start + 2500) * US]
    assert [m.name for m in moved] in (["LocationReport"], ["PathSwitchRequest"])
    assert _cell_of(moved[0]) == d.eci


def test_the_visible_steps_are_what_the_messages_show(lte):
    """The steps the run records: the network sees B only at the Service Request of 900 s,
    A again at the paging response, C at the TAU of 2000 s, D at the handover of 2500 s; and
    the switch-off at the scenario's end is a step to None."""
    scn, (a, b, c, d), messages, steps = lte
    t0 = scn.start * US
    sr = [m.t_us for m in messages if m.name == "InitialUEMessage/ServiceRequest"]
    assert steps[:5] == [(t0 + 100 * US, a), (t0 + 900 * US, b), (sr[1], a),
                         (t0 + 2000 * US, c), (t0 + 2500 * US, d)]
    assert sr[1] > t0 + 1500 * US
    assert all(cell is None for _, cell in steps[5:])


def test_nr_moves_within_the_registration_area_are_silent_too():
    """demo's gNB has two NR cells in TA 11: an idle move between them sends nothing, the
    next NGAP Service Request carries the new NR cell."""
    scn = load("demo")
    e, f = _cells(scn, "nr", 11)[:2]
    tl = _timeline(scn, [(100, e), (600, f)], [(1200, 20, False)])
    seen = VisibleSteps()
    messages = _ue_messages([m for chunk in signalling.stream(scn, (tl,), SEED, seen=seen)
                             for m in chunk if m.t_us < (scn.start + 3000) * US])
    assert _between(messages, scn.start + 300, scn.start + 1200) == []
    sr = [m for m in messages if m.name == "InitialUEMessage/ServiceRequest"]
    assert sr[0].link == "ng" and sr[0].t_us == (scn.start + 1200) * US
    assert _cell_of(sr[0]) == f.eci
    assert next(seen.per_phone(scn, 1))[:2] == [((scn.start + 100) * US, e),
                                             ((scn.start + 1200) * US, f)]
