"""The decoded signalling event: meaning, apart from any byte layout (STYLE habit 7).

Every decoder returns these; identities are already pseudonyms here, so no raw
IMSI/SUPI/MSISDN/IMEI ever reaches a queue or the edge state.
"""

from __future__ import annotations

from wire.pseudonym import as_hex

INSPECT_FIELDS = ("frame", "time", "proto", "msg", "nas", "subscriber", "home_mcc",
                  "plmn", "tac", "cell", "rat")


class SignallingEvent:
    """One decoded signalling message that carries an identity or a location.

    `subscriber` is the pseudonym (uint64) carried or correlated, or None.
    `off` is True when the message says the device leaves the network
    (a UE-originated Detach / Deregistration).  `target` is True when the
    location is where the device is being handed over to, not where it is
    (HANDOVER REQUIRED / REQUEST): it does not move the device.  `imei_tac` is the
    type allocation code (the first 8 digits, as text) of an IMEI or IMEISV the
    message carries, or None: the other digits are dropped in the decoder.  `psm` is True
    when the UE asks for power saving mode (an attach or TAU request with T3324: an IoT
    module, collector.m2m).  Neither is an inspect field.
    """

    __slots__ = INSPECT_FIELDS + ("off", "target", "imei_tac", "psm")

    def __init__(self, frame: int, time: float, proto: str, msg: str, nas: str | None = None,
                 subscriber: int | None = None, home_mcc: str | None = None,
                 plmn: str | None = None, tac: int | None = None, cell: int | None = None,
                 rat: str | None = None, off: bool = False, target: bool = False,
                 imei_tac: str | None = None, psm: bool = False) -> None:
        self.frame = frame
        self.time = time
        self.proto = proto
        self.msg = msg
        self.nas = nas
        self.subscriber = subscriber
        self.home_mcc = home_mcc
        self.plmn = plmn
        self.tac = tac
        self.cell = cell
        self.rat = rat
        self.off = off
        self.target = target
        self.imei_tac = imei_tac
        self.psm = psm

    def inspect_record(self) -> dict:
        """The `collector inspect` JSON object (DESIGN.md contract)."""
        rec = {f: getattr(self, f) for f in INSPECT_FIELDS}
        if self.subscriber is not None:
            rec["subscriber"] = as_hex(self.subscriber)
        return rec

    def __repr__(self) -> str:
        return f"SignallingEvent({self.inspect_record()!r})"
