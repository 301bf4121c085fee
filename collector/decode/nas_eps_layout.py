"""Byte layout of the EPS NAS messages (TS 24.301 §8.2 EMM, §8.3 ESM), as data.

One line per message type: its name, its mandatory IEs after the header (EMM:
2 octets, §9.1-9.8; ESM: 3 octets) and its optional IEs in the order of the
§8 table, in the spec's IEI notation:

    mandatory  n     n fixed octets (V, or two half-octet V IEs)
               LV    1-octet length, value;  LVE  2-octet length, value (TS 24.007 §11.2.1.1)
    optional   XX    IEI XX, TLV;  XX=  IEI XX, TLV-E;  XX:n  IEI XX, TV of n octets in all;
               X-    half-octet IEI X, TV in one octet;  XX*  IEI XX, value to the end of the
                     message: pycrate 0.8.1 reads Additional information requested (§9.9.3.0C,
                     TV 2 in the spec) so, and the reference path is pycrate's
    @role      an IE the decoder reads: @id EPS mobile identity of the UE (§9.9.3.12),
               @mi mobile identity (TS 24.008 §10.5.1.4), @guti GUTI allocated (§9.9.3.12),
               @tai tracking area identities (§9.9.3.32-33), @imeisv the UE's IMEISV
               (TS 24.008 §10.5.1.4), @psm T3324 value: the UE requests power saving mode
               (§5.3.11, GPRS timer 2 of TS 24.008 §10.5.7.4)

Names are pycrate's class names less the EMM/ESM prefix the spec lacks, as
`nas_eps.spec_name` writes them (the `nas` field of `collector inspect`).  The
lines follow the IE lists of pycrate 0.8.1 (Rel-16), which the reference path
parses with; tests/unit/collector/test_decode_nas_eps_fast.py checks them
against pycrate's classes.
"""

from __future__ import annotations

# §8.2: EMM message type (§9.8) -> (name, mandatory, optional)
EMM = {
    0x41: ("AttachRequest", "1 LV@id LV LVE",  # §8.2.4
           "19:4 50 52:6@tai 5C:3 31 13:6 9- 11 20 40 F- 5D D- E- C- 10 6A@psm 5E 6E 6F 6D 17* 32 "
           "B-"),
    0x42: ("AttachAccept", "1 1 LV@tai LVE",  # §8.2.1
           "50@guti 13:6 23 53:2 17:2 59:2 4A 34 64 F- 5E 6A 6E E- D- 6B C- 6C 7A= 7C= 66 B-"),
    0x43: ("AttachComplete", "LVE", ""),  # §8.2.2
    0x44: ("AttachReject", "1", "78= 5F 16 A-"),  # §8.2.3
    0x46: ("DetachAccept", "", ""),  # §8.2.10
    0x48: ("TrackingAreaUpdateRequest", "1 LV@id",  # §8.2.29
           "B- 8- 19:4 50 55:5 58 52:6@tai 5C:3 A- 57 31 13:6 9- 11 20 40 F- 5D E- D- C- 10 6A@psm 5E "
           "6E 6F 6D 17* 32"),
    0x49: ("TrackingAreaUpdateAccept", "1",  # §8.2.26
           "5A:2 50@guti 54@tai 57 13:6 23 53:2 17:2 59:2 4A 34 64 F- 5E 6A 6E 68 65 E- D- 6B C- 6C "
           "7A= 7C= 66 B-"),
    0x4A: ("TrackingAreaUpdateComplete", "", ""),  # §8.2.27
    0x4B: ("TrackingAreaUpdateReject", "1", "5F A-"),  # §8.2.28
    0x4C: ("ExtServiceRequest", "1 LV", "B- 57 D-"),  # §8.2.15
    0x4D: ("CPServiceRequest", "1", "78= 67 57 D-"),  # §8.2.33
    0x4E: ("ServiceReject", "1", "5B:2 5C 6B"),  # §8.2.24
    0x4F: ("ServiceAccept", "", "57 6B"),  # §8.2.34
    0x50: ("GUTIReallocCommand", "LV@guti", "54@tai 65 66 B-"),  # §8.2.16
    0x51: ("GUTIReallocComplete", "", ""),  # §8.2.17
    0x52: ("AuthenticationRequest", "1 16 LV", ""),  # §8.2.7
    0x53: ("AuthenticationResponse", "LV", ""),  # §8.2.8
    0x54: ("AuthenticationReject", "", ""),  # §8.2.6
    0x55: ("IdentityRequest", "1", ""),  # §8.2.18
    0x56: ("IdentityResponse", "LV@mi", ""),  # §8.2.19
    0x5C: ("AuthenticationFailure", "1", "30"),  # §8.2.5
    0x5D: ("SecurityModeCommand", "1 1 LV", "C- 55:5 56:5 4F 6F D-"),  # §8.2.20
    0x5E: ("SecurityModeComplete", "", "23@imeisv 79= 66"),  # §8.2.21
    0x5F: ("SecurityModeReject", "1", ""),  # §8.2.22
    0x60: ("EMMStatus", "1", ""),  # §8.2.14
    0x61: ("EMMInformation", "", "43 45 46:2 47:8 49"),  # §8.2.13
    0x62: ("DLNASTransport", "LV", ""),  # §8.2.12
    0x63: ("ULNASTransport", "LV", ""),  # §8.2.30
    0x64: ("CSServiceNotification", "1", "60 61:2 62:2 63"),  # §8.2.9
    0x68: ("DLGenericNASTransport", "1 LVE", "65"),  # §8.2.31
    0x69: ("ULGenericNASTransport", "1 LVE", "65"),  # §8.2.32
}
# §8.2.11 DETACH REQUEST: one type, two layouts
DETACH_MO = ("DetachRequest", "1 LV@id", "")      # §8.2.11.1 UE originating
DETACH_MT = ("DetachRequest", "1", "53:2")        # §8.2.11.2 UE terminated
# §8.2.25 SERVICE REQUEST (security header type 12): KSI and sequence number, short MAC
SERVICE_REQUEST = ("ServiceRequest", "3", "")

# §8.3: ESM message type (§9.8) -> (name, mandatory, optional)
_PCO = "27 7B="  # protocol configuration options, extended PCO
_REJECT = "27 37 6B 33 7B="
ESM = {
    0xC1: ("ActDefaultEPSBearerCtxtRequest", "LV LV LV",  # §8.3.6
           "5D 30 32:2 8- 34 5E 58:2 27 B- C- 33 66 9- 7B= 6E 5F"),
    0xC2: ("ActDefaultEPSBearerCtxtAccept", "", _PCO),  # §8.3.4
    0xC3: ("ActDefaultEPSBearerCtxtReject", "1", _PCO),  # §8.3.5
    0xC5: ("ActDediEPSBearerCtxtRequest", "1 LV LV", "5D 30 32:2 8- 34 27 C- 33 7B= 5C"),  # §8.3.3
    0xC6: ("ActDediEPSBearerCtxtAccept", "", "27 33 7B="),  # §8.3.1
    0xC7: ("ActDediEPSBearerCtxtReject", "1", "27 33 7B="),  # §8.3.2
    0xC9: ("ModifyEPSBearerCtxtRequest", "",  # §8.3.18
           "5B 36 30 32:2 8- 34 5E 27 C- 33 66 7B= 5F 5C"),
    0xCA: ("ModifyEPSBearerCtxtAccept", "", "27 33 7B="),  # §8.3.16
    0xCB: ("ModifyEPSBearerCtxtReject", "1", "27 33 7B="),  # §8.3.17
    0xCD: ("DeactEPSBearerCtxtRequest", "1", "27 37 C- 33 7B="),  # §8.3.12
    0xCE: ("DeactEPSBearerCtxtAccept", "", _PCO),  # §8.3.11
    0xD0: ("PDNConnectivityRequest", "1", "D- 28 27 C- 33 66 7B="),  # §8.3.20
    0xD1: ("PDNConnectivityReject", "1", _REJECT),  # §8.3.19
    0xD2: ("PDNDisconnectRequest", "1", _PCO),  # §8.3.22
    0xD3: ("PDNDisconnectReject", "1", _PCO),  # §8.3.21
    0xD4: ("BearerResourceAllocRequest", "1 LV LV", "27 C- 33 7B= 5C"),  # §8.3.8
    0xD5: ("BearerResourceAllocReject", "1", _REJECT),  # §8.3.7
    0xD6: ("BearerResourceModifRequest", "1 LV", "5B 58:2 27 C- 33 66 7B= 5C"),  # §8.3.10
    0xD7: ("BearerResourceModifReject", "1", _REJECT),  # §8.3.9
    0xD9: ("ESMInformationRequest", "", ""),  # §8.3.13
    0xDA: ("ESMInformationResponse", "", "28 27 7B="),  # §8.3.14
    0xDB: ("Notification", "LV", ""),  # §8.3.18A
    0xDC: ("ESMDummyMessage", "", ""),  # §8.3.12A
    0xE8: ("ESMStatus", "1", ""),  # §8.3.15
    0xE9: ("RemoteUEReport", "", "79= 7A= 6F"),  # §8.3.23
    0xEA: ("RemoteUEResponse", "", ""),  # §8.3.24
    0xEB: ("ESMDataTransport", "LVE", "F-"),  # §8.3.25
}

# compiled forms: an IE is a fixed number of octets (> 0; a half-octet TV takes one), or
LV, LVE = -1, -2     # mandatory: 1- or 2-octet length then value
TLV, TLVE, REST = -1, -2, -3   # optional: IEI, 1- or 2-octet length, value; IEI, the rest


class Layout:
    """A message layout compiled for the walker (`nas_eps_fast.walk`)."""

    __slots__ = ("name", "mandatory", "optional")

    def __init__(self, name: str, mandatory: str, optional: str) -> None:
        self.name = name
        # [(kind: octets > 0 | LV | LVE, role | None)]
        self.mandatory = [_mandatory(tok) for tok in mandatory.split()]
        # [(IEI bits 4 | 8, IEI, kind: octets > 0 | TLV | TLVE | REST, role | None)]
        self.optional = [_optional(tok) for tok in optional.split()]

    def __repr__(self) -> str:
        return f"Layout({self.name!r})"


def _split_role(tok: str) -> tuple[str, str | None]:
    body, _, role = tok.partition("@")
    return body, role or None


def _mandatory(tok: str) -> tuple[int, str | None]:
    body, role = _split_role(tok)
    kind = {"LV": LV, "LVE": LVE}.get(body)
    return (int(body) if kind is None else kind), role


def _optional(tok: str) -> tuple[int, int, int, str | None]:
    body, role = _split_role(tok)
    if body.endswith("-"):
        return 4, int(body[0], 16), 1, role
    if body.endswith("="):
        return 8, int(body[:2], 16), TLVE, role
    if body.endswith("*"):
        return 8, int(body[:2], 16), REST, role
    if ":" in body:
        iei, octets = body.split(":")
        return 8, int(iei, 16), int(octets), role
    return 8, int(body, 16), TLV, role


def compile_table(table: dict) -> dict[int, Layout]:
    """{message type: Layout} of a table above."""
    return {typ: Layout(*row) for typ, row in table.items()}
