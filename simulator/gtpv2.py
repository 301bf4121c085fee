"""GTPv2-C (TS 29.274) messages the simulated MME and S-GW exchange on S11, encoded by hand.

Byte layout only: the header (§5.1), IEs as type / length / instance / value
(§8.2.1) and the few IE values the simulator sends.  `simulator.mme_peers`
decides what is sent when.  pycrate (`TS29274_GTPC.parse_GTPC`) is the oracle of
the unit tests: every message decodes back to the values given here, and the IE
and message type numbers below are checked against pycrate's tables.
Values the probe does not need (QoS, AMBR, PDN type) are fixed but valid.
"""

from __future__ import annotations

import struct

from simulator.messages import plmn_bytes
from simulator.templates import Kind, Octets, Tbcd, Templates, Uint

# §6.1 Table 6.1-1 message types
CREATE_SESSION_REQUEST, CREATE_SESSION_RESPONSE = 32, 33
MODIFY_BEARER_REQUEST, MODIFY_BEARER_RESPONSE = 34, 35
DELETE_SESSION_REQUEST, DELETE_SESSION_RESPONSE = 36, 37
RELEASE_ACCESS_BEARERS_REQUEST, RELEASE_ACCESS_BEARERS_RESPONSE = 170, 171
DOWNLINK_DATA_NOTIFICATION, DOWNLINK_DATA_NOTIFICATION_ACK = 176, 177
# §8.1 Table 8.1-1 IE types
IMSI, CAUSE, APN, AMBR, EBI, MEI, MSISDN = 1, 2, 71, 72, 73, 75, 76
PAA, BEARER_QOS, RAT_TYPE, SERVING_NETWORK, ULI, F_TEID = 79, 80, 82, 83, 86, 87
BEARER_CONTEXT, PDN_TYPE, APN_RESTRICTION, SELECTION_MODE = 93, 99, 127, 128
# §8.22 Table 8.22-1 F-TEID interface types
IF_S1U_ENB, IF_S1U_SGW, IF_S5_PGW_U, IF_S5_PGW_C, IF_S11_MME, IF_S11_SGW = 0, 1, 5, 7, 10, 11
RAT_EUTRAN = 6           # §8.17
REQUEST_ACCEPTED = 16    # §8.4 Table 8.4-1
DEFAULT_EBI = 5          # the default bearer, as in the S1AP E-RAB and the NAS ESM messages
PDN_IPV4 = 1             # §8.34
_QOS = bytes([0x7D, 9]) + bytes(20)  # §8.15: PCI, PL 15, PVI; QCI 9; MBR and GBR 0 (non-GBR)
_APN_AMBR = struct.pack("!II", 50_000, 100_000)  # §8.7: UL, DL in kbps


def tbcd(digits: str) -> bytes:
    """TBCD digits (TS 29.274 §8.3, TS 29.002): two digits an octet, low nibble first,
    an odd count padded with F."""
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1], 16) << 4 | int(digits[i]) for i in range(0, len(digits), 2))


def ie(kind: int, value: bytes, instance: int = 0) -> bytes:
    """One IE (§8.2.1): type, length of the value, spare | instance, value."""
    return struct.pack("!BHB", kind, len(value), instance & 0x0F) + value


def message(kind: int, teid: int, seq: int, ies: bytes) -> bytes:
    """A message with a TEID (§5.1: version 2, T flag), sequence number, spare octet."""
    return struct.pack("!BBHI", 0x48, kind, 8 + len(ies), teid) + (
        (seq & 0xFFFFFF) << 8).to_bytes(4, "big") + ies


def fteid(interface: int, teid: int, ipv4: bytes, instance: int = 0) -> bytes:
    """F-TEID IE (§8.22) with an IPv4 address."""
    return ie(F_TEID, struct.pack("!BI", 0x80 | interface, teid) + ipv4, instance)


def uli(plmn: bytes, tac: int, eci: int) -> bytes:
    """ULI IE (§8.21) with the TAI (§8.21.4) and the ECGI (§8.21.5) of a cell."""
    return ie(ULI, b"\x18" + plmn + struct.pack("!H", tac) + plmn + struct.pack("!I", eci))


def cause(value: int = REQUEST_ACCEPTED) -> bytes:
    """Cause IE (§8.4) without offending IE."""
    return ie(CAUSE, bytes([value, 0]))


def ebi(value: int = DEFAULT_EBI) -> bytes:
    """EPS Bearer ID IE (§8.8)."""
    return ie(EBI, bytes([value & 0x0F]))


def apn(name: str) -> bytes:
    """APN IE (§8.6): the name as length-prefixed labels (TS 23.003 §9.1)."""
    return ie(APN, b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")))


_SEQ, _TEID, _TAC, _ECI, _IPV4, _DIGITS = Uint(24), Uint(32), Uint(16), Uint(28), Octets(), Tbcd()
_SIMPLE = {  # messages with only constant IEs: (type, IEs)
    "MBResp": (MODIFY_BEARER_RESPONSE, cause() + ie(BEARER_CONTEXT, ebi() + cause())),
    "DSReq": (DELETE_SESSION_REQUEST, ebi()), "DSResp": (DELETE_SESSION_RESPONSE, cause()),
    "RABReq": (RELEASE_ACCESS_BEARERS_REQUEST, b""),
    "RABResp": (RELEASE_ACCESS_BEARERS_RESPONSE, cause()),
    "DDN": (DOWNLINK_DATA_NOTIFICATION, ebi()), "DDNAck": (DOWNLINK_DATA_NOTIFICATION_ACK, cause())}


class S11:
    """The S11 messages of one network (its PLMN, APN, MME and S-GW addresses).

    Public methods fill templates (`simulator.templates`) whose builders are the `_enc_*`
    methods: the bytes are the same; pycrate decodes them back (tests)."""

    __slots__ = ("plmn", "apn", "mme_ip", "sgw_ip", "pgw_ip", "templates", "_t", "_k")

    def __init__(self, plmn: str, apn_name: str, mme_ip: bytes, sgw_ip: bytes,
                 pgw_ip: bytes, templates: Templates | None = None) -> None:
        self.plmn, self.apn = plmn_bytes(plmn), apn_name
        self.mme_ip, self.sgw_ip, self.pgw_ip = mme_ip, sgw_ip, pgw_ip
        self.templates = templates if templates is not None else Templates()
        self._t = self.templates.encode
        self._k = {name: Kind("GTPv2 " + name, self._enc_simple, _SEQ, _TEID)
                   for name in _SIMPLE}
        self._k |= {
            "CSReq": Kind("GTPv2 CSReq", self._enc_csr, _SEQ, _DIGITS, _TAC, _ECI, _TEID),
            "CSReq+MSISDN": Kind("GTPv2 CSReq+MSISDN", self._enc_csr, _SEQ, _DIGITS, _DIGITS,
                                 _TAC, _ECI, _TEID),
            "CSReq+MEI": Kind("GTPv2 CSReq+MEI", self._enc_csr, _SEQ, _DIGITS, _DIGITS, _TAC,
                              _ECI, _TEID),
            "CSReq+MSISDN+MEI": Kind("GTPv2 CSReq+MSISDN+MEI", self._enc_csr, _SEQ, _DIGITS,
                                     _DIGITS, _DIGITS, _TAC, _ECI, _TEID),
            "MBReq": Kind("GTPv2 MBReq", self._enc_mbr, _SEQ, _TEID, _IPV4, _TEID),
            "MBReq+ULI": Kind("GTPv2 MBReq+ULI", self._enc_mbr, _SEQ, _TEID, _TAC, _ECI, _IPV4,
                              _TEID)}

    # §7.2.1 Create Session Request / §7.2.2 Response
    def create_session_request(self, seq: int, imsi: str, msisdn: str | None, mei: str | None,
                               tac: int, eci: int, mme_teid: int) -> bytes:
        """Create Session Request of an attach (header TEID 0: the S-GW's is not known yet)."""
        kind = "CSReq" + ("+MSISDN" if msisdn is not None else "") + (
            "+MEI" if mei is not None else "")
        values = (seq, imsi, *(x for x in (msisdn, mei) if x is not None), tac, eci, mme_teid)
        return self._t(self._k[kind], (msisdn is not None, mei is not None), values)

    def _enc_csr(self, has_msisdn: bool, has_mei: bool, seq: int, imsi: str, *rest) -> bytes:
        rest = list(rest)
        msisdn = rest.pop(0) if has_msisdn else None
        mei = rest.pop(0) if has_mei else None
        tac, eci, mme_teid = rest
        ies = [ie(IMSI, tbcd(imsi))]
        if msisdn is not None:
            ies.append(ie(MSISDN, tbcd(msisdn)))
        if mei is not None:
            ies.append(ie(MEI, tbcd(mei)))
        ies += [uli(self.plmn, tac, eci), ie(SERVING_NETWORK, self.plmn),
                ie(RAT_TYPE, bytes([RAT_EUTRAN])), fteid(IF_S11_MME, mme_teid, self.mme_ip),
                fteid(IF_S5_PGW_C, 0, self.pgw_ip, instance=1), apn(self.apn),
                ie(SELECTION_MODE, b"\x00"), ie(PDN_TYPE, bytes([PDN_IPV4])),
                ie(PAA, bytes([PDN_IPV4]) + bytes(4)), ie(APN_RESTRICTION, b"\x00"),
                ie(AMBR, _APN_AMBR),
                ie(BEARER_CONTEXT, ebi() + ie(BEARER_QOS, _QOS))]
        return message(CREATE_SESSION_REQUEST, 0, seq, b"".join(ies))

    def create_session_response(self, seq: int, mme_teid: int, sgw_teid: int, pgw_teid: int,
                                ue_ip: bytes, sgw_u_teid: int) -> bytes:
        """Create Session Response: accepted, the S-GW's S11 and S1-U F-TEIDs, the UE address
        (built every time: one per attach, and the P-GW's TEID is in it twice)."""
        bearer = (ebi() + cause() + fteid(IF_S1U_SGW, sgw_u_teid, self.sgw_ip)
                  + fteid(IF_S5_PGW_U, pgw_teid, self.pgw_ip, instance=2))
        return message(CREATE_SESSION_RESPONSE, mme_teid, seq, b"".join([
            cause(), fteid(IF_S11_SGW, sgw_teid, self.sgw_ip),
            fteid(IF_S5_PGW_C, pgw_teid, self.pgw_ip, instance=1),
            ie(PAA, bytes([PDN_IPV4]) + ue_ip), ie(APN_RESTRICTION, b"\x00"),
            ie(AMBR, _APN_AMBR), ie(BEARER_CONTEXT, bearer)]))

    # §7.2.7 Modify Bearer Request / §7.2.8 Response
    def modify_bearer_request(self, seq: int, sgw_teid: int, cell: tuple[int, int] | None,
                              enb_ip: bytes, enb_teid: int) -> bytes:
        """Modify Bearer Request: the eNB's S1-U F-TEID; the ULI (TAC, ECI) when it changed."""
        if cell is None:
            return self._t(self._k["MBReq"], (False,), (seq, sgw_teid, enb_ip, enb_teid))
        return self._t(self._k["MBReq+ULI"], (True,), (seq, sgw_teid, *cell, enb_ip, enb_teid))

    def _enc_mbr(self, has_uli: bool, seq: int, sgw_teid: int, *rest) -> bytes:
        cell, (enb_ip, enb_teid) = (rest[:2], rest[2:]) if has_uli else (None, rest)
        ies = [] if cell is None else [uli(self.plmn, *cell)]
        ies.append(ie(BEARER_CONTEXT, ebi() + fteid(IF_S1U_ENB, enb_teid, enb_ip)))
        return message(MODIFY_BEARER_REQUEST, sgw_teid, seq, b"".join(ies))

    def _simple(self, name: str, seq: int, teid: int) -> bytes:
        return self._t(self._k[name], (name,), (seq, teid))

    def _enc_simple(self, name: str, seq: int, teid: int) -> bytes:
        """The messages that are a header and constant IEs (a cause, a bearer id)."""
        kind, body = _SIMPLE[name]
        return message(kind, teid, seq, body)

    def modify_bearer_response(self, seq: int, mme_teid: int) -> bytes:
        """Modify Bearer Response: accepted, the bearer modified."""
        return self._simple("MBResp", seq, mme_teid)

    # §7.2.9.1 Delete Session Request / §7.2.10.1 Response
    def delete_session_request(self, seq: int, sgw_teid: int) -> bytes:
        """Delete Session Request of a detach: the linked (default) bearer."""
        return self._simple("DSReq", seq, sgw_teid)

    def delete_session_response(self, seq: int, mme_teid: int) -> bytes:
        """Delete Session Response: accepted."""
        return self._simple("DSResp", seq, mme_teid)

    # §7.2.21 Release Access Bearers Request / §7.2.22 Response (S1 release)
    def release_access_bearers_request(self, seq: int, sgw_teid: int) -> bytes:
        """Release Access Bearers Request (no IE: all the UE's S1-U bearers)."""
        return self._simple("RABReq", seq, sgw_teid)

    def release_access_bearers_response(self, seq: int, mme_teid: int) -> bytes:
        """Release Access Bearers Response: accepted."""
        return self._simple("RABResp", seq, mme_teid)

    # §7.2.11.1 Downlink Data Notification / §7.2.11.2 Acknowledge (before paging)
    def downlink_data_notification(self, seq: int, mme_teid: int) -> bytes:
        """Downlink Data Notification from the S-GW for the default bearer."""
        return self._simple("DDN", seq, mme_teid)

    def downlink_data_notification_ack(self, seq: int, sgw_teid: int) -> bytes:
        """Downlink Data Notification Acknowledge: accepted."""
        return self._simple("DDNAck", seq, sgw_teid)
