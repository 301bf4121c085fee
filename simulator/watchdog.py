"""The Diameter device watchdog on S6a (RFC 6733 §5.5): when the MME has received nothing
on its connection to the HSS for Tw, it sends a Device-Watchdog-Request, which the HSS
answers; any message received restarts the timer.  Tw is 30 s by default, with a jitter of
± 2 s drawn for each timer (§5.5.3).  A busy network never sends one; a quiet night does,
twice a minute.

`Watchdog.fill(ready, until)` adds them to one chunk of a run's messages (time order):
a DWR goes out at the timer's expiry if no S6a message came before it and its answer
arrives before `until`, the time up to which the run's messages are final.
"""

from __future__ import annotations

import heapq
import random
from operator import attrgetter

from simulator.mme_peers import MMEPeers
from simulator.procedures import Message, below

US = 1_000_000
TW_US = 30 * US      # RFC 6733 §5.5.3: Tw defaults to 30 seconds ...
JITTER_US = 2 * US   # ... randomised by ±2 seconds
ANSWER_US = (2_000, 20_000)  # the HSS answers 2-20 ms later


class Watchdog:
    """The MME's watchdog timer over the S6a messages of a run, chunk after chunk."""

    __slots__ = ("_peers", "_r", "_due", "_answer", "sent")

    def __init__(self, peers: MMEPeers, r: random.Random) -> None:
        self._peers, self._r = peers, r  # `peers` numbers the DWRs
        self._due: int | None = None  # when the timer expires (None: no connection yet)
        self._answer = 0              # when the HSS's answer would arrive
        self.sent = 0                 # DWRs sent

    def fill(self, ready: list[Message], until: int) -> list[Message]:
        """`ready` (sorted by time, every message before `until` µs) with the watchdog's
        DWR/DWA pairs merged in."""
        added: list[Message] = []
        for m in ready:
            if m.link == "s6a":
                self._idle(m.t_us, added)
                self._restart(m.t_us)
        self._idle(until, added)
        if not added:
            return ready
        return list(heapq.merge(ready, added, key=attrgetter("t_us")))

    def _restart(self, t: int) -> None:
        self._due = t + TW_US - JITTER_US + below(self._r, 2 * JITTER_US + 1)
        self._answer = self._due + ANSWER_US[0] + below(self._r, ANSWER_US[1] - ANSWER_US[0])

    def _idle(self, t: int, added: list[Message]) -> None:
        """Expiries before `t` µs, the next message on the connection (or the horizon)."""
        while self._due is not None:
            answer = self._answer
            if answer >= t:
                return
            dwr, dwa = self._peers.watchdog()
            added.append(Message(self._due, 0, dwr.to_mme, 0, dwr.name, dwr.payload, dwr.link))
            added.append(Message(answer, 0, dwa.to_mme, 0, dwa.name, dwa.payload, dwa.link))
            self.sent += 1
            self._restart(answer)
