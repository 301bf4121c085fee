"""Decoders by transport protocol name (STYLE habit 2: one dict, one place).

Each entry is a class built as `Decoder(pseudonymizer, correlator)` whose call is
`(payload, assoc, frame, time) -> (list[SignallingEvent], drop reason | None)`
(GTPv2 also takes `receiver=`, the datagram's destination, to key tunnels).
The key is the `proto` that framing gives a message (`collector.framing.messages`).
"""

from __future__ import annotations

from collector.decode.diameter import DiameterDecoder
from collector.decode.gtpv2 import GTPv2Decoder
from collector.decode.ngap import NGAPDecoder
from collector.decode.s1ap import S1APDecoder

DECODERS = {
    "s1ap": S1APDecoder,  # TS 36.413 + TS 24.301
    "ngap": NGAPDecoder,  # TS 38.413 + TS 24.501
    "gtpv2": GTPv2Decoder,  # TS 29.274
    "diameter": DiameterDecoder,  # RFC 6733, TS 29.272 (S6a/S6d), Gx/Gy/Rx identities
}
