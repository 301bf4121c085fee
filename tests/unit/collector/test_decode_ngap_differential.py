"""Differential: on every NGAP message of the golden captures, NGAPDecoder (an IE walk
decoding only the IEs it needs) gives the fields a FULL pycrate decode gives.

The reference side uses pycrate the plain way: `NGAP_PDU.from_aper` of the whole PDU,
a generic walk of the decoded value in encoding order (every TAI and CGI, every
NAS-PDU wherever it sits), `parse_NAS5G` of each NAS-PDU with its containers, and
pycrate's own `FGSID.decode()` (the NAI string of a SUCI) for identities.  Only the
identity a message carries is compared: our decoder gets a correlator whose entries
expire between two messages.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

from collector.decode.nas_5gs import NAS5G, spec_name
from collector.decode.ngap import NGAPDecoder
from collector.decode.ngap_schema import NGAP
from collector.framing.messages import iter_messages
from collector.identity import Correlator
from collector.telemetry import Counters
from tests.helpers import capture_paths
from wire.pseudonym import Pseudonymizer

PSEUDONYM = Pseudonymizer(bytes(range(32)))
_NULL_NAI = re.compile(r"^type0\.rid\d+\.schid0\.userid(\d+)@5gc\.mnc(\d+)\.mcc(\d+)\.")
_CELLS = {"nRCellIdentity": "nr", "eUTRACellIdentity": "eutran"}
_NAS_KEYS = ("nAS-PDU", "pDUSessionNAS-PDU")


@cache
def ngap_messages() -> list[tuple[str, int, bytes]]:
    """(capture name, frame, payload) of every NGAP message framing yields."""
    return [(path.name, frame, bytes(msg.payload)) for path in capture_paths()
            for frame, _t, msg in iter_messages(str(path), Counters()) if msg.proto == "ngap"]


def walk(value, out: dict) -> None:
    """Collect locations and NAS-PDUs from a decoded value, in encoding order."""
    if isinstance(value, dict):
        if "tAC" in value and "pLMNIdentity" in value:
            out.setdefault("plmn", value["pLMNIdentity"])
            out.setdefault("tac", int.from_bytes(value["tAC"], "big"))
        for key, rat in _CELLS.items():
            if key in value:
                out.setdefault("plmn", value["pLMNIdentity"])
                out.setdefault("cell", (value[key][0], rat))
        for key, item in value.items():
            if key in _NAS_KEYS:
                out["nas"].append(item)
            else:
                walk(item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            walk(item, out)


def nas_facts(buf: bytes, out: dict) -> None:
    """Name and identities of one NAS-PDU by a full pycrate parse."""
    msg, _err = NAS5G.parse_NAS5G(buf, null_cipher=True)
    if msg is None:
        return
    if msg._name == "5GMMSecProtNASMessage":
        msg = msg[3]
    if msg._name.startswith(("5GMM", "5GSM")):
        out["names"].append(msg._name)
    stack = [msg]
    while stack:  # every 5GS mobile identity of the message and of its containers
        elt = stack.pop(0)
        if type(elt).__name__ == "FGSID":
            kind, ident = elt.decode()
            out["ids"].append((msg._name, kind, ident))
        elif hasattr(elt, "_content"):
            stack[:0] = list(elt._content)
    out["off"] = out.get("off", False) or msg._name == "5GMMMODeregistrationRequest"


def reference(payload: bytes) -> dict | None:
    """Our inspect fields as a full pycrate decode reads them; None if pycrate cannot."""
    pdu = NGAP.NGAP_PDU_Descriptions.NGAP_PDU
    try:
        pdu.from_aper(payload)
    except Exception:
        return None
    name, body = pdu.get_val()[1]["value"]
    found: dict = {"nas": []}
    ies = body["protocolIEs"]
    for ie in ies:
        if ie["id"] == NGAP.NGAP_Constants.id_NAS_PDU._val:
            found["nas"].append(ie["value"][1])
        else:
            walk(ie["value"], found)
    nas: dict = {"names": [], "ids": []}
    for buf in found["nas"]:
        nas_facts(buf, nas)
    mm = [n for n in nas["names"] if n.startswith("5GMM")] or nas["names"]
    rec = {"msg": name, "nas": spec_name(mm[0]) if mm else None,
           "plmn": _plmn(found.get("plmn")), "tac": found.get("tac"),
           "cell": found["cell"][0] if "cell" in found else None,
           "rat": found["cell"][1] if "cell" in found else None,
           "subscriber": None, "home_mcc": None, "off": nas.get("off", False)}
    for _cls, kind, ident in nas["ids"]:
        null = _NULL_NAI.match(ident) if kind == 1 else None
        if null and rec["subscriber"] is None:
            supi = null.group(3) + null.group(2) + null.group(1)
            rec["subscriber"], rec["home_mcc"] = PSEUDONYM(supi), supi[:3]
    s_tmsi = any(ie["id"] in (26, 115) for ie in ies)  # 5G-S-TMSI, UE Paging Identity
    named = s_tmsi or any(kind in (1, 2, 4) for _c, kind, _i in nas["ids"])
    rec["emitted"] = named or any(rec[k] is not None for k in ("plmn", "tac", "cell"))
    return rec


def _plmn(octets: bytes | None) -> str | None:
    if octets is None:
        return None
    from pycrate_mobile.TS24008_IE import PLMN  # pycrate's own PLMN reading

    plmn = PLMN()
    plmn.from_bytes(octets)
    return plmn.decode()


def ours(decoder: NGAPDecoder, payload: bytes, now: float) -> dict:
    events, _reason = decoder(payload, ("a", "b"), 1, now)
    if not events:
        return {"emitted": False}
    rec = events[0].inspect_record()
    rec["subscriber"], rec["off"], rec["emitted"] = events[0].subscriber, events[0].off, True
    return {k: v for k, v in rec.items() if k not in ("frame", "time", "proto")}


def test_ngap_fields_equal_a_full_pycrate_decode() -> None:
    messages = ngap_messages()
    assert len(messages) == 14 + 23 + 1306
    # entries live 1 ns of capture time: messages 1 s apart never correlate
    decoder = NGAPDecoder(PSEUDONYM, Correlator(max_entries=10, ttl=1e-9))
    stats, mismatches = Counter(), []
    for i, (capture, frame, payload) in enumerate(messages):
        want = reference(payload)
        if want is None:
            stats["pycrate cannot decode"] += 1
            continue
        got = ours(decoder, payload, float(i))
        stats["emitted" if want["emitted"] else "no event"] += 1
        if not want["emitted"]:
            want = {"emitted": False}
        diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        if diff:
            mismatches.append(f"{capture} frame {frame}: {diff}")
        stats["with carried subscriber"] += want.get("subscriber") is not None
        stats["with an NR cell"] += want.get("rat") == "nr"
    print(f"\n{len(messages)} NGAP messages: {dict(stats)}")
    assert not mismatches, "\n".join(mismatches[:20])
    assert stats["pycrate cannot decode"] == 0
    assert stats["emitted"] == 616 and stats["with carried subscriber"] == 49
    assert stats["with an NR cell"] == 590  # the reference walk is not blind

