"""Meaning of the S1AP protocol IEs we read (TS 36.413 §9.2), from pycrate values.

`read_facts` turns {IE id: decoded value} into `S1APFacts`: the UE ids, the NAS
PDUs, the location, the temporary identity and the E-RAB tunnels of one message.
The location is the first one the message names, in IE order: a TAI before a
cell, the target of a handover before its history.

The IE ids are the values of TS 36.413 §9.3.6 S1AP-Constants, written out (each
comment names pycrate's constant, which tests/unit/collector/test_decode_tables.py
checks them against) so that importing this module does not import pycrate.
"""

from __future__ import annotations

from typing import NamedTuple

from collector.decode import pycrate_libs
from collector.decode.plmn import decode_cell_identity, decode_plmn, decode_tac
from collector.decode.pycrate_libs import aper_decode
from collector.identity import Subscriber

ID_MME_UE = 0          # §9.2.3.3 (id_MME_UE_S1AP_ID)
ID_ENB_UE = 8          # §9.2.3.4 (id_eNB_UE_S1AP_ID)
ID_UE_IDS = 99         # §9.2.3.18 UE S1AP IDs (id_UE_S1AP_IDs)
ID_SOURCE_MME_UE = 88  # §9.1.5.8 PATH SWITCH REQUEST (id_SourceMME_UE_S1AP_ID)
ID_NAS_PDU = 26        # §9.2.3.5 (id_NAS_PDU)
ID_TAI = 67            # §9.2.3.16 (id_TAI)
ID_ECGI = 100          # §9.2.1.38 (id_EUTRAN_CGI)
ID_ULI = 189           # User Location Information (id_UserLocationInformation)
ID_TAI_LIST = 46       # §9.1.6 PAGING (id_TAIList)
ID_S_TMSI = 96         # §9.2.3.6 (id_S_TMSI)
ID_PAGING_ID = 43      # §9.2.3.13 UE Paging Identity (id_UEPagingID)
ID_TARGET = 4          # §9.2.1.6 Target ID (id_TargetID)
ID_HO_TYPE = 1         # §9.2.1.13 (id_HandoverType)
ID_SRC_TO_TGT = 104    # §9.2.1.56 (id_Source_ToTarget_TransparentContainer)
ID_SON_ECT = 129       # ENB CONFIGURATION TRANSFER (id_SONConfigurationTransferECT)
ID_SON_MCT = 130       # MME CONFIGURATION TRANSFER (id_SONConfigurationTransferMCT)
ID_ERAB_CTXT = 24      # §9.1.4.1 INITIAL CONTEXT SETUP REQUEST (id_E_RABToBeSetupListCtxtSUReq)
ID_ERAB_BEARER = 16    # §9.1.3.1 E-RAB SETUP REQUEST (id_E_RABToBeSetupListBearerSUReq)
ID_ERAB_HO = 53        # §9.1.5.4 HANDOVER REQUEST (id_E_RABToBeSetupListHOReq)

# the IEs read_facts uses; the others of a message are not decoded at all
WANTED = frozenset({
    ID_MME_UE, ID_ENB_UE, ID_UE_IDS, ID_SOURCE_MME_UE, ID_NAS_PDU, ID_TAI, ID_ECGI, ID_ULI,
    ID_TAI_LIST, ID_S_TMSI, ID_PAGING_ID, ID_TARGET, ID_HO_TYPE, ID_SRC_TO_TGT, ID_SON_ECT,
    ID_SON_MCT, ID_ERAB_CTXT, ID_ERAB_BEARER, ID_ERAB_HO,
})
# E-RAB lists whose items name an S-GW F-TEID and may carry a NAS-PDU
_ERAB_LISTS = ((ID_ERAB_CTXT, "E-RABToBeSetupItemCtxtSUReq"),
               (ID_ERAB_BEARER, "E-RABToBeSetupItemBearerSUReq"),
               (ID_ERAB_HO, "E-RABToBeSetupItemHOReq"))
# the IEs _read_location reads
_LOCATION_IDS = frozenset({ID_TAI, ID_ECGI, ID_ULI, ID_TARGET, ID_SRC_TO_TGT, ID_SON_ECT,
                           ID_SON_MCT, ID_TAI_LIST})
# handovers whose Source to Target Transparent Container is the E-UTRAN one (§9.2.1.56)
_TO_EUTRAN = frozenset({"intralte", "utrantolte", "gerantolte", "fivegs-to-eps"})


class S1APFacts:
    """What one S1AP message says, in our terms (no raw identity: see `paging_imsi`)."""

    __slots__ = ("enb_id", "mme_id", "source_mme_id", "nas_pdus", "plmn", "tac", "cell",
                 "s_tmsi", "paging_imsi", "bearers")

    def __init__(self) -> None:
        self.enb_id: int | None = None
        self.mme_id: int | None = None
        self.source_mme_id: int | None = None
        self.nas_pdus: list[bytes] = []
        self.plmn: str | None = None
        self.tac: int | None = None
        self.cell: int | None = None
        self.s_tmsi: tuple[int, int] | None = None
        self.paging_imsi: bytes | None = None  # TBCD octets; the decoder pseudonymises them
        self.bearers: list[tuple[tuple[int, int], bytes]] = []

    @property
    def located(self) -> bool:
        """True if the message names a PLMN, TAC or cell."""
        return self.plmn is not None or self.tac is not None or self.cell is not None


class S1APRead(NamedTuple):
    """What `S1APDecoder.facts` reads from one PDU, NAS included, before correlation.

    Pure data (picklable, no raw identity): it crosses process boundaries.
    """

    name: str                        # message name, e.g. 'InitialUEMessage'
    flags: int                       # F_* bits of the procedure (s1ap.py)
    enb_id: int | None               # §9.2.3.4 eNB-UE-S1AP-ID
    mme_id: int | None               # §9.2.3.3 MME-UE-S1AP-ID
    source_mme_id: int | None        # PATH SWITCH REQUEST: the source MME-UE-S1AP-ID
    plmn: str | None
    tac: int | None
    cell: int | None
    tmsi: tuple[int, int] | None     # (MMEC, M-TMSI) naming the UE: S1AP's, else its GUTI's
    bearers: tuple                   # ((transport address, bits), TEID) of each E-RAB
    nas: str | None                  # NAS message name
    subscriber: Subscriber | None    # carried: an IMSI in the NAS, else a paging IMSI
    new_tmsi: tuple[int, int] | None  # (MMEC, M-TMSI) of a GUTI allocated to the UE
    row: bool                        # names a location or the UE: an inspect row
    off: bool                        # the UE leaves the network
    reason: str | None               # what was dropped (a NAS-PDU), the S1AP part kept
    imei_tac: str | None = None      # TAC of an IMEI / IMEISV in the NAS (the rest dropped)
    psm: bool = False                # the NAS asks for power saving mode (an IoT module)


def read_facts(values: dict) -> S1APFacts:
    """S1APFacts of one message from {IE id: pycrate value} (only WANTED ids matter)."""
    f = S1APFacts()
    get = values.get
    f.enb_id, f.mme_id, f.source_mme_id = get(ID_ENB_UE), get(ID_MME_UE), get(ID_SOURCE_MME_UE)
    ue_ids = get(ID_UE_IDS)
    if ue_ids is not None:
        _read_ue_ids(f, ue_ids)
    nas = get(ID_NAS_PDU)
    if nas is not None:
        f.nas_pdus.append(nas)
    for list_id, item_type in _ERAB_LISTS:
        erabs = get(list_id)
        if erabs is None:
            continue
        for erab in _items(erabs, item_type):
            if erab.get("nAS-PDU"):
                f.nas_pdus.append(erab["nAS-PDU"])
            f.bearers.append((erab["transportLayerAddress"], erab["gTP-TEID"]))
    if not values.keys().isdisjoint(_LOCATION_IDS):
        _read_location(f, values)
    s_tmsi = get(ID_S_TMSI)
    if s_tmsi is not None:
        f.s_tmsi = _s_tmsi(s_tmsi)
    paging = get(ID_PAGING_ID)
    if paging is not None:
        kind, paging_id = paging
        if kind == "s-TMSI":
            f.s_tmsi = _s_tmsi(paging_id)
        elif kind == "iMSI":
            f.paging_imsi = paging_id
    return f


def _read_ue_ids(f: S1APFacts, ue_ids: tuple | None) -> None:
    # §9.2.3.18: a pair, or the MME id alone
    if ue_ids is None:
        return
    kind, value = ue_ids
    if kind == "uE-S1AP-ID-pair":
        f.mme_id, f.enb_id = value["mME-UE-S1AP-ID"], value["eNB-UE-S1AP-ID"]
    elif kind == "mME-UE-S1AP-ID":
        f.mme_id = value


def _read_location(f: S1APFacts, values: dict) -> None:
    _tai(f, values.get(ID_TAI))
    _ecgi(f, values.get(ID_ECGI))
    uli = values.get(ID_ULI)
    if uli is not None:
        _tai(f, uli.get("tai"))
        _ecgi(f, uli.get("eutran-cgi"))
    target = values.get(ID_TARGET)
    if target is not None and target[0] == "targeteNB-ID":
        _tai(f, target[1].get("selected-TAI"))
    if ID_SRC_TO_TGT in values and values.get(ID_HO_TYPE) in _TO_EUTRAN:
        container, _reason = aper_decode(_source_to_target_enb(), values[ID_SRC_TO_TGT])
        if container is not None:
            _ecgi(f, container.get("targetCell-ID"))
    for son_id in (ID_SON_ECT, ID_SON_MCT):
        if son_id in values:
            _tai(f, values[son_id]["targeteNB-ID"].get("selected-TAI"))
    for item in _items(values.get(ID_TAI_LIST), "TAIItem")[:1]:  # paging: the first TA paged
        _tai(f, item["tAI"])


def _source_to_target_enb():
    """§9.2.1.56 SourceeNB-ToTargeteNB-TransparentContainer, pycrate's (imported here, on the
    first handover: only a replay that holds one needs pycrate for it)."""
    return pycrate_libs.S1AP.S1AP_IEs.SourceeNB_ToTargeteNB_TransparentContainer


def _items(single_containers: list | None, item_type: str) -> list[dict]:
    """Values of the list items of the expected type (ProtocolIE-SingleContainer, §9.3.7).

    An item whose id names another IE decodes to another type (or to raw bytes, for an
    unknown id): it is skipped.
    """
    return [item["value"][1] for item in single_containers or ()
            if item["value"][0] == item_type]


def _tai(f: S1APFacts, tai: dict | None) -> None:
    if tai is None:
        return
    if f.plmn is None:
        f.plmn = decode_plmn(tai["pLMNidentity"])
    if f.tac is None:
        f.tac = decode_tac(tai["tAC"])


def _ecgi(f: S1APFacts, ecgi: dict | None) -> None:
    if ecgi is None:
        return
    if f.plmn is None:
        f.plmn = decode_plmn(ecgi["pLMNidentity"])
    if f.cell is None:
        f.cell = decode_cell_identity(ecgi["cell-ID"])


def _s_tmsi(value: dict) -> tuple[int, int]:
    # §9.2.3.6 S-TMSI: MMEC (1 octet) + M-TMSI (4 octets)
    return value["mMEC"][0], int.from_bytes(value["m-TMSI"], "big")
