"""Hand-written 5GS NAS reader (collector/decode/nas_5gs_fast.py) against the pycrate path.

Every NAS-PDU of the golden captures, the PDUs the 5GS NAS tests build and
mutated ones give the same NAS5GSInfo and reason on both paths, or doubt on
the fast one; the cases left to pycrate are named.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrate_mobile import TS24501_FGMM

from collector.decode.aper import split_ies, split_pdu
from collector.decode.aper_bits import Doubt
from collector.decode.nas_5gs import NAS5GSDecoder
from collector.decode.nas_5gs_fast import FiveGSNASReader, compile_messages
from collector.decode.ngap_ies import WANTED, read_facts
from collector.decode.ngap_schema import NGAPSchema
from collector.decode.pycrate_libs import aper_decode
from collector.identity import Subscriber
from tests.unit.collector import test_decode_nas_5gs as nas
from tests.unit.collector.test_decode_ngap_fast import golden_corpus
from wire.pseudonym import Pseudonymizer

PSEUDONYM = Pseudonymizer(bytes(range(32)))
FAST, SLOW = FiveGSNASReader(PSEUDONYM), NAS5GSDecoder(PSEUDONYM)


def fields(result: tuple) -> tuple:
    info, reason = result
    return (None if info is None else tuple(getattr(info, s) for s in info.__slots__)), reason


def both(buf: bytes) -> tuple:
    """The fast result, asserted equal to the pycrate path's."""
    got = fields(FAST(buf))
    assert got == fields(SLOW(buf)), buf.hex()
    return got


@cache
def golden_pdus() -> list[bytes]:
    """Distinct NAS-PDUs of the golden captures' NGAP messages, found by pycrate."""
    schema, out = NGAPSchema(), set()
    for payload in golden_corpus():
        head = split_pdu(payload)
        name, ie_types = schema.procedure(head[0], head[1])
        values = {i: aper_decode(ie_types[i], raw)[0] for i, raw in split_ies(head[2])
                  if i in WANTED and i in ie_types}
        out.update(read_facts(values).nas_pdus)
    return sorted(out)


def test_every_golden_nas_pdu_reads_the_same() -> None:
    pdus = golden_pdus()
    assert len(pdus) > 1000
    for buf in pdus:
        both(buf)  # none in doubt either: FAST would raise


def test_layouts_cover_pycrates_messages_and_tag_the_identities() -> None:
    mm, sm = compile_messages()
    assert len(mm) == 37 and len(sm) == 20
    reg = mm[0x41].layout
    assert reg.mandatory == [(1, None), (-2, "5GSID")]  # NAS KSI + type, 5GS mobile identity
    assert [o for o in reg.optional if o[3]] == [(8, 0x77, -2, "AddGUTI"),  # §8.2.6 order
                                               (8, 0x71, -2, "NASContainer")]
    assert [o[3] for o in mm[0x42].layout.optional if o[3]] == ["GUTI"]
    assert mm[0x45].leaving and not mm[0x47].leaving and not sm[0xC1].mm


SUPI_PDUS = [nas.REGISTRATION_SUCI, nas.protected(nas.SMC_COMPLETE, 4),
             nas.protected(nas.REGISTRATION_SUCI, 3)]


@pytest.mark.parametrize("buf", SUPI_PDUS, ids=["registration", "container", "integrity"])
def test_null_scheme_suci_gives_the_supi_pseudonym(buf: bytes) -> None:
    info, reason = both(buf)
    assert info[2] == Subscriber(PSEUDONYM(nas.SUPI), "001") and reason is None


def test_three_digit_mnc_suci() -> None:
    buf = TS24501_FGMM.FGMMIdentityResponse(val={"5GSID": nas.suci(0, "310410")}).to_bytes()
    info, _ = both(buf[:-1] + b"\xf8")
    assert info[2] == Subscriber(PSEUDONYM("310410012345678"), "310")


@pytest.mark.parametrize("buf", [nas.REGISTRATION_CONCEALED, nas.IDENTITY_CONCEALED])
def test_ecies_suci_is_concealed(buf: bytes) -> None:
    info, reason = both(buf)
    assert reason is None and info[2] is None and info[6] is True  # concealed


@pytest.mark.parametrize("buf, reason", [
    (nas.protected(nas.REGISTRATION_ACCEPT), None),
    (nas.protected(nas.SERVICE_REQUEST, 1), None),
    (nas.protected(nas.DEREGISTRATION_GUTI, 1), None),
    (nas.AUTH_REQUEST, None), (nas.AUTH_RESPONSE, None), (bytes.fromhex("7e006418"), None),
    (b"", "bad_nas"), (b"\x7e\x00", "bad_nas"), (b"\x7e\x00\xff", "bad_nas"),
    (b"\x07\x41", "bad_nas"), (b"\x2e\x01\x02", "bad_nas"),
    (bytes.fromhex("7e02a1b2c3d4050a") + b"\xff" * 8, "ciphered"),  # header 2: ciphered
    (bytes.fromhex("7e04a1b2c3d405") + bytes.fromhex("7e02a1b2c3d40500"), "ciphered"),
    (bytes.fromhex("7e01a1b2c3d4050a") + b"\xff" * 8, "bad_nas"),   # header 1: not ciphered
    (bytes.fromhex("7e02a1b2c3"), "bad_nas"),                       # shorter than its header
])
def test_messages_read_the_same(buf: bytes, reason: str | None) -> None:
    assert both(buf)[1] == reason


def _suci_value(fmt: int, scheme: int, output: bytes) -> bytes:
    return bytes([fmt << 4 | 1, 0x00, 0xF1, 0x10, 0, 0, scheme, 1]) + output


def _identity_response(value: bytes) -> bytes:
    return bytes([0x7E, 0x00, 0x5C]) + len(value).to_bytes(2, "big") + value


@pytest.mark.parametrize("value", [
    _suci_value(1, 0, b"user@example.org"),      # a NAI: pycrate parses the text
    _suci_value(0, 1, bytes(39)),                # ECIES profile A output too short
    _suci_value(0, 2, bytes(40)),                # ECIES profile B output too short
    bytes.fromhex("01f110"),                     # a SUCI shorter than its fixed part
    bytes.fromhex("f2") + bytes(11),             # a 5G-GUTI of 12 octets
    bytes.fromhex("f4") + bytes(5),              # a 5G-S-TMSI of 6 octets
    b"",
])
def test_doubt_on_what_is_not_plainly_read(value: bytes) -> None:
    with pytest.raises(Doubt):
        FAST(_identity_response(value))
    SLOW(_identity_response(value))  # pycrate decides, without raising


@pytest.mark.parametrize("value, concealed, suci", [
    (_suci_value(0, 1, bytes(40)), True, True),  # ECIES profile A, shortest
    (_suci_value(0, 2, bytes(41)), True, True),  # ECIES profile B, shortest
    (_suci_value(0, 9, b"\x01"), True, True),    # an operator-specific scheme
    (_suci_value(5, 0, b""), False, True),       # a SUPI format pycrate keeps as bytes
    (bytes.fromhex("0b") + bytes(8), False, False),  # an IMEISV-like type: dropped
])
def test_other_suci_schemes_read_the_same(value: bytes, concealed: bool, suci: bool) -> None:
    info, reason = both(_identity_response(value))
    assert reason is None and (info[5], info[6]) == (suci, concealed) and info[2] is None


def test_imei_is_dropped_but_its_tac() -> None:
    imei = TS24501_FGMM.FGMMIdentityResponse(val={"5GSID": {"Type": 3, "Digits": "356938035643809"}})
    info, _ = both(imei.to_bytes())
    kept = FAST(imei.to_bytes())[0]
    assert info[2] is None and kept.imei_tac == "35693803" and "35643809" not in repr(kept)


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "byte", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[at] = draw(st.sampled_from([0, 1, 2, 4, 0x2E, 0x71, 0x77, 0x7E, 0x80, 0xFF]))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif data:
            del data[at:at + draw(st.integers(1, 4))]
    return bytes(data)


@settings(max_examples=1500, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_pdus_read_the_same_or_doubt(data: st.DataObject) -> None:
    seeds = golden_pdus() + SUPI_PDUS + [nas.REGISTRATION_CONCEALED, nas.REGISTRATION_ACCEPT]
    buf = data.draw(mutated(data.draw(st.sampled_from(seeds))))
    try:
        got = fields(FAST(buf))
    except Doubt:
        return
    assert got == fields(SLOW(buf)), buf.hex()
