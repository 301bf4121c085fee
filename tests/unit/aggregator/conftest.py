"""A small store filled with known rows, shared by the report, render and export tests.

Zones (cells.csv): cells 1 and 2 are zone `a` (census 1000), cell 3 zone `b` (census 500),
cell 4 zone `c` (census 0).  One hour, T0 = 2026-12-08 19:00 UTC, four 15-minute bins.

    cell 1 domestic 90 per bin, cell 2 domestic 30        → zone a: mean 120
    cell 3 domestic 20 per bin, IT 10 in two bins of four  → zone b: 20 domestic, 5 IT
    cell 4 IT 8 per bin                                     → zone c: 8 IT
    sketches of the hour: cell 1 d0..d89, cell 2 d80..d109 (10 shared), cell 3 d200..d229
    and i0..i14 (IT), cell 4 IT i100..i129 and domestic d300..d304

Distinct non-foreign devices: 110 + 30 + 5 = 145, so without residents rows the national
weight is 1500 / 145; IT weighs 1 / (0.5 × 0.8) = 2.5 from the config file.
"""

from __future__ import annotations

import datetime as dt

import datasketches
import pytest

from aggregator.store import Store
from wire.reference import Cell
from wire.tally import PresenceRow, SketchRow, TallyBatch

T0 = int(dt.datetime(2026, 12, 8, 19, 0, tzinfo=dt.UTC).timestamp())
BINS = [T0 + i * 900 for i in range(4)]
PLMN = "00101"
CENSUS = {"a": 1000, "b": 500, "c": 0}
ZONE_OF_CELL = {1: "a", 2: "a", 3: "b", 4: "c"}


def sketch(names: list[str]) -> bytes:
    s = datasketches.hll_sketch(12, datasketches.tgt_hll_type.HLL_4)
    for name in names:
        s.update(name)
    return s.serialize_compact()


def ids(prefix: str, lo: int, hi: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(lo, hi)]


def presence_rows() -> list[PresenceRow]:
    rows = []
    for i, t in enumerate(BINS):
        rows += [PresenceRow(t, PLMN, 1, 1, 90, "domestic"),
                 PresenceRow(t, PLMN, 1, 2, 30, "domestic"),
                 PresenceRow(t, PLMN, 1, 3, 20, "domestic"),
                 PresenceRow(t, PLMN, 1, 4, 8, "IT")]
        if i < 2:
            rows.append(PresenceRow(t, PLMN, 1, 3, 10, "IT"))
    return rows


def sketch_rows(hour: int = T0) -> list[SketchRow]:
    return [SketchRow(hour, PLMN, 1, 1, "domestic", sketch(ids("d", 0, 90))),
            SketchRow(hour, PLMN, 1, 2, "domestic", sketch(ids("d", 80, 110))),
            SketchRow(hour, PLMN, 1, 3, "domestic", sketch(ids("d", 200, 230))),
            SketchRow(hour, PLMN, 1, 3, "IT", sketch(ids("i", 0, 15))),
            SketchRow(hour, PLMN, 1, 4, "IT", sketch(ids("i", 100, 130))),
            SketchRow(hour, PLMN, 1, 4, "domestic", sketch(ids("d", 300, 305)))]


def cells() -> list[Cell]:
    return [Cell("LTE", "001", "01", 1, c, 4.8, 45.7, 500, zone)
            for c, zone in ZONE_OF_CELL.items()]


@pytest.fixture
def known_db(tmp_path):
    path = tmp_path / "known.duckdb"
    with Store(path) as store:
        # split over two collectors: the store sums them
        rows = presence_rows()
        store.put(TallyBatch("mme-1", 1, 0, 900, tuple(rows[::2]), tuple(sketch_rows()[:3])))
        store.put(TallyBatch("mme-2", 1, 0, 900, tuple(rows[1::2]), tuple(sketch_rows()[3:])))
    return path


@pytest.fixture
def reference(tmp_path):
    """A reference folder of the known store: cells.csv and census.csv."""
    folder = tmp_path / "ref"
    folder.mkdir()
    lines = ["radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,"
             "averageSignal,zone"]
    lines += [f"LTE,001,01,1,{c},0,4.8,45.7,500,1,1,0,0,0,{z}" for c, z in ZONE_OF_CELL.items()]
    (folder / "cells.csv").write_text("\n".join(lines) + "\n")
    census = ["zone,age_band,people"]
    for zone, people in CENSUS.items():
        census += [f"{zone},15-29,{people}"] + [f"{zone},{b},0" for b in
                                               ("0-14", "30-44", "45-59", "60-74", "75+")]
    (folder / "census.csv").write_text("\n".join(census) + "\n")
    (folder / "agg.toml").write_text(
        "[foreign]\nIT = { capture_share = 0.5, carry_rate = 0.8 }\n")
    return folder
