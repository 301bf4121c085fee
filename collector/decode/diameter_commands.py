"""Diameter applications and commands we recognise, named as their specifications do.

A message is named after its command, written without hyphens, with `Request`
or `Answer` by the R flag: `Update-Location-Request` (TS 29.272 §7.2.3) becomes
`UpdateLocationRequest`.  Unknown commands are named `Command<code>Request`.
"""

from __future__ import annotations

# Application-IDs (IANA "Application IDs" registry, TS 29.230 §7.2)
BASE = 0                  # RFC 6733 common messages (CER/CEA, DWR/DWA, DPR/DPA)
DCCA = 4                  # RFC 4006 Credit-Control, Gy/Ro (TS 32.299)
RX = 16777236             # TS 29.214
GX = 16777238             # TS 29.212
S6A_S6D = 16777251        # TS 29.272 §7.1.8
S13 = 16777252            # TS 29.272 §7.1.8
SLH = 16777291            # TS 29.173 §7.2
S7A = 16777308            # TS 29.272 §7.1.8

# applications whose User-Name AVP (RFC 6733 §8.14) holds the IMSI:
# TS 29.272 §7.3.x (S6a/S6d, S7a, S13 ME-Identity-Check), TS 29.173 §6.2 (SLh)
USER_NAME_IS_IMSI = frozenset({S6A_S6D, S13, SLH, S7A})

# Command Code -> command name without "-Request"/"-Answer"
COMMANDS = {
    # RFC 6733 §3.1
    257: "Capabilities-Exchange", 258: "Re-Auth", 271: "Accounting", 274: "Abort-Session",
    275: "Session-Termination", 280: "Device-Watchdog", 282: "Disconnect-Peer",
    # RFC 7155 §3 (NASREQ AA, also Rx, TS 29.214 §5.6), RFC 4072 §3 (Diameter-EAP)
    265: "AA", 268: "Diameter-EAP",
    # RFC 4006 §3 (Gy, Gx TS 29.212 §5.6)
    272: "Credit-Control",
    # TS 29.272 §7.2 (S6a/S6d, S13)
    316: "Update-Location", 317: "Cancel-Location", 318: "Authentication-Information",
    319: "Insert-Subscriber-Data", 320: "Delete-Subscriber-Data", 321: "Purge-UE",
    322: "Reset", 323: "Notify", 324: "ME-Identity-Check",
    # TS 29.173 §6.2 (SLh)
    8388622: "LCS-Routing-Info",
}

# Command Codes whose answer ends the Diameter session (RFC 6733 §8.4 STR/STA);
# S6a sessions hold no state beyond one request and its answer (TS 29.272 §7.1,
# Auth-Session-State NO_STATE_MAINTAINED)
SESSION_TERMINATION = 275
CREDIT_CONTROL = 272
CC_TERMINATION_REQUEST = 3  # CC-Request-Type (RFC 4006 §8.3)


def command_name(code: int, request: bool) -> str:
    """Spec-style message name: (316, True) -> 'UpdateLocationRequest'."""
    base = COMMANDS.get(code)
    kind = "Request" if request else "Answer"
    return f"Command{code}{kind}" if base is None else base.replace("-", "") + kind
