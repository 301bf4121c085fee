"""Hand-written EPS NAS reader (collector/decode/nas_eps_fast.py) against the pycrate path.

The layout tables are checked against pycrate's message classes (the reference
parses with them); examples cover each message the decoder reads and the
pycrate quirks kept for parity; mutated real PDUs and random protected ones
give the same NASInfo and reason on both paths, or doubt on the fast one.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrate_mobile.TS24007 import Layer3E

from collector.decode.aper_bits import Doubt
from collector.decode.nas_eps import (
    ALLOCATED_GUTI_IES,
    IMEISV_IES,
    PSM_IES,
    TAI_IES,
    UE_IDENTITY_IES,
    NASEPSDecoder,
    NASInfo,
    spec_name,
)
from collector.decode.nas_eps_fast import EPSNASReader
from collector.decode.nas_eps_layout import (
    DETACH_MO,
    DETACH_MT,
    EMM,
    ESM,
    LV,
    LVE,
    REST,
    TLV,
    TLVE,
    Layout,
)
from collector.decode.pycrate_libs import TS24301_EMM, TS24301_ESM
from collector.decode.s1ap import UPLINK_NAS, S1APDecoder
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import Counters
from simulator import nas as sim
from tests.helpers import capture_paths
from wire.pseudonym import Pseudonymizer

PSEUDONYM = Pseudonymizer(bytes(range(32)))
IMSI = "208930000000001"
GUTI = sim.Guti("20893", 0x8001, 0x2A, 0xC0FFEE01)
FAST, SLOW = EPSNASReader(PSEUDONYM), NASEPSDecoder(PSEUDONYM)


def fields(result: tuple) -> tuple:
    info, reason = result
    return (None if info is None else tuple(getattr(info, s) for s in info.__slots__)), reason


def both(buf: bytes, uplink: bool) -> tuple:
    """The fast result, asserted equal to the pycrate path's."""
    got = fields(FAST(buf, uplink))
    assert got == fields(SLOW(buf, uplink)), buf.hex()
    return got


# the tables against pycrate's classes

def _pycrate_layout(cls) -> tuple[list, list, dict]:
    """(mandatory kinds, optional (bits, IEI, kind), {pycrate IE name: position}) of a class.

    A position is m<n> for the mandatory IE after n length-prefixed ones, o<i> for optional i.
    """
    mandatory, optional, where, half = [], [], {}, 0
    for ie in cls()._content[1:]:  # after the EMM / ESM header
        kind = type(ie).__name__
        if kind in ("Type1V", "Uint"):
            half += 1
            if half % 2 == 0:
                mandatory.append(1)
        elif kind == "Type3V":
            mandatory.append(ie[-1]._bl // 8)
        elif kind in ("Type4LV", "Type6LVE"):
            where[ie._name] = f"m{sum(k < 0 for k in mandatory)}"
            mandatory.append(LV if kind == "Type4LV" else LVE)
        else:
            bits, tag = ie[0].get_bl(), ie[0]()
            size = {"Type1TV": 1, "Type4TLV": TLV, "Type6TLVE": TLVE}.get(kind)
            if kind == "Type3TV":
                size = REST if ie[-1]._bl is None else 1 + ie[-1]._bl // 8
            where[ie._name] = f"o{len(optional)}"
            optional.append((bits, tag, size))
    return mandatory, optional, where


def _merged(kinds: list) -> list:
    out: list = []
    for k in kinds:  # adjacent fixed octets as one count
        if k > 0 and out and out[-1] > 0:
            out[-1] += k
        else:
            out.append(k)
    return out


def _roles(layout: Layout) -> dict[str, str]:
    """{position (as _pycrate_layout writes it): role} of a compiled layout."""
    kinds = [k for k, _r in layout.mandatory]
    out = {f"m{sum(k < 0 for k in kinds[:i])}": r for i, (_k, r) in enumerate(layout.mandatory) if r}
    out.update({f"o{i}": o[3] for i, o in enumerate(layout.optional) if o[3]})
    return out


def _rows():
    for typ, cls in TS24301_EMM.EMMTypeMOClasses.items():
        yield EMM.get(typ, DETACH_MO), cls
    yield DETACH_MT, TS24301_EMM.EMMDetachRequestMT
    for typ, cls in TS24301_ESM.ESMTypeClasses.items():
        yield ESM[typ], cls


@pytest.mark.parametrize("row, cls", list(_rows()), ids=lambda x: getattr(x, "__name__", ""))
def test_layout_is_pycrates(row: tuple, cls) -> None:
    layout = Layout(*row)
    mandatory, optional, where = _pycrate_layout(cls)
    assert layout.name == spec_name(cls.__name__)
    assert issubclass(cls, Layer3E)  # unknown IEIs skipped as Layer3E does
    assert _merged([k for k, _r in layout.mandatory]) == _merged(mandatory)
    assert [o[:3] for o in layout.optional] == optional
    # the roles sit where nas_eps reads the identity, GUTI and TAI IEs
    expected = {}
    for table, roles in ((UE_IDENTITY_IES, {"id", "mi"}), (ALLOCATED_GUTI_IES, {"guti"}),
                         (TAI_IES, {"tai"}), (IMEISV_IES, {"imeisv"}), (PSM_IES, {"psm"})):
        if cls.__name__ in table:
            expected[where[table[cls.__name__]]] = roles
    got = _roles(layout)
    assert got.keys() == expected.keys() and all(got[p] in expected[p] for p in got)


def test_tables_hold_every_pycrate_message_type() -> None:
    assert set(EMM) | {0x45} == set(TS24301_EMM.EMMTypeMOClasses) == set(
        TS24301_EMM.EMMTypeMTClasses)
    assert set(ESM) == set(TS24301_ESM.ESMTypeClasses)


# messages the decoder reads, and pycrate's quirks kept for parity

def test_attach_request_with_imsi_or_guti() -> None:
    info, reason = both(sim.attach_request(IMSI), uplink=True)
    assert reason is None and info[:4] == ("AttachRequest", True,
                                           (PSEUDONYM(IMSI), "208"), None)
    info, _ = both(sim.attach_request(GUTI), uplink=True)
    assert info[2] is None and info[3] == (0x2A, 0xC0FFEE01)


def test_accepts_allocate_guti_and_name_tais() -> None:
    info, _ = both(sim.attach_accept(GUTI, [1, 2], 3240, b"\x0a\x2d\x00\x02"), uplink=False)
    assert info[0] == "AttachAccept" and info[4] == (0x2A, 0xC0FFEE01) and info[5]
    info, _ = both(sim.tau_accept("20893", [7], 3240, None), uplink=False)
    assert info[0] == "TrackingAreaUpdateAccept" and info[4] is None and info[5]
    realloc = TS24301_EMM.EMMGUTIReallocCommand(
        val={"GUTI": {"type": 6, "ident": GUTI.ident()}}).to_bytes()
    info, _ = both(realloc, uplink=False)
    assert info[4] == (0x2A, 0xC0FFEE01) and not info[5]


def test_tau_request_identity_response_detach_service_request() -> None:
    info, _ = both(sim.tau_request(GUTI, 5, periodic=True, ksi=1), uplink=True)
    assert info[0] == "TrackingAreaUpdateRequest" and info[3] == (0x2A, 0xC0FFEE01) and info[5]
    info, _ = both(sim.identity_response_imeisv("3534900698733190"), uplink=True)
    assert info == ("IdentityResponse", True, None, None, None, False, False, "35349006", False)
    identity = TS24301_EMM.EMMIdentityResponse(val={"ID": {"type": 1, "ident": IMSI}}).to_bytes()
    assert both(identity, uplink=True)[0][2] == (PSEUDONYM(IMSI), "208")
    detach = sim.detach_request_switch_off(GUTI, ksi=1)
    assert both(detach, uplink=True)[0][6] is True      # §8.2.11.1, UE originating: off
    network = TS24301_EMM.EMMDetachRequestMT(val={"EPSDetachType": {"Type": 1}}).to_bytes()
    assert both(network, uplink=False)[0][:7:6] == ("DetachRequest", False)  # §8.2.11.2
    info, _ = both(sim.service_request(ksi=1, seq=9), uplink=True)
    assert info[0] == "ServiceRequest" and info[1]


def test_a_power_saving_mode_request_marks_an_iot_module() -> None:
    """§5.3.11: a UE asking for an active time (T3324, IEI 0x6A) in its attach or TAU
    request wants power saving mode, as IoT modules do; the bytes are pycrate's encoding of
    the request (both paths read them), and tshark names the IE (test_tshark_reads_psm)."""
    psm = [i for i, s in enumerate(NASInfo.__slots__) if s == "psm"][0]
    for buf in (sim.attach_request(IMSI, psm=True), sim.attach_request(GUTI, 1, psm=True),
                sim.tau_request(GUTI, 5, periodic=True, ksi=1, psm=True)):
        assert b"\x6a\x01" in buf and both(buf, uplink=True)[0][psm] is True
    for buf in (sim.attach_request(IMSI), sim.tau_request(GUTI, 5, periodic=True, ksi=1)):
        assert both(buf, uplink=True)[0][psm] is False
    # T3412 extended alone (a network-side timer request, not an active time): no PSM
    alone = TS24301_EMM.EMMTrackingAreaUpdateRequest(val={
        "NAS_KSI": {"TSC": 0, "Value": 1}, "EPSUpdateType": {"Value": 2},
        "OldGUTI": {"type": 6, "ident": GUTI.ident()},
        "T3412Ext": {"Unit": 1, "Value": 1}}).to_bytes()
    assert both(alone, uplink=True)[0][psm] is False


@pytest.mark.parametrize("hexa, expected", [
    # EEA0-protected attach accept (magma gx_gy frame 339)
    ("27635765f00207420149062000f1100001003d5201c101090908696e7465726e65740501ac11f1ff5e04"
     "fefe9b6927208080211003010010810608080808830608080404000d04080808080010020578500bf6"
     "00f11000010106cbdaff172164020000", ("AttachAccept", None)),
    ("27aabbccdd05ffffffff", (None, "ciphered")),                # EEA != 0: inner is noise
    ("17aabbccdd05ffffffff", (None, "bad_nas")),                 # integrity only: inner is bad
    ("2700000000", (None, "bad_nas")),                           # protected header cut short
    ("c2030000", ("ServiceRequest", None)),                      # type 12 whatever the PD
    ("270000000000370000000000", ("SecProtNASMessage", None)),   # protected inside protected
    ("0748100bf600f11080010190de176c5200f1100001", ("TrackingAreaUpdateRequest", None)),
    ("074a0100", ("TrackingAreaUpdateComplete", None)),          # unknown IEI 01, length 0
    ("074a010000", (None, "bad_nas")),                           # then IEI 00 without a length
    ("074a710001aa", ("TrackingAreaUpdateComplete", None)),      # unknown TLV-E IEI 0x71
    ("0756", (None, "bad_nas")),
    ("0201d9", ("ESMInformationRequest", None)),
    ("0701", (None, "bad_nas")),                                 # no EMM message type 1
])
def test_formats_and_quirks(hexa: str, expected: tuple) -> None:
    info, reason = both(bytes.fromhex(hexa), uplink=True)
    assert ((info or (None,))[0], reason) == expected


def test_additional_information_requested_swallows_the_rest_as_pycrate_does() -> None:
    # TAU request: ..., 0x17 (TV 2 in §8.2.29), then a last visited TAI 0x52 that pycrate 0.8.1
    # reads as part of 0x17's value: no TAI, on both paths
    info, _ = both(bytes.fromhex("0748100bf600f110a9e5315680010190de176c5200f1100001"), True)
    assert info[5] is False


@pytest.mark.parametrize("hexa", [
    "07450b01f9",                     # IMSI whose digit 1 is 0xF (pycrate writes "15")
    "0745010329f132",                 # IMSI with a filler inside
    "0745010302aabb",                 # EPS identity type 2: no such type
    "074501" "0af600f110000101020304",  # GUTI of 10 octets
])
def test_doubt_on_identities_not_plainly_coded(hexa: str) -> None:
    buf = bytes.fromhex(hexa)
    with pytest.raises(Doubt):
        FAST(buf, uplink=True)


@cache
def nas_corpus() -> list[tuple[bytes, bool]]:
    """(NAS-PDU, uplink) from the golden captures and the simulator's messages."""
    out = set()
    decoder = S1APDecoder(PSEUDONYM, Correlator(), fast=False)
    for path in capture_paths():
        for _f, _t, msg in iter_messages(str(path), Counters()):
            read = decoder.ies_facts(bytes(msg.payload)) if msg.proto == "s1ap" else "-"
            if not isinstance(read, str):
                out.update((pdu, read[0] in UPLINK_NAS) for pdu in read[1].nas_pdus)
    out.update([(sim.attach_request(IMSI), True), (sim.tau_request(GUTI, 3, False, 2), True),
                (sim.attach_request(GUTI, 1, psm=True), True),
                (sim.tau_request(GUTI, 3, True, 2, psm=True), True),
                (sim.attach_complete(), True), (sim.detach_request_switch_off(GUTI, 2), True)])
    return sorted(out)


@st.composite
def mutated(draw) -> tuple[bytes, bool]:
    seed, uplink = draw(st.sampled_from(nas_corpus()))
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "byte", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[at] = draw(st.sampled_from([0, 0x17, 0x52, 0x7F, 0x80, 0xF0, 0xFF]))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif data:
            del data[at:at + draw(st.integers(1, 4))]
    return bytes(data), uplink


def _same_or_doubt(buf: bytes, uplink: bool) -> None:
    try:
        got = fields(FAST(buf, uplink))
    except Doubt:
        return
    assert got == fields(SLOW(buf, uplink)), buf.hex()


@settings(max_examples=1500, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(mutated())
def test_mutated_pdus_read_the_same_or_doubt(case: tuple[bytes, bool]) -> None:
    _same_or_doubt(*case)


@settings(max_examples=1000, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(header=st.sampled_from([0x17, 0x27, 0x37, 0x47]), inner=st.binary(max_size=40),
       uplink=st.booleans())
def test_protected_messages_of_any_content_read_the_same(header: int, inner: bytes,
                                                          uplink: bool) -> None:
    _same_or_doubt(bytes([header]) + bytes(5) + inner, uplink)


def test_no_identity_digits_in_what_the_reader_returns_or_raises() -> None:
    info, _ = FAST(sim.attach_request(IMSI), uplink=True)
    assert IMSI not in repr(info) and IMSI[3:] not in repr(info)
    bad = sim.attach_request(IMSI)
    bad = bad[:5] + bytes([bad[5] | 0xF0]) + bad[6:]  # digit 1 = 0xF: doubt
    with pytest.raises(Doubt) as raised:
        FAST(bad, uplink=True)
    assert not any(ch.isdigit() for ch in str(raised.value))
