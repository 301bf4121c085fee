"""The S1AP messages (TS 36.413 §9.1) the simulated eNBs and MME send, as APER bytes.

One method per message, named after it, taking the S1AP UE ids, the cell
(`CellSpec`) and the NAS PDU where the message has them.  Values that do
not matter to the probe (keys, TEIDs, bit rates) are fixed but valid.
UE-associated messages are filled from templates (`simulator.templates`): pycrate
encodes one message per shape, the rest is patched.
"""

from __future__ import annotations

import ipaddress

from pycrate_mobile.TS24008_IE import PLMN

from simulator.s1ap import S1APCodec
from simulator.scenario import CellSpec, Enb, Network
from simulator.templates import Kind, Octets, Templates, Uint, VarUint

_ERAB_ID = 5
_QOS = {"qCI": 9, "allocationRetentionPriority": {
    "priorityLevel": 15, "pre-emptionCapability": "shall-not-trigger-pre-emption",
    "pre-emptionVulnerability": "not-pre-emptable"}}
_SEC_CAPS = {"encryptionAlgorithms": (0xE000, 16), "integrityProtectionAlgorithms": (0xE000, 16)}


def sgw_s1u_teid(mme_id: int) -> int:
    """The S-GW's S1-U TEID of the default bearer of a session created while the UE held
    MME-UE-S1AP-ID `mme_id` (kept by the UE for the session's life)."""
    return mme_id | 0x1000000


def enb_s1u_teid(enb_id: int) -> int:
    """The eNB's S1-U TEID of the default bearer of a connection."""
    return enb_id | 0x2000000


def plmn_bytes(digits: str) -> bytes:
    """TBCD PLMN identity (TS 24.008 §10.5.1.3) of MCCMNC digits."""
    p = PLMN()
    p.encode(digits)
    return p.to_bytes()


# the varying values of S1AP messages (TS 36.413 §9.2): UE ids are INTEGER (0..2^24-1) and
# (0..2^32-1), so 1..3 and 1..4 octets in APER; the cell identity a 28-bit BIT STRING
_ENB_ID, _MME_ID, _NAS, _ECI = VarUint(3), VarUint(4), Octets(), Uint(28)
_TAC, _TMSI, _KEY, _IP, _TEID, _INDEX = Uint(16), Uint(32), Uint(256), Uint(32), Uint(32), Uint(10)


class S1APMessages:
    """Builds the simulator's S1AP messages for one network (PLMN, MME).

    Public methods take the procedure's values; each one's pycrate encoding (`_enc_*`,
    on plain numbers and bytes) is the builder of its template kind (`simulator.templates`).
    """

    __slots__ = ("codec", "templates", "_plmn", "_net", "_k", "_ips", "_setup_response", "_t")

    def __init__(self, net: Network, templates: Templates | None = None) -> None:
        self.codec, self._net, self._plmn = S1APCodec(), net, plmn_bytes(net.plmn)
        self.templates = templates if templates is not None else Templates()
        self._t = self.templates.encode
        self._ips: dict[str, int] = {}
        self._setup_response: bytes | None = None
        k = Kind
        self._k = {
            "iue": k("InitialUEMessage", self._enc_initial_ue, _ENB_ID, _NAS, _TAC, _ECI),
            "iue_stmsi": k("InitialUEMessage+S-TMSI", self._enc_initial_ue, _ENB_ID, _NAS,
                           _TAC, _ECI, _TMSI),
            "dl": k("DownlinkNASTransport", self._enc_downlink_nas, _MME_ID, _ENB_ID, _NAS),
            "ul": k("UplinkNASTransport", self._enc_uplink_nas, _MME_ID, _ENB_ID, _NAS, _ECI,
                    _TAC),
            "icsq": k("InitialContextSetupRequest", self._enc_ics_request, _MME_ID, _ENB_ID,
                      _TEID, _KEY),
            "icsq_nas": k("InitialContextSetupRequest+NAS", self._enc_ics_request, _MME_ID,
                          _ENB_ID, _TEID, _NAS, _KEY),
            "icsp": k("InitialContextSetupResponse", self._enc_ics_response, _MME_ID, _ENB_ID,
                      _IP, _TEID),
            "psq": k("PathSwitchRequest", self._enc_path_switch, _ENB_ID, _IP, _TEID, _MME_ID,
                     _ECI, _TAC),
            "psa": k("PathSwitchRequestAcknowledge", self._enc_path_switch_ack, _MME_ID, _ENB_ID,
                     _KEY),
            "lrc": k("LocationReportingControl", self._enc_ids_only, _MME_ID, _ENB_ID),
            "lr": k("LocationReport", self._enc_location_report, _MME_ID, _ENB_ID, _ECI, _TAC),
            "relq": k("UEContextReleaseRequest", self._enc_ids_only, _MME_ID, _ENB_ID),
            "relc": k("UEContextReleaseCommand", self._enc_release_command, _MME_ID, _ENB_ID),
            "relp": k("UEContextReleaseComplete", self._enc_ids_only, _MME_ID, _ENB_ID),
            "paging": k("Paging", self._enc_paging, _INDEX, _TMSI, _TAC),
        }

    def _tai(self, tac: int) -> dict:
        return {"pLMNidentity": self._plmn, "tAC": tac.to_bytes(2, "big")}

    def _cgi(self, eci: int) -> dict:
        return {"pLMNidentity": self._plmn, "cell-ID": (eci, 28)}

    def _ids(self, mme_id: int, enb_id: int) -> list:
        return [("id-MME-UE-S1AP-ID", mme_id), ("id-eNB-UE-S1AP-ID", enb_id)]

    def _single(self, ie: str, typ: str, crit: str, value: dict) -> dict:
        return {"id": self.codec.ie_id(ie), "criticality": crit, "value": (typ, value)}

    def _ip_int(self, dotted: str) -> int:
        v = self._ips.get(dotted)
        if v is None:
            v = self._ips[dotted] = int(ipaddress.IPv4Address(dotted))
        return v

    # §9.1.8.4 / §9.1.8.5 S1 setup (non UE-associated): once per eNB, pycrate every time
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
        """S1 Setup Response serving the MME's GUMMEI (the same for every eNB)."""
        if self._setup_response is None:
            self._setup_response = self.codec.encode("S1SetupResponse", [
                ("id-MMEname", "mme-1"),
                ("id-ServedGUMMEIs", [{
                    "servedPLMNs": [self._plmn],
                    "servedGroupIDs": [self._net.mme_group_id.to_bytes(2, "big")],
                    "servedMMECs": [self._net.mme_code.to_bytes(1, "big")]}]),
                ("id-RelativeMMECapacity", 255)])
        return self._setup_response

    # §9.1.7 NAS transport
    def initial_ue_message(self, enb_id: int, nas: bytes, cell: CellSpec, cause: str,
                           mtmsi: int | None = None) -> bytes:
        """Initial UE Message; `mtmsi` adds the S-TMSI IE of a registered UE."""
        if mtmsi is None:
            return self._t(self._k["iue"], (cause,), (enb_id, nas, cell.tac, cell.eci))
        return self._t(self._k["iue_stmsi"], (cause,), (enb_id, nas, cell.tac, cell.eci, mtmsi))

    def _enc_initial_ue(self, cause: str, enb_id: int, nas: bytes, tac: int, eci: int,
                        mtmsi: int | None = None) -> bytes:
        ies = [("id-eNB-UE-S1AP-ID", enb_id), ("id-NAS-PDU", nas), ("id-TAI", self._tai(tac)),
               ("id-EUTRAN-CGI", self._cgi(eci)), ("id-RRC-Establishment-Cause", cause)]
        if mtmsi is not None:
            ies.append(("id-S-TMSI", {"mMEC": self._net.mme_code.to_bytes(1, "big"),
                                      "m-TMSI": mtmsi.to_bytes(4, "big")}))
        return self.codec.encode("InitialUEMessage", ies)

    def downlink_nas(self, mme_id: int, enb_id: int, nas: bytes) -> bytes:
        """Downlink NAS Transport."""
        return self._t(self._k["dl"], (), (mme_id, enb_id, nas))

    def _enc_downlink_nas(self, mme_id: int, enb_id: int, nas: bytes) -> bytes:
        return self.codec.encode("DownlinkNASTransport",
                                 self._ids(mme_id, enb_id) + [("id-NAS-PDU", nas)])

    def uplink_nas(self, mme_id: int, enb_id: int, nas: bytes, cell: CellSpec) -> bytes:
        """Uplink NAS Transport, with the serving cell."""
        return self._t(self._k["ul"], (), (mme_id, enb_id, nas, cell.eci, cell.tac))

    def _enc_uplink_nas(self, mme_id: int, enb_id: int, nas: bytes, eci: int, tac: int
                        ) -> bytes:
        return self.codec.encode("UplinkNASTransport", self._ids(mme_id, enb_id) + [
            ("id-NAS-PDU", nas), ("id-EUTRAN-CGI", self._cgi(eci)), ("id-TAI", self._tai(tac))])

    # §9.1.4.1 / §9.1.4.2 initial context setup
    def initial_context_setup_request(self, mme_id: int, enb_id: int, sgw_teid: int,
                                      nas: bytes | None, key: int) -> bytes:
        """Initial Context Setup Request for the default bearer (the S-GW's S1-U TEID
        `sgw_teid`), with `nas` inside when given."""
        if nas is None:
            return self._t(self._k["icsq"], (), (mme_id, enb_id, sgw_teid, key))
        return self._t(self._k["icsq_nas"], (), (mme_id, enb_id, sgw_teid, nas, key))

    def _enc_ics_request(self, mme_id: int, enb_id: int, teid: int, *nas_key) -> bytes:
        nas, key = nas_key if len(nas_key) == 2 else (None, nas_key[0])
        item = {"e-RAB-ID": _ERAB_ID, "e-RABlevelQoSParameters": _QOS,
                "transportLayerAddress": (self._ip_int(self._net.sgw_ip), 32),
                "gTP-TEID": teid.to_bytes(4, "big")}
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
        return self._t(self._k["icsp"], (), (mme_id, enb_id, self._ip_int(enb_ip),
                                       enb_s1u_teid(enb_id)))

    def _enc_ics_response(self, mme_id: int, enb_id: int, ip: int, teid: int) -> bytes:
        item = {"e-RAB-ID": _ERAB_ID, "transportLayerAddress": (ip, 32),
                "gTP-TEID": teid.to_bytes(4, "big")}
        return self.codec.encode("InitialContextSetupResponse", self._ids(mme_id, enb_id) + [
            ("id-E-RABSetupListCtxtSURes", [self._single(
                "id-E-RABSetupItemCtxtSURes", "E-RABSetupItemCtxtSURes", "ignore", item)])])

    # §9.1.5.8 / §9.1.5.9 path switch (X2 handover)
    def path_switch_request(self, enb_id: int, source_mme_id: int, cell: CellSpec,
                            enb_ip: str) -> bytes:
        """Path Switch Request from the target eNB, naming the new cell."""
        return self._t(self._k["psq"], (), (enb_id, self._ip_int(enb_ip), enb_s1u_teid(enb_id),
                                      source_mme_id, cell.eci, cell.tac))

    def _enc_path_switch(self, enb_id: int, ip: int, teid: int, source_mme_id: int, eci: int,
                         tac: int) -> bytes:
        item = {"e-RAB-ID": _ERAB_ID, "transportLayerAddress": (ip, 32),
                "gTP-TEID": teid.to_bytes(4, "big")}
        return self.codec.encode("PathSwitchRequest", [
            ("id-eNB-UE-S1AP-ID", enb_id),
            ("id-E-RABToBeSwitchedDLList", [self._single(
                "id-E-RABToBeSwitchedDLItem", "E-RABToBeSwitchedDLItem", "reject", item)]),
            ("id-SourceMME-UE-S1AP-ID", source_mme_id), ("id-EUTRAN-CGI", self._cgi(eci)),
            ("id-TAI", self._tai(tac)), ("id-UESecurityCapabilities", _SEC_CAPS)])

    def path_switch_request_acknowledge(self, mme_id: int, enb_id: int, key: int) -> bytes:
        """Path Switch Request Acknowledge with the next-hop security context."""
        return self._t(self._k["psa"], (), (mme_id, enb_id, key))

    def _enc_path_switch_ack(self, mme_id: int, enb_id: int, key: int) -> bytes:
        return self.codec.encode("PathSwitchRequestAcknowledge", self._ids(mme_id, enb_id) + [
            ("id-SecurityContext", {"nextHopChainingCount": 1, "nextHopParameter": (key, 256)})])

    # §9.1.8.x location reporting
    def location_reporting_control(self, mme_id: int, enb_id: int) -> bytes:
        """Location Reporting Control: report every change of serving cell."""
        return self._t(self._k["lrc"], ("LocationReportingControl",), (mme_id, enb_id))

    def _enc_ids_only(self, message: str, mme_id: int, enb_id: int) -> bytes:
        ies = self._ids(mme_id, enb_id)
        if message == "LocationReportingControl":
            ies.append(("id-RequestType", {"eventType": "change-of-serve-cell",
                                           "reportArea": "ecgi"}))
        elif message == "UEContextReleaseRequest":
            ies.append(("id-Cause", ("radioNetwork", "user-inactivity")))
        return self.codec.encode(message, ies)

    def location_report(self, mme_id: int, enb_id: int, cell: CellSpec) -> bytes:
        """Location Report of the new serving cell (intra-eNB handover)."""
        return self._t(self._k["lr"], (), (mme_id, enb_id, cell.eci, cell.tac))

    def _enc_location_report(self, mme_id: int, enb_id: int, eci: int, tac: int) -> bytes:
        return self.codec.encode("LocationReport", self._ids(mme_id, enb_id) + [
            ("id-EUTRAN-CGI", self._cgi(eci)), ("id-TAI", self._tai(tac)),
            ("id-RequestType", {"eventType": "change-of-serve-cell", "reportArea": "ecgi"})])

    # §9.1.4.5 – §9.1.4.7 UE context release
    def ue_context_release_request(self, mme_id: int, enb_id: int) -> bytes:
        """UE Context Release Request after user inactivity."""
        return self._t(self._k["relq"], ("UEContextReleaseRequest",), (mme_id, enb_id))

    def ue_context_release_command(self, mme_id: int, enb_id: int, cause: tuple) -> bytes:
        """UE Context Release Command, e.g. cause ('nas', 'detach')."""
        return self._t(self._k["relc"], (cause,), (mme_id, enb_id))

    def _enc_release_command(self, cause: tuple, mme_id: int, enb_id: int) -> bytes:
        return self.codec.encode("UEContextReleaseCommand", [
            ("id-UE-S1AP-IDs", ("uE-S1AP-ID-pair", {"mME-UE-S1AP-ID": mme_id,
                                                    "eNB-UE-S1AP-ID": enb_id})),
            ("id-Cause", cause)])

    def ue_context_release_complete(self, mme_id: int, enb_id: int) -> bytes:
        """UE Context Release Complete."""
        return self._t(self._k["relp"], ("UEContextReleaseComplete",), (mme_id, enb_id))

    # §9.1.6 paging
    def paging(self, imsi: str, mtmsi: int, tac: int) -> bytes:
        """Paging by S-TMSI in one tracking area (UE identity index = IMSI mod 1024)."""
        return self._t(self._k["paging"], (), (int(imsi) % 1024, mtmsi, tac))

    def _enc_paging(self, index: int, mtmsi: int, tac: int) -> bytes:
        return self.codec.encode("Paging", [
            ("id-UEIdentityIndexValue", (index, 10)),
            ("id-UEPagingID", ("s-TMSI", {"mMEC": self._net.mme_code.to_bytes(1, "big"),
                                          "m-TMSI": mtmsi.to_bytes(4, "big")})),
            ("id-CNDomain", "ps"),
            ("id-TAIList", [self._single("id-TAIItem", "TAIItem", "ignore",
                                         {"tAI": self._tai(tac)})])])
