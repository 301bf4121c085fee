"""Differential: on every GTPv2-C message of the golden captures, GTPv2Decoder (a TLV walk
reading only the IEs it needs) gives the fields a FULL pycrate decode gives.

The reference side uses pycrate the plain way: `parse_GTPC` of the whole message,
pycrate's own `decode()` of the IMSI, ULI (TAI, ECGI) and Serving Network IEs, the
message name from its message type table, and a generic walk of every grouped IE for
the F-TEIDs.  Only the identity a message carries is compared: our decoder gets a
correlator whose entries expire between two messages.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

from collector.decode.gtpv2 import GTPv2Decoder
from collector.decode.gtpv2_ies import FTEID
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import Counters
from tests.golden.tsv_gtpv2 import GTPC, spec_name
from tests.helpers import capture_paths
from wire.pseudonym import Pseudonymizer

PSEUDONYM = Pseudonymizer(bytes(range(32)))
FIELDS = ("msg", "subscriber", "home_mcc", "plmn", "tac", "cell", "rat", "imei_tac")


@cache
def gtpv2_messages() -> list[tuple[str, int, bytes]]:
    """(capture name, frame, payload) of every GTPv2-C message framing yields."""
    return [(path.name, frame, bytes(msg.payload)) for path in capture_paths()
            for frame, _t, msg in iter_messages(str(path), Counters()) if msg.proto == "gtpv2"]


def grouped_raw(ies, ie) -> bool:
    """True for an IE of a type the message's IE table declares grouped, left as raw bytes.

    pycrate keeps such an IE undecoded when its content breaks the message's table
    (open5gs omits the mandatory Cause in the Bearer Contexts of its responses) or when
    its instance is not in the table (open5gs numbers a second Bearer Context of a
    Create Indirect Data Forwarding Tunnel message instance 1; tshark reads it).
    """
    kind = ie[0]["Type"].get_val()
    specs = [v for k, v in (ies.MAND | ies.OPT).items() if isinstance(k, tuple) and k[0] == kind]
    return not isinstance(ie[1], GTPC.GTPCIEs) and any(
        isinstance(v[0], type) and issubclass(v[0], GTPC.GTPCIEs) for v in specs)


def fteids(ies, out: list, stats: Counter) -> None:
    """Every F-TEID of a decoded IE list, grouped IEs included, in encoding order."""
    for ie in ies:
        data = ie[1]
        if ie[0]["Type"].get_val() == 87:
            v4, v6 = data["IPv4Addr"], data["IPv6Addr"]
            out.append(FTEID(data["IF"].get_val(), data["TEID_GREKey"].get_val(),
                             None if v4.get_trans() else v4.to_bytes(),
                             None if v6.get_trans() else v6.to_bytes()))
        elif isinstance(data, GTPC.GTPCIEs):
            fteids(data, out, stats)
        elif grouped_raw(ies, ie):  # read again with pycrate's generic IE list
            inner = GTPC.GTPCIEs()
            inner.from_bytes(data.to_bytes())
            stats["grouped IEs pycrate read generically"] += 1
            fteids(inner, out, stats)


def reference(payload: bytes, stats: Counter) -> dict | None:
    """Our fields as a full pycrate decode reads them; None if pycrate cannot."""
    msg, _err = GTPC.parse_GTPC(payload)
    if msg is None:
        return None
    rec = dict.fromkeys(FIELDS)
    rec.update(msg=spec_name(msg[0]["Type"].get_val()), carries=False, fteids=[],
               serving=None, rat_type=None)
    for ie in msg[1]:
        kind, data = ie[0]["Type"].get_val(), ie[1]
        if kind == 1 and rec["subscriber"] is None:
            imsi = data.decode()
            rec["subscriber"], rec["home_mcc"] = PSEUDONYM(imsi), imsi[:3]
        elif kind == 86:
            for field, key in (("TAI", "tac"), ("ECGI", "cell")):
                if not data[field].get_trans():
                    plmn, value = data[field].decode()
                    rec["plmn"] = rec["plmn"] or plmn
                    rec[key] = value if rec[key] is None else rec[key]
        elif kind == 75 and rec["imei_tac"] is None:  # MEI: pycrate's TBCD digits, TAC first
            digits = data.decode()
            rec["imei_tac"] = digits[:8] if len(digits) >= 8 else None
        elif kind == 83:
            rec["serving"] = data[0].decode()
        elif kind == 82:
            rec["rat_type"] = data["Val"].get_val()
        rec["carries"] |= kind in (1, 76, 83) or (kind == 86 and rec["plmn"] is not None)
    rec["rat"] = "eutran" if rec["cell"] is not None else None
    fteids(msg[1], rec["fteids"], stats)
    return rec


def ours(decoder: GTPv2Decoder, payload: bytes, now: float) -> dict:
    (_head, facts), = decoder.read(payload)
    events, reason = decoder(payload, ("a", "b"), 1, now)
    assert reason is None
    rec = dict.fromkeys(FIELDS)
    if events:
        rec.update(events[0].inspect_record(), subscriber=events[0].subscriber)
    rec.update(carries=bool(events), fteids=facts.fteids, serving=facts.serving,
               rat_type=facts.rat_type, imei_tac=events[0].imei_tac if events else facts.imei_tac)
    if not events:  # a message that gives no event still has a name
        rec["msg"] = spec_name(_head.type)
    return rec


def test_gtpv2_fields_equal_a_full_pycrate_decode() -> None:
    messages = gtpv2_messages()
    assert len(messages) == 4 + 22 + 106 + 168 + 186
    # entries live 1 ns of capture time: messages 1 s apart never correlate
    decoder = GTPv2Decoder(PSEUDONYM, Correlator(max_entries=10, ttl=1e-9))
    stats, mismatches = Counter(), []
    for i, (capture, frame, payload) in enumerate(messages):
        want = reference(payload, stats)
        if want is None:
            stats["pycrate cannot decode"] += 1
            continue
        got = ours(decoder, payload, float(i))
        stats["event" if want["carries"] else "no event"] += 1
        stats["F-TEIDs"] += len(want["fteids"])
        stats["MEI"] += want["imei_tac"] is not None
        diff = {k: (got[k], v) for k, v in want.items() if got[k] != v}
        if diff:
            mismatches.append(f"{capture} frame {frame}: {diff}")
    print(f"\nGTPv2 differential over {len(messages)} messages: {dict(stats)}")
    assert not mismatches, "\n".join(mismatches[:10])
    assert stats["event"] == 183 and stats["pycrate cannot decode"] == 0
    assert stats["MEI"] == 21  # Create Session Requests of testattach and inbound_roaming
