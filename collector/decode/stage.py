"""The decode stage: one decoder per protocol, one correlator shared by all of
them, and the accounting both `collector inspect` and the edge pipeline use."""

from __future__ import annotations

from collections.abc import Callable

from collector.decode.registry import DECODERS
from collector.events import SignallingEvent
from collector.framing.messages import TransportMessage
from collector.identity import Correlator
from collector.telemetry import Counters


class DecodeStage:
    """`(frame, time, message) -> events`, counting messages and drops.

    A message decoded without a reason counts in `messages[proto]`; otherwise its
    reason is counted at stage `decode` (also when the message still gave an event,
    a part of it dropped); a message with no decoder is dropped as `unsupported`.
    """

    __slots__ = ("_counters", "_decoders", "correlator")

    def __init__(self, pseudonymizer: Callable[[str], int], counters: Counters,
                 correlator: Correlator | None = None) -> None:
        self._counters = counters
        self.correlator = correlator if correlator is not None else Correlator()
        self._decoders = {p: cls(pseudonymizer, self.correlator) for p, cls in DECODERS.items()}

    def __call__(self, frame: int, time: float, msg: TransportMessage) -> list[SignallingEvent]:
        """Events of one transport message."""
        decode = self._decoders.get(msg.proto)
        if decode is None:
            self._counters.drop("decode", "unsupported")
            return []
        if msg.proto == "gtpv2":  # a TEID is the receiver's: key tunnels by destination
            events, reason = decode(msg.payload, msg.assoc, frame, time, receiver=msg.dst)
        else:
            events, reason = decode(msg.payload, msg.assoc, frame, time)
        if reason is not None:
            self._counters.drop("decode", reason)
        else:
            self._counters.messages[msg.proto] += 1
        return events
