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

from collector.decode.stage import DecodeStage
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import Counters


def run_inspect(paths: Iterable[str], pseudonymizer: Callable[[str], int], out: TextIO,
                correlator: Correlator | None = None) -> Counters:
    """Decode every capture of `paths` in turn, write the events to `out`, return the counters.

    The captures are one stream: correlation state (a fresh Correlator unless one is
    given) carries from one file to the next, as for a capture rotated into files.
    Messages and drops are counted by `DecodeStage`, as in the edge pipeline.
    Raises `collector.sources.pcap.CaptureError` for a file that is not a capture.
    """
    counters = Counters()
    decode = DecodeStage(pseudonymizer, counters, correlator)
    for path in paths:
        for frame, time, msg in iter_messages(path, counters):
            for event in decode(frame, time, msg):
                out.write(json.dumps(event.inspect_record()) + "\n")
    return counters
