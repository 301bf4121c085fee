"""The edge pipeline: transport messages → decode → presence → tallies → sender.

One `EdgePipeline` per process (pycrate is not thread-safe).  `replay` drives
it from capture files merged by capture time and returns a summary.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import datasketches
import numpy as np

from collector.decode.stage import DecodeStage
from collector.edge import AnalyticsConfig, EdgeAnalytics
from collector.framing.messages import TransportMessage
from collector.m2m import ACTIVE, ACTIVE_NAS, BUILTIN_TACS, BY_PSM, BY_TAC
from collector.order import keyed_messages
from collector.presence import NightHold, PresenceState
from collector.tally import ZONE_KINDS, PresenceTally
from collector.telemetry import Counters
from collector.zones import ZoneMap
from wire.pseudonym import Pseudonymizer
from wire.tally import TallyBatch

# the summary's distinct devices: an HLL of lgK 14 (16 KiB, about 0.8 % relative error)
_DEVICES_LG_K = 14
# a pseudonym is the sketch item as a signed 64-bit integer (wire.pseudonym.as_signed64,
# written inline here: the hot path)
_2_63, _2_64 = 1 << 63, 1 << 64

log = logging.getLogger("collector")


@dataclass(frozen=True)
class EdgeConfig:
    """Parameters of the edge analytics (DESIGN.md defaults)."""

    collector_id: str
    epoch: int
    bin_seconds: int = 900
    timeout: float = 7200.0          # presence held after the last event by day ...
    timeout_night: float = 28800.0   # ... and at night (the night window of home detection)
    lateness: float = 60.0
    reference: str | None = None   # folder with cells.csv (zones); None: a zone per cell
    analytics: AnalyticsConfig = field(default_factory=AnalyticsConfig)
    m2m_tacs: frozenset = BUILTIN_TACS


class EdgePipeline:
    """Decodes messages, keeps presence state and yields closed-bin tally batches."""

    __slots__ = ("counters", "decode", "presence", "tally", "events", "devices", "edge",
                 "_tacs", "_pseudo", "key_skew")

    def __init__(self, cfg: EdgeConfig, pseudonymizer: Pseudonymizer, counters: Counters) -> None:
        self.counters = counters
        self.decode = DecodeStage(pseudonymizer, counters)
        self.tally = PresenceTally(cfg.collector_id, cfg.epoch, cfg.bin_seconds)
        self.presence = PresenceState(cfg.bin_seconds, cfg.timeout, cfg.lateness)
        self.edge = EdgeAnalytics(self.presence, self.tally, ZoneMap.from_reference(
            cfg.reference), cfg.analytics)
        a = cfg.analytics
        if cfg.timeout_night != cfg.timeout:
            self.presence.hold = NightHold(cfg.timeout, cfg.timeout_night, a.night_start,
                                           a.night_end, self.edge.offset)
        self._tacs = cfg.m2m_tacs
        # a collector.keyring.KeyRing rotates keys by capture time and carries devices over
        self._pseudo = pseudonymizer
        if hasattr(pseudonymizer, "carry"):
            pseudonymizer.carry = self.presence.carry
            if a.profiles is not None:  # profiles hashed with a destroyed key go with it
                pseudonymizer.on_destroy = self._drop_profiles
        # messages a worker pseudonymised in another key phase than this process's order
        # gives (capture times stepping back across a key change; see collector.workers)
        self.key_skew = 0
        self.events: Counter[str] = Counter()
        # distinct devices seen, for the summary: a sketch (bounded; no pseudonym kept)
        self.devices = datasketches.hll_sketch(_DEVICES_LG_K, datasketches.tgt_hll_type.HLL_8)

    def feed(self, frame: int, ts: float, msg: TransportMessage) -> list[TallyBatch]:
        """Process one transport message; return batches of bins it closed."""
        if ts >= self._pseudo.next_change:  # a key epoch starts or an overlap ends
            self.advance_keys(ts)
        return self.feed_facts(frame, ts, msg.proto, msg.assoc, msg.dst, self.decode.facts(msg))

    def advance_keys(self, ts: float) -> None:
        """Move the key ring to capture time `ts`; when no previous key is held any more,
        old pseudonyms are no longer redirected to new ones."""
        pseudo = self._pseudo
        pseudo.advance(ts)
        if not pseudo.overlapping:
            self.presence.moved.clear()

    def _drop_profiles(self, epoch: int) -> None:
        presence = self.presence
        used = np.frombuffer(presence._used, dtype=np.int8) == 1
        self.edge.profiles.drop(epoch, np.frombuffer(presence._key, dtype=np.uint64)[used])

    def feed_facts(self, frame: int, ts: float, proto: str, assoc, dst: bytes,
                   read, keys=None) -> list[TallyBatch]:
        """Process one message whose facts were read (here or by a worker process; None:
        dropped there); return batches of bins it closed.  `keys`: from a worker with a
        key ring, (its ring's phase, the (old, new) pairs it carried reading the message
        or None), applied here at the message's place in the order."""
        if keys is not None:
            self._worker_keys(ts, keys, read)
        events = () if read is None else self.decode.attribute(frame, ts, proto, assoc, dst, read)
        for ev in events:
            self.events[ev.proto] += 1
            if ev.subscriber is None:
                if ev.cell is not None:
                    self.counters.drop("state", "unattributed")
                continue
            self.devices.update(ev.subscriber - _2_64 if ev.subscriber >= _2_63 else ev.subscriber)
            mcc = ev.home_mcc
            mcc = int(mcc) if mcc and mcc.isdigit() else 0
            flags = ACTIVE if ev.nas in ACTIVE_NAS else 0
            if ev.imei_tac in self._tacs:
                flags |= BY_TAC
            if ev.psm:
                flags |= BY_PSM
            if ev.off:
                ok = self.presence.observe(ev.subscriber, ev.time, None, mcc, flags)
            elif ev.cell is not None and ev.tac is not None and not ev.target:
                ok = self.presence.observe(ev.subscriber, ev.time, (ev.plmn, ev.tac, ev.cell),
                                           mcc, flags)
            else:  # no location (a Diameter ULR...): its M2M marks still mark the device
                if flags & (BY_TAC | BY_PSM):
                    self.presence.mark(ev.subscriber, flags & (BY_TAC | BY_PSM))
                continue
            if not ok:
                self.counters.drop("state", "late")
        return self._emit(self.presence.advance(ts))

    def _worker_keys(self, ts: float, keys: tuple, read) -> None:
        ring = self._pseudo
        if ts >= ring.next_change:  # as `feed`: this process's ring keeps the time
            self.advance_keys(ts)
        phase, carried = keys
        if carried is not None:
            ring.carried += len(carried)
            carry = self.presence.carry
            for old, new in carried:
                carry(old, new)
        if phase != ring.phase and read is not None:
            self.key_skew += 1

    def tick(self, now: float) -> list[TallyBatch]:
        """Close the bins that `now` (a clock, not a message) has passed: a quiet link."""
        return self._emit(self.presence.advance(now))

    def finish(self) -> list[TallyBatch]:
        """End of input: close every remaining bin."""
        self.presence.flush()
        self.edge.finish()
        return self.tally.push(final=True)

    def summarise(self, summary: ReplaySummary) -> None:
        """Put the pipeline's counts (events, devices, M2M) into `summary`."""
        summary.events, summary.devices = self.events, round(self.devices.get_estimate())
        m2m = self.edge.m2m
        summary.m2m_tac, summary.m2m_behaviour, summary.m2m_psm = (m2m.by_tac, m2m.by_behaviour,
                                                                   m2m.by_psm)

    # what a snapshot holds (collector.snapshot): decode/state counts, not framing's, which
    # a restarted replay counts again as it frames its captures from the start
    _KEPT_STAGES = ("decode", "state", "sending")

    def state(self) -> dict:
        """The whole pipeline state (collector.snapshot): presence, analytics, tally,
        correlation tables and the counts of the summary."""
        c = self.counters
        return {"presence": self.presence.state(), "edge": self.edge.state(),
                "tally": self.tally.state(), "correlator": self.decode.correlator.state(),
                "decoders": self.decode.state(),
                "messages": dict(c.messages), "events": dict(self.events),
                "dropped": [[st, r, n] for (st, r), n in c.dropped.items()
                            if st in self._KEPT_STAGES],
                "devices": self.devices.serialize_updatable(), "keys": self._keys_state()}

    def _keys_state(self) -> dict | None:
        """The key ring's part (None for one key): the time it was advanced to, what it
        carried, and its `check` (the keys in use, compared after a restart)."""
        ring = self._pseudo
        if not hasattr(ring, "check"):
            return None
        return {"time": ring.advanced_at, "carried": ring.carried, "check": ring.check(),
                "skew": self.key_skew}

    def keys_check(self):
        """The key ring's `check` (None for one key), as a snapshot holds it."""
        ring = self._pseudo
        return ring.check() if hasattr(ring, "check") else None

    def restore(self, state: dict) -> None:
        """Take back a `state()`."""
        self.presence.restore(state["presence"])
        self.edge.restore(state["edge"])
        self.tally.restore(state["tally"])
        self.decode.correlator.restore(state["correlator"])
        self.decode.restore(state.get("decoders", {}))  # (a snapshot from before: none)
        c = self.counters
        c.messages.update(state["messages"])
        self.events.update(state["events"])
        for st, r, n in state["dropped"]:
            c.dropped[(st, r)] += n
        self.devices = datasketches.hll_sketch.deserialize(state["devices"])
        keys = state.get("keys")
        ring = self._pseudo
        if keys is not None and hasattr(ring, "check"):  # (snapshot.StateDir checks it)
            ring.carried, self.key_skew = keys["carried"], keys["skew"]
            if keys["time"] > -math.inf:
                ring.advance(keys["time"])

    def _emit(self, closed: list) -> list[TallyBatch]:
        if not closed:  # the tally took the bins' devices when they closed (on_close)
            return []
        return self.tally.push()


@dataclass
class ReplaySummary:
    """What a replay did, for the closing summary and the exit code."""

    counters: Counters
    events: Counter = field(default_factory=Counter)
    devices: int = 0
    rows: int = 0
    sketches: int = 0
    sketch_bytes: int = 0
    zone_rows: Counter = field(default_factory=Counter)  # stays, overnight, ... rows sent
    m2m_tac: int = 0            # devices left out as M2M by their IMEI TAC
    m2m_behaviour: int = 0      # ... by their behaviour over a day
    m2m_psm: int = 0            # ... by a power saving mode request
    batches: int = 0
    stopped: bool = False       # stopped by a signal, state saved to go on later
    acked: int = 0
    unacked: int = 0
    ack_status: dict = field(default_factory=dict)
    fallbacks: dict = field(default_factory=dict)  # proto -> (values read, left to pycrate)

    def add_fallbacks(self, more: dict) -> None:
        """Sum the fast-path accounting of a decode stage (one per worker)."""
        for proto, (read, slow) in more.items():
            r, s = self.fallbacks.get(proto, (0, 0))
            self.fallbacks[proto] = (r + read, s + slow)


def ship_into(summary: ReplaySummary, sender) -> Callable[[list[TallyBatch]], None]:
    """A function that counts batches into `summary` and sends them (unless no sender)."""
    def ship(batches: list[TallyBatch]) -> None:
        for b in batches:
            summary.batches += 1
            summary.rows += len(b.presence)
            summary.sketches += len(b.sketches)
            summary.sketch_bytes += sum(len(r.sketch) for r in b.sketches)
            for kind in ZONE_KINDS.values():
                summary.zone_rows[kind] += len(getattr(b, kind))
            if sender is not None:
                sender.send(b)
    return ship


def feed_all(pipe: EdgePipeline, messages, ship) -> None:
    """Every keyed message (`collector.order`) through `pipe`, in order; the batches of the
    bins they close to `ship`."""
    for _key, ts, frame, msg in messages:
        batches = pipe.feed(frame, ts, msg)
        if batches:
            ship(batches)


def replay(paths: list[str], cfg: EdgeConfig, pseudonymizer: Pseudonymizer, sender=None,
           state=None) -> ReplaySummary:
    """Run the edge pipeline over captures; send batches through `sender` unless None.

    With `state` (collector.snapshot.StateDir): restore the snapshot, skip the messages
    it accounted (framing them again, not decoding them), snapshot every `interval`
    seconds of capture time, and on SIGTERM/SIGINT stop after the current message with
    a snapshot (the summary says `stopped`; open bins stay open for the next run)."""
    counters = Counters()
    pipe = EdgePipeline(cfg, pseudonymizer, counters)
    summary = ReplaySummary(counters)
    ship = ship_into(summary, sender)
    if state is None:
        feed_all(pipe, keyed_messages(paths, counters), ship)
    else:
        from collector.resume import ResumableReplay

        resumable = ResumableReplay(state, pipe, paths)
        summary.stopped = resumable.run(((ts, (frame, ts, msg)) for _key, ts, frame, msg
                                         in keyed_messages(paths, counters)), pipe.feed, ship)
    if not summary.stopped:
        ship(pipe.finish())
        if state is not None:
            resumable.finished()
    pipe.summarise(summary)
    summary.add_fallbacks(pipe.decode.fallbacks())
    return summary
