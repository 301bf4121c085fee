"""Tallies by segment and HLL sketches from closed presence bins: segments from the
home MCC against the cell's, sketches per cell, hour and segment handed out once the
hour is complete, and unions of them counting the distinct devices fed in."""

from __future__ import annotations

import random

import datasketches
import numpy as np

from collector.presence import PresenceState
from collector.tally import PresenceTally, country_of_mcc
from wire.tally import MAX_BATCH_BYTES, decode_batch, encode_batch

T0 = 1_796_000_400  # 2026-12-01T... on an hour edge
assert T0 % 3600 == 0
A, B = ("20801", 1, 0x1001), ("20801", 2, 0x2002)


def _close(tally, start, cells, rows):
    """rows: (cell index, pseudonym, mcc) of the devices present."""
    cid, keys, mccs = zip(*rows, strict=True)
    tally.close_bin(start, cells, np.array(cid, np.int32), np.array(keys, np.uint64),
                    np.array(mccs, np.uint16))


def test_country_of_mcc():
    assert (country_of_mcc(208), country_of_mcc(222), country_of_mcc(228),
            country_of_mcc(214), country_of_mcc(262), country_of_mcc(234)) == \
        ("FR", "IT", "CH", "ES", "DE", "GB")
    assert country_of_mcc(1) == "unknown"  # the test network
    # E.212: 310-316 are the United States (pycrate lists Guam first for 310/311)
    assert {country_of_mcc(m) for m in range(310, 317)} == {"US"}


def test_segments_domestic_roamers_unknown():
    tally = PresenceTally("c", 1, 900)
    _close(tally, T0, [A, B], [(0, 1, 208), (0, 2, 208), (0, 3, 222), (1, 4, 0), (1, 5, 228),
                               (1, 6, 222)])
    (batch,) = tally.push()
    got = {(r.cell, r.segment): r.devices for r in batch.presence}
    assert got == {(A[2], "domestic"): 2, (A[2], "IT"): 1, (B[2], "unknown"): 1,
                   (B[2], "CH"): 1, (B[2], "IT"): 1}
    assert batch.sketches == ()  # the hour is not over


def test_sketches_wait_for_the_hour_and_count_distinct_devices():
    tally = PresenceTally("c", 1, 900)
    rnd = random.Random(1)
    devices = [rnd.getrandbits(64) for _ in range(6000)]  # pseudonyms, many >= 2**63
    present: dict[int, set[int]] = {0: set(), 1: set()}
    batches = []
    for b in range(8):  # two hours of 15-min bins
        start = T0 + 900 * b
        rows = []
        for d in rnd.sample(devices, 2500):
            c = d % 2
            rows.append((c, d, 208))
            present[c].add(d)
        _close(tally, start, [A, B], rows)
        batches += tally.push()
        hours_out = {s.hour_start for x in batches for s in x.sketches}
        assert hours_out == ({T0} if b >= 3 else set()) | ({T0 + 3600} if b >= 7 else set())
    for x in batches:  # what goes over the wire comes back whole
        assert decode_batch(encode_batch(x)) == (x, None)
        assert len(encode_batch(x)) <= MAX_BATCH_BYTES
    for c, cell in enumerate((A, B)):
        union = datasketches.hll_union(12)
        for x in batches:
            for s in x.sketches:
                if s.cell == cell[2]:
                    union.update(datasketches.hll_sketch.deserialize(s.sketch))
        est = union.get_result().get_estimate()
        assert abs(est - len(present[c])) <= 0.03 * len(present[c]), (est, len(present[c]))


def test_final_push_hands_out_the_open_hour():
    tally = PresenceTally("c", 1, 900)
    _close(tally, T0, [A], [(0, 9, 208)])
    assert tally.push()[0].sketches == ()
    (last,) = tally.push(final=True)
    assert [(s.hour_start, s.cell, s.segment) for s in last.sketches] == [(T0, A[2], "domestic")]


def test_presence_state_hands_its_devices_to_the_tally():
    tally = PresenceTally("c", 1, 900)
    st = PresenceState(900, 7200, 60, on_close=tally.close_bin)
    st.observe(2**64 - 5, T0 + 10, A, 222)
    st.observe(7, T0 + 20, B, 208)
    closed = st.advance(T0 + 960)
    assert closed == [(T0, {A: 1, B: 1})]
    (batch,) = tally.push(final=True)
    assert {(r.cell, r.segment, r.devices) for r in batch.presence} == {
        (A[2], "IT", 1), (B[2], "domestic", 1)}
    items = {s.cell: datasketches.hll_sketch.deserialize(s.sketch).get_estimate()
             for s in batch.sketches}
    assert items == {A[2]: 1.0, B[2]: 1.0}


def test_presence_and_sketches_by_segment_and_age_band():
    """Rows per (cell, segment, band), only for the pairs with a device; the hour's sketch
    of a band counts that band's devices; band index -1 is "" (no profile)."""
    tally = PresenceTally("c", 1, 900)
    # devices 1-3 domestic in A: bands 30-44, 30-44, none; 4 an Italian roamer in A
    # (none); 5 domestic in B aged 75+
    rows = [(0, 1, 208, 2), (0, 2, 208, 2), (0, 3, 208, -1), (0, 4, 222, -1), (1, 5, 208, 5)]
    for b in range(4):
        cid, keys, mccs, bands = zip(*rows, strict=True)
        tally.close_bin(T0 + 900 * b, [A, B], np.array(cid, np.int32),
                        np.array(keys, np.uint64), np.array(mccs, np.uint16),
                        bands=np.array(bands, np.int64))
    batches = tally.push()
    got = {(r.bin_start, r.cell, r.segment, r.age_band): r.devices
           for b in batches for r in b.presence}
    want = {}
    for b in range(4):
        want |= {(T0 + 900 * b, A[2], "domestic", "30-44"): 2,
                 (T0 + 900 * b, A[2], "domestic", ""): 1, (T0 + 900 * b, A[2], "IT", ""): 1,
                 (T0 + 900 * b, B[2], "domestic", "75+"): 1}
    assert got == want
    sketches = {(r.cell, r.segment, r.age_band): datasketches.hll_sketch.deserialize(r.sketch)
                for b in batches for r in b.sketches}
    assert {k: round(s.get_estimate()) for k, s in sketches.items()} == {
        (A[2], "domestic", "30-44"): 2, (A[2], "domestic", ""): 1, (A[2], "IT", ""): 1,
        (B[2], "domestic", "75+"): 1}
    for b in batches:  # the rows go through the wire unchanged
        assert decode_batch(encode_batch(b)) == (b, None)
