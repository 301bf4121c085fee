"""Hand-written ALIGNED PER readers for the S1AP IE values the decoder reads.

Each reader takes the bytes of one IE value (the content of its open type, as
`aper.split_ies` gives it) and returns the value in the shape pycrate's
`get_val()` gives, limited to the fields `s1ap_ies.read_facts` looks at.  The
ASN.1 is TS 36.413 §9.3.4 (S1AP-IEs) and §9.3.3 (PDU contents); the bits are
read with `aper_bits.Bits` (X.691 ALIGNED).

A reader raises `Doubt` on anything it does not read with certainty: extension
bits set, an extension container present, an unknown alternative, a length
that does not fill its open type exactly, a value out of its constraint.  The
caller then decodes that IE with pycrate, and counts it.
"""

from __future__ import annotations

from collections.abc import Callable

from collector.decode.aper_bits import Bits, Doubt

# The most frequent IEs are read straight from their octets; the layout is spelt out.

def mme_ue_id(buf: bytes) -> int:
    """§9.2.3.3 MME-UE-S1AP-ID INTEGER (0..2^32-1): 2-bit octet count - 1, padding, octets."""
    if not buf or len(buf) != (buf[0] >> 6) + 2:
        raise Doubt
    return int.from_bytes(buf[1:], "big")


def enb_ue_id(buf: bytes) -> int:
    """§9.2.3.4 ENB-UE-S1AP-ID INTEGER (0..2^24-1): as MME-UE-S1AP-ID, at most 3 octets."""
    if not buf or len(buf) != (buf[0] >> 6) + 2 or len(buf) > 4:
        raise Doubt
    return int.from_bytes(buf[1:], "big")


def octet_string(buf: bytes) -> bytes:
    """§9.2.3.5 NAS-PDU, §9.2.1.56 Source to Target Transparent Container: OCTET STRING,
    unconstrained: a 1- or 2-octet length (§11.9.3.6-7), the octets."""
    if not buf:
        raise Doubt
    if buf[0] < 0x80:
        start, size = 1, buf[0]
    elif buf[0] < 0xC0 and len(buf) > 1:
        start, size = 2, (buf[0] & 0x3F) << 8 | buf[1]
    else:
        raise Doubt  # fragmented (§11.9.3.8)
    if len(buf) != start + size:
        raise Doubt
    return buf[start:]


def tai(buf: bytes) -> dict:
    """§9.2.3.16 TAI: extension and iE-Extensions bits (0), padding, PLMN (3), TAC (2)."""
    if len(buf) != 6 or buf[0] & 0xC0:
        raise Doubt
    return {"pLMNidentity": buf[1:4], "tAC": buf[4:6]}


def ecgi(buf: bytes) -> dict:
    """§9.2.1.38 E-UTRAN CGI: two bits (0), padding, PLMN (3), cell identity (28 bits)."""
    if len(buf) != 8 or buf[0] & 0xC0:
        raise Doubt
    return {"pLMNidentity": buf[1:4], "cell-ID": (int.from_bytes(buf[4:8], "big") >> 4, 28)}


def s_tmsi(buf: bytes) -> dict:
    """§9.2.3.6 S-TMSI: two bits (0), MMEC (8 bits, not aligned), padding, M-TMSI (4)."""
    if len(buf) != 6 or buf[0] & 0xC0:
        raise Doubt
    return {"mMEC": bytes((((buf[0] & 0x3F) << 2) | (buf[1] >> 6),)), "m-TMSI": buf[2:6]}


def ue_s1ap_ids(buf: bytes) -> tuple:
    """§9.2.3.18 UE-S1AP-IDs ::= CHOICE { uE-S1AP-ID-pair, mME-UE-S1AP-ID, ... }."""
    b = Bits(buf)
    b.zero()
    if b.bits(1):
        value: tuple = ("mME-UE-S1AP-ID", b.uint(2, 4, 0xFFFFFFFF))
    else:
        b.zero()  # UE-S1AP-ID-pair extension bit
        b.zero()  # iE-Extensions
        mme = b.uint(2, 4, 0xFFFFFFFF)
        value = ("uE-S1AP-ID-pair", {"mME-UE-S1AP-ID": mme, "eNB-UE-S1AP-ID": b.uint(2, 3, 0xFFFFFF)})
    b.end()
    return value


# The same SEQUENCEs inside other IEs, read bit by bit: §9.2.3.16 TAI, §9.2.1.38 E-UTRAN CGI,
# §9.2.3.6 S-TMSI, each { ..., iE-Extensions OPTIONAL, ... }

def _tai(b: Bits) -> dict:
    b.zero()  # extension
    b.zero()  # iE-Extensions
    return {"pLMNidentity": b.octets(3), "tAC": b.octets(2)}  # TBCD-STRING (SIZE (3)), SIZE (2)


def _ecgi(b: Bits) -> dict:
    b.zero()
    b.zero()
    plmn = b.octets(3)
    b.align()  # CellIdentity BIT STRING (SIZE (28)): fixed, over 16 bits, so aligned (§16.10)
    return {"pLMNidentity": plmn, "cell-ID": (b.bits(28), 28)}


def _s_tmsi(b: Bits) -> dict:
    b.zero()
    b.zero()
    mmec = b.bits(8)  # MME-Code OCTET STRING (SIZE (1)): two octets or less, not aligned (§17.6)
    return {"mMEC": bytes((mmec,)), "m-TMSI": b.octets(4)}


def _user_location(b: Bits) -> dict:
    # UserLocationInformation ::= SEQUENCE { eutran-cgi, tai, iE-Extensions OPTIONAL, ... }
    b.zero()
    b.zero()
    return {"eutran-cgi": _ecgi(b), "tai": _tai(b)}


def ue_paging_id(buf: bytes) -> tuple:
    """§9.2.3.13 UEPagingID ::= CHOICE { s-TMSI, iMSI IMSI (TBCD, SIZE (3..8)), ... }."""
    b = Bits(buf)
    b.zero()
    if b.bits(1):
        size = b.bits(3) + 3
        if size > 8:
            raise Doubt
        value = ("iMSI", b.octets(size))
    else:
        value = ("s-TMSI", _s_tmsi(b))
    b.end()
    return value


def target_id(buf: bytes) -> tuple:
    """§9.2.1.6 Target ID: the targeteNB-ID alternative (Global eNB ID, selected TAI)."""
    b = Bits(buf)
    b.zero()
    if b.bits(2):  # targetRNC-ID, cGI: pycrate reads them
        raise Doubt
    for _ in range(4):  # TargeteNB-ID and Global-ENB-ID: extension, iE-Extensions
        b.zero()
    b.octets(3)  # pLMNidentity
    b.zero()     # eNB-ID CHOICE extension: short and long macro eNB ids
    home = b.bits(1)
    b.align()    # macroENB-ID BIT STRING (SIZE (20)), homeENB-ID (SIZE (28)): aligned
    b.bits(28 if home else 20)
    value = ("targeteNB-ID", {"selected-TAI": _tai(b)})
    b.end()
    return value


_HANDOVER_TYPES = ("intralte", "ltetoutran", "ltetogeran", "utrantolte", "gerantolte")


def handover_type(buf: bytes) -> str:
    """§9.2.1.13 Handover Type: ENUMERATED, extensible (eps-to-5gs, fivegs-to-eps: pycrate)."""
    b = Bits(buf)
    b.zero()
    index = b.bits(3)
    if index >= len(_HANDOVER_TYPES):
        raise Doubt
    b.end()
    return _HANDOVER_TYPES[index]


# E-RAB lists: §9.1.4.1, §9.1.3.1, §9.1.5.4; E-RAB items ::= SEQUENCE { ..., iE-Extensions OPTIONAL, ... }

def _erab_id(b: Bits) -> None:
    b.zero()      # E-RAB-ID ::= INTEGER (0..15, ...)
    b.bits(4)


def _qos(b: Bits) -> None:
    # §9.2.1.15 E-RAB Level QoS Parameters { qCI, allocationRetentionPriority, gbrQosInformation OPTIONAL }
    b.zero()
    gbr = b.bits(1)
    b.zero()
    b.octets(1)   # QCI INTEGER (0..255): one aligned octet (§11.5.7.2)
    b.zero()      # §9.2.1.60 Allocation and Retention Priority: extension, iE-Extensions
    b.zero()
    b.bits(6)     # priorityLevel (0..15), pre-emption capability and vulnerability
    if gbr:       # §9.2.1.18 GBR QoS Information: four bit rates INTEGER (0..10,000,000,000)
        b.zero()
        b.zero()
        for _ in range(4):
            b.uint(3, 5, 10_000_000_000)


def _tunnel(b: Bits) -> dict:
    b.zero()  # §9.2.2.1 Transport Layer Address BIT STRING (SIZE (1..160, ...))
    size = b.bits(8) + 1
    if size > 160:
        raise Doubt
    b.align()
    address = (b.bits(size), size)
    return {"transportLayerAddress": address, "gTP-TEID": b.octets(4)}  # §9.2.2.2 GTP-TEID


def _erab_ctxt(b: Bits) -> dict:
    b.zero()
    nas = b.bits(1)
    b.zero()
    _erab_id(b)
    _qos(b)
    item = _tunnel(b)
    if nas:
        item["nAS-PDU"] = b.octets(b.length())
    return item


def _erab_bearer(b: Bits) -> dict:
    b.zero()
    b.zero()
    _erab_id(b)
    _qos(b)
    item = _tunnel(b)
    item["nAS-PDU"] = b.octets(b.length())
    return item


def _erab_ho(b: Bits) -> dict:
    b.zero()
    b.zero()
    _erab_id(b)
    item = _tunnel(b)
    _qos(b)
    return item


def erab_ctxt_item(buf: bytes) -> dict:
    """One whole E-RABToBeSetupItemCtxtSUReq (§9.1.4.1), as an item of its list gives it."""
    b = Bits(buf)
    item = _erab_ctxt(b)
    b.end()
    return item


def _tai_item(b: Bits) -> dict:
    b.zero()
    b.zero()
    return {"tAI": _tai(b)}


def _single_containers(item_id: int, item_type: str,
                       read_item: Callable[[Bits], dict]) -> Callable[[bytes], list]:
    """A reader of SEQUENCE (SIZE (1..256)) OF ProtocolIE-SingleContainer (§9.3.7) whose
    items all have IE id `item_id`, as pycrate gives it: [{'value': (item_type, item)}]."""
    def read(buf: bytes) -> list:
        b = Bits(buf)
        items = []
        for _ in range(b.bits(8) + 1):  # count - 1: one aligned octet
            if int.from_bytes(b.octets(2), "big") != item_id or b.bits(2) > 2:
                raise Doubt  # another IE than expected, or no such criticality
            inner = Bits(b.octets(b.length()))
            items.append({"value": (item_type, read_item(inner))})
            inner.end()
        b.end()
        return items
    return read


def _entire(read_part: Callable[[Bits], object]) -> Callable[[bytes], object]:
    def read(buf: bytes) -> object:
        b = Bits(buf)
        value = read_part(b)
        b.end()
        return value
    return read


# readers by ASN.1 type name of the IE value (pycrate's `_typeref`); list items by their IE id
# (§9.3.6): id-TAIItem 47, id-E-RABToBeSetupItemCtxtSUReq 52, -BearerSUReq 17, -HOReq 27
READERS: dict[str, Callable[[bytes], object]] = {
    "MME-UE-S1AP-ID": mme_ue_id,
    "ENB-UE-S1AP-ID": enb_ue_id,
    "UE-S1AP-IDs": ue_s1ap_ids,
    "NAS-PDU": octet_string,
    "Source-ToTarget-TransparentContainer": octet_string,
    "TAI": tai,
    "EUTRAN-CGI": ecgi,
    "S-TMSI": s_tmsi,
    "UserLocationInformation": _entire(_user_location),
    "UEPagingID": ue_paging_id,
    "TargetID": target_id,
    "HandoverType": handover_type,
    "TAIList": _single_containers(47, "TAIItem", _tai_item),
    "E-RABToBeSetupListCtxtSUReq": _single_containers(52, "E-RABToBeSetupItemCtxtSUReq", _erab_ctxt),
    "E-RABToBeSetupListBearerSUReq": _single_containers(17, "E-RABToBeSetupItemBearerSUReq",
                                                        _erab_bearer),
    "E-RABToBeSetupListHOReq": _single_containers(27, "E-RABToBeSetupItemHOReq", _erab_ho),
}


def _remembered(read: Callable[[bytes], object], size: int = 1 << 16
                ) -> Callable[[bytes], object]:
    """`read` with its results kept by value bytes: the locations of a network (TAI,
    ECGI, ULI, target, paged TAs) are few and repeat in every message.  The results
    are shared: readers of facts never modify them.  A Doubt is not kept."""
    memo: dict[bytes, object] = {}

    def cached(buf: bytes) -> object:
        value = memo.get(buf)
        if value is None:
            if len(memo) >= size:
                memo.clear()
            value = memo[buf] = read(buf)
        return value
    return cached


for _name in ("TAI", "EUTRAN-CGI", "UserLocationInformation", "TargetID", "TAIList"):
    READERS[_name] = _remembered(READERS[_name])


def type_name(ie_type) -> str:
    """ASN.1 type name of a pycrate IE value object, e.g. 'TAI'."""
    ref = ie_type._typeref
    return ref.called[1] if ref is not None else ie_type._name


def readers_for(ie_types: dict[int, str], wanted: frozenset
                ) -> dict[int, tuple[str, Callable | None]]:
    """{IE id: (type name, reader or None)} for the wanted IEs of one message, from its
    {IE id: ASN.1 type name} (`s1ap_table.PROCEDURES`: no pycrate object needed).

    None: no hand-written reader (SONConfigurationTransfer); pycrate reads it.
    """
    return {ie_id: (name, READERS.get(name)) for ie_id, name in ie_types.items()
            if ie_id in wanted}
