"""Node-level procedures (S1 SETUP, RESET, NG SETUP...) name no UE and give no event, but a
malformed one is counted as malformed by reason, not as decoded, on both paths.

The seeds are the golden captures' own setup messages; the corruptions keep the PDU's
outer open type consistent, so only the IE container is wrong: an IE count past the end,
or the container cut short.
"""

from __future__ import annotations

from functools import cache

import pytest
from pycrate_asn1dir import NGAP, S1AP

from collector.decode.ngap import NGAPDecoder
from collector.decode.s1ap import S1APDecoder
from collector.decode.stage import DecodeStage
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import Counters
from tests.helpers import capture_paths
from wire.pseudonym import Pseudonymizer

PSEUDONYM = Pseudonymizer(bytes(range(32)))
SETUP = {"s1ap": (0x11, 0x0E), "ngap": (0x15,)}  # S1 Setup, Reset; NG Setup (procedure codes)


@cache
def seeds() -> dict[str, list]:
    """proto -> the golden setup messages (TransportMessage), short-form open type only."""
    out: dict[str, list] = {"s1ap": [], "ngap": []}
    for path in capture_paths():
        for _frame, _time, msg in iter_messages(str(path), Counters()):
            p = msg.payload
            if msg.proto in SETUP and p[1] in SETUP[msg.proto] and p[3] < 0x80:
                out[msg.proto].append(msg)
    return out


def _with(msg, payload: bytes):
    return type(msg)(msg.proto, msg.assoc, payload, msg.src, msg.dst, msg.sport, msg.dport,
                     msg.ppid)


def _count_past_end(p: bytes) -> bytes:
    """One IE more in the container's count than it holds."""
    count = int.from_bytes(p[5:7], "big") + 1
    return p[:5] + count.to_bytes(2, "big") + p[7:]


def _cut(p: bytes) -> bytes:
    """The container cut in its last IE, the open type's length following the cut."""
    cut = p[:-3]
    return cut[:3] + bytes([cut[3] - 3]) + cut[4:]


PDU = {"s1ap": S1AP.S1AP_PDU_Descriptions.S1AP_PDU, "ngap": NGAP.NGAP_PDU_Descriptions.NGAP_PDU}


def pycrate_reads(proto: str, payload: bytes) -> bool:
    """Whether pycrate decodes the whole PDU (the oracle of what is malformed)."""
    try:
        PDU[proto].from_aper(payload)
    except Exception:  # pycrate raises several types on bad APER
        return False
    return True


def _decoder(proto: str, fast: bool):
    cls = S1APDecoder if proto == "s1ap" else NGAPDecoder
    return cls(PSEUDONYM, Correlator(), fast=fast)


@pytest.mark.parametrize("proto", ["s1ap", "ngap"])
def test_golden_setup_messages_are_decoded_without_event(proto: str) -> None:
    msgs = seeds()[proto]
    assert len(msgs) >= 3 and all(pycrate_reads(proto, m.payload) for m in msgs)
    counters = Counters()
    stage = DecodeStage(PSEUDONYM, counters)
    assert all(stage(1, 1.0, m) == [] for m in msgs)
    assert counters.messages[proto] == len(msgs) and not counters.dropped


@pytest.mark.parametrize("proto", ["s1ap", "ngap"])
@pytest.mark.parametrize("corrupt", [_count_past_end, _cut])
def test_malformed_setup_messages_are_counted_malformed(proto: str, corrupt) -> None:
    msgs = [_with(m, corrupt(m.payload)) for m in seeds()[proto]]
    assert not any(pycrate_reads(proto, m.payload) for m in msgs)
    counters = Counters()
    stage = DecodeStage(PSEUDONYM, counters)
    assert all(stage(1, 1.0, m) == [] for m in msgs)
    assert counters.messages[proto] == 0
    assert counters.dropped == {("decode", "bad_asn1"): len(msgs)}
    for fast in (True, False):
        decoder = _decoder(proto, fast)
        assert {decoder.facts(m.payload) for m in msgs} == {"bad_asn1"}
