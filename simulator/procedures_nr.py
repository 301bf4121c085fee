"""5GS procedures (TS 23.502 §4.2) over NGAP, for phones in NR cells (`rat` "nr").

`Core` hands a procedure to `NRProcedures` when the UE's cell is an NR cell; the shapes
follow the EPS ones of `procedures.Core`, message for message:

| EPS (S1AP)                          | 5GS (NGAP)                                      |
|-------------------------------------|-------------------------------------------------|
| Attach (IMSI, later GUTI)           | Registration, initial (SUCI null scheme, later 5G-GUTI) |
| TAU, new TA / periodic              | Registration, mobility / periodic updating     |
| Service Request (S-TMSI)            | Service Request (5G-S-TMSI)                     |
| X2 Path Switch, Location Report     | Xn Path Switch, Location Report                 |
| Detach (switch off)                 | Deregistration (switch off)                     |

The AMF is the MME's node (N26 interworking): one GUTI for both RATs (`nas5g`), one set
of UE id counters.  The 5G core's own interfaces (SBI to the AUSF, UDM, SMF) are not
captured: NR procedures add no S11 or S6a message.  Messages go on link "ng" (the gNB's
NGAP association).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import nas5g
from simulator.nas5g import INITIAL, MOBILITY, PERIODIC, NAS5GMessages
from simulator.ngap_messages import NGAPMessages

if TYPE_CHECKING:
    from simulator.procedures import UE, Core
    from simulator.scenario import CellSpec


class NRProcedures:
    """The NR half of `Core` (which owns the UE ids, the GUTIs and the message list)."""

    __slots__ = ("core", "ng", "nas")

    def __init__(self, core: Core) -> None:
        self.core = core
        self.ng = NGAPMessages(core.scn.network, core.templates)
        self.nas = NAS5GMessages(core.templates)

    def _say(self, t: int, ue: UE, uplink: bool, name: str, payload: bytes) -> int:
        return self.core._ue_say(t, ue, uplink, name, payload, link="ng")

    def setup(self, t: int, gnb) -> int:
        """NG Setup of one gNB."""
        t = self.core._say(t, gnb.id, True, 0, "NGSetupRequest", self.ng.ng_setup_request(gnb),
                           link="ng")
        return self.core._say(t, gnb.id, False, 0, "NGSetupResponse",
                              self.ng.ng_setup_response(), link="ng")

    def register(self, t: int, ue: UE) -> int:
        """Power-on: initial registration by SUCI the first time, by 5G-GUTI after."""
        core, ng, cell = self.core, self.ng, ue.cell
        core._connect(ue)
        net = core.scn.network
        old = ue.guti
        req = self.nas.registration(INITIAL, nas5g.NO_KEY, ue.phone.imsi,
                                    core.home_plmn(ue.phone.imsi), old)
        t = self._say(t, ue, True, "InitialUEMessage/RegistrationRequest", ng.initial_ue_message(
            ue.enb_ue, req, cell, "mo-Signalling",
            None if old is None else nas5g.s_tmsi(old)))
        ue.guti, ue.reg_tac = core._new_guti(ue.guti), cell.tac
        accept = self.nas.registration_accept(net.t3412, net.plmn, cell.tac, ue.guti)
        t = self._context_setup(t, ue, "InitialContextSetupRequest/RegistrationAccept", accept)
        t = self._say(t, ue, True, "UplinkNASTransport/RegistrationComplete",
                      ng.uplink_nas(ue.mme_ue, ue.enb_ue, self.nas.registration_complete(), cell))
        ue.registered = ue.attached_before = True
        return self._say(t, ue, False, "LocationReportingControl",
                         ng.location_reporting_control(ue.mme_ue, ue.enb_ue))

    def _context_setup(self, t: int, ue: UE, name: str, nas_pdu: bytes | None) -> int:
        """Initial Context Setup Request (`name`, carrying `nas_pdu` if any) and Response."""
        ng = self.ng
        t = self._say(t, ue, False, name, ng.initial_context_setup_request(
            ue.mme_ue, ue.enb_ue, nas_pdu, self.core._r.getrandbits(256)))
        return self._say(t, ue, True, "InitialContextSetupResponse",
                         ng.initial_context_setup_response(ue.mme_ue, ue.enb_ue))

    def page(self, t: int, ue: UE, gnb_id: int) -> None:
        """Paging by 5G-S-TMSI from one gNB of the UE's registration area."""
        self.core._say(t, gnb_id, False, 0, "Paging",
                       self.ng.paging(nas5g.s_tmsi(ue.guti), ue.reg_tac), link="ng")

    def service(self, t: int, ue: UE, paged: bool) -> int:
        """Service Request from idle (the paging, if any, is already said)."""
        core, ng, cell = self.core, self.ng, ue.cell
        core._connect(ue)
        t = self._say(t, ue, True, "InitialUEMessage/ServiceRequest", ng.initial_ue_message(
            ue.enb_ue, self.nas.service_request(core._ksi, ue.guti), cell,
            "mt-Access" if paged else "mo-Data", nas5g.s_tmsi(ue.guti)))
        t = self._context_setup(t, ue, "InitialContextSetupRequest", None)
        return self._say(t, ue, False, "LocationReportingControl",
                         ng.location_reporting_control(ue.mme_ue, ue.enb_ue))

    def update(self, t: int, ue: UE, periodic: bool, stmsi: bool = True) -> int:
        """Registration from idle (mobility: new 5G-GUTI; periodic: same), then release.
        `stmsi` False: the 5G-S-TMSI names no AMF of this network (arrival)."""
        core, ng, cell = self.core, self.ng, ue.cell
        core._connect(ue)
        req = self.nas.registration(PERIODIC if periodic else MOBILITY, core._ksi, None,
                                    ue.guti.plmn, ue.guti)
        t = self._say(t, ue, True, "InitialUEMessage/RegistrationRequest", ng.initial_ue_message(
            ue.enb_ue, req, cell, "mo-Signalling", nas5g.s_tmsi(ue.guti) if stmsi else None))
        t = self._accept(t, ue, not periodic)
        return self.release(t, ue, ("nas", "normal-release"), requested=False)

    def arrive(self, t: int, ue: UE) -> int:
        """A phone arriving on, with the 5G-GUTI of another AMF (`ue.guti`): mobility
        registration without 5G-S-TMSI; this AMF, not reaching the old one's context, asks
        for the SUCI (Identity Request / Response, TS 24.501 §5.4.3), accepts with a new
        5G-GUTI and releases."""
        core, ng, cell = self.core, self.ng, ue.cell
        core._connect(ue)
        req = self.nas.registration(MOBILITY, nas5g.NO_KEY, None, ue.guti.plmn, ue.guti)
        t = self._say(t, ue, True, "InitialUEMessage/RegistrationRequest",
                      ng.initial_ue_message(ue.enb_ue, req, cell, "mo-Signalling"))
        t = self._say(t, ue, False, "DownlinkNASTransport/IdentityRequest",
                      ng.downlink_nas(ue.mme_ue, ue.enb_ue, self.nas.identity_request()))
        t = self._say(t, ue, True, "UplinkNASTransport/IdentityResponse", ng.uplink_nas(
            ue.mme_ue, ue.enb_ue, self.nas.identity_response(
                ue.phone.imsi, core.home_plmn(ue.phone.imsi)), cell))
        t = self._accept(t, ue, True)
        return self.release(t, ue, ("nas", "normal-release"), requested=False)

    def _accept(self, t: int, ue: UE, realloc: bool) -> int:
        core, net = self.core, self.core.scn.network
        ue.reg_tac = ue.cell.tac
        new = core._new_guti(ue.guti) if realloc else None
        t = self._say(t, ue, False, "DownlinkNASTransport/RegistrationAccept",
                      self.ng.downlink_nas(ue.mme_ue, ue.enb_ue, self.nas.registration_accept(
                          net.t3412, net.plmn, ue.reg_tac, new)))
        if new is None:
            return t
        ue.guti = new
        return self._say(t, ue, True, "UplinkNASTransport/RegistrationComplete",
                         self.ng.uplink_nas(ue.mme_ue, ue.enb_ue,
                                            self.nas.registration_complete(), ue.cell))

    def handover(self, t: int, ue: UE, cell: CellSpec) -> int:
        """Connected move between NR cells: Location Report within a gNB, Xn path switch
        between gNBs; a mobility registration in the connection into a new TA."""
        core, ng = self.core, self.ng
        same = cell.enb_id == ue.cell.enb_id
        ue.cell = cell
        if same:
            t = self._say(t, ue, True, "LocationReport",
                          ng.location_report(ue.mme_ue, ue.enb_ue, cell))
        else:
            amf_ue = ue.mme_ue
            core._connect(ue, new_mme_id=False)
            t = self._say(t, ue, True, "PathSwitchRequest", ng.path_switch_request(
                ue.enb_ue, amf_ue, cell, core._ip(cell)))
            t = self._say(t, ue, False, "PathSwitchRequestAcknowledge",
                          ng.path_switch_request_acknowledge(amf_ue, ue.enb_ue,
                                                             core._r.getrandbits(256)))
            t = self._say(t, ue, False, "LocationReportingControl",
                          ng.location_reporting_control(ue.mme_ue, ue.enb_ue))
        if cell.tac != ue.reg_tac:
            req = self.nas.registration(MOBILITY, core._ksi, None, ue.guti.plmn, ue.guti)
            t = self._say(t, ue, True, "UplinkNASTransport/RegistrationRequest",
                          ng.uplink_nas(ue.mme_ue, ue.enb_ue, req, cell))
            t = self._accept(t, ue, True)
        return t

    def release(self, t: int, ue: UE, cause: tuple, requested: bool = True) -> int:
        """Release of the connection (asked by the gNB after inactivity when `requested`)."""
        ng = self.ng
        if requested:
            t = self._say(t, ue, True, "UEContextReleaseRequest",
                          ng.ue_context_release_request(ue.mme_ue, ue.enb_ue))
        t = self._say(t, ue, False, "UEContextReleaseCommand",
                      ng.ue_context_release_command(ue.mme_ue, ue.enb_ue, cause))
        t = self._say(t, ue, True, "UEContextReleaseComplete",
                      ng.ue_context_release_complete(ue.mme_ue, ue.enb_ue, ue.cell))
        ue.connected = False
        return t

    def deregister(self, t: int, ue: UE) -> int:
        """Power-off: Deregistration Request (switch off) in the connection or a new one."""
        core, ng = self.core, self.ng
        req = self.nas.deregistration(core._ksi, ue.guti)
        if ue.connected:
            t = self._say(t, ue, True, "UplinkNASTransport/DeregistrationRequest",
                          ng.uplink_nas(ue.mme_ue, ue.enb_ue, req, ue.cell))
        else:
            core._connect(ue)
            t = self._say(t, ue, True, "InitialUEMessage/DeregistrationRequest",
                          ng.initial_ue_message(ue.enb_ue, req, ue.cell, "mo-Signalling",
                                                nas5g.s_tmsi(ue.guti)))
        ue.registered = False
        return self.release(t, ue, ("nas", "deregister"), requested=False)
