"""The decode stage: one decoder per protocol, one correlator shared by all of
them, and the accounting both `collector inspect` and the edge pipeline use.

Decoding is two steps so that it can be spread over processes (`collector.workers`):
`facts(msg)` is a pure function of the bytes and the key (framing, APER/TLV walk,
NAS, pseudonymisation: the expensive part, run where the message is read), and
`attribute(...)` applies the correlation tables in message order (cheap, run once).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

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

    __slots__ = ("_counters", "_decoders", "_pseudonymizer", "correlator")

    def __init__(self, pseudonymizer: Callable[[str], int], counters: Counters,
                 correlator: Correlator | None = None) -> None:
        self._counters = counters
        self.correlator = correlator if correlator is not None else Correlator()
        self._pseudonymizer = pseudonymizer
        self._decoders: dict = {}  # built on a protocol's first message (`_decoder`)

    def __call__(self, frame: int, time: float, msg: TransportMessage) -> list[SignallingEvent]:
        """Events of one transport message."""
        read = self.facts(msg)
        if read is None:
            return []
        return self.attribute(frame, time, msg.proto, msg.assoc, msg.dst, read)

    def facts(self, msg: TransportMessage):
        """What the message says before correlation (picklable), or None when it is
        dropped here (its reason counted)."""
        decoder = self._decoders.get(msg.proto) or self._decoder(msg.proto)
        if decoder is None:
            self._counters.drop("decode", "unsupported")
            return None
        read = decoder.facts(msg.payload)
        if isinstance(read, str):
            self._counters.drop("decode", read)
            return None
        return read

    def attribute(self, frame: int, time: float, proto: str, assoc: Hashable, dst: bytes,
                  read) -> list[SignallingEvent]:
        """Events of a message's facts, attributed through the correlation tables."""
        decoder = self._decoders.get(proto) or self._decoder(proto)
        if proto == "gtpv2":  # a TEID is the receiver's: key tunnels by destination
            events, reason = decoder.attribute(read, assoc, frame, time, receiver=dst)
        else:
            events, reason = decoder.attribute(read, assoc, frame, time)
        if reason is not None:
            self._counters.drop("decode", reason)
        else:
            self._counters.messages[proto] += 1
        return events

    def _decoder(self, proto: str):
        """The decoder of `proto`, built on first use; None for a protocol without one."""
        if proto not in DECODERS:
            return None
        decoder = self._decoders[proto] = DECODERS[proto](self._pseudonymizer, self.correlator)
        return decoder

    def state(self) -> dict:
        """The decoders' own state (S1AP's association numbers), for a snapshot."""
        return {proto: d.state() for proto, d in self._decoders.items() if hasattr(d, "state")}

    def restore(self, state: dict) -> None:
        """Take back a `state()` (the decoders built as on first use)."""
        for proto, saved in state.items():
            (self._decoders.get(proto) or self._decoder(proto)).restore(saved)

    def fallbacks(self) -> dict[str, tuple[int, int]]:
        """Per protocol: (values read, values left to pycrate) of decoders with a fast path."""
        out = {}
        for proto, decoder in self._decoders.items():
            decoded, fallback = getattr(decoder, "decoded", None), getattr(decoder, "fallback", None)
            if decoded is not None and fallback is not None:
                out[proto] = (sum(decoded.values()), sum(fallback.values()))
        return out

