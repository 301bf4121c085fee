"""`collector inspect`: decode captures and print one JSON object per event.

The output is the contract of DESIGN.md ("`collector inspect`"): one line per
decoded signalling message that carries an identity or a location, in capture
order, several per frame when a frame holds several messages.  Identities are
pseudonyms; nothing raw is printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TextIO

from collector.decode.registry import DECODERS
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import Counters


def run_inspect(paths: Iterable[str], pseudonymizer: Callable[[str], int], out: TextIO,
                correlator: Correlator | None = None) -> Counters:
    """Decode every capture of `paths` in turn, write the events to `out`, return the counters.

    The captures are one stream: correlation state (a fresh Correlator unless one is
    given) carries from one file to the next, as for a capture rotated into files.
    A message decoded without a reason counts in `messages[proto]`; otherwise its
    reason is counted at stage `decode` (also when the message still gave an event,
    its NAS part dropped), and a message with no decoder is dropped as `unsupported`
    (the same accounting as `collector.app.EdgePipeline`).
    Raises `collector.sources.pcap.CaptureError` for a file that is not a capture.
    """
    counters = Counters()
    correlator = correlator if correlator is not None else Correlator()
    decoders = {proto: cls(pseudonymizer, correlator) for proto, cls in DECODERS.items()}
    for path in paths:
        for frame, time, msg in iter_messages(path, counters):
            decode = decoders.get(msg.proto)
            if decode is None:
                counters.drop("decode", "unsupported")
                continue
            events, reason = decode(msg.payload, msg.assoc, frame, time)
            if reason is not None:
                counters.drop("decode", reason)
            else:
                counters.messages[msg.proto] += 1
            for event in events:
                out.write(json.dumps(event.inspect_record()) + "\n")
    return counters
