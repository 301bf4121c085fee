"""Hand-written ALIGNED PER readers for the NGAP IE values the decoder reads.

Each reader takes the bytes of one IE value (the content of its open type, as
`aper.split_ies` gives it) and returns the value in the shape pycrate's
`get_val()` gives, limited to the fields `ngap_ies.read_facts` looks at.  The
ASN.1 is TS 38.413 §9.4.5 (NGAP-IEs) and §9.4.4 (PDU contents); the bits are
read with `aper_bits.Bits` (X.691 ALIGNED), as `s1ap_fast` reads S1AP.

NGAP SEQUENCEs open with an extension bit and one bit per OPTIONAL field; its
CHOICEs have no extension marker but a last `choice-Extensions` alternative.
A reader raises `Doubt` on anything it does not read with certainty: an
extension bit or an iE-Extensions container present, a `choice-Extensions` or
an alternative it does not read, a length that does not fill its open type
exactly.  The caller then decodes that IE with pycrate, and counts it.
"""

from __future__ import annotations

from collections.abc import Callable

from collector.decode.aper import read_open
from collector.decode.aper_bits import Bits, Doubt
from collector.decode.s1ap_fast import mme_ue_id, octet_string, type_name

AMF_UE_MAX, RAN_UE_MAX = (1 << 40) - 1, (1 << 32) - 1


def amf_ue_id(buf: bytes) -> int:
    """§9.3.3.1 AMF UE NGAP ID INTEGER (0..2^40-1): 3-bit octet count - 1, padding, octets."""
    if not buf or buf[0] >> 5 > 4 or len(buf) != (buf[0] >> 5) + 2:
        raise Doubt
    return int.from_bytes(buf[1:], "big")


ran_ue_id = mme_ue_id  # §9.3.3.2 RAN UE NGAP ID INTEGER (0..2^32-1): as S1AP's MME-UE-S1AP-ID


def ue_ngap_ids(buf: bytes) -> tuple:
    """§9.2.2.5 UE NGAP IDs ::= CHOICE { uE-NGAP-ID-pair, aMF-UE-NGAP-ID, choice-Extensions }."""
    b = Bits(buf)
    kind = b.bits(2)
    if kind == 0:
        b.zero()  # UE-NGAP-ID-pair: extension, iE-Extensions
        b.zero()
        amf = b.uint(3, 5, AMF_UE_MAX)
        value: tuple = ("uE-NGAP-ID-pair", {"aMF-UE-NGAP-ID": amf,
                                            "rAN-UE-NGAP-ID": b.uint(2, 4, RAN_UE_MAX)})
    elif kind == 1:
        value = ("aMF-UE-NGAP-ID", b.uint(3, 5, AMF_UE_MAX))
    else:
        raise Doubt
    b.end()
    return value


# §9.3.3.11 TAI, §9.3.1.7 NR CGI, §9.3.1.9 E-UTRA CGI: SEQUENCE { ..., iE-Extensions OPTIONAL, ... }

def _tai(b: Bits) -> dict:
    b.zero()
    b.zero()
    return {"pLMNIdentity": b.octets(3), "tAC": b.octets(3)}  # PLMN Identity, TAC (SIZE (3))


def _cgi(field: str, size: int) -> Callable[[Bits], dict]:
    def read(b: Bits) -> dict:
        b.zero()
        b.zero()
        plmn = b.octets(3)
        b.align()  # BIT STRING (SIZE (36)) / (SIZE (28)): fixed, over 16 bits, aligned (§16.10)
        return {"pLMNIdentity": plmn, field: (b.bits(size), size)}
    return read


_nr_cgi, _eutra_cgi = _cgi("nRCellIdentity", 36), _cgi("eUTRACellIdentity", 28)


def _located(cgi_field: str, read_cgi: Callable[[Bits], dict]) -> Callable[[Bits], dict]:
    """User Location Information NR / E-UTRA (§9.3.1.16):
    SEQUENCE { cgi, tAI, timeStamp OPTIONAL, iE-Extensions OPTIONAL, ... }."""
    def read(b: Bits) -> dict:
        b.zero()
        stamped = b.bits(1)
        b.zero()
        value = {cgi_field: read_cgi(b), "tAI": _tai(b)}
        if stamped:
            value["timeStamp"] = b.octets(4)  # TimeStamp OCTET STRING (SIZE (4))
        return value
    return read


# User Location Information CHOICE alternatives by index (N3IWF and extensions: pycrate)
_ULI = (("userLocationInformationEUTRA", _located("eUTRA-CGI", _eutra_cgi)),
        ("userLocationInformationNR", _located("nR-CGI", _nr_cgi)))


def user_location(buf: bytes) -> tuple:
    """§9.3.1.16 User Location Information: its E-UTRA and NR alternatives."""
    # the usual case straight from the octets: octet 1 = choice index (2 bits), extension,
    # timeStamp and iE-Extensions bits of the alternative, extension and iE-Extensions bits
    # of its CGI (all 0 but timeStamp), padding; PLMN (3); the cell identity (aligned), the
    # TAI's extension and iE-Extensions bits right after it, padding; PLMN, TAC (3); the
    # time stamp (4) if present
    size = len(buf)
    if size >= 14 and buf[0] & 0xAE == 0:
        stamped = buf[0] >> 4 & 1
        if buf[0] & 0x40:  # userLocationInformationNR: 36-bit cell identity in octets 5-9
            if size == 15 + 4 * stamped and not buf[8] & 0x0C:
                value = {"nR-CGI": {"pLMNIdentity": buf[1:4], "nRCellIdentity": (
                    int.from_bytes(buf[4:9], "big") >> 4, 36)},
                    "tAI": {"pLMNIdentity": buf[9:12], "tAC": buf[12:15]}}
                if stamped:
                    value["timeStamp"] = buf[15:19]
                return "userLocationInformationNR", value
        elif size == 14 + 4 * stamped and not buf[7] & 0x0C:  # E-UTRA: 28 bits in 5-8
            value = {"eUTRA-CGI": {"pLMNIdentity": buf[1:4], "eUTRACellIdentity": (
                int.from_bytes(buf[4:8], "big") >> 4, 28)},
                "tAI": {"pLMNIdentity": buf[8:11], "tAC": buf[11:14]}}
            if stamped:
                value["timeStamp"] = buf[14:18]
            return "userLocationInformationEUTRA", value
    return user_location_bits(buf)


def user_location_bits(buf: bytes) -> tuple:
    """User Location Information read bit by bit (`user_location` without its shortcut)."""
    b = Bits(buf)
    kind = b.bits(2)
    if kind >= len(_ULI):
        raise Doubt
    name, read = _ULI[kind]
    value = (name, read(b))
    b.end()
    return value


def ngran_cgi(buf: bytes) -> tuple:
    """§9.3.1.73 NG-RAN CGI ::= CHOICE { nR-CGI, eUTRA-CGI, choice-Extensions }."""
    b = Bits(buf)
    kind = b.bits(2)
    if kind > 1:
        raise Doubt
    value = ("nR-CGI", _nr_cgi(b)) if kind == 0 else ("eUTRA-CGI", _eutra_cgi(b))
    b.end()
    return value


def _s_tmsi(b: Bits) -> dict:
    # §9.3.3.20 5G-S-TMSI: AMF Set ID BIT STRING (SIZE (10)) and AMF Pointer (SIZE (6)),
    # 16 bits or less: not aligned (§16.9); 5G-TMSI OCTET STRING (SIZE (4)): aligned
    b.zero()
    b.zero()
    set_id, pointer = b.bits(10), b.bits(6)
    return {"aMFSetID": (set_id, 10), "aMFPointer": (pointer, 6), "fiveG-TMSI": b.octets(4)}


def five_g_s_tmsi(buf: bytes) -> dict:
    """§9.3.3.20 5G-S-TMSI."""
    if len(buf) == 7 and not buf[0] & 0xC0:  # the bits above, from the octets
        return {"aMFSetID": ((buf[0] & 0x3F) << 4 | buf[1] >> 4, 10),
                "aMFPointer": ((buf[1] & 0xF) << 2 | buf[2] >> 6, 6), "fiveG-TMSI": buf[3:7]}
    b = Bits(buf)
    value = _s_tmsi(b)
    b.end()
    return value


def ue_paging_identity(buf: bytes) -> tuple:
    """§9.2.4.1 UE Paging Identity ::= CHOICE { fiveG-S-TMSI, choice-Extensions }."""
    b = Bits(buf)
    if b.bits(1):
        raise Doubt
    value = ("fiveG-S-TMSI", _s_tmsi(b))
    b.end()
    return value


def tai_list_for_paging(buf: bytes) -> list:
    """§9.2.4.1 TAI List for Paging ::= SEQUENCE (SIZE (1..16)) OF
    TAIListForPagingItem { tAI, iE-Extensions OPTIONAL, ... }."""
    b = Bits(buf)
    items = []
    for _ in range(b.bits(4) + 1):  # size - 1 in a 4-bit field
        b.zero()
        b.zero()
        items.append({"tAI": _tai(b)})
    b.end()
    return items


_HANDOVER_TYPES = ("intra5gs", "fivegs-to-eps", "eps-to-5gs")


def handover_type(buf: bytes) -> str:
    """§9.3.1.22 Handover Type: ENUMERATED, extensible (fivegs-to-utran: pycrate)."""
    b = Bits(buf)
    b.zero()
    index = b.bits(2)
    if index >= len(_HANDOVER_TYPES):
        raise Doubt
    b.end()
    return _HANDOVER_TYPES[index]


def _global_ran_node(b: Bits) -> None:
    """§9.3.1.5 Global RAN Node ID: its gNB and ng-eNB alternatives, skipped."""
    kind = b.bits(2)
    if kind > 1:
        raise Doubt  # N3IWF, extensions
    b.zero()  # Global gNB ID / Global ng-eNB ID: extension, iE-Extensions
    b.zero()
    b.octets(3)
    if kind == 0:  # GNB-ID ::= CHOICE { gNB-ID BIT STRING (SIZE (22..32)), choice-Extensions }
        if b.bits(1):
            raise Doubt
        size = b.bits(4) + 22
        if size > 32:
            raise Doubt
        b.align()
        b.bits(size)
        return
    kind = b.bits(2)  # NgENB-ID: macro (20 bits), short macro (18), long macro (21)
    if kind > 2:
        raise Doubt
    b.align()
    b.bits((20, 18, 21)[kind])


def target_id(buf: bytes) -> tuple:
    """§9.3.1.25 Target ID: the targetRANNodeID alternative (Global RAN Node ID, selected
    TAI); targeteNB-ID and extensions: pycrate."""
    b = Bits(buf)
    if b.bits(2):
        raise Doubt
    b.zero()
    b.zero()
    _global_ran_node(b)
    value = ("targetRANNodeID", {"selectedTAI": _tai(b)})
    b.end()
    return value


def _transfer(buf: bytes) -> None:
    """A PDU Session Resource Setup / Modify Request Transfer (§9.3.4.1, §9.3.4.3), an OCTET
    STRING (CONTAINING a SEQUENCE { protocolIEs, ... }) that names nothing we read: only
    its IE container is checked to fill the octets exactly (pycrate decodes the IE values
    too and fails the whole message on a bad one; the fast path does not vouch for them)."""
    if not buf or buf[0] & 0x80 or container_end(buf) != len(buf):
        raise Doubt


def container_end(body: bytes) -> int | None:
    """The octet after a ProtocolIE-Container at offset 1 of `body` (`aper.split_ies`
    layout), None when it runs past the end."""
    if len(body) < 3:
        return None
    off = 3
    for _ in range((body[1] << 8) | body[2]):
        opened = read_open(body, off + 3) if off + 3 <= len(body) else None
        if opened is None:
            return None
        off = opened[1]
    return off


# PDU Session Resource Setup / Modify lists (§9.2.2.1, §9.2.1.1, §9.2.1.5): SEQUENCE (SIZE (1..256)) OF items
# { pDUSessionID, NAS-PDU OPTIONAL, [s-NSSAI,] transfer, iE-Extensions OPTIONAL, ... }

def _session_items(nas_field: str, sliced: bool) -> Callable[[bytes], list]:
    def read(buf: bytes) -> list:
        b = Bits(buf)
        items = []
        for _ in range(b.octets(1)[0] + 1):  # size - 1: range 256, one aligned octet
            b.zero()
            nas = b.bits(1)
            b.zero()
            b.octets(1)  # PDU Session ID INTEGER (0..255): one aligned octet
            item = {nas_field: b.octets(b.length())} if nas else {}
            if sliced:  # S-NSSAI { sST (SIZE (1)), sD (SIZE (3)) OPTIONAL, iE-Ext. OPTIONAL, ... }
                b.zero()
                sd = b.bits(1)
                b.zero()
                b.bits(8)
                if sd:
                    b.octets(3)
            _transfer(b.octets(b.length()))
            items.append(item)
        b.end()
        return items
    return read


# readers by ASN.1 type name of the IE value (pycrate's `_typeref`)
READERS: dict[str, Callable[[bytes], object]] = {
    "AMF-UE-NGAP-ID": amf_ue_id,
    "RAN-UE-NGAP-ID": ran_ue_id,
    "UE-NGAP-IDs": ue_ngap_ids,
    "NAS-PDU": octet_string,
    "SourceToTarget-TransparentContainer": octet_string,
    "UserLocationInformation": user_location,
    "NGRAN-CGI": ngran_cgi,
    "FiveG-S-TMSI": five_g_s_tmsi,
    "UEPagingIdentity": ue_paging_identity,
    "TAIListForPaging": tai_list_for_paging,
    "HandoverType": handover_type,
    "TargetID": target_id,
    "PDUSessionResourceSetupListCxtReq": _session_items("nAS-PDU", True),
    "PDUSessionResourceSetupListSUReq": _session_items("pDUSessionNAS-PDU", True),
    "PDUSessionResourceModifyListModReq": _session_items("nAS-PDU", False),
}


def readers_for(ie_types: dict, wanted: frozenset) -> dict[int, tuple[str, Callable | None]]:
    """{IE id: (type name, reader or None)} for the wanted IEs of one message
    (None: no hand-written reader, pycrate reads it)."""
    out = {}
    for ie_id, ie_type in ie_types.items():
        if ie_id in wanted:
            name = type_name(ie_type)
            out[ie_id] = (name, READERS.get(name))
    return out
