"""Versioned tally messages between collector and aggregator (DESIGN.md, "Transport").

A batch is a msgpack map; version 1:

    {"v": 1, "kind": "tally", "collector": "lyon-mme-1", "epoch": 1764338400, "seq": 7,
     "bin_seconds": 900,
     "presence": [[bin_start, "00101", tac, cell, devices], ...]}

`bin_start` is seconds since the epoch (UTC), a multiple of `bin_seconds`;
`plmn` is the MCCMNC digits of the cell; `cell` the 28-bit ECI or 36-bit NCI;
`devices` the number of devices present in that cell during that bin.
Every batch is keyed by (collector, epoch, seq); `epoch` names the sequence
space (a new one each time a collector starts without a saved sequence).

The aggregator answers each batch with an acknowledgement map:

    {"v": 1, "kind": "ack", "collector": ..., "epoch": ..., "seq": ...,
     "status": "stored" | "duplicate" | "rejected", "reason": null | "<reason>"}

Decoders here never raise on bad bytes: they return (None, reason) with a
reason from REJECT_REASONS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgpack

VERSION = 1
MAX_BATCH_BYTES = 8 * 1024 * 1024
MAX_ROWS = 200_000
REJECT_REASONS = (
    "too_large", "not_msgpack", "not_a_map", "bad_version", "bad_kind",
    "missing_field", "bad_field", "bad_row",
)
ACK_STATUSES = ("stored", "duplicate", "rejected")
_COLLECTOR_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_PLMN_RE = re.compile(r"^[0-9]{5,6}$")
_MIN_TIME, _MAX_TIME = 946684800, 4102444800  # 2000-01-01 .. 2100-01-01


@dataclass(frozen=True, slots=True)
class PresenceRow:
    """Devices present in one cell during one bin."""

    bin_start: int
    plmn: str
    tac: int
    cell: int
    devices: int


@dataclass(frozen=True, slots=True)
class TallyBatch:
    """One batch of tallies from one collector."""

    collector: str
    epoch: int
    seq: int
    bin_seconds: int
    presence: tuple[PresenceRow, ...]

    @property
    def key(self) -> tuple[str, int, int]:
        """The de-duplication key (collector, epoch, seq)."""
        return (self.collector, self.epoch, self.seq)


def encode_batch(batch: TallyBatch) -> bytes:
    """msgpack bytes of a batch (version 1)."""
    return msgpack.packb({
        "v": VERSION, "kind": "tally", "collector": batch.collector,
        "epoch": batch.epoch, "seq": batch.seq, "bin_seconds": batch.bin_seconds,
        "presence": [[r.bin_start, r.plmn, r.tac, r.cell, r.devices] for r in batch.presence],
    })


def _is_int(v: object, lo: int, hi: int) -> bool:
    return type(v) is int and lo <= v <= hi


def _row(raw: object, bin_seconds: int) -> PresenceRow | None:
    if not isinstance(raw, list) or len(raw) != 5:
        return None
    start, plmn, tac, cell, devices = raw
    if not (_is_int(start, _MIN_TIME, _MAX_TIME) and start % bin_seconds == 0):
        return None
    if not (isinstance(plmn, str) and _PLMN_RE.match(plmn)):
        return None
    if not (_is_int(tac, 0, 0xFFFFFF) and _is_int(cell, 0, (1 << 36) - 1)):
        return None
    if not _is_int(devices, 1, 10**9):
        return None
    return PresenceRow(start, plmn, tac, cell, devices)


def decode_batch(data: bytes) -> tuple[TallyBatch | None, str | None]:
    """Validate and decode a batch: (batch, None) or (None, reason)."""
    if len(data) > MAX_BATCH_BYTES:
        return None, "too_large"
    try:
        obj = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception:  # msgpack raises several unrelated types on garbage
        return None, "not_msgpack"
    if not isinstance(obj, dict):
        return None, "not_a_map"
    if obj.get("v") != VERSION:
        return None, "bad_version"
    if obj.get("kind") != "tally":
        return None, "bad_kind"
    for field in ("collector", "epoch", "seq", "bin_seconds", "presence"):
        if field not in obj:
            return None, "missing_field"
    collector, epoch, seq, bin_seconds, rows = (
        obj["collector"], obj["epoch"], obj["seq"], obj["bin_seconds"], obj["presence"])
    if not (isinstance(collector, str) and _COLLECTOR_RE.match(collector)):
        return None, "bad_field"
    if not (_is_int(epoch, 0, 2**63 - 1) and _is_int(seq, 0, 2**63 - 1)):
        return None, "bad_field"
    if not (_is_int(bin_seconds, 60, 3600) and 86400 % bin_seconds == 0):
        return None, "bad_field"
    if not isinstance(rows, list) or len(rows) > MAX_ROWS:
        return None, "bad_field"
    presence = []
    for raw in rows:
        row = _row(raw, bin_seconds)
        if row is None:
            return None, "bad_row"
        presence.append(row)
    return TallyBatch(collector, epoch, seq, bin_seconds, tuple(presence)), None


def encode_ack(key: tuple[str, int, int], status: str, reason: str | None = None) -> bytes:
    """msgpack bytes of an acknowledgement for the batch `key`."""
    collector, epoch, seq = key
    return msgpack.packb({"v": VERSION, "kind": "ack", "collector": collector,
                          "epoch": epoch, "seq": seq, "status": status, "reason": reason})


def decode_ack(data: bytes) -> dict | None:
    """Decode an acknowledgement; None when it is not a valid one."""
    try:
        obj = msgpack.unpackb(data, raw=False)
    except Exception:
        return None
    if not isinstance(obj, dict) or obj.get("kind") != "ack" or obj.get("v") != VERSION:
        return None
    if obj.get("status") not in ACK_STATUSES:
        return None
    return obj
