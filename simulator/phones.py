"""The operator's devices in a city-model scenario and their timelines.

Only persons carrying the operator's SIM (and the M2M modules) become Python objects:
a `Person` with a `Phone` (roamers get IMSIs of their own MCC/MNC) and a
`PhoneTimeline` that follows the person's schedule: one cell per stay (a cell of the
stay's zone, changing to another cell of the zone `moves_per_hour` times an hour), on
from the arrival (residents: within `power_on_minutes` of the start) until the
departure, off for some nights (`night_off_share`: about 22:30 to 07:15 local) and some
whole days (`off_share`: about 08:00 to 22:00 local).  Data sessions come at
`data_sessions_per_hour` while awake (07:00-23:00 local), `event_sessions_per_hour` at an
event and `night_sessions_per_hour` while asleep (`rate_pieces`).  M2M modules sit in one cell and only do periodic TAUs.
"""

from __future__ import annotations

import bisect
import random

from simulator import profiles
from simulator.agents import DOMESTIC, FOREIGN
from simulator.mobility import MIN_GAP, SESSION_GAP, PhoneTimeline, Session, Step, _free, poisson
from simulator.population import _COUNTRY_CODE, _TACS, Person, Phone, rng
from simulator.scenario import CellSpec, Scenario
from simulator.schedule import SLOTS, Schedule
from wire.reference import AGE_BANDS

AWAKE = (7 * 3600, 23 * 3600)  # local seconds of the day with data sessions


def stays(sched: Schedule, i: int, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """Person i's (start, end, zone) over [lo, hi), consecutive, zone -1 when away."""
    a = sched.agents
    arrive, leave, lodging = int(a.arrive[i]), int(sched.leave[i]), int(a.lodging[i])
    slots = sorted((int(d.start[i, k]), int(d.end[i, k]), int(d.zone[i, k]))
                   for d in sched.days for k in range(SLOTS) if d.end[i, k] > d.start[i, k])
    out: list[tuple[int, int, int]] = []

    def add(t0: int, t1: int, z: int) -> None:
        t0, t1 = max(t0, lo), min(t1, hi)
        if t1 <= t0:
            return
        if out and out[-1][2] == z and out[-1][1] == t0:
            out[-1] = (out[-1][0], t1, z)
        else:
            out.append((t0, t1, z))

    cur = lo
    for s, e, z in slots:
        add(cur, s, lodging)
        add(s, e, z)
        cur = e
    add(cur, hi, lodging)
    # away before arrival and after departure (the gaps above assumed the lodging)
    return [(t0, t1, z if arrive <= t0 and t1 <= leave else -1) for t0, t1, z in _split(
        out, (arrive, leave))]


def _split(segs: list[tuple[int, int, int]], cuts: tuple[int, ...]) -> list[tuple[int, int, int]]:
    out = []
    for t0, t1, z in segs:
        inner = sorted(c for c in cuts if t0 < c < t1)
        for a, b in zip([t0, *inner], [*inner, t1], strict=True):
            out.append((a, b, z))
    return out


def build(scn: Scenario, sched: Schedule, seed: int,
          subscribers: list[tuple[str, str, str]] | None = None
          ) -> tuple[tuple[Person, ...], tuple[PhoneTimeline, ...]]:
    """The operator's devices (persons' phones, then M2M modules) and their timelines.
    `subscribers` (when given) receives (IMSI, age band, gender) of every domestic SIM held
    by a person, switched on during the run or not (`profiles`)."""
    a, op = sched.agents, scn.city.operator
    ids = _Identities(scn, rng(seed, "city-identities"))
    zone_ids = [z.id for z in scn.zones]
    persons, timelines = [], []
    for i in map(int, (a.devices > 0).nonzero()[0]):
        segs = stays(sched, i, scn.start, scn.end)
        nr = rng(seed, "nr", i).random() < op.nr_share
        cells = _cells(scn, segs, rng(seed, "cells", i), nr)
        foreign = a.kind[i] == FOREIGN
        events = event_windows(sched, i)
        home = zone_ids[a.home[i]] if a.home[i] >= 0 else ""
        for k in range(int(a.devices[i])):
            r = rng(seed, "device", i, k)
            g = scn.city.visitors[a.group[i]] if a.group[i] >= 0 else None
            phone = ids.phone(g.mcc + g.mnc if foreign else scn.network.plmn, not foreign)
            if subscribers is not None and not foreign:
                # (every person but a roamer has a band: residents by census, visitors
                # from other regions drawn from the pyramid by `agents`)
                subscribers.append((phone.imsi, AGE_BANDS[a.band[i]], profiles.gender(seed, i)))
            person = Person(len(persons), home, phone)
            steps = _steps(scn, segs, cells, int(a.arrive[i]) > scn.start, r)
            if not steps:
                continue  # never on while the scenario runs
            arrives = (a.kind[i] == DOMESTIC and scn.start < a.arrive[i]
                       and steps[0].t <= a.arrive[i] + 1)
            timelines.append(PhoneTimeline(person, steps, _sessions(scn, steps, r, events), arrives))
            persons.append(person)
    r, psm = rng(seed, "m2m"), rng(seed, "m2m-psm")
    lte = [c for c in scn.cells if c.rat == "lte"] or list(scn.cells)
    for _ in range(op.m2m_devices):
        cell = r.choice(lte)  # LTE-M / NB-IoT modules: LTE cells only
        phone = ids.phone(scn.network.plmn, True, op.m2m_tacs,
                          psm=psm.random() < op.m2m_psm_share)
        person = Person(len(persons), cell.zone, phone, m2m=True)
        on = _free(r, scn.start + 1, scn.start + 3600, [], MIN_GAP, scn.bin_seconds) or scn.start
        timelines.append(PhoneTimeline(person, (Step(on, cell),), ()))
        persons.append(person)
    return tuple(persons), tuple(timelines)


class _Identities:
    """Unique IMSIs, IMEISVs and MSISDNs for the devices, drawn from one generator."""

    def __init__(self, scn: Scenario, r: random.Random) -> None:
        self.op, self.r, self.taken = scn.city.operator, r, set()

    def phone(self, plmn: str, domestic: bool, tacs: tuple[str, ...] = _TACS,
              psm: bool = False) -> Phone:
        r, digits = self.r, 15 - len(plmn)
        imsi = plmn + f"{r.randrange(10 ** digits):0{digits}d}"
        while imsi in self.taken:
            imsi = plmn + f"{r.randrange(10 ** digits):0{digits}d}"
        self.taken.add(imsi)
        imeisv = r.choice(tacs) + f"{r.randrange(10 ** 6):06d}" + f"{r.randrange(1, 99):02d}"
        msisdn = None
        if domestic and r.random() < self.op.msisdn_share:
            msisdn = _COUNTRY_CODE + f"{r.randrange(6 * 10 ** 8, 8 * 10 ** 8):09d}"
            while msisdn in self.taken:
                msisdn = _COUNTRY_CODE + f"{r.randrange(6 * 10 ** 8, 8 * 10 ** 8):09d}"
            self.taken.add(msisdn)
        return Phone(imsi, imeisv, r.random() < self.op.imeisv_share, msisdn, psm)


def _cells(scn: Scenario, segs: list[tuple[int, int, int]], r: random.Random, nr: bool
           ) -> list[tuple[int, CellSpec | None]]:
    """(from t, cell) changes of a person: a cell per stay, moves within long stays.  A
    phone camps on the cells of its RAT in each zone (`nr`: NR cells where the zone has
    some, else LTE ones; otherwise LTE cells), on any cell of a zone that has none."""
    by_zone: dict[str, list[CellSpec]] = {}
    for c in scn.cells:
        by_zone.setdefault(c.zone, []).append(c)
    for zone, cells in by_zone.items():
        mine = [c for c in cells if c.rat == "nr"] if nr else []
        by_zone[zone] = mine or [c for c in cells if c.rat == "lte"] or cells
    out: list[tuple[int, CellSpec | None]] = []
    for t0, t1, z in segs:
        if z < 0:
            out.append((t0, None))
            continue
        cells = by_zone[scn.zones[z].id]
        cell = r.choice(cells)
        out.append((t0, cell))
        if len(cells) > 1:
            n = poisson(r, scn.behaviour.moves_per_hour * (t1 - t0) / 3600)
            for t in sorted(r.randint(t0 + 1, t1 - 1) for _ in range(n) if t1 - t0 > 2):
                cell = r.choice([c for c in cells if c != cell])
                out.append((t, cell))
    return out


def _off(scn: Scenario, late_start: bool, r: random.Random) -> list[tuple[int, int]]:
    """Intervals the phone is switched off (before its first power-on, nights, days, end)."""
    b, op = scn.behaviour, scn.city.operator
    out = [] if late_start else [(scn.start, scn.start + r.randint(1, max(60, b.power_on_within)))]
    for d in range(scn.days + 1):
        m = scn.first_midnight + d * 86400
        if r.random() < op.night_off_share:
            out.append((m - r.randint(0, 5400), m + r.randint(23400, 28800)))
        if r.random() < op.off_share:
            out.append((m + r.randint(25200, 32400), m + r.randint(75600, 82800)))
    if b.at_end == "switch-off":
        out.append((scn.end - r.randint(*b.end_off_seconds), scn.end))
    return out


def _steps(scn: Scenario, segs: list, cells: list, late_start: bool, r: random.Random
           ) -> tuple[Step, ...]:
    """Power-on, cell changes and power-off of one device, on whole seconds off bin
    boundaries, at least MIN_GAP apart."""
    off = _off(scn, late_start, r)

    def is_on(t: int) -> bool:
        return not any(a <= t < b for a, b in off)

    events = sorted({t for t, _ in cells} | {t for iv in off for t in iv})
    raw: list[tuple[int, CellSpec | None]] = []
    j, cell = 0, None
    for t in events:
        while j < len(cells) and cells[j][0] <= t:
            cell = cells[j][1]
            j += 1
        raw.append((t, cell if is_on(t) else None))
    steps: list[Step] = []
    for t, c in raw:
        if t >= scn.end or (not steps and c is None) or (steps and steps[-1].cell == c):
            continue
        t += 1 if t % scn.bin_seconds == 0 else 0
        if steps and t - steps[-1].t < MIN_GAP:
            t = steps[-1].t + MIN_GAP + (1 if (steps[-1].t + MIN_GAP) % scn.bin_seconds == 0
                                         else 0)
        if t < scn.end - MIN_GAP:
            steps.append(Step(t, c))
    return tuple(steps)


def event_windows(sched: Schedule, i: int) -> list[tuple[int, int]]:
    """Person i's [start, end) at events (slot 2 of each day), in time order."""
    return sorted((int(d.start[i, 2]), int(d.end[i, 2])) for d in sched.days
                  if d.end[i, 2] > d.start[i, 2])


def rate_pieces(scn: Scenario, lo: int, hi: int, events: list[tuple[int, int]]
                ) -> list[tuple[int, int, float]]:
    """[lo, hi) cut into (start, end, data sessions per hour): the awake rate 07:00-23:00
    local, the night rate outside, the event rate at events; pieces of rate 0 left out and
    neighbours of one rate merged (with the defaults: the awake hours, as before)."""
    b = scn.behaviour
    ev_rate = b.data_sessions_per_hour if b.event_sessions_per_hour is None \
        else b.event_sessions_per_hour
    cuts = {lo, hi}
    for d in range(-1, scn.days + 1):
        m = scn.first_midnight + d * 86400
        cuts |= {m + AWAKE[0], m + AWAKE[1]}
    for a, z in events:
        cuts |= {a, z}
    points = sorted(c for c in cuts if lo <= c <= hi)
    out: list[tuple[int, int, float]] = []
    for a, z in zip(points, points[1:], strict=False):
        if any(ea <= a < ez for ea, ez in events):
            rate = ev_rate
        elif AWAKE[0] <= (a - scn.first_midnight) % 86400 < AWAKE[1]:
            rate = b.data_sessions_per_hour
        else:
            rate = b.night_sessions_per_hour
        if rate <= 0:
            continue
        if out and out[-1][1] == a and out[-1][2] == rate:
            out[-1] = (out[-1][0], z, rate)
        else:
            out.append((a, z, rate))
    return out


def _pieces(scn: Scenario, lo: int, hi: int, events: list[tuple[int, int]]
            ) -> list[tuple[int, int, float]]:
    """`rate_pieces`, or with one rate all day long the awake window of every day (empty
    ones too: the random draws of scenarios without event or night rates stay as they
    were)."""
    b = scn.behaviour
    if b.event_sessions_per_hour is not None or b.night_sessions_per_hour > 0:
        return rate_pieces(scn, lo, hi, events)
    days = (scn.first_midnight + d * 86400 for d in range(scn.days))
    return [(max(lo, m + AWAKE[0]), min(hi, m + AWAKE[1]), b.data_sessions_per_hour)
            for m in days]


def _sessions(scn: Scenario, steps: tuple[Step, ...], r: random.Random,
              events: list[tuple[int, int]] | None = None) -> tuple[Session, ...]:
    """Data sessions while on, at the rate of the hour and activity (`rate_pieces`)."""
    b = scn.behaviour
    taken = sorted(s.t for s in steps)
    out = []
    for s, nxt in zip(steps, (*steps[1:], None), strict=False):
        if s.cell is None:
            continue
        stop = nxt.t if nxt is not None else scn.end
        for lo, hi, rate in _pieces(scn, s.t, stop, events or []):
            for _ in range(poisson(r, rate * max(0, hi - lo) / 3600)):
                t = _free(r, lo + SESSION_GAP, hi - SESSION_GAP, taken, SESSION_GAP,
                          scn.bin_seconds)
                if t is not None:
                    bisect.insort(taken, t)
                    out.append(Session(t, r.randint(*b.session_seconds),
                                       r.random() < b.mobile_terminated_share))
    return tuple(sorted(out, key=lambda x: x.t))
