"""The S1AP messages (TS 36.413 §9.1) the simulated eNBs and MME send, as APER bytes.

One method per message, named after it, taking the S1AP UE ids, the cell
(`CellSpec`) and the NAS PDU where the message has them.  Values that do
not matter to the probe (keys, TEIDs, bit rates) are fixed but valid.
"""

from __future__ import annotations

import ipaddress

from pycrate_mobile.TS24008_IE import PLMN

from simulator.s1ap import S1APCodec
from simulator.scenario import CellSpec, Enb, Network

_ERAB_ID = 5
_QOS = {"qCI": 9, "allocationRetentionPriority": {
    "priorityLevel": 15, "pre-emptionCapability": "shall-not-trigger-pre-emption",
    "pre-emptionVulnerability": "not-pre-emptable"}}
_SEC_CAPS = {"encryptionAlgorithms": (0xE000, 16), "integrityProtectionAlgorithms": (0xE000, 16)}


def sgw_s1u_teid(mme_id: int) -> int:
    """The S-GW's S1-U TEID of the default bearer of a connection (fixed but valid)."""
    return mme_id | 0x1000000


def enb_s1u_teid(enb_id: int) -> int:
    """The eNB's S1-U TEID of the default bearer of a connection."""
    return enb_id | 0x2000000


def plmn_bytes(digits: str) -> bytes:
    """TBCD PLMN identity (TS 24.008 §10.5.1.3) of MCCMNC digits."""
    p = PLMN()
    p.encode(digits)
    return p.to_bytes()


class S1APMessages:
    """Builds the simulator's S1AP messages for one network (PLMN, MME)."""

    __slots__ = ("codec", "_plmn", "_net")

    def __init__(self, net: Network) -> None:
        self.codec, self._net, self._plmn = S1APCodec(), net, plmn_bytes(net.plmn)

    def _tai(self, tac: int) -> dict:
        return {"pLMNidentity": self._plmn, "tAC": tac.to_bytes(2, "big")}

    def _cgi(self, cell: CellSpec) -> dict:
        return {"pLMNidentity": self._plmn, "cell-ID": (cell.eci, 28)}

    def _ids(self, mme_id: int, enb_id: int) -> list:
        return [("id-MME-UE-S1AP-ID", mme_id), ("id-eNB-UE-S1AP-ID", enb_id)]

    def _single(self, ie: str, typ: str, crit: str, value: dict) -> dict:
        return {"id": self.codec.ie_id(ie), "criticality": crit, "value": (typ, value)}

    # §9.1.8.4 / §9.1.8.5 S1 setup (non UE-associated)
    def s1_setup_request(self, enb: Enb) -> bytes:
        """S1 Setup Request of `enb` with its TAC."""
        return self.codec.encode("S1SetupRequest", [
            ("id-Global-ENB-ID", {"pLMNidentity": self._plmn,
                                  "eNB-ID": ("macroENB-ID", (enb.id, 20))}),
            ("id-eNBname", enb.name),
            ("id-SupportedTAs", [{"tAC": enb.tac.to_bytes(2, "big"),
                                  "broadcastPLMNs": [self._plmn]}]),
            ("id-DefaultPagingDRX", "v128")])

    def s1_setup_response(self) -> bytes:
        """S1 Setup Response serving the MME's GUMMEI."""
        return self.codec.encode("S1SetupResponse", [
            ("id-MMEname", "mme-1"),
            ("id-ServedGUMMEIs", [{"servedPLMNs": [self._plmn],
                                   "servedGroupIDs": [self._net.mme_group_id.to_bytes(2, "big")],
                                   "servedMMECs": [self._net.mme_code.to_bytes(1, "big")]}]),
            ("id-RelativeMMECapacity", 255)])

    # §9.1.7 NAS transport
    def initial_ue_message(self, enb_id: int, nas: bytes, cell: CellSpec, cause: str,
                           mtmsi: int | None = None) -> bytes:
        """Initial UE Message; `mtmsi` adds the S-TMSI IE of a registered UE."""
        ies = [("id-eNB-UE-S1AP-ID", enb_id), ("id-NAS-PDU", nas), ("id-TAI", self._tai(cell.tac)),
               ("id-EUTRAN-CGI", self._cgi(cell)), ("id-RRC-Establishment-Cause", cause)]
        if mtmsi is not None:
            ies.append(("id-S-TMSI", {"mMEC": self._net.mme_code.to_bytes(1, "big"),
                                      "m-TMSI": mtmsi.to_bytes(4, "big")}))
        return self.codec.encode("InitialUEMessage", ies)

    def downlink_nas(self, mme_id: int, enb_id: int, nas: bytes) -> bytes:
        """Downlink NAS Transport."""
        return self.codec.encode("DownlinkNASTransport",
                                 self._ids(mme_id, enb_id) + [("id-NAS-PDU", nas)])

    def uplink_nas(self, mme_id: int, enb_id: int, nas: bytes, cell: CellSpec) -> bytes:
        """Uplink NAS Transport, with the serving cell."""
        return self.codec.encode("UplinkNASTransport", self._ids(mme_id, enb_id) + [
            ("id-NAS-PDU", nas), ("id-EUTRAN-CGI", self._cgi(cell)),
            ("id-TAI", self._tai(cell.tac))])

    # §9.1.4.1 / §9.1.4.2 initial context setup
    def initial_context_setup_request(self, mme_id: int, enb_id: int, nas: bytes | None,
                                      key: int) -> bytes:
        """Initial Context Setup Request for the default bearer, with `nas` inside when given."""
        item = {"e-RAB-ID": _ERAB_ID, "e-RABlevelQoSParameters": _QOS,
                "transportLayerAddress": _ip(self._net.sgw_ip),
                "gTP-TEID": sgw_s1u_teid(mme_id).to_bytes(4, "big")}
        if nas is not None:
            item["nAS-PDU"] = nas
        return self.codec.encode("InitialContextSetupRequest", self._ids(mme_id, enb_id) + [
            ("id-uEaggregateMaximumBitrate", {"uEaggregateMaximumBitRateDL": 100_000_000,
                                              "uEaggregateMaximumBitRateUL": 50_000_000}),
            ("id-E-RABToBeSetupListCtxtSUReq", [self._single(
                "id-E-RABToBeSetupItemCtxtSUReq", "E-RABToBeSetupItemCtxtSUReq", "reject", item)]),
            ("id-UESecurityCapabilities", _SEC_CAPS),
            ("id-SecurityKey", (key, 256))])

    def initial_context_setup_response(self, mme_id: int, enb_id: int, enb_ip: str) -> bytes:
        """Initial Context Setup Response: the bearer is set up at `enb_ip`."""
        item = {"e-RAB-ID": _ERAB_ID, "transportLayerAddress": _ip(enb_ip),
                "gTP-TEID": enb_s1u_teid(enb_id).to_bytes(4, "big")}
        return self.codec.encode("InitialContextSetupResponse", self._ids(mme_id, enb_id) + [
            ("id-E-RABSetupListCtxtSURes", [self._single(
                "id-E-RABSetupItemCtxtSURes", "E-RABSetupItemCtxtSURes", "ignore", item)])])

    # §9.1.5.8 / §9.1.5.9 path switch (X2 handover)
    def path_switch_request(self, enb_id: int, source_mme_id: int, cell: CellSpec,
                            enb_ip: str) -> bytes:
        """Path Switch Request from the target eNB, naming the new cell."""
        item = {"e-RAB-ID": _ERAB_ID, "transportLayerAddress": _ip(enb_ip),
                "gTP-TEID": enb_s1u_teid(enb_id).to_bytes(4, "big")}
        return self.codec.encode("PathSwitchRequest", [
            ("id-eNB-UE-S1AP-ID", enb_id),
            ("id-E-RABToBeSwitchedDLList", [self._single(
                "id-E-RABToBeSwitchedDLItem", "E-RABToBeSwitchedDLItem", "reject", item)]),
            ("id-SourceMME-UE-S1AP-ID", source_mme_id), ("id-EUTRAN-CGI", self._cgi(cell)),
            ("id-TAI", self._tai(cell.tac)), ("id-UESecurityCapabilities", _SEC_CAPS)])

    def path_switch_request_acknowledge(self, mme_id: int, enb_id: int, key: int) -> bytes:
        """Path Switch Request Acknowledge with the next-hop security context."""
        return self.codec.encode("PathSwitchRequestAcknowledge", self._ids(mme_id, enb_id) + [
            ("id-SecurityContext", {"nextHopChainingCount": 1, "nextHopParameter": (key, 256)})])

    # §9.1.8.x location reporting
    def location_reporting_control(self, mme_id: int, enb_id: int) -> bytes:
        """Location Reporting Control: report every change of serving cell."""
        return self.codec.encode("LocationReportingControl", self._ids(mme_id, enb_id) + [
            ("id-RequestType", {"eventType": "change-of-serve-cell", "reportArea": "ecgi"})])

    def location_report(self, mme_id: int, enb_id: int, cell: CellSpec) -> bytes:
        """Location Report of the new serving cell (intra-eNB handover)."""
        return self.codec.encode("LocationReport", self._ids(mme_id, enb_id) + [
            ("id-EUTRAN-CGI", self._cgi(cell)), ("id-TAI", self._tai(cell.tac)),
            ("id-RequestType", {"eventType": "change-of-serve-cell", "reportArea": "ecgi"})])

    # §9.1.4.5 – §9.1.4.7 UE context release
    def ue_context_release_request(self, mme_id: int, enb_id: int) -> bytes:
        """UE Context Release Request after user inactivity."""
        return self.codec.encode("UEContextReleaseRequest", self._ids(mme_id, enb_id) + [
            ("id-Cause", ("radioNetwork", "user-inactivity"))])

    def ue_context_release_command(self, mme_id: int, enb_id: int, cause: tuple) -> bytes:
        """UE Context Release Command, e.g. cause ('nas', 'detach')."""
        return self.codec.encode("UEContextReleaseCommand", [
            ("id-UE-S1AP-IDs", ("uE-S1AP-ID-pair", {"mME-UE-S1AP-ID": mme_id,
                                                    "eNB-UE-S1AP-ID": enb_id})),
            ("id-Cause", cause)])

    def ue_context_release_complete(self, mme_id: int, enb_id: int) -> bytes:
        """UE Context Release Complete."""
        return self.codec.encode("UEContextReleaseComplete", self._ids(mme_id, enb_id))

    # §9.1.6 paging
    def paging(self, imsi: str, mtmsi: int, tac: int) -> bytes:
        """Paging by S-TMSI in one tracking area (UE identity index = IMSI mod 1024)."""
        return self.codec.encode("Paging", [
            ("id-UEIdentityIndexValue", (int(imsi) % 1024, 10)),
            ("id-UEPagingID", ("s-TMSI", {"mMEC": self._net.mme_code.to_bytes(1, "big"),
                                          "m-TMSI": mtmsi.to_bytes(4, "big")})),
            ("id-CNDomain", "ps"),
            ("id-TAIList", [self._single("id-TAIItem", "TAIItem", "ignore",
                                         {"tAI": self._tai(tac)})])])


def _ip(dotted: str) -> tuple[int, int]:
    return (int(ipaddress.IPv4Address(dotted)), 32)
