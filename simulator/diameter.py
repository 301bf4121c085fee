"""S6a Diameter messages (TS 29.272 §7.2) between the simulated MME and HSS, encoded by hand.

Byte layout (RFC 6733 §3 header, §4.1 AVPs) and the AVPs the simulator sends;
`simulator.mme_peers` decides what is sent when.  pycrate's Diameter codec and
dictionaries are the oracle of the unit tests (every message decodes back to the
values given here; AVP codes and types checked against `Diameter3GPP`).
Authentication vectors and subscription values are fixed or random but valid.
Messages per subscriber are filled from templates (`simulator.templates`) whose builders
are the `_enc_*` methods.
"""

from __future__ import annotations

import struct

from simulator.gtpv2 import tbcd
from simulator.messages import plmn_bytes
from simulator.templates import Kind, Octets, Tbcd, Templates, Text, Uint

VENDOR_3GPP = 10415
S6A = 16777251                  # Application-ID (TS 29.272 §7.1.8)
# Command codes: RFC 6733 §3.1; TS 29.272 §7.2
CAPABILITIES_EXCHANGE, UPDATE_LOCATION, AUTHENTICATION_INFORMATION, PURGE_UE = 257, 316, 318, 321
DEVICE_WATCHDOG = 280
# IETF AVP codes (RFC 6733 §4.5)
USER_NAME, HOST_IP_ADDRESS, AUTH_APPLICATION_ID, VENDOR_SPECIFIC_APPLICATION_ID = 1, 257, 258, 260
SESSION_ID, ORIGIN_HOST, SUPPORTED_VENDOR_ID, VENDOR_ID = 263, 264, 265, 266
RESULT_CODE, PRODUCT_NAME, AUTH_SESSION_STATE = 268, 269, 277
DESTINATION_REALM, DESTINATION_HOST, ORIGIN_REALM = 283, 293, 296
# 3GPP AVP codes (TS 29.272 §7.3, TS 29.329 §6.3.2 MSISDN, TS 29.214 §5.3 bandwidths)
MAX_BANDWIDTH_DL, MAX_BANDWIDTH_UL, MSISDN, RAT_TYPE = 515, 516, 701, 1032
SUBSCRIPTION_DATA, ULR_FLAGS, ULA_FLAGS, VISITED_PLMN_ID = 1400, 1405, 1406, 1407
REQUESTED_EUTRAN_AUTH_INFO, NUMBER_OF_REQUESTED_VECTORS = 1408, 1410
IMMEDIATE_RESPONSE_PREFERRED, AUTHENTICATION_INFO, E_UTRAN_VECTOR = 1412, 1413, 1414
NETWORK_ACCESS_MODE, SUBSCRIBER_STATUS, AMBR = 1417, 1424, 1435
RAND, XRES, AUTN, KASME = 1447, 1448, 1449, 1450
DIAMETER_SUCCESS = 2001            # Result-Code, RFC 6733 §7.1.2
NO_STATE_MAINTAINED = 1            # Auth-Session-State, RFC 6733 §8.11
EUTRAN = 1004                      # RAT-Type, TS 29.212 §5.3.31
ULR_S6A_INDICATOR, ULR_INITIAL_ATTACH = 0x02, 0x20  # ULR-Flags bits 1 and 5 (§7.3.7)
ONLY_PACKET = 2                    # Network-Access-Mode (§7.3.21)
_M, _V = 0x40, 0x80                # AVP flags (RFC 6733 §4.1)
_R, _P = 0x80, 0x40                # command flags (RFC 6733 §3)


def avp(code: int, data: bytes, vendor: int = 0) -> bytes:
    """One AVP with the M flag (and V with the Vendor-ID when `vendor`), padded to 4 octets."""
    head = 12 if vendor else 8
    flags = _M | (_V if vendor else 0)
    out = struct.pack("!II", code, flags << 24 | (head + len(data)))
    if vendor:
        out += struct.pack("!I", vendor)
    return out + data + bytes(-len(data) % 4)


def u32(code: int, value: int, vendor: int = 0) -> bytes:
    """An Unsigned32 or Enumerated AVP."""
    return avp(code, struct.pack("!I", value), vendor)


def utf8(code: int, text: str, vendor: int = 0) -> bytes:
    """A UTF8String or DiameterIdentity AVP."""
    return avp(code, text.encode(), vendor)


def tgpp(code: int, data: bytes) -> bytes:
    """A 3GPP vendor-specific AVP."""
    return avp(code, data, VENDOR_3GPP)


def message(command: int, request: bool, application: int, hop: int, end: int,
            avps: list[bytes]) -> bytes:
    """A Diameter message (version 1); requests of S6a are proxiable (P flag)."""
    body = b"".join(avps)
    flags = (_R | _P) if request else _P
    if command in (CAPABILITIES_EXCHANGE, DEVICE_WATCHDOG):
        flags &= ~_P  # CER/CEA and DWR/DWA are never proxied (RFC 6733 §5.3.1, §5.5.1)
    return struct.pack("!II", 1 << 24 | (20 + len(body)), flags << 24 | command) + struct.pack(
        "!III", application, hop & 0xFFFFFFFF, end & 0xFFFFFFFF) + body


def realm(plmn: str) -> str:
    """The EPC home network realm of a PLMN (TS 23.003 §19.2)."""
    mnc = plmn[3:].rjust(3, "0")
    return f"epc.mnc{mnc}.mcc{plmn[:3]}.3gppnetwork.org"


_ID, _TEXT, _VECTOR, _DIGITS = Uint(32), Text(), Octets(), Tbcd()


class S6a:
    """The S6a messages of one network: MME and HSS identities, the served PLMN."""

    __slots__ = ("mme_host", "hss_host", "realm", "plmn", "mme_ip", "hss_ip", "templates", "_t",
                 "_k")

    def __init__(self, plmn: str, mme_ip: bytes, hss_ip: bytes,
                 templates: Templates | None = None) -> None:
        self.realm = realm(plmn)
        self.mme_host, self.hss_host = f"mme.{self.realm}", f"hss.{self.realm}"
        self.plmn, self.mme_ip, self.hss_ip = plmn_bytes(plmn), mme_ip, hss_ip
        self.templates = templates if templates is not None else Templates()
        self._t = self.templates.encode
        ids = (_ID, _ID, _TEXT)  # hop-by-hop, end-to-end, Session-Id
        self._k = {
            "AIR": Kind("S6a AIR", self._enc_air, *ids, _TEXT),
            "AIA": Kind("S6a AIA", self._enc_aia, *ids, _VECTOR, _VECTOR, _VECTOR, _VECTOR),
            "ULR": Kind("S6a ULR", self._enc_ulr, *ids, _TEXT),
            "ULA": Kind("S6a ULA", self._enc_ula, *ids),
            "ULA+MSISDN": Kind("S6a ULA+MSISDN", self._enc_ula, *ids, _DIGITS),
            "PUR": Kind("S6a PUR", self._enc_pur, *ids, _TEXT),
            "PUA": Kind("S6a PUA", self._enc_pua, *ids)}

    def session_id(self, high: int, low: int) -> str:
        """A Session-Id (RFC 6733 §8.8): the MME's identity, two 32-bit values."""
        return f"{self.mme_host};{high};{low}"

    def _head(self, session: str, mme: bool) -> list[bytes]:
        host = self.mme_host if mme else self.hss_host
        return [utf8(SESSION_ID, session),
                avp(VENDOR_SPECIFIC_APPLICATION_ID, u32(VENDOR_ID, VENDOR_3GPP)
                    + u32(AUTH_APPLICATION_ID, S6A)),
                u32(AUTH_SESSION_STATE, NO_STATE_MAINTAINED),
                utf8(ORIGIN_HOST, host), utf8(ORIGIN_REALM, self.realm)]

    def _to_hss(self) -> list[bytes]:
        return [utf8(DESTINATION_HOST, self.hss_host), utf8(DESTINATION_REALM, self.realm)]

    def _answer(self, command: int, hop: int, end: int, session: str,
                more: list[bytes]) -> bytes:
        avps = self._head(session, mme=False)
        avps.insert(1, u32(RESULT_CODE, DIAMETER_SUCCESS))
        return message(command, False, S6A, hop, end, avps + more)

    # RFC 6733 §5.3.1 / §5.3.2 capabilities exchange, at the start of the association
    def capabilities(self, mme: bool, hop: int, end: int) -> bytes:
        """CER (from the MME) or CEA (from the HSS, success)."""
        host, ip = (self.mme_host, self.mme_ip) if mme else (self.hss_host, self.hss_ip)
        avps = [] if mme else [u32(RESULT_CODE, DIAMETER_SUCCESS)]
        avps += [utf8(ORIGIN_HOST, host), utf8(ORIGIN_REALM, self.realm),
                 avp(HOST_IP_ADDRESS, b"\x00\x01" + ip), u32(VENDOR_ID, 0),
                 utf8(PRODUCT_NAME, "cellcensus simulator"),
                 u32(SUPPORTED_VENDOR_ID, VENDOR_3GPP),
                 avp(VENDOR_SPECIFIC_APPLICATION_ID, u32(VENDOR_ID, VENDOR_3GPP)
                     + u32(AUTH_APPLICATION_ID, S6A))]
        return message(CAPABILITIES_EXCHANGE, mme, 0, hop, end, avps)

    # RFC 6733 §5.5.1 / §5.5.2 device watchdog, when the connection has been idle for Tw
    def watchdog(self, mme: bool, request: bool, hop: int, end: int) -> bytes:
        """DWR (request) or DWA (answer, success) sent by the MME (`mme`) or the HSS."""
        host = self.mme_host if mme else self.hss_host
        avps = [] if request else [u32(RESULT_CODE, DIAMETER_SUCCESS)]
        avps += [utf8(ORIGIN_HOST, host), utf8(ORIGIN_REALM, self.realm)]
        return message(DEVICE_WATCHDOG, request, 0, hop, end, avps)

    # §7.2.5 Authentication-Information-Request / §7.2.6 Answer
    def air(self, hop: int, end: int, session: str, imsi: str) -> bytes:
        """AIR for one E-UTRAN vector, immediate response preferred."""
        return self._t(self._k["AIR"], (), (hop, end, session, imsi))

    def _enc_air(self, hop: int, end: int, session: str, imsi: str) -> bytes:
        info = tgpp(REQUESTED_EUTRAN_AUTH_INFO, tgpp(NUMBER_OF_REQUESTED_VECTORS, _u(1))
                    + tgpp(IMMEDIATE_RESPONSE_PREFERRED, _u(1)))
        return message(AUTHENTICATION_INFORMATION, True, S6A, hop, end, self._head(
            session, mme=True) + self._to_hss() + [utf8(USER_NAME, imsi), info,
                                                   tgpp(VISITED_PLMN_ID, self.plmn)])

    def aia(self, hop: int, end: int, session: str, vector: bytes) -> bytes:
        """AIA with one E-UTRAN vector cut from 72 random octets (RAND, XRES, AUTN, KASME)."""
        return self._t(self._k["AIA"], (), (hop, end, session, vector[:16], vector[16:24],
                                            vector[24:40], vector[40:72]))

    def _enc_aia(self, hop: int, end: int, session: str, *parts: bytes) -> bytes:
        vector = b"".join(parts)
        ev = (tgpp(RAND, vector[:16]) + tgpp(XRES, vector[16:24]) + tgpp(AUTN, vector[24:40])
              + tgpp(KASME, vector[40:72]))
        return self._answer(AUTHENTICATION_INFORMATION, hop, end, session,
                            [tgpp(AUTHENTICATION_INFO, tgpp(E_UTRAN_VECTOR, ev))])

    # §7.2.3 Update-Location-Request / §7.2.4 Answer
    def ulr(self, hop: int, end: int, session: str, imsi: str, initial: bool) -> bytes:
        """ULR from the MME (S6a indicator; initial attach indicator when `initial`)."""
        return self._t(self._k["ULR"], (initial,), (hop, end, session, imsi))

    def _enc_ulr(self, initial: bool, hop: int, end: int, session: str, imsi: str) -> bytes:
        flags = ULR_S6A_INDICATOR | (ULR_INITIAL_ATTACH if initial else 0)
        return message(UPDATE_LOCATION, True, S6A, hop, end, self._head(session, mme=True)
                       + self._to_hss() + [utf8(USER_NAME, imsi), tgpp(RAT_TYPE, _u(EUTRAN)),
                                           tgpp(ULR_FLAGS, _u(flags)),
                                           tgpp(VISITED_PLMN_ID, self.plmn)])

    def ula(self, hop: int, end: int, session: str, msisdn: str | None) -> bytes:
        """ULA with the subscription: MSISDN (if any), packet only, an AMBR."""
        if msisdn is None:
            return self._t(self._k["ULA"], (), (hop, end, session))
        return self._t(self._k["ULA+MSISDN"], (), (hop, end, session, msisdn))

    def _enc_ula(self, hop: int, end: int, session: str, msisdn: str | None = None) -> bytes:
        data = [tgpp(MSISDN, tbcd(msisdn))] if msisdn is not None else []
        data += [tgpp(SUBSCRIBER_STATUS, _u(0)), tgpp(NETWORK_ACCESS_MODE, _u(ONLY_PACKET)),
                 tgpp(AMBR, tgpp(MAX_BANDWIDTH_UL, _u(50_000_000))
                      + tgpp(MAX_BANDWIDTH_DL, _u(100_000_000)))]
        return self._answer(UPDATE_LOCATION, hop, end, session,
                            [tgpp(ULA_FLAGS, _u(1)), tgpp(SUBSCRIPTION_DATA, b"".join(data))])

    # §7.2.13 Purge-UE-Request / §7.2.14 Answer
    def pur(self, hop: int, end: int, session: str, imsi: str) -> bytes:
        """PUR: the MME deleted the subscriber's profile."""
        return self._t(self._k["PUR"], (), (hop, end, session, imsi))

    def _enc_pur(self, hop: int, end: int, session: str, imsi: str) -> bytes:
        return message(PURGE_UE, True, S6A, hop, end, self._head(session, mme=True)
                       + self._to_hss() + [utf8(USER_NAME, imsi)])

    def pua(self, hop: int, end: int, session: str) -> bytes:
        """PUA: success."""
        return self._t(self._k["PUA"], (), (hop, end, session))

    def _enc_pua(self, hop: int, end: int, session: str) -> bytes:
        return self._answer(PURGE_UE, hop, end, session, [])


def _u(value: int) -> bytes:
    return struct.pack("!I", value)
