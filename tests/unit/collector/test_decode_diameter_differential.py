"""Differential: on every Diameter message of the golden captures, DiameterDecoder (a
hand-written AVP walk reading only the AVPs it needs) gives the facts a FULL pycrate
decode gives.

The reference side decodes whole messages with pycrate's Diameter codec and
dictionaries, walks every AVP pycrate decoded (Grouped ones entered), and reads the
values with pycrate: User-Name and Subscription-Id as pycrate's strings, PLMNs with
`TS24008_IE.PLMN`, the TAI and ECGI of a 3GPP-User-Location-Info with pycrate's GTPv2
ULI (the same TAI/ECGI layouts, TS 29.274 §8.21.4-5), names from pycrate's IANA
command table where it has more than an abbreviation.

`Diameter3GPP` looks AVP formats up by code alone, ignoring the Vendor-Id: on a 3GPP
AVP whose code an IETF AVP also uses it reads the wrong type (3GPP-User-Location-Info,
vendor 10415 code 22, read as Framed-Route, a UTF8String: pycrate raises) or stops
short without a word (3GPP-Selection-Mode, 12, read as Service-Type, an Integer32 on
one byte).  So the reference is pycrate's generic AVP with its format looked up by
(Vendor-Id, code) in the same dictionaries, and `Diameter3GPP` as such is compared
too on every message it decodes whole (counted).
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from importlib import import_module

from pycrate_core.elt import Sequence

from collector.decode.diameter import DiameterDecoder
from collector.decode.diameter_commands import USER_NAME_IS_IMSI
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import Counters
from tests.golden.tsv_diameter import pycrate_name
from tests.helpers import capture_paths
from wire.pseudonym import Pseudonymizer

D = import_module("pycrate_diameter.Diameter")
IETF = import_module("pycrate_diameter.DiameterIETF")
TS29230 = import_module("pycrate_diameter.Diameter3GPP")
ULI = import_module("pycrate_mobile.TS29274_GTPC").ULI
PLMN = import_module("pycrate_mobile.TS24008_IE").PLMN

PSEUDONYM = Pseudonymizer(bytes(range(32)))
FACTS = ("name", "session", "named", "subscriber", "visited_plmn", "plmn", "tac", "cell",
         "cc_request_type", "imei_tac")
_ULI_FLAGS = {128: 0x08, 129: 0x10, 130: 0x18}  # GTPv2 ULI flags: TAI, ECGI, both


class AVPByVendor(D.AVPGeneric):
    """pycrate's generic AVP, its data format looked up by (Vendor-Id, code)."""

    def _from_char(self, char):
        cur = char._cur
        self[0]._from_char(char)
        vendor = self[0]["VendorID"].get_val() if self[0]["V"].get_val() else 0
        char._cur = cur
        self.FMT_LUT = FORMATS.get(vendor, {})
        D.AVPGeneric._from_char(self, char)


class GroupedByVendor(Sequence):
    _GEN = AVPByVendor()


def _formats(table: dict, grouped: type) -> dict:
    return {code: GroupedByVendor if fmt is grouped else fmt for code, fmt in table.items()}


FORMATS = {0: _formats(IETF.FMT_LUT_IETF, IETF.Grouped),
           10415: _formats({c: f for c, (_n, f) in TS29230.TGPPAVPInfos_dict.items()},
                           TS29230.Grouped)}


class DiameterByVendor(D.DiameterGeneric):
    _GEN = (D.DiameterHdr(), Sequence("AVPs", GEN=AVPByVendor(), hier=1))


@cache
def diameter_messages() -> list[tuple[str, int, bytes]]:
    """(capture name, frame, payload) of every Diameter message framing yields."""
    return [(path.name, frame, bytes(msg.payload)) for path in capture_paths()
            for frame, _t, msg in iter_messages(str(path), Counters()) if msg.proto == "diameter"]


def avps(seq, out: list) -> None:
    """(vendor, code, pycrate data element) of every AVP, Grouped ones entered, in order."""
    for avp in seq:
        hdr, data = avp[0], avp[1]
        vendor = hdr["VendorID"].get_val() if hdr["V"].get_val() else 0
        out.append((vendor, hdr["Code"].get_val(), data))
        if isinstance(data, Sequence):
            size = hdr["Len"].get_val() - (12 if hdr["V"].get_val() else 8)
            assert data.get_len() == size, "pycrate stopped short inside a Grouped AVP"
            avps(data, out)


def reference(msg) -> dict:
    """Our facts as pycrate reads the decoded message `msg`."""
    head = msg[0]
    code, request, app = head["Cmd"].get_val(), bool(head["R"].get_val()), head["AppID"].get_val()
    rec = dict.fromkeys(FACTS, None)
    rec.update(named=False, name=pycrate_name(code, request))
    found: list = []
    avps(msg[1], found)
    sub_type = None
    for vendor, avp, data in found:
        raw = data.to_bytes()
        key = (vendor, avp)
        if key == (0, 263) and rec["session"] is None:
            rec["session"] = PSEUDONYM("diameter-session:" + raw.hex())
        elif key == (0, 450):
            sub_type = data.get_val()
        elif (key == (0, 1) and app in USER_NAME_IS_IMSI) or (key == (0, 444) and sub_type == 1):
            imsi = data.get_val()
            rec["named"] |= imsi.isdigit()
            if rec["subscriber"] is None and imsi.isdigit() and 6 <= len(imsi) <= 15:
                rec["subscriber"] = (PSEUDONYM(imsi), imsi[:3])
        elif (key == (0, 444) and sub_type == 0) or key == (10415, 701):
            rec["named"] |= bool(raw)
        elif key == (10415, 1407) and rec["visited_plmn"] is None and len(raw) == 3:
            plmn = PLMN()
            plmn.from_bytes(raw)
            rec["visited_plmn"] = plmn.decode()
        elif key == (10415, 22) and raw[:1] and raw[0] in _ULI_FLAGS:
            uli = ULI()
            uli.from_bytes(bytes([_ULI_FLAGS[raw[0]]]) + raw[1:])
            for part, field in (("TAI", "tac"), ("ECGI", "cell")):
                if not uli[part].get_trans():
                    plmn, value = uli[part].decode()
                    rec["plmn"] = rec["plmn"] or plmn
                    rec[field] = value if rec[field] is None else rec[field]
        elif key == (10415, 1402) and rec["imei_tac"] is None:  # IMEI (in Terminal-Information)
            imei = data.get_val()
            imei = imei.decode("ascii", "replace") if isinstance(imei, bytes) else imei
            rec["imei_tac"] = imei[:8] if len(imei) >= 8 and imei[:8].isdecimal() else None
        elif key == (0, 416) and rec["cc_request_type"] is None:
            rec["cc_request_type"] = data.get_val()
    return rec


def ours(decoder: DiameterDecoder, payload: bytes, with_name: bool) -> dict:
    facts, reason = decoder.facts(payload)
    assert reason is None
    rec = {k: getattr(facts, k) for k in FACTS}
    if facts.subscriber is not None:
        rec["subscriber"] = tuple(facts.subscriber)
    if not with_name:
        rec["name"] = None
    return rec


def decode(cls, payload: bytes):
    """A whole-message pycrate decode, or None when pycrate raises or stops short."""
    msg = cls()
    try:
        msg.from_bytes(payload)
    except Exception:  # pycrate raises many types; counted by the caller
        return None
    return msg if msg[1].get_len() + 20 == msg[0]["Len"].get_val() else None


def test_diameter_facts_equal_a_full_pycrate_decode() -> None:
    messages = diameter_messages()
    assert len(messages) == 1288 + 94 + 50 + 98 + 118 + 132
    decoder = DiameterDecoder(PSEUDONYM, Correlator(max_entries=10, ttl=1e-9))
    stats, mismatches = Counter(), []
    for capture, frame, payload in messages:
        for label, cls in (("by vendor", DiameterByVendor), ("Diameter3GPP", TS29230.Diameter3GPP)):
            msg = decode(cls, payload)
            if msg is None:
                stats[f"{label}: pycrate cannot decode whole"] += 1
                continue
            want = reference(msg)
            got = ours(decoder, payload, want["name"] is not None)
            stats[f"{label}: compared"] += 1
            stats["with a location"] += label == "by vendor" and want["cell"] is not None
            stats["with an IMEI TAC"] += label == "by vendor" and want["imei_tac"] is not None
            if got != want:
                mismatches.append(f"{capture} frame {frame} ({label}): {got} != {want}")
    print(f"\nDiameter differential: {dict(sorted(stats.items()))}")
    assert not mismatches, "\n".join(mismatches[:10])
    assert stats["by vendor: compared"] == len(messages)
    assert stats["Diameter3GPP: compared"] >= len(messages) // 2
    assert stats["with an IMEI TAC"] == 10  # testattach's Update Location Requests
