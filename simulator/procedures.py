"""EPS procedures (TS 23.401 §5.3), as message sequences between eNBs, the MME and its peers.

`Core` is the simulated MME with its eNBs: it allocates S1AP UE ids (one
eNB-UE-S1AP-ID per eNB and connection, one MME-UE-S1AP-ID per
connection) and M-TMSIs, and appends timestamped `Message`s.  Each
procedure starts at exactly the instant it is given (that first message
carries the cell when the procedure is a move) and returns the time of
its last message.  The S11 and S6a messages an S1AP message triggers
(`mme_peers`) are spread over the gap that follows it; they draw on a
random generator of their own, so the S1AP messages are the same with
`core_signalling` on or off.  Each location-bearing message that shows the
network a new cell, and each switch-off, is a network-visible step (`visible`).
"""

from __future__ import annotations

import random
from typing import NamedTuple

from simulator import nas, nas5g
from simulator.messages import S1APMessages, enb_s1u_teid, sgw_s1u_teid
from simulator.mme_peers import Exchange, MMEPeers, NoPeers
from simulator.population import Phone
from simulator.procedures_nr import NRProcedures
from simulator.scenario import CellSpec, Scenario
from simulator.shards import ONE, Shard
from simulator.templates import Templates
from simulator.visible import OFF, VisibleSteps

STREAMS = 4  # SCTP streams per association: 0 for non UE-associated signalling
# UE-associated S1AP / NGAP messages that carry the UE's TAI and cell (TS 36.413 §9.1.7.1,
# §9.1.7.3, §9.1.15.3, §9.1.5.8; TS 38.413 the same), and the NAS messages of a switch-off
_LOCATED = frozenset({"InitialUEMessage", "UplinkNASTransport", "LocationReport",
                      "PathSwitchRequest"})
_SWITCH_OFF = frozenset({"DetachRequest", "DeregistrationRequest"})
_QUIET, _SEEN, _GONE = 0, 1, 2  # what a message shows of its UE's cell (`_what_shows`)


def below(r: random.Random, n: int) -> int:
    """`r.randrange(n)`, drawn exactly as CPython 3.11 draws it (getrandbits of n's bit
    length until below n; tested equal) without its three Python calls: a draw is made for
    every message."""
    k = n.bit_length()
    x = r.getrandbits(k)
    while x >= n:
        x = r.getrandbits(k)
    return x


class Message(NamedTuple):
    """One message at `t_us` microseconds on `link`: "s1" (the S1-MME link of eNB `enb`),
    "ng" (the N2 link of gNB `enb`),
    "s11" (MME - S-GW) or "s6a" (MME - HSS); `uplink`: towards the MME.  A named tuple:
    hundreds of thousands are made per run (a frozen dataclass costs 4x more to build)."""

    t_us: int
    enb: int
    uplink: bool
    stream: int
    name: str
    payload: bytes
    link: str = "s1"


class UE:
    """What the network and the phone know of each other during a run (mutable)."""

    __slots__ = ("index", "phone", "cell", "shown", "guti", "reg_tac", "registered",
                 "connected", "enb_ue", "mme_ue", "attached_before", "seq", "sgw_u")

    def __init__(self, index: int, phone: Phone) -> None:
        self.index, self.phone = index, phone
        self.cell: CellSpec | None = None  # where it camps (idle) or is served
        self.shown: CellSpec | None = None  # the last cell the network saw (None: off)
        self.guti: nas.Guti | None = None
        self.reg_tac = 0
        self.registered = self.connected = self.attached_before = False
        self.enb_ue = self.mme_ue = 0
        self.seq = 0
        # the S-GW's S1-U TEID of the default bearer: allocated with the session, kept while
        # the phone is idle (Release Access Bearers frees the eNB's end only, TS 23.401)
        self.sgw_u = 0


class Core:
    """The MME and its eNBs; collects the messages of every procedure."""

    __slots__ = ("scn", "s1", "nas", "peers", "out", "_r", "_next_enb_ue", "_next_mme_ue",
                 "_mtmsis", "_ksi", "_enb_ip", "templates", "nr", "_homes", "shard", "seen",
                 "_shows", "_cell_index")

    def __init__(self, scn: Scenario, r: random.Random, peers_r: random.Random,
                 templates: Templates | None = None, shard: Shard = ONE,
                 seen: VisibleSteps | None = None) -> None:
        """`seen`: where the network-visible steps go (None: not recorded)."""
        templates = templates if templates is not None else Templates()
        self.scn, self.out, self._r, self.templates = scn, [], r, templates
        self.shard = shard  # the residue of the ids it allocates (`shards`)
        self.seen = seen
        self._shows: dict[str, int] = {}  # message name -> _QUIET, _SEEN or _GONE
        self._cell_index = {c: i for i, c in enumerate(scn.cells)}
        self.s1, self.nas = S1APMessages(scn.network, templates), nas.NASMessages(templates)
        self.peers = (MMEPeers(scn.network, peers_r, templates, shard)
                      if scn.network.core_signalling else NoPeers())
        self._next_enb_ue = {e.id: shard.first(r.randrange(1, 1000), 1 << 24)
                             for e in scn.enbs}
        self._next_mme_ue = shard.first(r.randrange(1, 1 << 20), 1 << 32)
        self._mtmsis: set[int] = set()
        self._ksi = 1
        self._enb_ip = {e.id: e.ip for e in scn.enbs}
        self._homes = sorted({scn.network.plmn} | {v.mcc + v.mnc for v in (
            scn.city.visitors if scn.city else ()) if v.mcc}, key=len, reverse=True)
        self.nr = NRProcedures(self)

    # -- plumbing ------------------------------------------------------------------
    def periodic(self, ue: UE) -> int:
        """Seconds of the UE's periodic update timer: T3412, or in an NR cell the T3512 its
        Registration Accept could carry (`nas5g.t3512`)."""
        t = self.scn.network.t3412
        return nas5g.t3512(t) if ue.cell.rat == "nr" else t

    def home_plmn(self, imsi: str) -> str:
        """The PLMN (MCC and MNC digits) an IMSI belongs to."""
        return next((p for p in self._homes if imsi.startswith(p)), imsi[:5])

    def _say(self, t: int, enb: int, uplink: bool, stream: int, name: str, payload: bytes,
             then: list[Exchange] | None = None, link: str = "s1") -> int:
        self.out.append(Message(t, enb, uplink, stream, name, payload, link))
        nxt = t + 4_000 + below(self._r, 26_001)  # next hop 4-30 ms later
        if then:  # what the message triggers on S11 / S6a, before the next S1AP message
            self._place(t, nxt, then)
        return nxt

    def _place(self, start: int, stop: int, exchanges: list[Exchange]) -> None:
        """Spread S11 / S6a messages evenly over the open interval (start, stop) µs."""
        step = (stop - start) // (len(exchanges) + 1)
        for i, x in enumerate(exchanges, start=1):
            self.out.append(Message(start + i * step, 0, x.to_mme, 0, x.name, x.payload, x.link))

    def _ue_say(self, t: int, ue: UE, uplink: bool, name: str, payload: bytes,
                then: list[Exchange] | None = None, link: str = "s1") -> int:
        shows = self._shows.get(name)
        if shows is None:
            shows = self._shows[name] = _what_shows(name)
        if shows and self.seen is not None:
            self._seen(t, ue, ue.cell if shows == _SEEN else None)
        stream = 1 + ue.enb_ue % (STREAMS - 1)
        return self._say(t, ue.cell.enb_id, uplink, stream, name, payload, then, link)

    def _seen(self, t: int, ue: UE, cell: CellSpec | None) -> None:
        """The network sees `ue` in `cell` (None: switching off) at `t` µs: a visible step
        when that is not what it saw last."""
        if cell is ue.shown or cell == ue.shown:
            return
        ue.shown = cell
        self.seen.add(ue.index, t, OFF if cell is None else self._cell_index[cell])

    def _connect(self, ue: UE, new_mme_id: bool = True) -> None:
        """Allocate the S1AP UE ids of a new connection (only the eNB's on a path switch)."""
        enb = ue.cell.enb_id
        shard = self.shard
        ue.enb_ue, self._next_enb_ue[enb] = self._next_enb_ue[enb], shard.after(
            self._next_enb_ue[enb], 1 << 24)
        if new_mme_id:
            ue.mme_ue, self._next_mme_ue = self._next_mme_ue, shard.after(self._next_mme_ue,
                                                                          1 << 32)
        ue.connected = True

    def _new_guti(self, old: nas.Guti | None = None) -> nas.Guti:
        """A GUTI with an M-TMSI no other UE holds; `old`, the UE's GUTI it replaces, frees
        its M-TMSI (the set holds the M-TMSIs in use, not every one ever given: at full
        scale that was millions of ints held to the end)."""
        net = self.scn.network
        if old is not None and (old.mmegi, old.mmec) == (net.mme_group_id, net.mme_code):
            self._mtmsis.discard(old.mtmsi)  # (another MME's GUTI holds none of ours)
        shard = self.shard
        mtmsi = shard.first(self._r.getrandbits(32), 1 << 32)
        while mtmsi in self._mtmsis:
            mtmsi = shard.first(self._r.getrandbits(32), 1 << 32)
        self._mtmsis.add(mtmsi)
        return nas.Guti(net.plmn, net.mme_group_id, net.mme_code, mtmsi)

    # -- procedures ----------------------------------------------------------------
    def s1_setup(self, t: int) -> int:
        """S1 Setup of every eNB (NG Setup of every gNB)."""
        then = self.peers.capabilities()  # the S6a association comes up with the first eNB
        for enb in self.scn.enbs:
            if enb.rat == "nr":
                t = self.nr.setup(t, enb)
                continue
            t = self._say(t, enb.id, True, 0, "S1SetupRequest", self.s1.s1_setup_request(enb),
                          then)
            then = None
            t = self._say(t, enb.id, False, 0, "S1SetupResponse", self.s1.s1_setup_response())
        return t

    def attach(self, t: int, ue: UE) -> int:
        """Power-on: attach with the IMSI the first time, with the last GUTI after (in an NR
        cell: registration)."""
        if ue.cell.rat == "nr":
            return self.nr.register(t, ue)
        self._connect(ue)
        cell, s1, phone, peers = ue.cell, self.s1, ue.phone, self.peers
        ident = ue.guti if ue.guti is not None else phone.imsi
        mtmsi = ue.guti.mtmsi if ue.guti is not None else None
        ue_ip = _ue_ip(ue)
        asks_imeisv = phone.reports_imeisv and not ue.attached_before
        # S6a authentication, then (after the IMEISV, which the MEI IE needs) the session
        then = peers.authenticate(ue.index, phone.imsi)
        ue.sgw_u = sgw_s1u_teid(ue.mme_ue)
        session = [] if asks_imeisv else peers.create_session(
            ue.index, phone.imsi, phone.msisdn, phone.imeisv if phone.reports_imeisv else None,
            cell, ue_ip, ue.sgw_u)
        t = self._ue_say(t, ue, True, "InitialUEMessage/AttachRequest", s1.initial_ue_message(
            ue.enb_ue, self.nas.attach_request(ident, psm=phone.psm), cell, "mo-Signalling",
            mtmsi),
            then + session)
        if asks_imeisv:
            t = self._ue_say(t, ue, False, "DownlinkNASTransport/IdentityRequest",
                             s1.downlink_nas(ue.mme_ue, ue.enb_ue,
                                             self.nas.identity_request_imeisv()))
            t = self._ue_say(t, ue, True, "UplinkNASTransport/IdentityResponse", s1.uplink_nas(
                ue.mme_ue, ue.enb_ue, self.nas.identity_response_imeisv(phone.imeisv), cell),
                peers.create_session(ue.index, phone.imsi, phone.msisdn, phone.imeisv, cell,
                                     ue_ip, ue.sgw_u))
        ue.guti, ue.reg_tac = self._new_guti(ue.guti), cell.tac
        accept = self.nas.attach_accept(ue.guti, [cell.tac], self.scn.network.t3412, ue_ip)
        t = self._context_setup(t, ue, "InitialContextSetupRequest/AttachAccept", accept)
        t = self._ue_say(t, ue, True, "UplinkNASTransport/AttachComplete",
                         s1.uplink_nas(ue.mme_ue, ue.enb_ue, self.nas.attach_complete(), cell))
        ue.registered = ue.attached_before = True
        return self._ue_say(t, ue, False, "LocationReportingControl",
                            s1.location_reporting_control(ue.mme_ue, ue.enb_ue))

    def arrive(self, t: int, ue: UE, old: nas.Guti, old_tac: int) -> tuple[int, bool]:
        """A phone arriving on from another region (TS 23.401 §5.3.3.1, TAU with MME
        change): TAU Request with the GUTI another MME gave it and that MME's TA (no S-TMSI:
        it names no MME of this pool, and the active flag: data is waiting); this MME takes
        the context from the old one (S10, not on these links), registers at the HSS (ULR
        without the initial attach flag), moves the session to its S-GW (Create Session),
        sets up the user plane (Initial Context Setup, Modify Bearer) and accepts with a new
        GUTI; the connection stays up.  In an NR cell (`NRProcedures.arrive`): a mobility
        registration, the SUCI asked for, released at once.  Returns (end, connected)."""
        ue.guti, ue.registered, ue.attached_before = old, True, True
        if ue.cell.rat == "nr":
            ue.reg_tac = old_tac
            return self.nr.arrive(t, ue), False
        self._connect(ue)
        s1, cell, phone, peers = self.s1, ue.cell, ue.phone, self.peers
        ue_ip = _ue_ip(ue)
        ue.sgw_u = sgw_s1u_teid(ue.mme_ue)
        then = peers.create_session(ue.index, phone.imsi, phone.msisdn,
                                    phone.imeisv if phone.reports_imeisv else None, cell, ue_ip,
                                    ue.sgw_u, initial=False)
        t = self._ue_say(t, ue, True, "InitialUEMessage/TrackingAreaUpdateRequest",
                         s1.initial_ue_message(ue.enb_ue, self.nas.tau_request(
                             old, old_tac, False, self._ksi, phone.psm), cell, "mo-Signalling"),
                         then)
        t = self._context_setup(t, ue, "InitialContextSetupRequest", None)
        t = self._tau_accept(t, ue, True)
        return self._ue_say(t, ue, False, "LocationReportingControl",
                            s1.location_reporting_control(ue.mme_ue, ue.enb_ue)), True

    def foreign_guti(self) -> tuple[nas.Guti, int]:
        """A GUTI of another MME pool of the operator (an MME group id other than this
        MME's) and the TAC of a tracking area outside the scenario."""
        net, r = self.scn.network, self._r
        mmegi = r.getrandbits(16)
        while mmegi == net.mme_group_id:
            mmegi = r.getrandbits(16)
        tacs = {c.tac for c in self.scn.cells}
        tac = r.randrange(1, 0xFFFE)
        while tac in tacs:
            tac = r.randrange(1, 0xFFFE)
        return nas.Guti(net.plmn, mmegi, r.getrandbits(8), r.getrandbits(32)), tac

    def service(self, t: int, ue: UE, paged: bool) -> int:
        """Service Request from idle (after paging when mobile terminated)."""
        s1, cell = self.s1, ue.cell
        if paged:
            self._place(t - 4_000, t, self.peers.downlink_data(ue.index))  # data for the UE
            for enb in self.scn.enbs:
                if enb.tac == ue.reg_tac and enb.rat == "nr":
                    self.nr.page(t, ue, enb.id)
                elif enb.tac == ue.reg_tac:
                    self._say(t, enb.id, False, 0, "Paging",
                              s1.paging(ue.phone.imsi, ue.guti.mtmsi, ue.reg_tac))
            t += self._r.randint(80_000, 300_000)
        if cell.rat == "nr":
            return self.nr.service(t, ue, paged)
        self._connect(ue)
        ue.seq = (ue.seq + 1) % 32
        t = self._ue_say(t, ue, True, "InitialUEMessage/ServiceRequest", s1.initial_ue_message(
            ue.enb_ue, self.nas.service_request(self._ksi, ue.seq), cell,
            "mt-Access" if paged else "mo-Data", ue.guti.mtmsi))
        t = self._context_setup(t, ue, "InitialContextSetupRequest", None)
        return self._ue_say(t, ue, False, "LocationReportingControl",
                            s1.location_reporting_control(ue.mme_ue, ue.enb_ue))

    def tau(self, t: int, ue: UE, periodic: bool) -> int:
        """TAU from idle (new TA, new GUTI; or periodic, same GUTI), then release (in an NR
        cell: a mobility or periodic registration)."""
        if ue.cell.rat == "nr":
            return self.nr.update(t, ue, periodic)
        self._connect(ue)
        s1, cell = self.s1, ue.cell
        t = self._ue_say(t, ue, True, "InitialUEMessage/TrackingAreaUpdateRequest",
                         s1.initial_ue_message(ue.enb_ue, self.nas.tau_request(
                             ue.guti, ue.reg_tac, periodic, self._ksi, ue.phone.psm), cell,
                             "mo-Signalling", ue.guti.mtmsi))
        t = self._tau_accept(t, ue, not periodic)
        return self.release(t, ue, ("nas", "normal-release"), requested=False)

    def _tau_accept(self, t: int, ue: UE, realloc: bool) -> int:
        ue.reg_tac = ue.cell.tac
        new = self._new_guti(ue.guti) if realloc else None
        t = self._ue_say(t, ue, False, "DownlinkNASTransport/TrackingAreaUpdateAccept",
                         self.s1.downlink_nas(ue.mme_ue, ue.enb_ue, self.nas.tau_accept(
                             ue.guti.plmn, [ue.reg_tac], self.scn.network.t3412, new)))
        if new is None:
            return t
        ue.guti = new
        return self._ue_say(t, ue, True, "UplinkNASTransport/TrackingAreaUpdateComplete",
                            self.s1.uplink_nas(ue.mme_ue, ue.enb_ue, self.nas.tau_complete(),
                                               ue.cell))

    def handover(self, t: int, ue: UE, cell: CellSpec) -> int:
        """Connected move: Location Report within an eNB, X2 path switch between eNBs (the
        same over Xn between NR cells).  Into a cell of the other RAT the connection is
        released (redirection) and the phone updates its registration there from idle
        (TAU, or mobility registration), ending idle."""
        if cell.rat != ue.cell.rat:
            t = self.release(t, ue, ("radioNetwork", "user-inactivity"))
            ue.cell = cell
            return self.tau(t, ue, periodic=cell.tac == ue.reg_tac)
        if cell.rat == "nr":
            return self.nr.handover(t, ue, cell)
        s1, same_enb = self.s1, cell.enb_id == ue.cell.enb_id
        ue.cell = cell
        if same_enb:
            t = self._ue_say(t, ue, True, "LocationReport",
                             s1.location_report(ue.mme_ue, ue.enb_ue, cell))
        else:
            mme_ue = ue.mme_ue  # the MME keeps its id; the target eNB allocates its own
            self._connect(ue, new_mme_id=False)
            t = self._ue_say(t, ue, True, "PathSwitchRequest",
                             s1.path_switch_request(ue.enb_ue, mme_ue, cell, self._ip(cell)),
                             self._modify(ue))
            t = self._ue_say(t, ue, False, "PathSwitchRequestAcknowledge",
                             s1.path_switch_request_acknowledge(mme_ue, ue.enb_ue,
                                                                self._r.getrandbits(256)))
            t = self._ue_say(t, ue, False, "LocationReportingControl",
                             s1.location_reporting_control(ue.mme_ue, ue.enb_ue))
        if cell.tac != ue.reg_tac:  # connected-mode TAU into a new tracking area
            t = self._ue_say(t, ue, True, "UplinkNASTransport/TrackingAreaUpdateRequest",
                             s1.uplink_nas(ue.mme_ue, ue.enb_ue, self.nas.tau_request(
                                 ue.guti, ue.reg_tac, False, self._ksi, ue.phone.psm), cell))
            t = self._tau_accept(t, ue, True)
        return t

    def release(self, t: int, ue: UE, cause: tuple, requested: bool = True) -> int:
        """Release of the connection (asked by the eNB after inactivity when `requested`)."""
        if ue.cell.rat == "nr":
            return self.nr.release(t, ue, cause, requested)
        s1 = self.s1
        if requested:
            t = self._ue_say(t, ue, True, "UEContextReleaseRequest",
                             s1.ue_context_release_request(ue.mme_ue, ue.enb_ue),
                             self.peers.release(ue.index))
        t = self._ue_say(t, ue, False, "UEContextReleaseCommand",
                         s1.ue_context_release_command(ue.mme_ue, ue.enb_ue, cause))
        t = self._ue_say(t, ue, True, "UEContextReleaseComplete",
                         s1.ue_context_release_complete(ue.mme_ue, ue.enb_ue))
        ue.connected = False
        return t

    def detach(self, t: int, ue: UE) -> int:
        """Power-off: Detach Request (switch off) in the current connection or a new one
        (in an NR cell: deregistration)."""
        if ue.cell.rat == "nr":
            return self.nr.deregister(t, ue)
        req = self.nas.detach_request_switch_off(ue.guti, self._ksi)
        then = self.peers.detach(ue.index, ue.phone.imsi)  # Delete Session, perhaps Purge-UE
        if ue.connected:
            t = self._ue_say(t, ue, True, "UplinkNASTransport/DetachRequest",
                             self.s1.uplink_nas(ue.mme_ue, ue.enb_ue, req, ue.cell), then)
        else:
            self._connect(ue)
            t = self._ue_say(t, ue, True, "InitialUEMessage/DetachRequest",
                             self.s1.initial_ue_message(ue.enb_ue, req, ue.cell, "mo-Signalling",
                                                        ue.guti.mtmsi), then)
        ue.registered = False
        return self.release(t, ue, ("nas", "detach"), requested=False)

    def _context_setup(self, t: int, ue: UE, name: str, nas_pdu: bytes | None) -> int:
        """Initial Context Setup Request (`name`, carrying `nas_pdu` if any) and Response,
        whose user-plane address the MME hands on to the S-GW (Modify Bearer)."""
        s1 = self.s1
        if not ue.sgw_u:  # a session made in NR (N26): its S1-U end allocated now
            ue.sgw_u = sgw_s1u_teid(ue.mme_ue)
        t = self._ue_say(t, ue, False, name, s1.initial_context_setup_request(
            ue.mme_ue, ue.enb_ue, ue.sgw_u, nas_pdu, self._r.getrandbits(256)))
        return self._ue_say(t, ue, True, "InitialContextSetupResponse",
                            s1.initial_context_setup_response(ue.mme_ue, ue.enb_ue,
                                                              self._ip(ue.cell)),
                            self._modify(ue))

    def _modify(self, ue: UE) -> list[Exchange]:
        """Modify Bearer on S11: the eNB's S1-U F-TEID (and the ULI if the cell changed)."""
        return self.peers.modify(ue.index, ue.cell, self._ip(ue.cell), enb_s1u_teid(ue.enb_ue))

    def _ip(self, cell: CellSpec) -> str:
        return self._enb_ip[cell.enb_id]


def _what_shows(name: str) -> int:
    """What a UE-associated message ("S1AP[/NAS]" name) shows of the UE's cell: _GONE for a
    switch-off, _SEEN when it carries the cell, else _QUIET."""
    ap, _, nas_name = name.partition("/")
    if nas_name in _SWITCH_OFF:
        return _GONE
    return _SEEN if ap in _LOCATED else _QUIET


def _ue_ip(ue: UE) -> bytes:
    """The UE's IPv4 address (PDN), from its index."""
    return bytes([10, 45, ue.index >> 8 & 0xFF, ue.index & 0xFF])
