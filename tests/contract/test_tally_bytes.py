"""Golden bytes of the tally contract (wire.tally, version 5; versions 1 to 4 still
accepted): the expected bytes are assembled here by hand from the msgpack specification
(fixmap 0x8N, fixstr 0xA0|len, fixarray 0x9N, uint16 0xcd,
uint32 0xce, bin8 0xc4), not by the encoder under test."""

from __future__ import annotations

import struct

import datasketches

from wire.tally import (
    FlowRow,
    OvernightRow,
    PresenceRow,
    RecurrenceRow,
    ResidentRow,
    SketchRow,
    StayRow,
    TallyBatch,
    decode_batch,
    encode_batch,
)

T0 = 1_796_000_400
DAY0 = T0 - T0 % 86400


def s(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 32
    return bytes([0xA0 | len(raw)]) + raw


def u16(n: int) -> bytes:
    return b"\xcd" + struct.pack(">H", n)


def u32(n: int) -> bytes:
    return b"\xce" + struct.pack(">I", n)


def hll() -> bytes:
    sketch = datasketches.hll_sketch(12, datasketches.tgt_hll_type.HLL_4)
    sketch.update(-42)
    return sketch.serialize_compact()


def _zone_batch(blob: bytes, residents: tuple, band: str = "") -> TallyBatch:
    return TallyBatch(
        "mme-1", T0, 7, 900,
        (PresenceRow(T0, "20801", 1, 0x1001, 3, "home:bellecour", band),),
        (SketchRow(T0, "20801", 1, 0x1001, "domestic", blob, band),),
        stays=(StayRow(T0, "20801", "bellecour", "domestic", "1h-2h", 4),),
        overnight=(OvernightRow(DAY0, "20801", "terreaux", "IT", 2),),
        recurrence=(RecurrenceRow(DAY0, "20801", "bellecour", "home:terreaux", "regular", 5),),
        flows=(FlowRow(T0, "20801", "terreaux", "bellecour", "unknown", 1),),
        residents=residents)


def _zone_bytes(version: int, blob: bytes, residents: bytes, band: bytes = b"") -> bytes:
    """`band`: the age band item of the presence and sketch rows (version 5), else none."""
    row = b"\x91\x97" if band else b"\x91\x96"
    return (b"\x8d" + s("v") + bytes([version]) + s("kind") + s("tally") + s("collector")
            + s("mme-1") + s("epoch") + u32(T0) + s("seq") + b"\x07" + s("bin_seconds")
            + u16(900)
            + s("presence") + row + u32(T0) + s("20801") + b"\x01" + u16(0x1001)
            + s("home:bellecour") + band + b"\x03"
            + s("sketches") + row + u32(T0) + s("20801") + b"\x01" + u16(0x1001)
            + s("domestic") + band + b"\xc4" + bytes([len(blob)]) + blob
            + s("stays") + b"\x91\x96" + u32(T0) + s("20801") + s("bellecour") + s("domestic")
            + s("1h-2h") + b"\x04"
            + s("overnight") + b"\x91\x95" + u32(DAY0) + s("20801") + s("terreaux") + s("IT")
            + b"\x02"
            + s("recurrence") + b"\x91\x96" + u32(DAY0) + s("20801") + s("bellecour")
            + s("home:terreaux") + s("regular") + b"\x05"
            + s("flows") + b"\x91\x96" + u32(T0) + s("20801") + s("terreaux") + s("bellecour")
            + s("unknown") + b"\x01"
            + s("residents") + residents)


_RESIDENTS_V4 = (b"\x92" + b"\x95" + u32(DAY0) + s("20801") + s("bellecour") + s("30-44")
                 + u16(300)
                 + b"\x95" + u32(DAY0) + s("20801") + s("bellecour") + s("") + b"\x0c")
_RESIDENT_ROWS = (ResidentRow(DAY0, "20801", "bellecour", 300, "30-44"),
                  ResidentRow(DAY0, "20801", "bellecour", 12, ""))


def test_version_5_batch_bytes_presence_and_sketches_by_age_band():
    blob = hll()
    for band in ("45-59", ""):
        batch = _zone_batch(blob, _RESIDENT_ROWS, band)
        want = _zone_bytes(5, blob, _RESIDENTS_V4, s(band))
        assert encode_batch(batch) == want
        assert decode_batch(want) == (batch, None)


def test_version_4_batch_still_accepted_presence_without_band():
    blob = hll()
    v4 = _zone_bytes(4, blob, _RESIDENTS_V4)
    assert decode_batch(v4) == (_zone_batch(blob, _RESIDENT_ROWS, ""), None)


def test_presence_and_sketch_age_band_is_checked():
    blob = hll()
    # an unknown band, not a string, version 5 rows of the version 4 shape (b""), a band in a
    # version 4 row
    for version, band in ((5, s("30-45")), (5, b"\x01"), (5, b""), (4, s("30-44"))):
        raw = _zone_bytes(version, blob, _RESIDENTS_V4, band)
        assert decode_batch(raw) == (None, "bad_row"), (version, band)


def test_version_3_batch_still_accepted_residents_without_band():
    blob = hll()
    v3 = _zone_bytes(3, blob, b"\x91\x94" + u32(DAY0) + s("20801") + s("bellecour")
                     + u16(300))
    batch = _zone_batch(blob, (ResidentRow(DAY0, "20801", "bellecour", 300, ""),))
    assert decode_batch(v3) == (batch, None)


def test_residents_age_band_is_checked():
    blob = hll()
    for version, row in (
            (5, b"\x91\x95" + u32(DAY0) + s("20801") + s("bellecour") + s("30-45") + b"\x01"),
            (5, b"\x91\x95" + u32(DAY0) + s("20801") + s("bellecour") + b"\x01" + b"\x01"),
            (5, b"\x91\x94" + u32(DAY0) + s("20801") + s("bellecour") + b"\x01"),  # v3 shape
            (3, b"\x91\x95" + u32(DAY0) + s("20801") + s("bellecour") + s("") + b"\x01")):
        band = s("") if version >= 5 else b""
        assert decode_batch(_zone_bytes(version, blob, row, band)) == (None, "bad_row"), row


def test_version_2_batch_still_accepted():
    blob = hll()
    v2 = (b"\x88" + s("v") + b"\x02" + s("kind") + s("tally") + s("collector") + s("mme-1")
          + s("epoch") + u32(T0) + s("seq") + b"\x07" + s("bin_seconds") + u16(900)
          + s("presence") + b"\x91\x96" + u32(T0) + s("20801") + b"\x01" + u16(0x1001)
          + s("domestic") + b"\x03"
          + s("sketches") + b"\x91\x96" + u32(T0) + s("20801") + b"\x01" + u16(0x1001)
          + s("IT") + b"\xc4" + bytes([len(blob)]) + blob)
    batch, reason = decode_batch(v2)
    assert reason is None
    assert batch == TallyBatch("mme-1", T0, 7, 900,
                               (PresenceRow(T0, "20801", 1, 0x1001, 3, "domestic"),),
                               (SketchRow(T0, "20801", 1, 0x1001, "IT", blob),))


def test_home_segment_and_zone_kinds_only_from_version_3():
    v2 = (b"\x87" + s("v") + b"\x02" + s("kind") + s("tally") + s("collector") + s("mme-1")
          + s("epoch") + u32(T0) + s("seq") + b"\x07" + s("bin_seconds") + u16(900)
          + s("presence") + b"\x91\x96" + u32(T0) + s("20801") + b"\x01" + u16(0x1001)
          + s("home:bellecour") + b"\x03")
    assert decode_batch(v2) == (None, "bad_row")


def test_version_1_batch_still_accepted():
    v1 = (b"\x87" + s("v") + b"\x01" + s("kind") + s("tally") + s("collector") + s("mme-1")
          + s("epoch") + u32(T0) + s("seq") + b"\x07" + s("bin_seconds") + u16(900)
          + s("presence") + b"\x91\x95" + u32(T0) + s("20801") + b"\x01" + u16(0x1001)
          + b"\x03")
    batch, reason = decode_batch(v1)
    assert reason is None
    assert batch.presence == (PresenceRow(T0, "20801", 1, 0x1001, 3, "unknown"),)
    assert batch.sketches == ()
