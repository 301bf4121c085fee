"""The aggregator's embedded store: DuckDB behind a small interface.

One file holds every tally batch received. Two tables:

- `batches`: one row per batch key (collector, epoch, seq), the
  de-duplication record (DESIGN.md, "Transport": duplicates are dropped
  by key);
- `presence`: the rows of each batch, tagged with the batch key;
- `sketches`: the HLL sketches of each batch (per cell, hour and segment, compact
  DataSketches bytes), unioned on demand over any cells and hours (`unique_devices`);
- `stays`, `overnight`, `recurrence`, `flows`, `residents` (schema 3): the zone tallies of
  wire.tally version 3, one table each with the batch key; read summed over collectors
  (`stays()`, `overnight()`, `recurrence()`, `flows()`), except residents, a state as of
  a day: `residents()` takes each collector's latest row set of the day;
- schema 4: `residents` has an `age_band` column (wire.tally version 4; "" for rows without
  a profile and for version 3 rows), read by `residents_by_band()`.  A schema 2 or 3 file
  opened for writing is upgraded in place (the column added, "" in the old rows);
- schema 5: `presence` and `sketches` have an `age_band` column too (wire.tally version 5;
  "" for older rows), read with `bands=True` by `presence_by_segment()` and `sketches()`;
  without it they read summed (presence) or listed (sketches, unioned by segment by the
  reader) over bands, as before.  A schema 2 to 4 file opened for writing is upgraded in
  place.

`Store.put` writes both in one transaction, so a batch is either wholly
stored (and may be acknowledged) or not at all. Only one process can open
the file for writing; DuckDB locks it, and every failure to open is turned
into a `StoreError` whose message is one readable line.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import NamedTuple

import duckdb

from wire.tally import TallyBatch

SCHEMA_VERSION = 5
_UPGRADABLE = ("2", "3", "4")  # schema versions upgraded in place when opened for writing
_BAND_TABLES = ("residents", "presence", "sketches")  # the tables with an age_band column
_KEY = "collector VARCHAR NOT NULL, epoch BIGINT NOT NULL, seq BIGINT NOT NULL, "
_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (name VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS batches (collector VARCHAR NOT NULL, epoch BIGINT NOT NULL,"
    " seq BIGINT NOT NULL, bin_seconds INTEGER NOT NULL, rows INTEGER NOT NULL,"
    " received_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (collector, epoch, seq))",
    "CREATE TABLE IF NOT EXISTS presence (collector VARCHAR NOT NULL, epoch BIGINT NOT NULL,"
    " seq BIGINT NOT NULL, bin_start BIGINT NOT NULL, bin_seconds INTEGER NOT NULL,"
    " plmn VARCHAR NOT NULL, tac INTEGER NOT NULL, cell BIGINT NOT NULL,"
    " devices BIGINT NOT NULL, segment VARCHAR NOT NULL, age_band VARCHAR DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS sketches (collector VARCHAR NOT NULL, epoch BIGINT NOT NULL,"
    " seq BIGINT NOT NULL, hour_start BIGINT NOT NULL, plmn VARCHAR NOT NULL,"
    " tac INTEGER NOT NULL, cell BIGINT NOT NULL, segment VARCHAR NOT NULL,"
    " sketch BLOB NOT NULL, age_band VARCHAR DEFAULT '')",
    f"CREATE TABLE IF NOT EXISTS stays ({_KEY} start BIGINT NOT NULL, plmn VARCHAR NOT NULL,"
    " zone VARCHAR NOT NULL, segment VARCHAR NOT NULL, dwell VARCHAR NOT NULL,"
    " stays BIGINT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS overnight ({_KEY} day BIGINT NOT NULL, plmn VARCHAR NOT NULL,"
    " zone VARCHAR NOT NULL, segment VARCHAR NOT NULL, devices BIGINT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS recurrence ({_KEY} day BIGINT NOT NULL,"
    " plmn VARCHAR NOT NULL, zone VARCHAR NOT NULL, segment VARCHAR NOT NULL,"
    " recurrence VARCHAR NOT NULL, devices BIGINT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS flows ({_KEY} bin_start BIGINT NOT NULL,"
    " plmn VARCHAR NOT NULL, origin VARCHAR NOT NULL, destination VARCHAR NOT NULL,"
    " segment VARCHAR NOT NULL, devices BIGINT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS residents ({_KEY} day_start BIGINT NOT NULL,"
    " plmn VARCHAR NOT NULL, zone VARCHAR NOT NULL, devices BIGINT NOT NULL,"
    " age_band VARCHAR DEFAULT '')",
)
# zone tally kind -> (table, row fields in column order)
_ZONE_TABLES = {
    "stays": ("start", "plmn", "zone", "segment", "dwell", "stays"),
    "overnight": ("day", "plmn", "zone", "segment", "devices"),
    "recurrence": ("day", "plmn", "zone", "segment", "recurrence", "devices"),
    "flows": ("bin_start", "plmn", "origin", "destination", "segment", "devices"),
    "residents": ("day_start", "plmn", "zone", "devices", "age_band"),
}
_INSERT_ROWS = (
    "INSERT INTO presence SELECT ?, ?, ?, unnest(?), ?, unnest(?), unnest(?), unnest(?),"
    " unnest(?), unnest(?), unnest(?)"
)
_INSERT_SKETCHES = (
    "INSERT INTO sketches SELECT ?, ?, ?, unnest(?), unnest(?), unnest(?), unnest(?),"
    " unnest(?), unnest(?), unnest(?)"
)
_LOCK_RE = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


class StoreError(Exception):
    """The store cannot be opened or used; the message is one line for the operator."""


class CellPresence(NamedTuple):
    """Devices present in one cell during one bin, summed over collectors."""

    start: int
    seconds: int
    plmn: str
    tac: int
    cell: int
    devices: int


def _open_error(path: Path, exc: duckdb.Error) -> StoreError:
    """A one-line StoreError for a failure to open `path`."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    lock = _LOCK_RE.search(text)
    if lock:
        return StoreError(f"database {path} is locked by another process (PID {lock.group(2)},"
                          f" {lock.group(1)}); stop that process (aggregator serve) first")
    if "not a valid DuckDB database" in text:
        return StoreError(f"{path} is not a DuckDB database")
    return StoreError(f"cannot open database {path}: {text}")


class Store:
    """Tally batches in a DuckDB file.

    `Store(path)` opens (and creates) the file for writing, as `serve` does;
    `Store(path, read_only=True)` opens an existing file for `report`.
    Not thread-safe: one thread uses a store at a time.
    """

    __slots__ = ("path", "_con")

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise _open_error(self.path, exc) from None
        if read_only:
            self._check_schema()
        else:
            self._create_schema()

    def _create_schema(self) -> None:
        for ddl in _DDL:
            self._con.execute(ddl)
        self._con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                          [str(SCHEMA_VERSION)])
        self._upgrade()
        self._check_schema()

    def _upgrade(self) -> None:
        """Bring a schema 2 to 4 file to the current schema (the DDL above has created the
        tables it lacked): residents, presence and sketches gain their age_band column."""
        row = self._con.execute(
            "SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        if row is None or row[0] not in _UPGRADABLE:
            return
        banded = {r[0] for r in self._con.execute(
            "SELECT table_name FROM information_schema.columns"
            " WHERE column_name = 'age_band'").fetchall()}
        self._con.execute("BEGIN TRANSACTION")
        try:
            for table in _BAND_TABLES:
                if table not in banded:
                    self._con.execute(f"ALTER TABLE {table} ADD COLUMN age_band VARCHAR"
                                      " DEFAULT ''")
            self._con.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'",
                              [str(SCHEMA_VERSION)])
            self._con.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _check_schema(self) -> None:
        try:
            row = self._con.execute(
                "SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        except duckdb.CatalogException:
            row = None
        if row is None:
            self.close()
            raise StoreError(f"{self.path} is not a cellcensus aggregator database")
        if row[0] != str(SCHEMA_VERSION):
            self.close()
            hint = ("; open it once for writing (aggregator serve) to upgrade it"
                    if row[0] in _UPGRADABLE else "")
            raise StoreError(f"{self.path} has schema version {row[0]}, this aggregator"
                             f" reads version {SCHEMA_VERSION}{hint}")

    def put(self, batch: TallyBatch) -> str:
        """Store a batch in one transaction: 'stored', or 'duplicate' if its key is known.

        Raises duckdb.Error if the database fails; nothing of the batch is
        then stored.
        """
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            known = con.execute(
                "SELECT 1 FROM batches WHERE collector = ? AND epoch = ? AND seq = ?",
                list(batch.key)).fetchone()
            if known is not None:
                con.execute("ROLLBACK")
                return "duplicate"
            con.execute("INSERT INTO batches (collector, epoch, seq, bin_seconds, rows)"
                        " VALUES (?, ?, ?, ?, ?)",
                        [*batch.key, batch.bin_seconds, batch.rows()])
            self._insert_rows(batch)
            con.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return "stored"

    def _rollback(self) -> None:
        """Abort the open transaction; a failed ROLLBACK (dead database) is not news."""
        with contextlib.suppress(duckdb.Error):
            self._con.execute("ROLLBACK")

    def _insert_rows(self, batch: TallyBatch) -> None:
        """Insert the presence rows and sketches of `batch` (inside put's transaction)."""
        rows = batch.presence
        if rows:
            self._con.execute(_INSERT_ROWS, [
                *batch.key,
                [r.bin_start for r in rows], batch.bin_seconds, [r.plmn for r in rows],
                [r.tac for r in rows], [r.cell for r in rows], [r.devices for r in rows],
                [r.segment for r in rows], [r.age_band for r in rows],
            ])
        sk = batch.sketches
        if sk:
            self._con.execute(_INSERT_SKETCHES, [
                *batch.key, [r.hour_start for r in sk], [r.plmn for r in sk],
                [r.tac for r in sk], [r.cell for r in sk], [r.segment for r in sk],
                [r.sketch for r in sk], [r.age_band for r in sk],
            ])
        for kind, fields in _ZONE_TABLES.items():
            rows = getattr(batch, kind)
            if rows:
                cols = ", ".join(["?, ?, ?", *["unnest(?)"] * len(fields)])
                self._con.execute(f"INSERT INTO {kind} SELECT {cols}", [
                    *batch.key, *([getattr(r, f) for r in rows] for f in fields)])

    def cell_presence(self, start: int | None = None, end: int | None = None
                      ) -> list[CellPresence]:
        """Devices per (bin, plmn, tac, cell), summed over collectors and batches.

        `start`/`end` (POSIX seconds) keep bins with start <= bin_start < end.
        Rows are ordered by (start, plmn, tac, cell).
        """
        lo = start if start is not None else -(2**62)
        hi = end if end is not None else 2**62
        rows = self._con.execute(
            "SELECT bin_start, bin_seconds, plmn, tac, cell, sum(devices)::BIGINT"
            " FROM presence WHERE bin_start >= ? AND bin_start < ?"
            " GROUP BY bin_start, bin_seconds, plmn, tac, cell"
            " ORDER BY bin_start, plmn, tac, cell, bin_seconds", [lo, hi]).fetchall()
        return [CellPresence(*row) for row in rows]

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection, for read-only SQL (aggregator.export)."""
        return self._con

    def presence_by_segment(self, start: int | None = None, end: int | None = None,
                            bands: bool = False) -> list[tuple]:
        """(bin_start, bin_seconds, plmn, cell, segment, devices summed over collectors and
        age bands) of the bins in [start, end); with `bands`, (bin_start, bin_seconds,
        plmn, cell, segment, age band, devices) summed over collectors."""
        lo = start if start is not None else -(2**62)
        hi = end if end is not None else 2**62
        band = ", coalesce(age_band, '')" if bands else ""
        return self._con.execute(
            f"SELECT bin_start, bin_seconds, plmn, cell, segment{band}, sum(devices)::BIGINT"
            " FROM presence WHERE bin_start >= ? AND bin_start < ?"
            " GROUP BY ALL ORDER BY ALL", [lo, hi]).fetchall()

    def sketches(self, start: int | None = None, end: int | None = None,
                 bands: bool = False) -> list[tuple]:
        """(hour start, plmn, tac, cell, segment, sketch bytes) of the hours in [start, end)
        (a cell-hour-segment's sketches of several age bands are several rows: a union
        counts their devices once); with `bands`, (hour start, plmn, tac, cell, segment,
        age band, sketch bytes)."""
        lo = start if start is not None else -(2**62)
        hi = end if end is not None else 2**62
        band = " coalesce(age_band, ''), " if bands else " "
        return self._con.execute(
            f"SELECT hour_start, plmn, tac, cell, segment,{band}sketch FROM sketches"
            " WHERE hour_start >= ? AND hour_start < ?"
            " ORDER BY hour_start, plmn, tac, cell, segment, age_band, collector, epoch, seq",
            [lo, hi]).fetchall()

    def _zone_rows(self, kind: str, time_col: str, start: int | None, end: int | None,
                   group: tuple[str, ...], total: str) -> list[tuple]:
        lo = start if start is not None else -(2**62)
        hi = end if end is not None else 2**62
        cols = ", ".join(group)
        return self._con.execute(
            f"SELECT {cols}, sum({total})::BIGINT FROM {kind}"
            f" WHERE {time_col} >= ? AND {time_col} < ? GROUP BY {cols} ORDER BY {cols}",
            [lo, hi]).fetchall()

    def stays(self, start: int | None = None, end: int | None = None) -> list[tuple]:
        """(stay start, plmn, zone, segment, dwell class, stays) of the stays started in
        [start, end), summed over collectors and batches."""
        return self._zone_rows("stays", "start", start, end,
                               ("start", "plmn", "zone", "segment", "dwell"), "stays")

    def overnight(self, start: int | None = None, end: int | None = None) -> list[tuple]:
        """(day, plmn, zone, segment, devices) of the overnight stays of days in [start, end)."""
        return self._zone_rows("overnight", "day", start, end,
                               ("day", "plmn", "zone", "segment"), "devices")

    def recurrence(self, start: int | None = None, end: int | None = None) -> list[tuple]:
        """(day, plmn, zone, segment, recurrence class, devices) of the days in [start, end)."""
        return self._zone_rows("recurrence", "day", start, end,
                               ("day", "plmn", "zone", "segment", "recurrence"), "devices")

    def flows(self, start: int | None = None, end: int | None = None) -> list[tuple]:
        """(bin start, plmn, origin, destination, segment, devices) of bins in [start, end)."""
        return self._zone_rows("flows", "bin_start", start, end,
                               ("bin_start", "plmn", "origin", "destination", "segment"),
                               "devices")

    def residents(self, day_start: int | None = None) -> dict[str, int]:
        """{home zone: devices} as of the latest day at or before `day_start` (None: the
        latest day stored): per collector, the rows of its last batch (epoch, seq) that
        carries residents of that day (a later row set of a day replaces an earlier one),
        summed over collectors, PLMNs and age bands."""
        return dict(self._residents(day_start, ("zone",)))

    def residents_by_band(self, day_start: int | None = None) -> dict[str, dict[str, int]]:
        """{home zone: {age band: devices}} as `residents()` (the same rows), by the age
        band of the subscriber profiles ("": no profile or unknown band)."""
        out: dict[str, dict[str, int]] = {}
        for zone, band, n in self._residents(day_start, ("zone", "age_band")):
            out.setdefault(zone, {})[band] = n
        return out

    def _residents(self, day_start: int | None, group: tuple[str, ...]) -> list[tuple]:
        hi = day_start if day_start is not None else 2**62
        day = self._con.execute("SELECT max(day_start) FROM residents WHERE day_start <= ?",
                                [hi]).fetchone()[0]
        if day is None:
            return []
        cols = ", ".join(f"coalesce(r.{c}, '')" if c == "age_band" else f"r.{c}"
                         for c in group)
        return self._con.execute(
            "WITH last AS (SELECT collector, arg_max(seq, (epoch, seq)) AS seq,"
            " arg_max(epoch, (epoch, seq)) AS epoch FROM residents WHERE day_start = ?"
            " GROUP BY collector)"
            f" SELECT {cols}, sum(r.devices)::BIGINT FROM residents r JOIN last l"
            " ON r.collector = l.collector AND r.epoch = l.epoch AND r.seq = l.seq"
            f" WHERE r.day_start = ? GROUP BY ALL ORDER BY ALL", [day, day]).fetchall()

    def counts(self) -> tuple[int, int]:
        """(batches, presence rows) stored so far."""
        batches = self._con.execute("SELECT count(*) FROM batches").fetchone()[0]
        rows = self._con.execute("SELECT count(*) FROM presence").fetchone()[0]
        return batches, rows

    def close(self) -> None:
        """Close the database (idempotent); committed batches are already on disk."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
