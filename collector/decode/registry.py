"""Decoders by transport protocol name (STYLE habit 2: one dict, one place).

Each entry is a class built as `Decoder(pseudonymizer, correlator)` whose call is
`(payload, assoc, frame, time) -> (list[SignallingEvent], drop reason | None)`
(GTPv2 also takes `receiver=`, the datagram's destination, to key tunnels).
The key is the `proto` that framing gives a message (`collector.framing.messages`).

A decoder's module is imported when its class is first asked for: the ASN.1 and
NAS schemas pycrate builds at import cost a second of start-up together, and a
probe on an S1 link alone never needs NGAP's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module

_WHERE = {
    "s1ap": ("collector.decode.s1ap", "S1APDecoder"),  # TS 36.413 + TS 24.301
    "ngap": ("collector.decode.ngap", "NGAPDecoder"),  # TS 38.413 + TS 24.501
    "gtpv2": ("collector.decode.gtpv2", "GTPv2Decoder"),  # TS 29.274
    # RFC 6733, TS 29.272 (S6a/S6d), Gx/Gy/Rx identities
    "diameter": ("collector.decode.diameter", "DiameterDecoder"),
}


class _Decoders(Mapping):
    """proto -> decoder class, each imported on first use."""

    def __getitem__(self, proto: str) -> type:
        module, name = _WHERE[proto]
        return getattr(import_module(module), name)

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


DECODERS: Mapping[str, type] = _Decoders()
