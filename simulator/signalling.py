"""Phone timelines → the S1AP messages the network exchanges, in time order.

A discrete-event run over all phones at once, so that S1AP UE ids and
M-TMSIs are allocated in time order as a real MME and eNBs would.  The
network sees every change of cell at the instant it happens:

| phone does        | idle                                    | connected                 |
|-------------------|-----------------------------------------|---------------------------|
| power-on          | Attach (IMSI first, then the last GUTI) | –                         |
| arrives on (a domestic visitor) | TAU (active flag) with another MME's GUTI and TA, new GUTI | – |
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
from collections.abc import Iterator

from simulator.mobility import PhoneTimeline, Session, Step
from simulator.population import rng
from simulator.procedures import UE, Core, Message, below
from simulator.progress import Progress
from simulator.scenario import Scenario
from simulator.templates import Templates
from simulator.watchdog import Watchdog

US = 1_000_000
_ATTACH_HOLD = (3, 10)     # seconds connected after an attach
_MOVE_SESSION = (5, 30)    # seconds of the data session a Service Request on a move opens
_YIELD = 3 * US            # a timer this close to the next action gives way to it
_HOUR = 3600 * US
_LAG = 60 * US             # no message is said this long before the event that causes it


class _Run:
    """One run: the agenda (a heap), the UEs and their timer generations."""

    __slots__ = ("core", "r", "agenda", "ues", "upcoming", "gen", "release_at", "seq",
                 "arriving", "watchdog", "end")

    def __init__(self, scn: Scenario, seed: int, templates: Templates | None = None) -> None:
        self.r = rng(seed, "signalling")
        self.core = Core(scn, self.r, rng(seed, "core-peers"), templates)
        self.agenda: list = []
        self.ues: list[UE] = []
        self.upcoming: list[deque[int]] = []
        self.gen: list[int] = []  # bumped whenever a UE's pending timers become stale
        self.release_at: list[int] = []  # when the current connection goes idle
        self.seq = itertools.count()
        self.arriving: set[int] = set()  # UEs whose first power-on is an arrival on
        # the S6a device watchdog (its own random stream: the other draws are unchanged)
        self.watchdog = (Watchdog(self.core, rng(seed, "watchdog"))
                         if scn.network.core_signalling else None)
        self.end = 0  # µs: the end of the run (`chunks`)

    def push(self, t: int, ue: int, what: object) -> None:
        heapq.heappush(self.agenda, (t, next(self.seq), ue, what))

    def add(self, timeline: PhoneTimeline) -> None:
        i = len(self.ues)
        self.ues.append(UE(i, timeline.person.phone))
        self.gen.append(0)
        self.release_at.append(0)
        if timeline.arrives:
            self.arriving.add(i)
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

    def run(self, end: int, progress: Progress | None = None, start: int = 0
            ) -> list[Message]:
        """Every message up to `end` (µs) sorted by time (see `chunks`)."""
        return [m for chunk in self.chunks(end, progress, start) for m in chunk]

    def chunks(self, end: int, progress: Progress | None = None, start: int = 0
               ) -> Iterator[list[Message]]:
        """Process the agenda up to `end` (µs); timers of phones still on stop there.  Yields
        the messages an hour at a time (after `start`, µs), each list sorted by time (stable:
        emission order kept) and before the next: a procedure never says anything earlier
        than `_LAG` before the event that starts it, so the messages older than the current
        event less `_LAG` are final.  `progress` advances by one step per simulated hour."""
        tick, self.end = start + _HOUR, end
        while self.agenda and self.agenda[0][0] < end:
            if self.agenda[0][0] >= tick:
                while self.agenda[0][0] >= tick:
                    if progress is not None:
                        progress.advance()
                    tick += _HOUR
                yield self._flush(self.agenda[0][0] - _LAG)
            t, _, i, what = heapq.heappop(self.agenda)
            if isinstance(what, tuple):
                self.on_timer(t, i, *what)
                continue
            self.upcoming[i].popleft()
            if isinstance(what, Step):
                self.on_step(t, i, what)
            else:
                self.on_session(t, i, what)
        yield self._flush(None)

    def _flush(self, before: int | None) -> list[Message]:
        """The messages said so far before `before` µs (all with None), sorted, taken out."""
        out = self.core.out
        if before is None:
            ready, self.core.out = out, []
        else:
            ready = [m for m in out if m.t_us < before]
            self.core.out = [m for m in out if m.t_us >= before]
        ready.sort(key=lambda m: m.t_us)
        if self.watchdog is not None:
            ready = self.watchdog.fill(ready, self.end if before is None else before)
        return ready

    def on_step(self, t: int, i: int, step: Step) -> None:
        ue, core = self.ues[i], self.core
        if step.cell is None:
            if ue.registered:
                core.detach(t, ue)
                self.gen[i] += 1  # no timer survives a power-off
            return
        if not ue.registered and i in self.arriving:
            self.arriving.discard(i)
            ue.cell = step.cell
            end, connected = core.arrive(t, ue, *core.foreign_guti())
            if connected:
                self.timer(end + self.r.randint(*_ATTACH_HOLD) * US, i, "release")
            else:
                self.timer(end + core.periodic(ue) * US, i, "periodic")
        elif not ue.registered:
            self.arriving.discard(i)
            ue.cell = step.cell
            end = core.attach(t, ue)
            self.timer(end + self.r.randint(*_ATTACH_HOLD) * US, i, "release")
        elif ue.connected:
            end = core.handover(t, ue, step.cell)
            if not ue.connected:  # released into the other RAT: idle there
                self.timer(end + core.periodic(ue) * US, i, "periodic")
        elif step.cell.tac != ue.reg_tac:
            ue.cell = step.cell
            end = core.tau(t, ue, periodic=False)
            self.timer(end + core.periodic(ue) * US, i, "periodic")
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
            self.timer(end + core.periodic(ue) * US, i, "periodic")
        elif kind == "periodic" and not ue.connected and not near:
            end = core.tau(t, ue, periodic=True)
            self.timer(end + core.periodic(ue) * US, i, "periodic")


def hours(scn: Scenario) -> int:
    """The simulated hours of a run (the steps of its progress)."""
    return -(-(scn.end - scn.start) // 3600)


def simulate(scn: Scenario, timelines: tuple[PhoneTimeline, ...], seed: int,
             templates: Templates | None = None, progress: Progress | None = None
             ) -> list[Message]:
    """Every message of the scenario (S1 Setup of each eNB first), sorted by time; encoded
    with `templates` (default: a new `Templates`, on unless CELLCENSUS_TEMPLATES=off);
    `progress` advances by simulated hour (`hours(scn)` steps)."""
    return [m for chunk in stream(scn, timelines, seed, templates, progress) for m in chunk]


def stream(scn: Scenario, timelines: tuple[PhoneTimeline, ...], seed: int,
           templates: Templates | None = None, progress: Progress | None = None
           ) -> Iterator[list[Message]]:
    """The messages of `simulate`, in the same order, about an hour at a time: memory holds
    an hour of messages, not the run's."""
    run = _Run(scn, seed, templates)
    run.core.s1_setup(scn.start * US)
    for tl in timelines:
        run.add(tl)
    # no procedure left running past the end
    yield from run.chunks(scn.end * US - US, progress, scn.start * US)
