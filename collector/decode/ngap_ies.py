"""Meaning of the NGAP protocol IEs we read (TS 38.413 §9.3), from pycrate values.

`read_facts` turns {IE id: decoded value} (in IE order) into `NGAPFacts`: the UE
ids, the NAS PDUs, the location and the 5G-S-TMSI of one message.  The location
is the first one the message names, in IE order and, inside an IE, in field
order (User Location Information: NR CGI, then TAI), as tshark lists them.

Layout notes: the TAC is 3 octets (§9.3.3.10, 2 in S1AP); the NR cell identity is
a 36-bit BIT STRING (§9.3.1.7) and the E-UTRA one 28 bits (§9.3.1.9).  pycrate
decodes these bit-packed fields IE by IE; only the IEs listed in WANTED are decoded.
"""

from __future__ import annotations

from collector.decode.ngap_schema import NGAP
from collector.decode.plmn import decode_plmn
from collector.decode.pycrate_libs import aper_decode

_C = NGAP.NGAP_Constants
ID_AMF_UE = _C.id_AMF_UE_NGAP_ID._val                   # §9.3.3.1
ID_RAN_UE = _C.id_RAN_UE_NGAP_ID._val                   # §9.3.3.2
ID_UE_IDS = _C.id_UE_NGAP_IDs._val                      # §9.2.2.5 UE CONTEXT RELEASE COMMAND
ID_SOURCE_AMF_UE = _C.id_SourceAMF_UE_NGAP_ID._val      # §9.2.3.8 PATH SWITCH REQUEST
ID_NAS_PDU = _C.id_NAS_PDU._val                         # §9.3.3.4
ID_ULI = _C.id_UserLocationInformation._val             # §9.3.1.16 User Location Information
ID_NGRAN_CGI = _C.id_NGRAN_CGI._val                     # §9.3.1.73 (CELL TRAFFIC TRACE)
ID_TAI_PAGING = _C.id_TAIListForPaging._val             # §9.2.4.1 PAGING
ID_S_TMSI = _C.id_FiveG_S_TMSI._val                     # §9.3.3.20 5G-S-TMSI
ID_PAGING_ID = _C.id_UEPagingIdentity._val              # §9.2.4.1 UE Paging Identity
ID_TARGET = _C.id_TargetID._val                         # §9.3.1.25 Target ID
ID_HO_TYPE = _C.id_HandoverType._val                    # §9.3.1.22
ID_SRC_TO_TGT = _C.id_SourceToTarget_TransparentContainer._val  # §9.3.1.20
ID_PDU_CTXT = _C.id_PDUSessionResourceSetupListCxtReq._val  # §9.2.2.1 INITIAL CONTEXT SETUP REQ.
ID_PDU_SETUP = _C.id_PDUSessionResourceSetupListSUReq._val  # §9.2.1.1 PDU SESSION RES. SETUP REQ.
ID_PDU_MODIFY = _C.id_PDUSessionResourceModifyListModReq._val  # §9.2.1.5 PDU SESSION RES. MODIFY REQ.

# the IEs read_facts uses; the others of a message are not decoded at all
WANTED = frozenset({
    ID_AMF_UE, ID_RAN_UE, ID_UE_IDS, ID_SOURCE_AMF_UE, ID_NAS_PDU, ID_ULI, ID_NGRAN_CGI,
    ID_TAI_PAGING, ID_S_TMSI, ID_PAGING_ID, ID_TARGET, ID_HO_TYPE, ID_SRC_TO_TGT,
    ID_PDU_CTXT, ID_PDU_SETUP, ID_PDU_MODIFY,
})
# PDU session resource lists whose items may carry a NAS-PDU, and the field holding it
_NAS_LISTS = {ID_PDU_CTXT: "nAS-PDU", ID_PDU_SETUP: "pDUSessionNAS-PDU", ID_PDU_MODIFY: "nAS-PDU"}
# handovers whose Source to Target Transparent Container is the NG-RAN one (§9.3.1.20)
_TO_NGRAN = frozenset({"intra5gs", "eps-to-5gs"})
_SOURCE_TO_TARGET_NGRAN = NGAP.NGAP_IEs.SourceNGRANNode_ToTargetNGRANNode_TransparentContainer
_RAT = {"nR-CGI": ("nRCellIdentity", 36, "nr"), "eUTRA-CGI": ("eUTRACellIdentity", 28, "eutran")}


class NGAPFacts:
    """What one NGAP message says, in our terms (no raw identity: NGAP carries none)."""

    __slots__ = ("ran_id", "amf_id", "source_amf_id", "nas_pdus", "plmn", "tac", "cell", "rat",
                 "s_tmsi")

    def __init__(self) -> None:
        self.ran_id: int | None = None
        self.amf_id: int | None = None
        self.source_amf_id: int | None = None
        self.nas_pdus: list[bytes] = []
        self.plmn: str | None = None
        self.tac: int | None = None
        self.cell: int | None = None
        self.rat: str | None = None
        self.s_tmsi: tuple[int, int, int] | None = None  # AMF Set ID, AMF Pointer, 5G-TMSI

    @property
    def located(self) -> bool:
        """True if the message names a PLMN, TAC or cell."""
        return self.plmn is not None or self.tac is not None or self.cell is not None


def read_facts(values: dict) -> NGAPFacts:
    """NGAPFacts of one message from {IE id: pycrate value} in IE order (only WANTED ids matter)."""
    f = NGAPFacts()
    f.ran_id, f.amf_id = values.get(ID_RAN_UE), values.get(ID_AMF_UE)
    f.source_amf_id = values.get(ID_SOURCE_AMF_UE)
    kind, ue_ids = values.get(ID_UE_IDS, (None, None))
    if kind == "uE-NGAP-ID-pair":
        f.amf_id, f.ran_id = ue_ids["aMF-UE-NGAP-ID"], ue_ids["rAN-UE-NGAP-ID"]
    elif kind == "aMF-UE-NGAP-ID":
        f.amf_id = ue_ids
    for ie_id, value in values.items():
        if ie_id == ID_NAS_PDU:
            f.nas_pdus.append(value)
        elif ie_id in _NAS_LISTS:
            f.nas_pdus += [item[_NAS_LISTS[ie_id]] for item in value if _NAS_LISTS[ie_id] in item]
        else:
            _read_location(f, ie_id, value, values.get(ID_HO_TYPE))
    if ID_S_TMSI in values:
        f.s_tmsi = _s_tmsi(values[ID_S_TMSI])
    kind, paging_id = values.get(ID_PAGING_ID, (None, None))
    if kind == "fiveG-S-TMSI":
        f.s_tmsi = _s_tmsi(paging_id)
    return f


def _read_location(f: NGAPFacts, ie_id: int, value, handover_type: str | None) -> None:
    if ie_id == ID_ULI:
        _uli(f, value)
    elif ie_id == ID_NGRAN_CGI:
        _cgi(f, value)
    elif ie_id == ID_TARGET and value[0] == "targetRANNodeID":
        _tai(f, value[1].get("selectedTAI"))
    elif ie_id == ID_SRC_TO_TGT and handover_type in _TO_NGRAN:
        container, _reason = aper_decode(_SOURCE_TO_TARGET_NGRAN, value)
        if container is not None:
            _cgi(f, container.get("targetCell-ID"))
    elif ie_id == ID_TAI_PAGING:
        for item in value[:1]:  # paging: the first TA paged
            _tai(f, item["tAI"])


def _uli(f: NGAPFacts, uli: tuple) -> None:
    """User Location Information (§9.3.1.16): E-UTRA or NR cell and TAI, or the TAI of a
    non-3GPP access (N3IWF, TNGF, TWIF, W-AGF: an extension of the CHOICE)."""
    kind, body = uli
    if kind == "choice-Extensions":
        kind, body = body["value"]
    if not isinstance(body, dict):
        return
    if kind == "userLocationInformationNR":
        _cgi(f, ("nR-CGI", body["nR-CGI"]))
    elif kind == "userLocationInformationEUTRA":
        _cgi(f, ("eUTRA-CGI", body["eUTRA-CGI"]))
    _tai(f, body.get("tAI"))


def _cgi(f: NGAPFacts, cgi: tuple | None) -> None:
    """An NG-RAN CGI (§9.3.1.73): NR CGI (§9.3.1.7) or E-UTRA CGI (§9.3.1.9)."""
    if cgi is None or cgi[0] not in _RAT:
        return
    field, bits, rat = _RAT[cgi[0]]
    if f.plmn is None:
        f.plmn = decode_plmn(cgi[1]["pLMNIdentity"])
    value, length = cgi[1][field]
    if f.cell is None and length == bits:
        f.cell, f.rat = value, rat


def _tai(f: NGAPFacts, tai: dict | None) -> None:
    """A TAI (§9.3.3.11): PLMN Identity (§9.3.3.5) and a 3-octet TAC (§9.3.3.10)."""
    if tai is None:
        return
    if f.plmn is None:
        f.plmn = decode_plmn(tai["pLMNIdentity"])
    if f.tac is None and len(tai["tAC"]) == 3:
        f.tac = int.from_bytes(tai["tAC"], "big")


def _s_tmsi(value: dict) -> tuple[int, int, int]:
    # §9.3.3.20 5G-S-TMSI: AMF Set ID (10 bits), AMF Pointer (6 bits), 5G-TMSI (4 octets)
    return value["aMFSetID"][0], value["aMFPointer"][0], int.from_bytes(value["fiveG-TMSI"], "big")
