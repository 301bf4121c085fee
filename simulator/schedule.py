"""Daily schedules of everyone, as numpy arrays of slots (DESIGN.md, "Simulator").

Each local day holds, per person, three slots `[start, end)` in a zone: 0 the day's
activity (work for commuters, a leisure trip, a visitor's first part of the visit),
1 the evening (or a visitor's second part), 2 an event.  Outside its slots a person is
at their lodging (home, or a visitor's hotel zone) while in the city
(`arrive <= t < leave`) and nowhere otherwise.  Slots of one person never overlap and
never cross local midnight, so the zone of everyone at an instant is a handful of
vectorised comparisons (`Schedule.zone_at`).

Dwell times: work 6-10 h, leisure and evenings 30 min to 3 h, events 30 min to 4 h,
visitors' visits split in two stays; day trippers who attend an event leave right after
it.  Events draw `attendance` distinct persons a day: `resident_share` of them residents,
the rest visitors present that evening; from the event's second day on,
`returning_share` of them attended an earlier day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.agents import RESIDENT, Agents, generator, pick, uniform_hours
from simulator.scenario import Scenario

SLOTS = 3
_GAP = 300  # seconds between a slot and the event that cuts it


@dataclass(frozen=True, slots=True)
class Day:
    """Slots of one local day: start/end (int64 POSIX seconds, equal when unused), zone."""

    midnight: int
    start: np.ndarray  # (people, SLOTS)
    end: np.ndarray
    zone: np.ndarray


@dataclass(frozen=True, slots=True)
class Schedule:
    """Everyone's days; `leave` is the agents' departure after events were placed."""

    agents: Agents
    leave: np.ndarray
    days: tuple[Day, ...]
    attendees: tuple[tuple[int, int, np.ndarray], ...]  # (event index, day, person indices)

    def zone_at(self, t: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Zone index of persons lo..hi at instant `t` (-1: not in the city)."""
        a = self.agents
        inside = (a.arrive[lo:hi] <= t) & (t < self.leave[lo:hi])
        zone = np.where(inside, a.lodging[lo:hi], -1).astype(np.int16)
        d = (t - self.days[0].midnight) // 86400
        if 0 <= d < len(self.days):
            day = self.days[d]
            for k in range(SLOTS):
                on = (day.start[lo:hi, k] <= t) & (t < day.end[lo:hi, k])
                zone = np.where(on, day.zone[lo:hi, k], zone)
        return zone


def plan(scn: Scenario, agents: Agents, seed: int) -> Schedule:
    """Slots of every person for every local day of the scenario, deterministic for `seed`."""
    leave = agents.leave.copy()
    days, attendees = [], []
    ever = np.zeros(len(agents), bool)  # attended an event on an earlier day
    for d in range(scn.days):
        midnight = scn.first_midnight + d * 86400
        day = _day(scn, agents, leave, midnight, generator(seed, "day", d))
        today = np.zeros(len(agents), bool)
        for e, ev in enumerate(scn.city.events):
            if d + 1 in ev.days:
                who = _attend(scn, agents, leave, day, e, ever, today,
                              generator(seed, "event", e, d))
                attendees.append((e, d, who))
        ever |= today
        days.append(day)
    return Schedule(agents, leave, tuple(days), tuple(attendees))


def _day(scn: Scenario, a: Agents, leave: np.ndarray, midnight: int, r: np.random.Generator
         ) -> Day:
    n, daily = len(a), scn.city.daily
    attraction = [scn.city.attraction[z.id] for z in scn.zones]
    start = np.zeros((n, SLOTS), np.int64)
    end = np.zeros((n, SLOTS), np.int64)
    zone = np.full((n, SLOTS), -1, np.int16)
    leisure = pick(r, 2 * n, attraction).reshape(n, 2)
    res = a.kind == RESIDENT
    # residents: work or a leisure trip by day, sometimes an evening out
    commuter = res & (a.work >= 0)
    out = res & ~commuter & (r.random(n) < daily.leisure_share)
    s0 = np.where(commuter, midnight + uniform_hours(r, n, daily.work_start),
                  midnight + uniform_hours(r, n, (9.5, 16)))
    e0 = s0 + np.where(commuter, uniform_hours(r, n, daily.work_hours),
                       _minutes(r, n, daily.leisure_minutes))
    day_slot = commuter | out
    start[:, 0] = np.where(day_slot, s0, 0)
    end[:, 0] = np.where(day_slot, e0, 0)
    zone[:, 0] = np.where(commuter, a.work, leisure[:, 0])
    evening = res & (r.random(n) < daily.evening_share)
    s1 = np.maximum(midnight + uniform_hours(r, n, (18, 21.5)), end[:, 0] + 600)
    e1 = np.minimum(s1 + _minutes(r, n, daily.evening_minutes), midnight + 85500)
    evening &= e1 - s1 >= 900
    start[:, 1], end[:, 1] = np.where(evening, s1, 0), np.where(evening, e1, 0)
    zone[:, 1] = leisure[:, 1]
    # visitors present today: the visit split in two stays
    vis = ~res & (a.arrive < midnight + 86400) & (leave > midnight)
    lodger = a.lodging >= 0
    w0 = np.where(lodger, np.maximum(a.arrive, midnight + uniform_hours(r, n, (8, 10))),
                  a.arrive)
    w1 = np.where(lodger, np.minimum(leave, midnight + uniform_hours(r, n, (19, 23.5))), leave)
    vis &= w1 - w0 >= 1200
    mid = w0 + ((w1 - w0) * r.uniform(0.3, 0.7, n)).astype(np.int64)
    start[vis, 0], end[vis, 0] = w0[vis], mid[vis]
    start[vis, 1], end[vis, 1] = mid[vis], w1[vis]
    zone[vis, 0] = leisure[vis, 0]
    return Day(midnight, start, end, zone)


def _minutes(r: np.random.Generator, n: int, span: tuple[int, int]) -> np.ndarray:
    return r.integers(span[0] * 60, span[1] * 60 + 1, n)


def _attend(scn: Scenario, a: Agents, leave: np.ndarray, day: Day, e: int, ever: np.ndarray,
            today: np.ndarray, r: np.random.Generator) -> np.ndarray:
    """Choose the event's attendees of this day and put the event in their slot 2."""
    ev = scn.city.events[e]
    e0, e1 = day.midnight + round(ev.hours[0] * 3600), day.midnight + round(ev.hours[1] * 3600)
    res = a.kind == RESIDENT
    free = ~today
    visitors = free & ~res & (a.arrive < e1 - 3600) & np.where(
        a.lodging >= 0, leave > e1 + 3600, a.arrive >= day.midnight)
    residents = free & res
    want = ev.attendance
    n_vis = min(round(want * (1 - ev.resident_share)), int(visitors.sum()))
    n_res = min(want - n_vis, int(residents.sum()))
    chosen: list[np.ndarray] = []
    returning = round(want * ev.returning_share) if ever.any() else 0
    if returning:
        back = np.flatnonzero(ever & (visitors | residents))
        back = r.choice(back, min(returning, len(back)), replace=False)
        chosen.append(back)
        n_vis -= min(n_vis, int((~res[back]).sum()))
        n_res = max(0, want - len(back) - n_vis)
    for pool, k in ((visitors & ~ever, n_vis), (residents & ~ever, n_res)):
        idx = np.flatnonzero(pool)
        chosen.append(r.choice(idx, min(k, len(idx)), replace=False))
    who = np.sort(np.concatenate(chosen)).astype(np.int64)
    today[who] = True
    _place(scn, a, leave, day, e0, e1, ev, who, r)
    return who


def _place(scn: Scenario, a: Agents, leave: np.ndarray, day: Day, e0: int, e1: int, ev,
           who: np.ndarray, r: np.random.Generator) -> None:
    n = len(who)
    venues = [scn.city.attraction[z] for z in ev.zones]
    zone_ids = [z.id for z in scn.zones]
    venue = np.asarray([zone_ids.index(z) for z in ev.zones], np.int16)[pick(r, n, venues)]
    stay = np.minimum(_minutes(r, n, ev.stay_minutes), e1 - e0)
    s2 = np.maximum(e0 + (r.random(n) * (e1 - e0 - stay)).astype(np.int64), a.arrive[who] + 600)
    e2 = np.maximum(np.minimum(s2 + stay, e1), s2 + 900)
    start, end = day.start[who], day.end[who]
    before = start < s2[:, None]
    end = np.where(before, np.minimum(end, s2[:, None] - _GAP), end)
    start = np.where(before, start, np.maximum(start, e2[:, None] + _GAP))
    used = end - start >= 600
    start, end = np.where(used, start, 0), np.where(used, end, 0)
    tripper = a.lodging[who] < 0
    # a day tripper's visit has no hole: arrival to the event, then home right after it
    mid = a.arrive[who] + ((s2 - a.arrive[who]) * r.uniform(0.3, 0.7, n)).astype(np.int64)
    start[tripper, :2] = np.stack([a.arrive[who], mid], axis=1)[tripper]
    end[tripper, :2] = np.stack([mid, s2], axis=1)[tripper]
    leave[who[tripper]] = e2[tripper]
    day.start[who, :2], day.end[who, :2] = start[:, :2], end[:, :2]
    day.start[who, 2], day.end[who, 2], day.zone[who, 2] = s2, e2, venue
