"""Parquet export of the store, partitioned by day (DESIGN.md "Scale").

    aggregator export --db agg.duckdb --out history/
    history/presence/day=2026-12-08/data_0.parquet
    history/sketches/day=2026-12-08/data_0.parquet   (the HLL sketches as binary)
    history/batches/day=2026-12-08/data_0.parquet    (by the day a batch was received)

Every table of the store but `meta` is written with DuckDB's `COPY ... (FORMAT PARQUET,
PARTITION_BY (day))`; `day` is the UTC date (YYYY-MM-DD) of the table's first time column
in `TIME_COLUMNS` (a table without one is one file, `TABLE/data.parquet`).  DuckDB reads it
back with `read_parquet('history/presence/*/*.parquet', hive_partitioning = true)`, Spark
with `spark.read.parquet`, and Spark's `hll_union_agg` merges the same DataSketches bytes.
"""

from __future__ import annotations

from pathlib import Path

TIME_COLUMNS = ("bin_start", "hour_start", "day_start", "start", "received_at")
_SKIP = frozenset({"meta"})


def _connection(store):
    """The store's DuckDB connection (read through SQL here)."""
    return store.con


def day_expression(column: str, sql_type: str) -> str:
    """SQL for the UTC date (text) of a time column: POSIX seconds or a timestamp."""
    if "TIMESTAMP" in sql_type.upper():
        if "TIME ZONE" in sql_type.upper():
            return f"strftime(timezone('UTC', \"{column}\"), '%Y-%m-%d')"
        return f"strftime(\"{column}\", '%Y-%m-%d')"
    return f"strftime(make_timestamp(\"{column}\" * 1000000), '%Y-%m-%d')"


def export_parquet(store, out: str | Path) -> dict[str, int]:
    """Write each table of `store` under `out` (module docstring); {table: rows written}."""
    con, folder = _connection(store), Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        " ORDER BY table_name").fetchall() if r[0] not in _SKIP]
    counts = {}
    for table in tables:
        columns = dict(con.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'main' AND table_name = ?", [table]).fetchall())
        time = next((c for c in TIME_COLUMNS if c in columns), None)
        target = str(folder / table).replace("'", "''")
        if time is None:
            (folder / table).mkdir(exist_ok=True)
            con.execute(f"COPY \"{table}\" TO '{target}/data.parquet' (FORMAT PARQUET)")
        else:
            day = day_expression(time, columns[time])
            con.execute(f"COPY (SELECT *, {day} AS day FROM \"{table}\") TO '{target}'"
                        " (FORMAT PARQUET, PARTITION_BY (day))")
        counts[table] = con.execute(f"SELECT count(*) FROM \"{table}\"").fetchone()[0]
    return counts
