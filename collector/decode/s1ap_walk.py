"""One pass over an S1AP message's protocol IE container, reading only the wanted IEs.

The hot path of the S1AP decoder (TS 36.413 §9.3, X.691 ALIGNED PER): the container
walk of `aper.split_ies` and the readers of `s1ap_fast` folded into one loop of
octet arithmetic, for the IEs nearly every UE-associated message carries (UE ids,
NAS-PDU, TAI, E-UTRAN CGI, S-TMSI, UE paging id, TAI list, User Location
Information, E-RABs of INITIAL CONTEXT SETUP).  What it yields is what
`s1ap_ies.read_facts` gives from pycrate's values, field for field.

Locations repeat in every message of a network, so TAI, ECGI, ULI and TAI-list
values are decoded once and remembered by their bytes (bounded dicts).

`walk` returns None wherever a reader of `s1ap_fast` would be in doubt (or a length
is fragmented): the decoder then reads the message the careful way (`s1ap_fast`
readers IE by IE, pycrate where they doubt), and counts it.
"""

from __future__ import annotations

from collector.decode.aper_bits import Doubt
from collector.decode.plmn import decode_plmn
from collector.decode.s1ap_fast import READERS, ecgi, erab_ctxt_item, tai
from collector.decode.s1ap_ies import (
    ID_ECGI,
    ID_ENB_UE,
    ID_ERAB_CTXT,
    ID_MME_UE,
    ID_NAS_PDU,
    ID_PAGING_ID,
    ID_S_TMSI,
    ID_SOURCE_MME_UE,
    ID_TAI,
    ID_TAI_LIST,
    ID_UE_IDS,
    ID_ULI,
)

# the IEs read here, each a bit of the `seen` mask (a duplicate IE: the first one counts)
K_MME, K_ENB, K_NAS, K_TAI, K_ECGI, K_S_TMSI, K_UE_IDS, K_SOURCE_MME, K_ULI, K_PAGING, \
    K_TAI_LIST, K_ERAB = (1 << i for i in range(12))
KINDS = {ID_MME_UE: K_MME, ID_ENB_UE: K_ENB, ID_NAS_PDU: K_NAS, ID_TAI: K_TAI, ID_ECGI: K_ECGI,
         ID_S_TMSI: K_S_TMSI, ID_UE_IDS: K_UE_IDS, ID_SOURCE_MME_UE: K_SOURCE_MME, ID_ULI: K_ULI,
         ID_PAGING_ID: K_PAGING, ID_TAI_LIST: K_TAI_LIST, ID_ERAB_CTXT: K_ERAB}
_LOCATIONS = K_TAI | K_ECGI | K_ULI | K_TAI_LIST
_OTHERS = K_UE_IDS | K_ERAB | K_PAGING
_MEMO_SIZE = 1 << 16


class S1APWalk:
    """`walk(body, kinds)`: the facts of one message body, or None (doubt), or a reason."""

    __slots__ = ("_tai", "_ecgi", "_uli", "_tai_list")

    def __init__(self) -> None:
        # value bytes -> decoded location (a cache of pure functions: no effect on results)
        self._tai: dict[bytes, tuple] = {}
        self._ecgi: dict[bytes, tuple] = {}
        self._uli: dict[bytes, tuple] = {}
        self._tai_list: dict[bytes, tuple] = {}

    def walk(self, body: bytes, kinds: dict[int, int]) -> tuple | str | None:
        """(seen mask, eNB id, MME id, source MME id, NAS-PDUs | None, PLMN, TAC, cell,
        S-TMSI, paging IMSI octets, bearers) of the IEs of `kinds` ({IE id: K_ bit}) in a
        message body (`protocolIEs` and what follows), None when in doubt, or a reason."""
        size = len(body)
        if size < 3:
            return "bad_asn1"
        seen = 0
        enb = mme = source = nas = s_tmsi = None  # the others are read only if `seen`
        off, from_bytes = 3, int.from_bytes  # big-endian by default
        for _ in range((body[1] << 8) | body[2]):  # ProtocolIE-Container: count, then fields
            if off + 4 > size:
                return "bad_asn1"
            head, first = off, body[off + 3]  # id (2 octets), criticality (1), open type length
            if first < 0x80:
                start = off + 4
                off = start + first
            elif first < 0xC0:
                if off + 5 > size:
                    return "bad_asn1"
                start = off + 5
                off = start + (((first & 0x3F) << 8) | body[off + 4])
            else:
                return None  # fragmented (X.691 §11.9.3.8): the careful path reads it
            if off > size:
                return "bad_asn1"
            k = kinds.get((body[head] << 8) | body[head + 1])
            if k is None or seen & k:
                continue
            seen |= k
            n = off - start
            if k <= K_ENB:  # §9.2.3.3-4 INTEGER: 2-bit octet count - 1, padding, octets
                if n < 2 or n != (body[start] >> 6) + 2:
                    return None
                if n == 3:  # the ids of a busy node: 2 octets
                    value = (body[start + 1] << 8) | body[start + 2]
                elif n == 2:
                    value = body[start + 1]
                else:
                    value = from_bytes(body[start + 1:off])
                if k == K_MME:
                    mme = value
                elif n > 4:  # eNB-UE-S1AP-ID: at most 3 octets
                    return None
                else:
                    enb = value
            elif k == K_NAS:  # §9.2.3.5 OCTET STRING: 1- or 2-octet length, octets
                if n == 0:
                    return None
                first = body[start]
                if first < 0x80 and n == first + 1:
                    nas = body[start + 1:off]
                elif 0x80 <= first < 0xC0 and n > 1 and n == (((first & 0x3F) << 8)
                                                              | body[start + 1]) + 2:
                    nas = body[start + 2:off]
                else:
                    return None
            elif k == K_TAI:
                raw = body[start:off]
                tai_v = self._tai.get(raw) or self._remember(self._tai, raw, _read_tai)
                if tai_v is None:
                    return None
            elif k == K_ECGI:
                raw = body[start:off]
                ecgi_v = self._ecgi.get(raw) or self._remember(self._ecgi, raw, _read_ecgi)
                if ecgi_v is None:
                    return None
            elif k == K_TAI_LIST:
                raw = body[start:off]
                tai_list_v = (self._tai_list.get(raw)
                              or self._remember(self._tai_list, raw, _read_tai_list))
                if tai_list_v is None:
                    return None
            elif k == K_PAGING:
                paging = _paging_id(body[start:off])
                if paging is None:
                    return None
            elif k == K_UE_IDS:
                ue_ids = _ue_s1ap_ids(body[start:off])
                if ue_ids is None:
                    return None
            elif k == K_S_TMSI:  # §9.2.3.6: two bits (0), MMEC (8 bits), padding, M-TMSI (4)
                if n != 6 or body[start] & 0xC0:
                    return None
                s_tmsi = (((body[start] & 0x3F) << 2) | (body[start + 1] >> 6),
                          from_bytes(body[start + 2:off]))
            elif k == K_ERAB:
                erabs = _erab_ctxt_list(body[start:off])
                if erabs is None:
                    return None
            elif k == K_ULI:
                raw = body[start:off]
                uli_v = self._uli.get(raw) or self._remember(self._uli, raw, _read_uli)
                if uli_v is None:
                    return None
            elif n < 2 or n != (body[start] >> 6) + 2:  # K_SOURCE_MME: as K_MME
                return None
            else:
                source = from_bytes(body[start + 1:off])
        # the fields of s1ap_ies.read_facts, in its order of precedence (a value of a
        # kind is only read when its bit is in `seen`)
        plmn = tac = cell = paging_imsi = None
        if seen & _LOCATIONS:
            if seen & K_TAI:
                plmn, tac = tai_v
            if seen & K_ECGI:
                plmn = ecgi_v[0] if plmn is None else plmn
                cell = ecgi_v[1]
            if seen & K_ULI:  # (PLMN, TAC) of its TAI, (PLMN, cell) of its ECGI
                plmn = uli_v[0] if plmn is None else plmn
                tac = uli_v[1] if tac is None else tac
                plmn = uli_v[2] if plmn is None else plmn
                cell = uli_v[3] if cell is None else cell
            if seen & K_TAI_LIST:  # paging: the first TA paged
                plmn = tai_list_v[0] if plmn is None else plmn
                tac = tai_list_v[1] if tac is None else tac
        nas_pdus = None if nas is None else [nas]
        bearers = ()
        if seen & _OTHERS:
            if seen & K_UE_IDS:  # §9.2.3.18: a pair, or the MME id alone
                mme = ue_ids[0]
                if ue_ids[1] is not None:
                    enb = ue_ids[1]
            if seen & K_ERAB:
                bearers, more = erabs
                if more:
                    nas_pdus = (nas_pdus or []) + more
            if seen & K_PAGING:
                if paging[0]:
                    s_tmsi = paging[1]
                else:
                    paging_imsi = paging[1]
        return (seen, enb, mme, source, nas_pdus, plmn, tac, cell, s_tmsi, paging_imsi,
                bearers)

    @staticmethod
    def _remember(memo: dict, raw: bytes, read) -> tuple | None:
        """`read(raw)` kept under `raw` (None, a doubt, is not kept)."""
        value = read(raw)
        if value is not None:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[raw] = value
        return value


# location values, decoded once per distinct value (readers of s1ap_fast, then plmn)

def _read_tai(raw: bytes) -> tuple | None:
    try:
        value = tai(raw)
    except Doubt:
        return None
    return decode_plmn(value["pLMNidentity"]), int.from_bytes(value["tAC"], "big")


def _read_ecgi(raw: bytes) -> tuple | None:
    try:
        value = ecgi(raw)
    except Doubt:
        return None
    return decode_plmn(value["pLMNidentity"]), value["cell-ID"][0]


def _read_uli(raw: bytes) -> tuple | None:
    try:
        value = READERS["UserLocationInformation"](raw)
    except Doubt:
        return None
    t, e = value["tai"], value["eutran-cgi"]
    return (decode_plmn(t["pLMNidentity"]), int.from_bytes(t["tAC"], "big"),
            decode_plmn(e["pLMNidentity"]), e["cell-ID"][0])


def _read_tai_list(raw: bytes) -> tuple | None:
    try:
        items = READERS["TAIList"](raw)
    except Doubt:
        return None
    first = items[0]["value"][1]["tAI"]  # SIZE (1..256): never empty
    return decode_plmn(first["pLMNidentity"]), int.from_bytes(first["tAC"], "big")


# other values, octet by octet where s1ap_fast reads them bit by bit

def _paging_id(raw: bytes) -> tuple | None:
    """§9.2.3.13 UEPagingID: (True, (MMEC, M-TMSI)) | (False, IMSI TBCD octets) | None."""
    if not raw or raw[0] & 0x80:  # CHOICE extension
        return None
    first = raw[0]
    if first & 0x40:  # iMSI: 3-bit size - 3, padding, octets
        size = ((first >> 3) & 7) + 3
        if size > 8 or len(raw) != 1 + size:
            return None
        return False, raw[1:]
    if first & 0x30 or len(raw) != 6:  # s-TMSI: extension, iE-Extensions, MMEC over the octets
        return None
    return True, (((first & 0x0F) << 4) | (raw[1] >> 4), int.from_bytes(raw[2:6], "big"))


def _ue_s1ap_ids(raw: bytes) -> tuple | None:
    """§9.2.3.18 UE-S1AP-IDs: (MME id, eNB id | None) or None."""
    if not raw or raw[0] & 0x80:
        return None
    first, size = raw[0], len(raw)
    if first & 0x40:  # mME-UE-S1AP-ID: 2-bit octet count - 1 after the choice, padding
        n = ((first >> 4) & 3) + 1
        return (int.from_bytes(raw[1:], "big"), None) if size == 1 + n else None
    if first & 0x30:  # the pair's extension, iE-Extensions
        return None
    n = ((first >> 2) & 3) + 1
    if size < 3 + n:
        return None
    m = (raw[1 + n] >> 6) + 1
    if m > 3 or size != 2 + n + m:
        return None
    return int.from_bytes(raw[1:1 + n], "big"), int.from_bytes(raw[2 + n:], "big")


def _erab_ctxt_list(raw: bytes) -> tuple | None:
    """§9.1.4.1 E-RABToBeSetupListCtxtSUReq: (((address, bits), TEID) per E-RAB, non-empty
    NAS-PDUs), or None.  Items of non-GBR bearers octet by octet, others by s1ap_fast."""
    size = len(raw)
    if size < 1:
        return None
    bearers, pdus, off = [], [], 1
    for _ in range(raw[0] + 1):  # SIZE (1..256): count - 1 in one octet
        if off + 4 > size or raw[off] != 0 or raw[off + 1] != 52 or raw[off + 2] >> 6 > 2:
            return None  # id-E-RABToBeSetupItemCtxtSUReq (52), criticality
        first = raw[off + 3]
        if first < 0x80:
            start = off + 4
            off = start + first
        elif first < 0xC0 and off + 5 <= size:
            start = off + 5
            off = start + (((first & 0x3F) << 8) | raw[off + 4])
        else:
            return None
        if off > size:
            return None
        item = _erab_ctxt_item(raw, start, off)
        if item is None:
            return None
        bearers.append(item[0])
        if item[1]:
            pdus.append(item[1])
    if off != size:  # only padding may follow: none, the items are whole octets
        return None
    return tuple(bearers), pdus


def _erab_ctxt_item(raw: bytes, start: int, end: int) -> tuple | None:
    """E-RABToBeSetupItemCtxtSUReq at raw[start:end]: ((address, TEID), NAS-PDU | None).

    Octet 0: extension, nAS-PDU present, iE-Extensions, E-RAB-ID extension, E-RAB-ID;
    octet 1: QoS extension, GBR present, iE-Extensions; octet 2: QCI; octet 3: ARP
    (extension, iE-Extensions, 6 bits); octet 4-5: address extension, size - 1 (8 bits);
    then the address, the TEID (4 octets) and the NAS-PDU (length, octets), aligned."""
    if end - start < 6:
        return None
    first = raw[start]
    if first & 0xB0 or raw[start + 1] & 0xA0 or raw[start + 3] & 0xC0:
        return None
    if raw[start + 1] & 0x40:  # GBR QoS information: bit by bit
        return _erab_ctxt_item_bits(raw[start:end])
    if raw[start + 4] & 0x80:
        return None
    bits = (((raw[start + 4] & 0x7F) << 1) | (raw[start + 5] >> 7)) + 1
    if bits > 160:
        return None
    octets = (bits + 7) >> 3
    at = start + 6 + octets
    if at + 4 > end:
        return None
    address = (int.from_bytes(raw[start + 6:at], "big") >> (8 * octets - bits), bits)
    teid, at = raw[at:at + 4], at + 4
    if not first & 0x40:
        return ((address, teid), None) if at == end else None
    if at >= end:
        return None
    length = raw[at]
    if length < 0x80:
        at += 1
    elif length < 0xC0 and at + 1 < end:
        length = ((length & 0x3F) << 8) | raw[at + 1]
        at += 2
    else:
        return None
    return ((address, teid), raw[at:end]) if at + length == end else None


def _erab_ctxt_item_bits(item: bytes) -> tuple | None:
    try:
        value = erab_ctxt_item(item)
    except Doubt:
        return None
    return (value["transportLayerAddress"], value["gTP-TEID"]), value.get("nAS-PDU")
