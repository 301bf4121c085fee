"""Phone timelines → the S1AP messages the network exchanges, in time order.

A discrete-event run over all phones at once, so that S1AP UE ids and
M-TMSIs are allocated in time order as a real MME and eNBs would.  The
network sees every change of cell at the instant it happens:

| phone does        | idle                                    | connected                 |
|-------------------|-----------------------------------------|---------------------------|
| power-on          | Attach (IMSI first, then the last GUTI) | –                         |
| moves, same TA    | Service Request (a short data session)  | Location Report (same eNB) or X2 Path Switch |
| moves, new TA     | TAU Request, new GUTI, release          | handover, then TAU in the connection |
| data session      | Service Request (after Paging if MT)    | connection kept longer    |
| power-off         | Detach Request (switch off) in a new connection | Detach Request in the connection |

Timers: the connection is released after inactivity (UE Context Release
Request); T3412 runs while idle and fires a periodic TAU in the current
cell.  A timer about to fire just before the phone's next action yields
to that action, which opens a connection anyway.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque

from simulator.mobility import PhoneTimeline, Session, Step
from simulator.population import rng
from simulator.procedures import UE, Core, Message, below
from simulator.scenario import Scenario
from simulator.templates import Templates

US = 1_000_000
_ATTACH_HOLD = (3, 10)     # seconds connected after an attach
_MOVE_SESSION = (5, 30)    # seconds of the data session a Service Request on a move opens
_YIELD = 3 * US            # a timer this close to the next action gives way to it


class _Run:
    """One run: the agenda (a heap), the UEs and their timer generations."""

    __slots__ = ("core", "r", "agenda", "ues", "upcoming", "gen", "release_at", "seq")

    def __init__(self, scn: Scenario, seed: int, templates: Templates | None = None) -> None:
        self.r = rng(seed, "signalling")
        self.core = Core(scn, self.r, rng(seed, "core-peers"), templates)
        self.agenda: list = []
        self.ues: list[UE] = []
        self.upcoming: list[deque[int]] = []
        self.gen: list[int] = []  # bumped whenever a UE's pending timers become stale
        self.release_at: list[int] = []  # when the current connection goes idle
        self.seq = itertools.count()

    def push(self, t: int, ue: int, what: object) -> None:
        heapq.heappush(self.agenda, (t, next(self.seq), ue, what))

    def add(self, timeline: PhoneTimeline) -> None:
        i = len(self.ues)
        self.ues.append(UE(i, timeline.person.phone))
        self.gen.append(0)
        self.release_at.append(0)
        items = sorted([*timeline.steps, *timeline.sessions], key=lambda x: x.t)
        self.upcoming.append(deque(x.t * US for x in items))
        for x in items:
            self.push(x.t * US, i, x)

    def timer(self, t: int, i: int, kind: str) -> None:
        """Arm the UE's one timer (release while connected, periodic TAU while idle)."""
        t += below(self.r, US)  # timers fire at any microsecond, not on whole seconds
        self.gen[i] += 1
        if kind == "release":
            self.release_at[i] = t
        self.push(t, i, (kind, self.gen[i]))

    def run(self, end: int) -> list[Message]:
        """Process the agenda up to `end` (µs); timers of phones still on stop there."""
        while self.agenda and self.agenda[0][0] < end:
            t, _, i, what = heapq.heappop(self.agenda)
            if isinstance(what, tuple):
                self.on_timer(t, i, *what)
                continue
            self.upcoming[i].popleft()
            if isinstance(what, Step):
                self.on_step(t, i, what)
            else:
                self.on_session(t, i, what)
        return sorted(self.core.out, key=lambda m: m.t_us)  # stable: emission order kept

    def on_step(self, t: int, i: int, step: Step) -> None:
        ue, core = self.ues[i], self.core
        if step.cell is None:
            if ue.registered:
                core.detach(t, ue)
                self.gen[i] += 1  # no timer survives a power-off
            return
        if not ue.registered:
            ue.cell = step.cell
            end = core.attach(t, ue)
            self.timer(end + self.r.randint(*_ATTACH_HOLD) * US, i, "release")
        elif ue.connected:
            core.handover(t, ue, step.cell)
        elif step.cell.tac != ue.reg_tac:
            ue.cell = step.cell
            end = core.tau(t, ue, periodic=False)
            self.timer(end + core.scn.network.t3412 * US, i, "periodic")
        else:
            ue.cell = step.cell
            end = core.service(t, ue, paged=False)
            self.timer(end + self.r.randint(*_MOVE_SESSION) * US, i, "release")

    def on_session(self, t: int, i: int, s: Session) -> None:
        ue = self.ues[i]
        if not ue.registered:
            return
        if ue.connected:  # the connection lasts until the longer of the two sessions ends
            self.timer(max(self.release_at[i], t + s.seconds * US), i, "release")
        else:
            end = self.core.service(t, ue, paged=s.mobile_terminated)
            self.timer(end + s.seconds * US, i, "release")

    def on_timer(self, t: int, i: int, kind: str, gen: int) -> None:
        ue, core = self.ues[i], self.core
        if gen != self.gen[i] or not ue.registered:
            return
        nxt = self.upcoming[i][0] if self.upcoming[i] else None
        near = nxt is not None and nxt - t < _YIELD
        if kind == "release" and ue.connected:
            if near:  # stay connected through the next action
                self.timer(nxt + self.r.randint(*_ATTACH_HOLD) * US, i, "release")
                return
            end = core.release(t, ue, ("radioNetwork", "user-inactivity"))
            self.timer(end + core.scn.network.t3412 * US, i, "periodic")
        elif kind == "periodic" and not ue.connected and not near:
            end = core.tau(t, ue, periodic=True)
            self.timer(end + core.scn.network.t3412 * US, i, "periodic")


def simulate(scn: Scenario, timelines: tuple[PhoneTimeline, ...], seed: int,
             templates: Templates | None = None) -> list[Message]:
    """Every message of the scenario (S1 Setup of each eNB first), sorted by time; encoded
    with `templates` (default: a new `Templates`, on unless CELLCENSUS_TEMPLATES=off)."""
    run = _Run(scn, seed, templates)
    run.core.s1_setup(scn.start * US)
    for tl in timelines:
        run.add(tl)
    return run.run(scn.end * US - US)  # no procedure left running past the end
