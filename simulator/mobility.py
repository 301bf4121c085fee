"""Where every person really is, and when their phone is on (the simulator's ground truth).

A `Track` is a person's cell over the whole scenario; a `PhoneTimeline`
is what their phone does: `Step`s (power-on, cell change, power-off as a
step to `None`) and data `Session`s.  All instants are whole seconds,
never on a bin boundary and at least `MIN_GAP` apart for one person, so
that every step is one distinct signalling procedure and the truth rule
has no ambiguous instant.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass

from simulator.population import Person, rng
from simulator.scenario import CellSpec, Scenario

MIN_GAP = 30        # seconds between two steps of one person
SESSION_GAP = 10    # seconds between a session start and any step or other session start


@dataclass(frozen=True, slots=True)
class Step:
    """From `t` on, the person (or phone) is in `cell`; None: the phone is switched off."""

    t: int
    cell: CellSpec | None


@dataclass(frozen=True, slots=True)
class Session:
    """A data session starting at `t` (paged first when mobile terminated)."""

    t: int
    seconds: int
    mobile_terminated: bool


@dataclass(frozen=True, slots=True)
class Track:
    """A person's cell over the scenario; `moves[0]` is at the scenario start.

    A quiet person stays put and leaves their phone idle (it only signals
    power-on, periodic TAUs and power-off).
    """

    person: Person
    moves: tuple[Step, ...]
    quiet: bool = False

    def cell_at(self, t: int) -> CellSpec:
        """The cell the person is in at time `t`."""
        i = bisect.bisect_right([m.t for m in self.moves], t) - 1
        return self.moves[max(i, 0)].cell


@dataclass(frozen=True, slots=True)
class PhoneTimeline:
    """What one operator phone does: steps (first one a power-on) and sessions.  `arrives`:
    the first step is the phone arriving already on from another region of the operator's
    network (a TAU from another MME), not a power-on."""

    person: Person
    steps: tuple[Step, ...]
    sessions: tuple[Session, ...]
    arrives: bool = False


def plan(scn: Scenario, people: tuple[Person, ...], seed: int
         ) -> tuple[tuple[Track, ...], tuple[PhoneTimeline, ...]]:
    """Tracks of everyone and timelines of the operator's phones, deterministic for `seed`.

    Shares of people (quiet, power cycle) are exact: the rounded share of the
    phone owners and of the others, drawn at random.
    """
    b, r = scn.behaviour, rng(seed, "choices")
    owners = [p.index for p in people if p.phone is not None]
    others = [p.index for p in people if p.phone is None]
    quiet = {*_share(r, owners, b.quiet_share), *_share(r, others, b.quiet_share)}
    cycling = set(_share(r, owners, b.power_cycle_share))
    tracks = tuple(_track(scn, p, p.index in quiet, rng(seed, "track", p.index)) for p in people)
    phones = tuple(_phone(scn, t, t.person.index in cycling, rng(seed, "phone", t.person.index))
                   for t in tracks if t.person.phone is not None)
    return tracks, phones


def _share(r: random.Random, indices: list[int], share: float) -> list[int]:
    return r.sample(indices, round(share * len(indices)))


def poisson(r: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth below 30, normal approximation above)."""
    if lam > 30:
        return max(0, round(r.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, r.random()
    while p > limit:
        k, p = k + 1, p * r.random()
    return k


def _free(r: random.Random, lo: int, hi: int, taken: list[int], gap: int, bin_s: int,
          tries: int = 200) -> int | None:
    """A whole second in [lo, hi], off bin boundaries, at least `gap` from `taken` (sorted)."""
    for _ in range(tries if hi >= lo else 0):
        t = r.randint(lo, hi)
        i = bisect.bisect_left(taken, t)
        if t % bin_s and (i == len(taken) or taken[i] - t >= gap) and (
                i == 0 or t - taken[i - 1] >= gap):
            return t
    return None


def _track(scn: Scenario, person: Person, quiet: bool, r: random.Random) -> Track:
    cells, zones = scn.cells, [z.id for z in scn.zones]
    cell = r.choice([c for c in cells if c.zone == person.home_zone])
    hours = (scn.end - scn.start) / 3600
    times: list[int] = []
    for _ in range(0 if quiet else poisson(r, scn.behaviour.moves_per_hour * hours)):
        t = _free(r, scn.start + MIN_GAP, scn.end - MIN_GAP, times, MIN_GAP, scn.bin_seconds)
        if t is not None:
            bisect.insort(times, t)
    moves = [Step(scn.start, cell)]
    for t in times:
        same_zone = [c for c in cells if c.zone == cell.zone and c != cell]
        if same_zone and (len(zones) == 1 or r.random() >= scn.behaviour.zone_change_share):
            cell = r.choice(same_zone)
        elif len(zones) > 1:
            zone = r.choice([z for z in zones if z != cell.zone])
            cell = r.choice([c for c in cells if c.zone == zone])
        else:
            continue  # a one-cell city: nowhere to go
        moves.append(Step(t, cell))
    return Track(person, tuple(moves), quiet)


def _power(scn: Scenario, track: Track, cycle: bool, r: random.Random
           ) -> list[tuple[int, int]]:
    """On intervals [on, off) of the phone; off == scn.end when it stays on."""
    b, bin_s = scn.behaviour, scn.bin_seconds
    taken = [m.t for m in track.moves[1:]]

    def pick(lo: int, hi: int) -> int | None:
        t = _free(r, lo, hi, taken, MIN_GAP, bin_s)
        if t is not None:
            bisect.insort(taken, t)
        return t

    on = pick(scn.start + 1, scn.start + max(60, b.power_on_within))
    if on is None:
        return []
    final = scn.end
    if b.at_end == "switch-off":
        final = pick(scn.end - b.end_off_seconds[1], scn.end - b.end_off_seconds[0]) or scn.end
    intervals = [(on, final)]
    if cycle:
        length = r.randint(*b.off_seconds)
        off = pick(on + 600, final - length - 600)
        back = pick(off + length, off + length + 300) if off is not None else None
        if off is not None and back is not None and back < final - MIN_GAP:
            intervals = [(on, off), (back, final)]
    return intervals


def _phone(scn: Scenario, track: Track, cycle: bool, r: random.Random) -> PhoneTimeline:
    steps: list[Step] = []
    for on, off in _power(scn, track, cycle, r):
        steps.append(Step(on, track.cell_at(on)))
        steps.extend(m for m in track.moves[1:] if on < m.t < off)
        if off < scn.end:
            steps.append(Step(off, None))
    sessions = () if track.quiet else _sessions(scn, steps, r)
    return PhoneTimeline(track.person, tuple(steps), sessions)


def _sessions(scn: Scenario, steps: list[Step], r: random.Random) -> tuple[Session, ...]:
    b = scn.behaviour
    taken = sorted(s.t for s in steps)
    out = []
    ons = [(s.t, n.t if n is not None else scn.end) for s, n in
           zip(steps, steps[1:] + [None], strict=True) if s.cell is not None]
    for on, off in ons:
        for _ in range(poisson(r, b.data_sessions_per_hour * (off - on) / 3600)):
            t = _free(r, on + SESSION_GAP, off - SESSION_GAP, taken, SESSION_GAP, scn.bin_seconds)
            if t is not None:
                bisect.insort(taken, t)
                out.append(Session(t, r.randint(*b.session_seconds),
                                   r.random() < b.mobile_terminated_share))
    return tuple(sorted(out, key=lambda s: s.t))
