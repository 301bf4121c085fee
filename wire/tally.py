"""Versioned tally messages between collector and aggregator (DESIGN.md, "Transport").

A batch is a msgpack map; version 2:

    {"v": 2, "kind": "tally", "collector": "lyon-mme-1", "epoch": 1764338400, "seq": 7,
     "bin_seconds": 900,
     "presence": [[bin_start, "00101", tac, cell, segment, devices], ...],
     "sketches": [[hour_start, "00101", tac, cell, segment, hll_bytes], ...]}

`bin_start` is seconds since the epoch (UTC), a multiple of `bin_seconds`;
`plmn` is the MCCMNC digits of the cell; `cell` the 28-bit ECI or 36-bit NCI;
`segment` is "domestic" (home MCC = the cell's MCC), an ISO 3166 alpha-2 country
(a roamer, by the MCC of its IMSI) or "unknown"; `devices` the number of devices
of that segment present in that cell during that bin.  `sketches` (optional) holds,
per cell, hour and segment, the Apache DataSketches HLL (lgK 12, HLL_4, compact
serialisation) of the pseudonyms present there in any bin of the hour, emitted
once the hour's last bin has closed: unions over any cells and hours count unique
devices without identities.  Version 1 batches (presence rows without a segment,
read as "unknown"; no sketches) are still accepted, so a spool written before an
upgrade is delivered.
Every batch is keyed by (collector, epoch, seq); `epoch` names the sequence
space (a new one each time a collector starts without a saved sequence).

The aggregator answers each batch with an acknowledgement map:

    {"v": 2, "kind": "ack", "collector": ..., "epoch": ..., "seq": ...,
     "status": "stored" | "duplicate" | "rejected", "reason": null | "<reason>"}

Decoders here never raise on bad bytes: they return (None, reason) with a
reason from REJECT_REASONS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import datasketches
import msgpack

VERSION = 2
VERSIONS = (1, 2)  # accepted on decode
SKETCH_LG_K = 12
SKETCH_SECONDS = 3600
MAX_SKETCH_BYTES = 4096  # an HLL_4 lgK 12 sketch serialises to at most ~2.1 KB
MAX_BATCH_BYTES = 8 * 1024 * 1024
MAX_ROWS = 200_000
REJECT_REASONS = (
    "too_large", "not_msgpack", "not_a_map", "bad_version", "bad_kind",
    "missing_field", "bad_field", "bad_row",
)
ACK_STATUSES = ("stored", "duplicate", "rejected")
_COLLECTOR_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_PLMN_RE = re.compile(r"^[0-9]{5,6}$")
_SEGMENT_RE = re.compile(r"^(domestic|unknown|[A-Z]{2})$")
_MIN_TIME, _MAX_TIME = 946684800, 4102444800  # 2000-01-01 .. 2100-01-01


@dataclass(frozen=True, slots=True)
class PresenceRow:
    """Devices of one segment present in one cell during one bin."""

    bin_start: int
    plmn: str
    tac: int
    cell: int
    devices: int
    segment: str = "unknown"


@dataclass(frozen=True, slots=True)
class SketchRow:
    """HLL sketch of the devices of one segment present in one cell during one hour."""

    hour_start: int
    plmn: str
    tac: int
    cell: int
    segment: str
    sketch: bytes


@dataclass(frozen=True, slots=True)
class TallyBatch:
    """One batch of tallies from one collector."""

    collector: str
    epoch: int
    seq: int
    bin_seconds: int
    presence: tuple[PresenceRow, ...]
    sketches: tuple[SketchRow, ...] = ()

    @property
    def key(self) -> tuple[str, int, int]:
        """The de-duplication key (collector, epoch, seq)."""
        return (self.collector, self.epoch, self.seq)


def encode_batch(batch: TallyBatch) -> bytes:
    """msgpack bytes of a batch (version 2)."""
    return msgpack.packb({
        "v": VERSION, "kind": "tally", "collector": batch.collector,
        "epoch": batch.epoch, "seq": batch.seq, "bin_seconds": batch.bin_seconds,
        "presence": [[r.bin_start, r.plmn, r.tac, r.cell, r.segment, r.devices]
                     for r in batch.presence],
        "sketches": [[r.hour_start, r.plmn, r.tac, r.cell, r.segment, r.sketch]
                     for r in batch.sketches],
    }, use_bin_type=True)


def _is_int(v: object, lo: int, hi: int) -> bool:
    return type(v) is int and lo <= v <= hi


def _place(start: object, plmn: object, tac: object, cell: object, segment: object,
           period: int) -> bool:
    """The (period start, plmn, tac, cell, segment) part of a row is valid."""
    return (_is_int(start, _MIN_TIME, _MAX_TIME) and start % period == 0
            and isinstance(plmn, str) and _PLMN_RE.match(plmn) is not None
            and _is_int(tac, 0, 0xFFFFFF) and _is_int(cell, 0, (1 << 36) - 1)
            and isinstance(segment, str) and _SEGMENT_RE.match(segment) is not None)


def _row(raw: object, bin_seconds: int, version: int) -> PresenceRow | None:
    if not isinstance(raw, list) or len(raw) != (5 if version == 1 else 6):
        return None
    if version == 1:
        raw = [*raw[:4], "unknown", raw[4]]
    start, plmn, tac, cell, segment, devices = raw
    if not (_place(start, plmn, tac, cell, segment, bin_seconds) and _is_int(devices, 1, 10**9)):
        return None
    return PresenceRow(start, plmn, tac, cell, devices, segment)


def _sketch_row(raw: object) -> SketchRow | None:
    if not isinstance(raw, list) or len(raw) != 6:
        return None
    start, plmn, tac, cell, segment, sketch = raw
    if not (_place(start, plmn, tac, cell, segment, SKETCH_SECONDS)
            and isinstance(sketch, bytes) and len(sketch) <= MAX_SKETCH_BYTES):
        return None
    try:
        hll = datasketches.hll_sketch.deserialize(sketch)
    except Exception:  # datasketches raises ValueError / RuntimeError on bad bytes
        return None
    if hll.lg_config_k != SKETCH_LG_K or hll.is_empty():
        return None
    return SketchRow(start, plmn, tac, cell, segment, sketch)


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
    version = obj.get("v")
    if version not in VERSIONS or type(version) is not int:
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
    sketch_rows = obj.get("sketches", []) if version >= 2 else []
    if not isinstance(sketch_rows, list) or len(rows) + len(sketch_rows) > MAX_ROWS:
        return None, "bad_field"
    presence, sketches = [], []
    for raw in rows:
        row = _row(raw, bin_seconds, version)
        if row is None:
            return None, "bad_row"
        presence.append(row)
    for raw in sketch_rows:
        row = _sketch_row(raw)
        if row is None:
            return None, "bad_row"
        sketches.append(row)
    return TallyBatch(collector, epoch, seq, bin_seconds, tuple(presence), tuple(sketches)), None


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
    if not isinstance(obj, dict) or obj.get("kind") != "ack" or obj.get("v") not in VERSIONS:
        return None
    if obj.get("status") not in ACK_STATUSES:
        return None
    return obj
