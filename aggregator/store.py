"""The aggregator's embedded store: DuckDB behind a small interface.

One file holds every tally batch received. Two tables:

- `batches`: one row per batch key (collector, epoch, seq), the
  de-duplication record (DESIGN.md, "Transport": duplicates are dropped
  by key);
- `presence`: the rows of each batch, tagged with the batch key;
- `sketches`: the HLL sketches of each batch (per cell, hour and segment, compact
  DataSketches bytes), unioned on demand over any cells and hours (`unique_devices`).

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

SCHEMA_VERSION = 2
_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (name VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS batches (collector VARCHAR NOT NULL, epoch BIGINT NOT NULL,"
    " seq BIGINT NOT NULL, bin_seconds INTEGER NOT NULL, rows INTEGER NOT NULL,"
    " received_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (collector, epoch, seq))",
    "CREATE TABLE IF NOT EXISTS presence (collector VARCHAR NOT NULL, epoch BIGINT NOT NULL,"
    " seq BIGINT NOT NULL, bin_start BIGINT NOT NULL, bin_seconds INTEGER NOT NULL,"
    " plmn VARCHAR NOT NULL, tac INTEGER NOT NULL, cell BIGINT NOT NULL,"
    " devices BIGINT NOT NULL, segment VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sketches (collector VARCHAR NOT NULL, epoch BIGINT NOT NULL,"
    " seq BIGINT NOT NULL, hour_start BIGINT NOT NULL, plmn VARCHAR NOT NULL,"
    " tac INTEGER NOT NULL, cell BIGINT NOT NULL, segment VARCHAR NOT NULL,"
    " sketch BLOB NOT NULL)",
)
_INSERT_ROWS = (
    "INSERT INTO presence SELECT ?, ?, ?, unnest(?), ?, unnest(?), unnest(?), unnest(?),"
    " unnest(?), unnest(?)"
)
_INSERT_SKETCHES = (
    "INSERT INTO sketches SELECT ?, ?, ?, unnest(?), unnest(?), unnest(?), unnest(?),"
    " unnest(?), unnest(?)"
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
        self._check_schema()

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
            raise StoreError(f"{self.path} has schema version {row[0]}, this aggregator"
                             f" reads version {SCHEMA_VERSION}")

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
                        [*batch.key, batch.bin_seconds, len(batch.presence) + len(batch.sketches)])
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
                [r.segment for r in rows],
            ])
        sk = batch.sketches
        if sk:
            self._con.execute(_INSERT_SKETCHES, [
                *batch.key, [r.hour_start for r in sk], [r.plmn for r in sk],
                [r.tac for r in sk], [r.cell for r in sk], [r.segment for r in sk],
                [r.sketch for r in sk],
            ])

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

    def sketches(self, start: int | None = None, end: int | None = None
                 ) -> list[tuple[int, str, int, int, str, bytes]]:
        """(hour start, plmn, tac, cell, segment, sketch bytes) of the hours in [start, end)."""
        lo = start if start is not None else -(2**62)
        hi = end if end is not None else 2**62
        return self._con.execute(
            "SELECT hour_start, plmn, tac, cell, segment, sketch FROM sketches"
            " WHERE hour_start >= ? AND hour_start < ?"
            " ORDER BY hour_start, plmn, tac, cell, segment, collector, epoch, seq",
            [lo, hi]).fetchall()

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
