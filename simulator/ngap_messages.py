"""The NGAP messages (TS 38.413 §9.2) the simulated gNBs and AMF send, as APER bytes.

The NR counterpart of `messages.S1APMessages`, method for method: the AMF is the MME's own
node (its GUAMI is the MME's GUMMEI mapped, `nas5g.amf_ids`), UE ids are the same
counters, cells are `CellSpec`s of `rat` "nr" (36-bit NCI, 3-octet TAC).  PDU sessions
are left out of the context setups (the probe reads none); the path switch names one, as
the procedure requires.  UE-associated messages are filled from templates
(`simulator.templates`).
"""

from __future__ import annotations

from pycrate_asn1dir import NGAP

from simulator.messages import plmn_bytes
from simulator.nas import Guti
from simulator.nas5g import amf_ids
from simulator.s1ap import NGAPCodec
from simulator.scenario import CellSpec, Enb, Network
from simulator.templates import Kind, Octets, Templates, Uint, VarUint

_SST = [{"s-NSSAI": {"sST": b"\x01"}}]  # eMBB
_ALGS = (0xE000, 16)
_SEC_CAPS = {"nRencryptionAlgorithms": _ALGS, "nRintegrityProtectionAlgorithms": _ALGS,
             "eUTRAencryptionAlgorithms": _ALGS, "eUTRAintegrityProtectionAlgorithms": _ALGS}
_REPORTING = {"eventType": "change-of-serve-cell", "reportArea": "cell"}
_PDU_SESSION = 1

# RAN-UE-NGAP-ID INTEGER (0..2^32-1), AMF-UE-NGAP-ID (0..2^40-1): 1..4 and 1..5 octets
_RAN_ID, _AMF_ID, _NAS, _NCI, _TAC = VarUint(4), VarUint(5), Octets(), Uint(36), Uint(24)
_SET_PTR, _TMSI, _KEY = Uint(16), Uint(32), Uint(256)


def _transfer(name: str, value: dict) -> bytes:
    """An NGAP transfer container (an OCTET STRING holding another APER encoding)."""
    obj = getattr(NGAP.NGAP_IEs, name)
    obj.set_val(value)
    return obj.to_aper()


class NGAPMessages:
    """Builds the simulator's NGAP messages for one network (PLMN, AMF = the MME)."""

    __slots__ = ("codec", "templates", "_plmn", "_net", "_k", "_t", "_guami", "_transfers",
                 "_setup_response")

    def __init__(self, net: Network, templates: Templates | None = None) -> None:
        self.codec, self._net, self._plmn = NGAPCodec(), net, plmn_bytes(net.plmn)
        self.templates = templates if templates is not None else Templates()
        self._t = self.templates.encode
        region, aset, ptr = amf_ids(Guti(net.plmn, net.mme_group_id, net.mme_code, 0))
        self._guami = {"pLMNIdentity": self._plmn, "aMFRegionID": (region, 8),
                       "aMFSetID": (aset, 10), "aMFPointer": (ptr, 6)}
        self._transfers: dict[str, bytes] = {}
        self._setup_response: bytes | None = None
        k = Kind
        self._k = {
            "iue": k("NGAP InitialUEMessage", self._enc_initial_ue, _RAN_ID, _NAS, _NCI, _TAC),
            "iue_stmsi": k("NGAP InitialUEMessage+5G-S-TMSI", self._enc_initial_ue, _RAN_ID,
                           _NAS, _NCI, _TAC, _SET_PTR, _TMSI),
            "dl": k("NGAP DownlinkNASTransport", self._enc_downlink_nas, _AMF_ID, _RAN_ID,
                    _NAS),
            "ul": k("NGAP UplinkNASTransport", self._enc_uplink_nas, _AMF_ID, _RAN_ID, _NAS,
                    _NCI, _TAC),
            "icsq": k("NGAP InitialContextSetupRequest", self._enc_ics_request, _AMF_ID,
                      _RAN_ID, _KEY),
            "icsq_nas": k("NGAP InitialContextSetupRequest+NAS", self._enc_ics_request,
                          _AMF_ID, _RAN_ID, _KEY, _NAS),
            "icsp": k("NGAP InitialContextSetupResponse", self._enc_ids_only, _AMF_ID, _RAN_ID),
            "lrc": k("NGAP LocationReportingControl", self._enc_ids_only, _AMF_ID, _RAN_ID),
            "lr": k("NGAP LocationReport", self._enc_location_report, _AMF_ID, _RAN_ID, _NCI,
                    _TAC),
            "relq": k("NGAP UEContextReleaseRequest", self._enc_ids_only, _AMF_ID, _RAN_ID),
            "relc": k("NGAP UEContextReleaseCommand", self._enc_release_command, _AMF_ID,
                      _RAN_ID),
            "relp": k("NGAP UEContextReleaseComplete", self._enc_release_complete, _AMF_ID,
                      _RAN_ID, _NCI, _TAC),
            "paging": k("NGAP Paging", self._enc_paging, _SET_PTR, _TMSI, _TAC),
            "psq": k("NGAP PathSwitchRequest", self._enc_path_switch, _RAN_ID, _AMF_ID, _NCI,
                     _TAC),
            "psa": k("NGAP PathSwitchRequestAcknowledge", self._enc_path_switch_ack, _AMF_ID,
                     _RAN_ID, _KEY),
        }

    def _uli(self, nci: int, tac: int) -> tuple:
        return ("userLocationInformationNR", {
            "nR-CGI": {"pLMNIdentity": self._plmn, "nRCellIdentity": (nci, 36)},
            "tAI": {"pLMNIdentity": self._plmn, "tAC": tac.to_bytes(3, "big")}})

    def _ids(self, amf_id: int, ran_id: int) -> list:
        return [("id-AMF-UE-NGAP-ID", amf_id), ("id-RAN-UE-NGAP-ID", ran_id)]

    @staticmethod
    def _stmsi(stmsi: int) -> tuple[int, int]:
        """(AMF Set ID and Pointer as 16 bits, 5G-TMSI) of the 48-bit 5G-S-TMSI."""
        return stmsi >> 32, stmsi & 0xFFFFFFFF

    # §9.2.6.1 / §9.2.6.2 NG setup (non UE-associated): once per gNB, pycrate every time
    def ng_setup_request(self, gnb: Enb) -> bytes:
        """NG Setup Request: the gNB's id (24 bits), name and tracking area."""
        return self.codec.encode("NGSetupRequest", [
            ("id-GlobalRANNodeID", ("globalGNB-ID", {
                "pLMNIdentity": self._plmn, "gNB-ID": ("gNB-ID", (gnb.id, 24))})),
            ("id-RANNodeName", gnb.name),
            ("id-SupportedTAList", [{"tAC": gnb.tac.to_bytes(3, "big"), "broadcastPLMNList": [
                {"pLMNIdentity": self._plmn, "tAISliceSupportList": _SST}]}]),
            ("id-DefaultPagingDRX", "v128")])

    def ng_setup_response(self) -> bytes:
        """NG Setup Response: the AMF's name, GUAMI and slices (the same for every gNB)."""
        if self._setup_response is None:
            self._setup_response = self.codec.encode("NGSetupResponse", [
                ("id-AMFName", "amf-1"),
                ("id-ServedGUAMIList", [{"gUAMI": self._guami}]),
                ("id-RelativeAMFCapacity", 255),
                ("id-PLMNSupportList", [{"pLMNIdentity": self._plmn,
                                         "sliceSupportList": _SST}])])
        return self._setup_response

    # §9.2.5 NAS transport
    def initial_ue_message(self, ran_id: int, nas: bytes, cell: CellSpec, cause: str,
                           stmsi: int | None = None) -> bytes:
        """Initial UE Message; `stmsi` (48 bits) adds the 5G-S-TMSI of a registered UE."""
        if stmsi is None:
            return self._t(self._k["iue"], (cause,), (ran_id, nas, cell.eci, cell.tac))
        return self._t(self._k["iue_stmsi"], (cause,), (ran_id, nas, cell.eci, cell.tac,
                                                        *self._stmsi(stmsi)))

    def _enc_initial_ue(self, cause: str, ran_id: int, nas: bytes, nci: int, tac: int,
                        set_ptr: int | None = None, tmsi: int | None = None) -> bytes:
        ies = [("id-RAN-UE-NGAP-ID", ran_id), ("id-NAS-PDU", nas),
               ("id-UserLocationInformation", self._uli(nci, tac)),
               ("id-RRCEstablishmentCause", cause)]
        if set_ptr is not None:
            ies.append(("id-FiveG-S-TMSI", {"aMFSetID": (set_ptr >> 6, 10),
                                            "aMFPointer": (set_ptr & 0x3F, 6),
                                            "fiveG-TMSI": tmsi.to_bytes(4, "big")}))
        ies.append(("id-UEContextRequest", "requested"))
        return self.codec.encode("InitialUEMessage", ies)

    def downlink_nas(self, amf_id: int, ran_id: int, nas: bytes) -> bytes:
        """Downlink NAS Transport."""
        return self._t(self._k["dl"], (), (amf_id, ran_id, nas))

    def _enc_downlink_nas(self, amf_id: int, ran_id: int, nas: bytes) -> bytes:
        return self.codec.encode("DownlinkNASTransport",
                                 self._ids(amf_id, ran_id) + [("id-NAS-PDU", nas)])

    def uplink_nas(self, amf_id: int, ran_id: int, nas: bytes, cell: CellSpec) -> bytes:
        """Uplink NAS Transport, with the serving cell."""
        return self._t(self._k["ul"], (), (amf_id, ran_id, nas, cell.eci, cell.tac))

    def _enc_uplink_nas(self, amf_id: int, ran_id: int, nas: bytes, nci: int, tac: int
                        ) -> bytes:
        return self.codec.encode("UplinkNASTransport", self._ids(amf_id, ran_id) + [
            ("id-NAS-PDU", nas), ("id-UserLocationInformation", self._uli(nci, tac))])

    # §9.2.2.1 / §9.2.2.2 initial context setup
    def initial_context_setup_request(self, amf_id: int, ran_id: int, nas: bytes | None,
                                      key: int) -> bytes:
        """Initial Context Setup Request (GUAMI, slices, security), `nas` inside if given."""
        if nas is None:
            return self._t(self._k["icsq"], (), (amf_id, ran_id, key))
        return self._t(self._k["icsq_nas"], (), (amf_id, ran_id, key, nas))

    def _enc_ics_request(self, amf_id: int, ran_id: int, key: int, nas: bytes | None = None
                         ) -> bytes:
        ies = self._ids(amf_id, ran_id) + [
            ("id-GUAMI", self._guami), ("id-AllowedNSSAI", _SST),
            ("id-UESecurityCapabilities", _SEC_CAPS), ("id-SecurityKey", (key, 256))]
        if nas is not None:
            ies.append(("id-NAS-PDU", nas))
        return self.codec.encode("InitialContextSetupRequest", ies)

    def initial_context_setup_response(self, amf_id: int, ran_id: int) -> bytes:
        """Initial Context Setup Response."""
        return self._t(self._k["icsp"], ("InitialContextSetupResponse",), (amf_id, ran_id))

    def _enc_ids_only(self, message: str, amf_id: int, ran_id: int) -> bytes:
        ies = self._ids(amf_id, ran_id)
        if message == "LocationReportingControl":
            ies.append(("id-LocationReportingRequestType", _REPORTING))
        elif message == "UEContextReleaseRequest":
            ies.append(("id-Cause", ("radioNetwork", "user-inactivity")))
        return self.codec.encode(message, ies)

    # §9.2.9 location reporting
    def location_reporting_control(self, amf_id: int, ran_id: int) -> bytes:
        """Location Reporting Control: report every change of serving cell."""
        return self._t(self._k["lrc"], ("LocationReportingControl",), (amf_id, ran_id))

    def location_report(self, amf_id: int, ran_id: int, cell: CellSpec) -> bytes:
        """Location Report of the new serving cell (a move within the gNB)."""
        return self._t(self._k["lr"], (), (amf_id, ran_id, cell.eci, cell.tac))

    def _enc_location_report(self, amf_id: int, ran_id: int, nci: int, tac: int) -> bytes:
        return self.codec.encode("LocationReport", self._ids(amf_id, ran_id) + [
            ("id-UserLocationInformation", self._uli(nci, tac)),
            ("id-LocationReportingRequestType", _REPORTING)])

    # §9.2.2.4 – §9.2.2.6 UE context release
    def ue_context_release_request(self, amf_id: int, ran_id: int) -> bytes:
        """UE Context Release Request after user inactivity."""
        return self._t(self._k["relq"], ("UEContextReleaseRequest",), (amf_id, ran_id))

    def ue_context_release_command(self, amf_id: int, ran_id: int, cause: tuple) -> bytes:
        """UE Context Release Command, e.g. cause ('nas', 'deregister')."""
        return self._t(self._k["relc"], (cause,), (amf_id, ran_id))

    def _enc_release_command(self, cause: tuple, amf_id: int, ran_id: int) -> bytes:
        return self.codec.encode("UEContextReleaseCommand", [
            ("id-UE-NGAP-IDs", ("uE-NGAP-ID-pair", {"aMF-UE-NGAP-ID": amf_id,
                                                    "rAN-UE-NGAP-ID": ran_id})),
            ("id-Cause", cause)])

    def ue_context_release_complete(self, amf_id: int, ran_id: int, cell: CellSpec) -> bytes:
        """UE Context Release Complete, with the last serving cell."""
        return self._t(self._k["relp"], (), (amf_id, ran_id, cell.eci, cell.tac))

    def _enc_release_complete(self, amf_id: int, ran_id: int, nci: int, tac: int) -> bytes:
        return self.codec.encode("UEContextReleaseComplete", self._ids(amf_id, ran_id) + [
            ("id-UserLocationInformation", self._uli(nci, tac))])

    # §9.2.4.1 paging
    def paging(self, stmsi: int, tac: int) -> bytes:
        """Paging by 5G-S-TMSI in one tracking area."""
        return self._t(self._k["paging"], (), (*self._stmsi(stmsi), tac))

    def _enc_paging(self, set_ptr: int, tmsi: int, tac: int) -> bytes:
        return self.codec.encode("Paging", [
            ("id-UEPagingIdentity", ("fiveG-S-TMSI", {
                "aMFSetID": (set_ptr >> 6, 10), "aMFPointer": (set_ptr & 0x3F, 6),
                "fiveG-TMSI": tmsi.to_bytes(4, "big")})),
            ("id-TAIListForPaging", [{"tAI": {"pLMNIdentity": self._plmn,
                                              "tAC": tac.to_bytes(3, "big")}}])])

    # §9.2.3.8 / §9.2.3.9 path switch (Xn handover)
    def path_switch_request(self, ran_id: int, source_amf_id: int, cell: CellSpec,
                            gnb_ip: str) -> bytes:
        """Path Switch Request from the target gNB, naming the new cell."""
        return self._t(self._k["psq"], (gnb_ip,), (ran_id, source_amf_id, cell.eci, cell.tac))

    def _enc_path_switch(self, gnb_ip: str, ran_id: int, source_amf_id: int, nci: int,
                         tac: int) -> bytes:
        transfer = self._transfers.get(gnb_ip)
        if transfer is None:
            ip = int.from_bytes(bytes(int(x) for x in gnb_ip.split(".")), "big")
            transfer = self._transfers[gnb_ip] = _transfer("PathSwitchRequestTransfer", {
                "dL-NGU-UP-TNLInformation": ("gTPTunnel", {
                    "transportLayerAddress": (ip, 32), "gTP-TEID": b"\x00\x00\x00\x01"}),
                "qosFlowAcceptedList": [{"qosFlowIdentifier": 1}]})
        return self.codec.encode("PathSwitchRequest", [
            ("id-RAN-UE-NGAP-ID", ran_id), ("id-SourceAMF-UE-NGAP-ID", source_amf_id),
            ("id-UserLocationInformation", self._uli(nci, tac)),
            ("id-UESecurityCapabilities", _SEC_CAPS),
            ("id-PDUSessionResourceToBeSwitchedDLList", [
                {"pDUSessionID": _PDU_SESSION, "pathSwitchRequestTransfer": transfer}])])

    def path_switch_request_acknowledge(self, amf_id: int, ran_id: int, key: int) -> bytes:
        """Path Switch Request Acknowledge with the next-hop security context."""
        return self._t(self._k["psa"], (), (amf_id, ran_id, key))

    def _enc_path_switch_ack(self, amf_id: int, ran_id: int, key: int) -> bytes:
        ack = self._transfers.get("ack")
        if ack is None:
            ack = self._transfers["ack"] = _transfer("PathSwitchRequestAcknowledgeTransfer", {})
        return self.codec.encode("PathSwitchRequestAcknowledge", self._ids(amf_id, ran_id) + [
            ("id-SecurityContext", {"nextHopChainingCount": 1, "nextHopNH": (key, 256)}),
            ("id-PDUSessionResourceSwitchedList", [
                {"pDUSessionID": _PDU_SESSION, "pathSwitchRequestAcknowledgeTransfer": ack}]),
            ("id-AllowedNSSAI", _SST)])
