"""What the simulated MME says to its S-GW (S11, GTPv2-C) and HSS (S6a, Diameter).

`MMEPeers` keeps the MME's view of each UE beyond S1 (TS 23.401 §5.3): its
authentication context, whether the HSS has it registered, and its PDN session
(both S11 TEIDs, the last location sent to the S-GW).  Each method returns the
exchanges one S1AP message triggers, as `Exchange`s in sending order; `Core`
(procedures.py) places them in the gap after that message.  Sequence numbers
(GTPv2-C) and hop-by-hop / end-to-end identifiers (Diameter) run per peer;
answers copy their request's.

| S1AP trigger                       | S6a                | S11                                   |
|------------------------------------|--------------------|---------------------------------------|
| Attach Request, no context         | AIR / AIA          |                                       |
| before the Initial Context Setup   | ULR / ULA if the HSS has no registration | Create Session      |
| Initial Context Setup Response     |                    | Modify Bearer (eNB S1-U F-TEID)       |
| Path Switch Request                |                    | Modify Bearer (ULI of the new cell)   |
| Paging                             |                    | Downlink Data Notification (before)   |
| UE Context Release Request         |                    | Release Access Bearers                |
| Detach Request                     | PUR / PUA (a share) | Delete Session                       |

No IMSI is sent on S11 after the Create Session Request: the others are keyed by
the receiver's TEID, as real networks do.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
from typing import NamedTuple

from simulator.diameter import S6a
from simulator.gtpv2 import S11
from simulator.scenario import CellSpec, Network
from simulator.shards import ONE, Shard
from simulator.templates import Templates

APN = "internet"
_TEIDS = 0xFFFFFFF0  # TEIDs allocated: 1 .. this
PURGE_SHARE = 0.25  # detaches after which the MME purges the subscriber at the HSS


class Exchange(NamedTuple):
    """One message on S11 or S6a; `to_mme` is its direction (S-GW or HSS → MME)."""

    link: str  # "s11" or "s6a"
    to_mme: bool
    name: str
    payload: bytes


class _Session:
    """One UE's PDN connection as the MME keeps it."""

    __slots__ = ("mme_teid", "sgw_teid", "cell")

    def __init__(self, mme_teid: int, sgw_teid: int, cell: CellSpec) -> None:
        self.mme_teid, self.sgw_teid, self.cell = mme_teid, sgw_teid, cell


def _ip(dotted: str) -> bytes:
    return ipaddress.IPv4Address(dotted).packed


class MMEPeers:
    """The S11 and S6a signalling of one MME (network `net`), random values from `r`."""

    __slots__ = ("s11", "s6a", "_r", "_gtp_seq", "_hop", "_end", "_sid", "_sid_high", "_teid",
                 "_shard", "_known", "_registered", "_sessions", "_ips")

    def __init__(self, net: Network, r: random.Random, templates: Templates | None = None,
                 shard: Shard = ONE) -> None:
        self.s11 = S11(net.plmn, APN, _ip(net.mme_ip), _ip(net.sgw_ip), _ip(net.pgw_ip),
                       templates)
        self.s6a = S6a(net.plmn, _ip(net.mme_ip), _ip(net.hss_ip), templates)
        self._r, self._shard = r, shard  # ids congruent to shard.k (`shards`)
        # GTPv2-C sequence numbers of the requests each peer sends (§7.6)
        self._gtp_seq = {up: shard.first(r.randrange(1 << 20), 1 << 24) for up in (True, False)}
        self._hop = shard.first(r.getrandbits(32), 1 << 32)
        self._end = shard.first(r.getrandbits(20) << 12, 1 << 32)
        self._sid_high, self._sid = r.getrandbits(32), itertools.count(1)
        # a TEID less one (TEIDs run 1 .. 0xFFFFFFF0)
        self._teid = {node: shard.first(r.randrange(1, 1 << 28) - 1, _TEIDS)
                      for node in ("mme", "sgw", "pgw")}
        self._known: set[int] = set()       # UEs with an authentication context at the MME
        self._registered: set[int] = set()  # UEs the HSS has registered with this MME
        self._sessions: dict[int, _Session] = {}
        self._ips: dict[str, bytes] = {}  # eNB addresses, parsed once

    def _enb_ip(self, dotted: str) -> bytes:
        ip = self._ips.get(dotted)
        if ip is None:
            ip = self._ips[dotted] = _ip(dotted)
        return ip

    # -- identifiers -----------------------------------------------------------------
    def _seq(self, from_sgw: bool) -> int:
        seq = self._gtp_seq[from_sgw]
        self._gtp_seq[from_sgw] = self._shard.after(seq, 1 << 24)
        return seq

    def _ids(self) -> tuple[int, int, str]:
        """Hop-by-hop id, end-to-end id, Session-Id of a new MME request."""
        self._hop, self._end = self._next_hops()
        return self._hop, self._end, self.s6a.session_id(self._sid_high, next(self._sid))

    def _next_hops(self) -> tuple[int, int]:
        after = self._shard.after
        return after(self._hop, 1 << 32), after(self._end, 1 << 32)

    def _new_teid(self, node: str) -> int:
        u = self._teid[node]
        self._teid[node] = self._shard.after(u, _TEIDS)
        return u + 1

    # -- S6a -------------------------------------------------------------------------
    def capabilities(self) -> list[Exchange]:
        """CER / CEA when the Diameter association comes up."""
        hop, end, _ = self._ids()
        return [Exchange("s6a", False, "CapabilitiesExchangeRequest",
                         self.s6a.capabilities(True, hop, end)),
                Exchange("s6a", True, "CapabilitiesExchangeAnswer",
                         self.s6a.capabilities(False, hop, end))]

    def watchdog(self) -> list[Exchange]:
        """DWR / DWA after Tw without traffic on the Diameter connection (the MME's timer)."""
        hop, end = self._hop, self._end = self._next_hops()
        return [Exchange("s6a", False, "DeviceWatchdogRequest",
                         self.s6a.watchdog(True, True, hop, end)),
                Exchange("s6a", True, "DeviceWatchdogAnswer",
                         self.s6a.watchdog(False, False, hop, end))]

    def authenticate(self, index: int, imsi: str) -> list[Exchange]:
        """AIR / AIA when the MME has no security context for the UE (its first attach)."""
        if index in self._known:
            return []
        self._known.add(index)
        hop, end, sid = self._ids()
        vector = self._r.getrandbits(72 * 8).to_bytes(72, "big")
        return [Exchange("s6a", False, "AuthenticationInformationRequest",
                         self.s6a.air(hop, end, sid, imsi)),
                Exchange("s6a", True, "AuthenticationInformationAnswer",
                         self.s6a.aia(hop, end, sid, vector))]

    def _register(self, index: int, imsi: str, msisdn: str | None, initial: bool = True
                  ) -> list[Exchange]:
        if index in self._registered:
            return []
        self._registered.add(index)
        hop, end, sid = self._ids()
        return [Exchange("s6a", False, "UpdateLocationRequest",
                         self.s6a.ulr(hop, end, sid, imsi, initial=initial)),
                Exchange("s6a", True, "UpdateLocationAnswer",
                         self.s6a.ula(hop, end, sid, msisdn))]

    # -- S11 and the attach ------------------------------------------------------------
    def create_session(self, index: int, imsi: str, msisdn: str | None, mei: str | None,
                       cell: CellSpec, ue_ip: bytes, sgw_u_teid: int, initial: bool = True
                       ) -> list[Exchange]:
        """ULR / ULA if needed, then Create Session Request / Response, at attach; with
        `initial` False at a TAU from another MME (the ULR without the initial attach flag,
        the session moved to this MME's S-GW)."""
        out = self._register(index, imsi, msisdn, initial)
        s = self._sessions[index] = _Session(self._new_teid("mme"), self._new_teid("sgw"), cell)
        seq = self._seq(False)
        return out + [
            Exchange("s11", False, "CreateSessionRequest", self.s11.create_session_request(
                seq, imsi, msisdn, mei, cell.tac, cell.eci, s.mme_teid)),
            Exchange("s11", True, "CreateSessionResponse", self.s11.create_session_response(
                seq, s.mme_teid, s.sgw_teid, self._new_teid("pgw"), ue_ip, sgw_u_teid))]

    def modify(self, index: int, cell: CellSpec, enb_ip: str, enb_teid: int) -> list[Exchange]:
        """Modify Bearer Request / Response: the eNB's S1-U F-TEID, the ULI if it changed."""
        s = self._sessions.get(index)
        if s is None:
            return []
        uli = None if cell == s.cell else (cell.tac, cell.eci)
        s.cell, seq = cell, self._seq(False)
        return [Exchange("s11", False, "ModifyBearerRequest", self.s11.modify_bearer_request(
                    seq, s.sgw_teid, uli, self._enb_ip(enb_ip), enb_teid)),
                Exchange("s11", True, "ModifyBearerResponse",
                         self.s11.modify_bearer_response(seq, s.mme_teid))]

    def release(self, index: int) -> list[Exchange]:
        """Release Access Bearers Request / Response when the S1 connection is released."""
        s = self._sessions.get(index)
        if s is None:
            return []
        seq = self._seq(False)
        return [Exchange("s11", False, "ReleaseAccessBearersRequest",
                         self.s11.release_access_bearers_request(seq, s.sgw_teid)),
                Exchange("s11", True, "ReleaseAccessBearersResponse",
                         self.s11.release_access_bearers_response(seq, s.mme_teid))]

    def downlink_data(self, index: int) -> list[Exchange]:
        """Downlink Data Notification / Acknowledge: data waits for an idle UE (paging)."""
        s = self._sessions.get(index)
        if s is None:
            return []
        seq = self._seq(True)
        return [Exchange("s11", True, "DownlinkDataNotification",
                         self.s11.downlink_data_notification(seq, s.mme_teid)),
                Exchange("s11", False, "DownlinkDataNotificationAcknowledge",
                         self.s11.downlink_data_notification_ack(seq, s.sgw_teid))]

    def detach(self, index: int, imsi: str) -> list[Exchange]:
        """Delete Session Request / Response; for a share of UEs Purge-UE at the HSS."""
        s = self._sessions.pop(index, None)
        out = []
        if s is not None:
            seq = self._seq(False)
            out += [Exchange("s11", False, "DeleteSessionRequest",
                             self.s11.delete_session_request(seq, s.sgw_teid)),
                    Exchange("s11", True, "DeleteSessionResponse",
                             self.s11.delete_session_response(seq, s.mme_teid))]
        if index in self._registered and self._r.random() < PURGE_SHARE:
            self._registered.discard(index)
            hop, end, sid = self._ids()
            out += [Exchange("s6a", False, "PurgeUERequest", self.s6a.pur(hop, end, sid, imsi)),
                    Exchange("s6a", True, "PurgeUEAnswer", self.s6a.pua(hop, end, sid))]
        return out


class NoPeers:
    """`MMEPeers` when `core_signalling` is off: S1AP only, nothing else is said."""

    __slots__ = ()

    def __getattr__(self, name: str):
        return _nothing


def _nothing(*_args: object) -> list[Exchange]:
    return []
