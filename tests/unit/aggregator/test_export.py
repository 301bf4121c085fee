"""`aggregator export`: Parquet partitioned by day, read back with DuckDB equal to the store."""

from __future__ import annotations

import duckdb

from aggregator.__main__ import main
from aggregator.store import Store
from tests.unit.aggregator.conftest import PLMN, T0, sketch, sketch_rows
from wire.tally import PresenceRow, SketchRow, TallyBatch

DAY = 86400


def test_export_reads_back_equal(known_db, tmp_path):
    # a second day, so that there are two partitions
    with Store(known_db) as store:
        store.put(TallyBatch("mme-1", 1, 1, 900, (PresenceRow(T0 + DAY, PLMN, 1, 1, 7),),
                             (SketchRow(T0 + DAY, PLMN, 1, 1, "unknown", sketch(["x"])),)))
    out = tmp_path / "history"
    assert main(["export", "--db", str(known_db), "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "presence").iterdir()) == [
        "day=2026-12-08", "day=2026-12-09"]
    with duckdb.connect(str(known_db), read_only=True) as con:
        for table, time in (("presence", "bin_start"), ("sketches", "hour_start"),
                            ("batches", "received_at")):
            columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            cols = ", ".join(columns)
            want = sorted(con.execute(f"SELECT {cols} FROM {table}").fetchall())
            got = sorted(con.execute(
                f"SELECT {cols} FROM read_parquet('{out}/{table}/*/*.parquet',"
                " hive_partitioning = true)").fetchall())
            assert got == want, table
            days = con.execute(
                f"SELECT DISTINCT day FROM read_parquet('{out}/{table}/*/*.parquet',"
                " hive_partitioning = true)").fetchall()
            assert len(days) == (2 if time != "received_at" else 1)
        blobs = con.execute(f"SELECT sketch FROM read_parquet('{out}/sketches/*/*.parquet')"
                            " ORDER BY hour_start, cell, segment").fetchall()
    assert len(blobs) == len(sketch_rows()) + 1
    assert all(isinstance(b[0], bytes) for b in blobs)  # binary, unioned as they are


def test_export_refuses_a_used_folder(known_db, tmp_path, capsys):
    out = tmp_path / "used"
    out.mkdir()
    (out / "x").write_text("x")
    assert main(["export", "--db", str(known_db), "--out", str(out)]) == 2
    assert "--out: " in capsys.readouterr().err
