"""Versioned tally messages between collector and aggregator (DESIGN.md, "Transport").

A batch is a msgpack map; version 5:

    {"v": 5, "kind": "tally", "collector": "lyon-mme-1", "epoch": 1764338400, "seq": 7,
     "bin_seconds": 900,
     "presence": [[bin_start, "00101", tac, cell, segment, age_band, devices], ...],
     "sketches": [[hour_start, "00101", tac, cell, segment, age_band, hll_bytes], ...],
     "stays": [[stay_start, "00101", zone, segment, dwell, stays], ...],
     "overnight": [[day, "00101", zone, segment, devices], ...],
     "recurrence": [[day, "00101", zone, segment, recurrence, devices], ...],
     "flows": [[bin_start, "00101", from_zone, to_zone, segment, devices], ...],
     "residents": [[day_start, "00101", home_zone, age_band, devices], ...]}

`bin_start` is seconds since the epoch (UTC), a multiple of `bin_seconds`;
`plmn` is the MCCMNC digits of the cell; `cell` the 28-bit ECI or 36-bit NCI;
`segment` is "domestic" (home MCC = the cell's MCC), an ISO 3166 alpha-2 country
(a roamer, by the MCC of its IMSI) or "unknown"; `devices` the number of devices
of that segment present in that cell during that bin.  `sketches` (optional) holds,
per cell, hour and segment, the Apache DataSketches HLL (lgK 12, HLL_4, compact
serialisation) of the pseudonyms present there in any bin of the hour, emitted
once the hour's last bin has closed: unions over any cells and hours count unique
devices without identities.

Version 3 adds the zone tallies (`zone`: a zone id of cells.csv / zones.geojson,
`[a-z0-9][a-z0-9-]*`, at most 64 characters; `plmn`: the PLMN of the zone's cells),
each list optional on decode (absent: empty), always written by `encode_batch`:

- segment `home:<zone>` (presence, sketches and the rows below): a domestic device
  whose home zone has been detected;
- `stays`: stays (>= 15 min in one zone) closed, by the bin their first bin starts
  (`stay_start`, a multiple of `bin_seconds`) and dwell class (`DWELL_CLASSES`);
- `overnight`: devices without a detected home whose stay in the zone spans 04:00 local
  time and lasts >= 5 h; `day` is the local date of that 04:00 written as its UTC
  midnight (a multiple of 86400);
- `recurrence`: devices present in the zone on a (local) day, once per day, by the
  number of earlier days of the last N they were present there (`RECURRENCE_CLASSES`);
- `flows`: devices whose zone in the bin before `bin_start` was `from_zone` and in the
  bin at `bin_start` is `to_zone` (`plmn` is the destination's);
- `residents`: devices whose detected home is `home_zone`, as of the UTC day
  `day_start` (emitted once a day after the night window closes and at the end of a
  replay: the latest row of a day is the one that counts).

Version 4 adds the age band to the residents rows: `age_band` is one of the census bands
(`wire.reference.AGE_BANDS`: "0-14", "15-29", "30-44", "45-59", "60-74", "75+") from the
operator's subscriber profiles (`collector --profiles`), or "" for residents without a
profile or with an unknown band; a zone's residents are the sum over its bands.

Version 5 adds the same `age_band` to the presence and sketch rows (after the segment):
the devices of one segment and band present in the cell and bin, the sketch of those of
the hour.  The aggregator weighs each (segment, band) with its own weight (a band's
phones stand for more or fewer people than the zone's average, README "Method"); the
devices of a cell are the sum over the bands.  A row is sent only for a (segment, band)
with a device; a band splits a sketch into smaller ones, sparse (8 + 4n bytes) while
they hold fewer than a few hundred devices.  Roamers and devices without a profile have
the band "".  The zone tallies (stays, overnight, recurrence, flows) are not by band.

Version 1 batches (presence rows without a segment,
read as "unknown"; no sketches) are still accepted, so a spool written before an
upgrade is delivered; version 2 batches (no zone tallies), version 3 batches (residents
without age band: read as "") and version 4 batches (presence and sketches without age
band: read as "") too.
Every batch is keyed by (collector, epoch, seq); `epoch` names the sequence
space (a new one each time a collector starts without a saved sequence).

The aggregator answers each batch with an acknowledgement map:

    {"v": 3, "kind": "ack", "collector": ..., "epoch": ..., "seq": ...,
     "status": "stored" | "duplicate" | "rejected", "reason": null | "<reason>"}

Decoders here never raise on bad bytes: they return (None, reason) with a
reason from REJECT_REASONS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import datasketches
import msgpack

from wire.reference import AGE_BANDS

VERSION = 5
VERSIONS = (1, 2, 3, 4, 5)  # accepted on decode
ACK_VERSION = 3  # acks are unchanged since version 3: collectors of version 3 read them
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
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")  # a foreign segment: the roamers' ISO 3166 country
_SEGMENT_RE = re.compile(r"^(domestic|unknown|[A-Z]{2})$")
_SEGMENT_V3_RE = re.compile(r"^(domestic|unknown|[A-Z]{2}|home:[a-z0-9][a-z0-9-]{0,63})$")
ZONE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
RESIDENT_BANDS = ("", *AGE_BANDS)  # age_band of a row ("": no profile, or an unknown band)
DAY = 86400
DWELL_CLASSES = ("lt30m", "30m-1h", "1h-2h", "2h-4h", "ge4h")
DWELL_LIMITS = (1800, 3600, 7200, 14400)  # seconds: upper bounds of the first four classes
RECURRENCE_CLASSES = ("first", "returning", "regular")
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
    age_band: str = ""  # "": no profile, or an unknown band (version 5)


@dataclass(frozen=True, slots=True)
class SketchRow:
    """HLL sketch of the devices of one segment and age band present in one cell during
    one hour."""

    hour_start: int
    plmn: str
    tac: int
    cell: int
    segment: str
    sketch: bytes
    age_band: str = ""  # "": no profile, or an unknown band (version 5)


@dataclass(frozen=True, slots=True)
class StayRow:
    """Stays closed in one zone, started in one bin, of one segment and dwell class."""

    start: int
    plmn: str
    zone: str
    segment: str
    dwell: str
    stays: int


@dataclass(frozen=True, slots=True)
class OvernightRow:
    """Devices without a home whose stay in one zone spanned 04:00 of one (local) day."""

    day: int
    plmn: str
    zone: str
    segment: str
    devices: int


@dataclass(frozen=True, slots=True)
class RecurrenceRow:
    """Devices present in one zone on one (local) day, by recurrence class."""

    day: int
    plmn: str
    zone: str
    segment: str
    recurrence: str
    devices: int


@dataclass(frozen=True, slots=True)
class FlowRow:
    """Devices that moved from one zone to another between a bin and the one before."""

    bin_start: int
    plmn: str
    origin: str
    destination: str
    segment: str
    devices: int


@dataclass(frozen=True, slots=True)
class ResidentRow:
    """Devices whose detected home is one zone, of one age band ("": unknown), as of one
    UTC day."""

    day_start: int
    plmn: str
    zone: str
    devices: int
    age_band: str = ""


@dataclass(frozen=True, slots=True)
class TallyBatch:
    """One batch of tallies from one collector."""

    collector: str
    epoch: int
    seq: int
    bin_seconds: int
    presence: tuple[PresenceRow, ...]
    sketches: tuple[SketchRow, ...] = ()
    stays: tuple[StayRow, ...] = ()
    overnight: tuple[OvernightRow, ...] = ()
    recurrence: tuple[RecurrenceRow, ...] = ()
    flows: tuple[FlowRow, ...] = ()
    residents: tuple[ResidentRow, ...] = ()

    @property
    def key(self) -> tuple[str, int, int]:
        """The de-duplication key (collector, epoch, seq)."""
        return (self.collector, self.epoch, self.seq)

    def rows(self) -> int:
        """Rows of every kind in the batch."""
        return (len(self.presence) + len(self.sketches) + len(self.stays)
                + len(self.overnight) + len(self.recurrence) + len(self.flows)
                + len(self.residents))


def encode_batch(batch: TallyBatch) -> bytes:
    """msgpack bytes of a batch (version 5)."""
    return msgpack.packb({
        "v": VERSION, "kind": "tally", "collector": batch.collector,
        "epoch": batch.epoch, "seq": batch.seq, "bin_seconds": batch.bin_seconds,
        "presence": [[r.bin_start, r.plmn, r.tac, r.cell, r.segment, r.age_band, r.devices]
                     for r in batch.presence],
        "sketches": [[r.hour_start, r.plmn, r.tac, r.cell, r.segment, r.age_band, r.sketch]
                     for r in batch.sketches],
        "stays": [[r.start, r.plmn, r.zone, r.segment, r.dwell, r.stays] for r in batch.stays],
        "overnight": [[r.day, r.plmn, r.zone, r.segment, r.devices] for r in batch.overnight],
        "recurrence": [[r.day, r.plmn, r.zone, r.segment, r.recurrence, r.devices]
                       for r in batch.recurrence],
        "flows": [[r.bin_start, r.plmn, r.origin, r.destination, r.segment, r.devices]
                  for r in batch.flows],
        "residents": [[r.day_start, r.plmn, r.zone, r.age_band, r.devices]
                      for r in batch.residents],
    }, use_bin_type=True)


def _is_int(v: object, lo: int, hi: int) -> bool:
    return type(v) is int and lo <= v <= hi


def _segment_ok(segment: object, version: int) -> bool:
    pattern = _SEGMENT_V3_RE if version >= 3 else _SEGMENT_RE
    return isinstance(segment, str) and pattern.match(segment) is not None


def _place(start: object, plmn: object, tac: object, cell: object, segment: object,
           period: int, version: int) -> bool:
    """The (period start, plmn, tac, cell, segment) part of a row is valid."""
    return (_is_int(start, _MIN_TIME, _MAX_TIME) and start % period == 0
            and isinstance(plmn, str) and _PLMN_RE.match(plmn) is not None
            and _is_int(tac, 0, 0xFFFFFF) and _is_int(cell, 0, (1 << 36) - 1)
            and _segment_ok(segment, version))


def _banded(raw: list, version: int) -> list:
    """A presence or sketch row of a version before 5 with the age band "" put in after
    its segment (the fifth item), so that every version reads alike."""
    return raw if version >= 5 else [*raw[:5], "", raw[5]]


def _row(raw: object, bin_seconds: int, version: int) -> PresenceRow | None:
    if not isinstance(raw, list) or len(raw) != (5 if version == 1 else
                                                  6 if version < 5 else 7):
        return None
    if version == 1:
        raw = [*raw[:4], "unknown", raw[4]]
    start, plmn, tac, cell, segment, band, devices = _banded(raw, version)
    if not (_place(start, plmn, tac, cell, segment, bin_seconds, version)
            and band in RESIDENT_BANDS and _is_int(devices, 1, 10**9)):
        return None
    return PresenceRow(start, plmn, tac, cell, devices, segment, band)


def _sketch_row(raw: object, version: int) -> SketchRow | None:
    if not isinstance(raw, list) or len(raw) != (6 if version < 5 else 7):
        return None
    start, plmn, tac, cell, segment, band, sketch = _banded(raw, version)
    if not (_place(start, plmn, tac, cell, segment, SKETCH_SECONDS, version)
            and band in RESIDENT_BANDS
            and isinstance(sketch, bytes) and len(sketch) <= MAX_SKETCH_BYTES):
        return None
    try:
        hll = datasketches.hll_sketch.deserialize(sketch)
    except Exception:  # datasketches raises ValueError / RuntimeError on bad bytes
        return None
    if hll.lg_config_k != SKETCH_LG_K or hll.is_empty():
        return None
    return SketchRow(start, plmn, tac, cell, segment, sketch, band)


def _zone_place(start: object, plmn: object, zone: object, period: int) -> bool:
    """The (period start, plmn, zone) part of a zone row is valid."""
    return (_is_int(start, _MIN_TIME, _MAX_TIME) and start % period == 0
            and isinstance(plmn, str) and _PLMN_RE.match(plmn) is not None
            and isinstance(zone, str) and ZONE_RE.match(zone) is not None)


def _count(n: object) -> bool:
    return _is_int(n, 1, 10**9)


def _stay_row(raw: list, bin_seconds: int) -> StayRow | None:
    start, plmn, zone, segment, dwell, n = raw
    ok = (_zone_place(start, plmn, zone, bin_seconds) and _segment_ok(segment, 3)
          and dwell in DWELL_CLASSES and _count(n))
    return StayRow(*raw) if ok else None


def _overnight_row(raw: list, _bin_seconds: int) -> OvernightRow | None:
    day, plmn, zone, segment, n = raw
    ok = _zone_place(day, plmn, zone, DAY) and _segment_ok(segment, 3) and _count(n)
    return OvernightRow(*raw) if ok else None


def _recurrence_row(raw: list, _bin_seconds: int) -> RecurrenceRow | None:
    day, plmn, zone, segment, cls, n = raw
    ok = (_zone_place(day, plmn, zone, DAY) and _segment_ok(segment, 3)
          and cls in RECURRENCE_CLASSES and _count(n))
    return RecurrenceRow(*raw) if ok else None


def _flow_row(raw: list, bin_seconds: int) -> FlowRow | None:
    start, plmn, origin, destination, segment, n = raw
    ok = (_zone_place(start, plmn, destination, bin_seconds) and isinstance(origin, str)
          and ZONE_RE.match(origin) is not None and origin != destination
          and _segment_ok(segment, 3) and _count(n))
    return FlowRow(*raw) if ok else None


def _resident_row(raw: list, _bin_seconds: int) -> ResidentRow | None:
    """A version 4 row [day, plmn, zone, age band, devices], or a version 3 one without
    the band (4 items)."""
    if len(raw) == 4:
        raw = [*raw[:3], "", raw[3]]
    day, plmn, zone, band, n = raw
    ok = (_zone_place(day, plmn, zone, DAY) and isinstance(band, str)
          and band in RESIDENT_BANDS and _count(n))
    return ResidentRow(day, plmn, zone, n, band) if ok else None


# version 3 zone tallies: field -> (row length, row reader); residents rows have 5 items
# from version 4 on
_ZONE_KINDS = {
    "stays": (6, _stay_row),
    "overnight": (5, _overnight_row),
    "recurrence": (6, _recurrence_row),
    "flows": (6, _flow_row),
    "residents": (4, _resident_row),
}


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
    zone_raw = {k: obj.get(k, []) if version >= 3 else [] for k in _ZONE_KINDS}
    lists = [sketch_rows, *zone_raw.values()]
    if not all(isinstance(x, list) for x in lists) or \
            len(rows) + sum(len(x) for x in lists) > MAX_ROWS:
        return None, "bad_field"
    presence, sketches = [], []
    for raw in rows:
        row = _row(raw, bin_seconds, version)
        if row is None:
            return None, "bad_row"
        presence.append(row)
    for raw in sketch_rows:
        row = _sketch_row(raw, version)
        if row is None:
            return None, "bad_row"
        sketches.append(row)
    zone_rows: dict[str, tuple] = {}
    for kind, (size, read) in _ZONE_KINDS.items():
        out = []
        size += kind == "residents" and version >= 4
        for raw in zone_raw[kind]:
            row = read(raw, bin_seconds) if isinstance(raw, list) and len(raw) == size else None
            if row is None:
                return None, "bad_row"
            out.append(row)
        zone_rows[kind] = tuple(out)
    return TallyBatch(collector, epoch, seq, bin_seconds, tuple(presence), tuple(sketches),
                      **zone_rows), None


def encode_ack(key: tuple[str, int, int], status: str, reason: str | None = None) -> bytes:
    """msgpack bytes of an acknowledgement for the batch `key`."""
    collector, epoch, seq = key
    return msgpack.packb({"v": ACK_VERSION, "kind": "ack", "collector": collector,
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
