"""Phone timelines → the S1AP messages the network exchanges, in time order.

A discrete-event run over all phones at once, so that S1AP UE ids and
M-TMSIs are allocated in time order as a real MME and eNBs would:

| phone does        | idle                                    | connected                 |
|-------------------|-----------------------------------------|---------------------------|
| power-on          | Attach (IMSI first, then the last GUTI) | –                         |
| arrives on (a domestic visitor) | TAU (active flag) with another MME's GUTI and TA, new GUTI | – |
| moves, same TA    | nothing: cell reselection (TS 36.304 §5.2.4, 38.304 §5.2.4) | Location Report (same eNB) or X2 Path Switch |
| moves, new TA (or other RAT) | TAU Request, new GUTI, release | handover, then TAU in the connection |
| data session      | Service Request (after Paging if MT)    | connection kept longer    |
| power-off         | Detach Request (switch off) in a new connection | Detach Request in the connection |

An idle phone's moves within its tracking area are silent: the network learns the cell it
camps on from its next procedure, which starts in that cell.  What the network can see of
each phone (`visible`) is recorded when the run is given a `VisibleSteps`.

Timers: the connection is released after inactivity (UE Context Release
Request); T3412 runs while idle and fires a periodic TAU in the current
cell.  A timer about to fire just before the phone's next procedure yields
to it, which opens a connection anyway (a silent move is not one).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator

from simulator.mobility import PhoneTimeline, Session, Step
from simulator.population import rng
from simulator.procedures import UE, Core, Message, below
from simulator.progress import Progress
from simulator.scenario import Scenario
from simulator.shards import ONE, Shard
from simulator.templates import Templates
from simulator.visible import Steps, VisibleSteps
from simulator.watchdog import Watchdog

US = 1_000_000
_ATTACH_HOLD = (3, 10)     # seconds connected after an attach
_YIELD = 3 * US            # a timer this close to the next action gives way to it
_HOUR = 3600 * US
_CHUNK = 600 * US          # messages are handed on ten simulated minutes at a time
_LAG = 60 * US             # no message is said this long before the event that causes it


class _Run:
    """One run: the agenda (a heap), the UEs and their timer generations."""

    __slots__ = ("core", "r", "agenda", "ues", "plans", "pos", "first", "items", "gen",
                 "release_at", "seq",
                 "arriving", "watchdog", "end")

    def __init__(self, scn: Scenario, seed: int, templates: Templates | None = None,
                 shard: Shard = ONE, watchdog: bool = True,
                 seen: VisibleSteps | None = None) -> None:
        """`shard`: the identifiers this run allocates and its random streams (one run of
        a split: `shards`); `watchdog`: add the S6a watchdog's messages (a split run's
        parent does, over the merged messages); `seen`: where the network-visible steps
        go (by the UE's index in this run)."""
        names = () if shard == ONE else (shard.k, shard.stride)
        self.r = rng(seed, "signalling", *names)
        self.core = Core(scn, self.r, rng(seed, "core-peers", *names), templates, shard, seen)
        self.agenda: list = []
        self.ues: list[UE] = []
        # each UE's steps and sessions in time order, the next one's index, the place of its
        # first in the run's order of all of them (ties at one instant: the order they were
        # added in, then timers in the order they were set); only the next one of each UE
        # is on the agenda, so the heap holds about two entries per UE, not the whole day
        self.plans: list[list[Step | Session]] = []
        self.pos: list[int] = []
        self.first: list[int] = []
        self.items = 0
        self.gen: list[int] = []  # bumped whenever a UE's pending timers become stale
        self.release_at: list[int] = []  # when the current connection goes idle
        self.seq: Iterator[int] | None = None  # timers' tie-breaks, after every item's
        self.arriving: set[int] = set()  # UEs whose first power-on is an arrival on
        # the S6a device watchdog (its own random stream: the other draws are unchanged)
        self.watchdog = (Watchdog(self.core.peers, rng(seed, "watchdog"))
                         if scn.network.core_signalling and watchdog else None)
        self.end = 0  # µs: the end of the run (`chunks`)

    def push(self, t: int, ue: int, what: object) -> None:
        heapq.heappush(self.agenda, (t, next(self.seq), ue, what))

    def _next_item(self, i: int) -> None:
        """Put UE `i`'s next step or session on the agenda (if it has one left)."""
        k, plan = self.pos[i], self.plans[i]
        if k < len(plan):
            x = plan[k]
            heapq.heappush(self.agenda, (x.t * US, self.first[i] + k, i, x))

    def add(self, timeline: PhoneTimeline) -> None:
        i = len(self.ues)
        self.ues.append(UE(i, timeline.person.phone))
        self.gen.append(0)
        self.release_at.append(0)
        if timeline.arrives:
            self.arriving.add(i)
        self.plans.append(sorted([*timeline.steps, *timeline.sessions], key=lambda x: x.t))
        self.pos.append(0)
        self.first.append(self.items)
        self.items += len(self.plans[i])
        self._next_item(i)

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
        """The messages of `periods`, with the watchdog's; `progress` advances by one step
        per simulated hour."""
        for until, ready, hour in self.periods(end, start):
            if self.watchdog is not None:
                ready = self.watchdog.fill(ready, until)
            if hour and progress is not None:
                progress.advance()
            yield ready

    def periods(self, end: int, start: int = 0) -> Iterator[tuple[int, list[Message], bool]]:
        """Process the agenda up to `end` (µs); timers of phones still on stop there.  Yields
        the messages ten simulated minutes at a time (`_CHUNK` after `start`, µs) as
        (until, messages, an hour ended): the same number of periods for any phones, the
        messages (maybe none) sorted by time (stable: emission order kept), every message
        before `until` said and none of a later period before it.  A procedure never says
        anything earlier than `_LAG` before the event that starts it, so when the next event
        is at or after a tick, the messages older than the tick less `_LAG` are final."""
        tick, self.end = start + _CHUNK, end
        if self.seq is None:  # every phone is added: timers come after every item at a tie
            self.seq = itertools.count(self.items)
        while self.agenda and self.agenda[0][0] < end:
            while self.agenda[0][0] >= tick:
                yield self._period(tick, start)
                tick += _CHUNK
            t, _, i, what = heapq.heappop(self.agenda)
            if isinstance(what, tuple):
                self.on_timer(t, i, *what)
                continue
            self.pos[i] += 1
            self._next_item(i)
            if isinstance(what, Step):
                self.on_step(t, i, what)
            else:
                self.on_session(t, i, what)
        while tick < end:
            yield self._period(tick, start)
            tick += _CHUNK
        yield end, self._flush(None), False

    def _period(self, tick: int, start: int) -> tuple[int, list[Message], bool]:
        """The period ending at `tick` (µs): final up to `tick` less `_LAG`."""
        return tick - _LAG, self._flush(tick - _LAG), (tick - start) % _HOUR == 0

    def _flush(self, before: int | None) -> list[Message]:
        """The messages said so far before `before` µs (all with None), sorted, taken out."""
        out = self.core.out
        if before is None:
            ready, self.core.out = out, []
        else:
            ready = [m for m in out if m.t_us < before]
            self.core.out = [m for m in out if m.t_us >= before]
        ready.sort(key=lambda m: m.t_us)
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
        elif _silent(ue, step):  # idle reselection: the pending periodic timer runs on
            ue.cell = step.cell
        else:  # a new TA, or the other RAT (an inter-system change registers there)
            ue.cell = step.cell
            end = core.tau(t, ue, periodic=False)
            self.timer(end + core.periodic(ue) * US, i, "periodic")

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
        k, plan = self.pos[i], self.plans[i]
        item = plan[k] if k < len(plan) else None
        nxt = item.t * US if item is not None else None
        # the next item starts a procedure within _YIELD (an idle silent move does not)
        near = nxt is not None and nxt - t < _YIELD and (
            ue.connected or not isinstance(item, Step) or not _silent(ue, item))
        if kind == "release" and ue.connected:
            if near:  # stay connected through the next action
                self.timer(nxt + self.r.randint(*_ATTACH_HOLD) * US, i, "release")
                return
            end = core.release(t, ue, ("radioNetwork", "user-inactivity"))
            self.timer(end + core.periodic(ue) * US, i, "periodic")
        elif kind == "periodic" and not ue.connected and not near:
            end = core.tau(t, ue, periodic=True)
            self.timer(end + core.periodic(ue) * US, i, "periodic")


def _silent(ue: UE, step: Step) -> bool:
    """An idle registered phone's move that the network does not see: to a cell of the
    same RAT in the tracking area it is registered in."""
    return (step.cell is not None and step.cell.tac == ue.reg_tac
            and step.cell.rat == ue.cell.rat)


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
           templates: Templates | None = None, progress: Progress | None = None,
           workers: int = 1, seen: VisibleSteps | None = None) -> Iterator[list[Message]]:
    """The messages of `simulate`, in the same order, ten simulated minutes at a time:
    memory holds that much of them, not the run's.  `workers` > 1: the phones are split
    over that many processes (`split`; another capture, as deterministic).  `seen`, when
    given, holds every phone's network-visible steps (by its index in `timelines`) once the
    stream is exhausted."""
    if workers > 1:
        from simulator import split

        yield from split.stream(scn, timelines, seed, workers, templates, progress, seen)
        return
    run = _prepared(scn, timelines, seed, templates, ONE, watchdog=True, seen=seen)
    # no procedure left running past the end
    yield from run.chunks(scn.end * US - US, progress, scn.start * US)


def visible(scn: Scenario, timelines: tuple[PhoneTimeline, ...], seed: int, workers: int = 1
            ) -> list[Steps]:
    """Each phone's network-visible steps in the run of `stream` with these arguments (the
    run made again, its messages dropped): what `simulator generate` counts in the truth's
    operator sections."""
    seen = VisibleSteps()
    for _chunk in stream(scn, timelines, seed, workers=workers, seen=seen):
        pass
    return list(seen.per_phone(scn, len(timelines)))


def run_shard(scn: Scenario, timelines: tuple[PhoneTimeline, ...], seed: int, shard: Shard,
              templates: Templates | None = None, seen: VisibleSteps | None = None
              ) -> Iterator[tuple[int, list[Message], bool]]:
    """The periods (`_Run.periods`) of one shard of a split run, without the watchdog (the
    parent adds it over the merged messages); shard 0 sets the eNBs up.  `seen`: as
    `stream`'s, by the UE's index in this shard."""
    run = _prepared(scn, timelines, seed, templates, shard, watchdog=False, seen=seen)
    yield from run.periods(scn.end * US - US, scn.start * US)


def _prepared(scn: Scenario, timelines: tuple[PhoneTimeline, ...], seed: int,
              templates: Templates | None, shard: Shard, watchdog: bool,
              seen: VisibleSteps | None) -> _Run:
    """A run of `timelines` ready to start: the eNBs set up by the first (or only) shard."""
    run = _Run(scn, seed, templates, shard, watchdog, seen)
    if shard.k == 0:
        run.core.s1_setup(scn.start * US)
    for tl in timelines:
        run.add(tl)
    return run
