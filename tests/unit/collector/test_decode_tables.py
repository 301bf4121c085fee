"""The generated tables (collector/tables.py) against pycrate, which they are derived from.

The fast path reads names and numbers from these modules so that a replay never
imports pycrate; if pycrate changes (an upgrade) or `s1ap_ies.WANTED` does, these
tests fail until `python -m collector.tables` has rewritten them.
"""

from __future__ import annotations

import pytest

from collector import tables
from collector.decode import s1ap_ies
from collector.decode.pycrate_libs import S1AP
from collector.decode.s1ap_schema import S1APSchema
from collector.decode.s1ap_table import PROCEDURES


@pytest.mark.parametrize("path", list(tables.TABLES), ids=lambda p: p.name)
def test_committed_table_is_what_pycrate_gives(path) -> None:
    assert path.read_text() == tables.TABLES[path](), \
        f"{path.name} drifted from pycrate: run `python -m collector.tables`"


@pytest.mark.parametrize("ours, constant", [
    ("ID_MME_UE", "id_MME_UE_S1AP_ID"), ("ID_ENB_UE", "id_eNB_UE_S1AP_ID"),
    ("ID_UE_IDS", "id_UE_S1AP_IDs"), ("ID_SOURCE_MME_UE", "id_SourceMME_UE_S1AP_ID"),
    ("ID_NAS_PDU", "id_NAS_PDU"), ("ID_TAI", "id_TAI"), ("ID_ECGI", "id_EUTRAN_CGI"),
    ("ID_ULI", "id_UserLocationInformation"), ("ID_TAI_LIST", "id_TAIList"),
    ("ID_S_TMSI", "id_S_TMSI"), ("ID_PAGING_ID", "id_UEPagingID"), ("ID_TARGET", "id_TargetID"),
    ("ID_HO_TYPE", "id_HandoverType"),
    ("ID_SRC_TO_TGT", "id_Source_ToTarget_TransparentContainer"),
    ("ID_SON_ECT", "id_SONConfigurationTransferECT"),
    ("ID_SON_MCT", "id_SONConfigurationTransferMCT"),
    ("ID_ERAB_CTXT", "id_E_RABToBeSetupListCtxtSUReq"),
    ("ID_ERAB_BEARER", "id_E_RABToBeSetupListBearerSUReq"),
    ("ID_ERAB_HO", "id_E_RABToBeSetupListHOReq"),
])
def test_s1ap_ie_ids_are_pycrates_constants(ours: str, constant: str) -> None:
    assert getattr(s1ap_ies, ours) == getattr(S1AP.S1AP_Constants, constant)._val


def test_every_wanted_ie_id_is_checked_against_pycrate() -> None:
    ids = {getattr(s1ap_ies, n) for n in dir(s1ap_ies) if n.startswith("ID_")}
    assert ids == s1ap_ies.WANTED and len(ids) == 19  # the 19 of the test above


def test_schema_serves_the_table_and_pycrates_types_alike() -> None:
    schema = S1APSchema()
    assert schema.message_codes()["InitialUEMessage"] == ("initiatingMessage", 12)
    for key, (name, names) in PROCEDURES.items():
        pycrate_name, types = schema.procedure(*key)
        assert pycrate_name == name and names.keys() <= types.keys()
    assert schema.ie_type(0, 12, s1ap_ies.ID_TAI)._typeref.called[1] == "TAI"
