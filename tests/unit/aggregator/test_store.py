"""Unit tests of aggregator.store: put, duplicates, transactions, presence sums."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.store import CellPresence, Store, StoreError
from wire.tally import PresenceRow, TallyBatch

# 2026-12-08 19:00 UTC and the next 15-minute bin, written out by hand.
T0 = int(dt.datetime(2026, 12, 8, 19, 0, tzinfo=dt.UTC).timestamp())
T1 = T0 + 900


def batch(collector: str, seq: int, rows: list[tuple], epoch: int = 1) -> TallyBatch:
    """A batch of (bin_start, plmn, tac, cell, devices) rows."""
    return TallyBatch(collector, epoch, seq, 900, tuple(PresenceRow(*r) for r in rows))


def test_put_stores_then_reports_duplicate(tmp_path):
    with Store(tmp_path / "a.duckdb") as store:
        b = batch("mme-1", 1, [(T0, "00101", 1, 10, 3)])
        assert store.put(b) == "stored"
        assert store.put(b) == "duplicate"
        assert store.counts() == (1, 1)
        assert store.cell_presence() == [CellPresence(T0, 900, "00101", 1, 10, 3)]


def test_same_seq_other_epoch_or_collector_is_new(tmp_path):
    with Store(tmp_path / "a.duckdb") as store:
        assert store.put(batch("mme-1", 1, [(T0, "00101", 1, 10, 1)])) == "stored"
        assert store.put(batch("mme-1", 1, [(T0, "00101", 1, 10, 1)], epoch=2)) == "stored"
        assert store.put(batch("mme-2", 1, [(T0, "00101", 1, 10, 1)])) == "stored"
        assert store.counts() == (3, 3)


def test_presence_sums_over_collectors_and_batches(tmp_path):
    with Store(tmp_path / "a.duckdb") as store:
        store.put(batch("mme-1", 1, [(T0, "00101", 1, 10, 3), (T0, "00101", 1, 11, 4)]))
        store.put(batch("mme-2", 1, [(T0, "00101", 1, 10, 5), (T1, "00101", 1, 10, 2)]))
        store.put(batch("mme-1", 2, [(T0, "20801", 7, 10, 6)]))
        got = store.cell_presence()
    # cell 10 at T0 seen by both collectors: 3 + 5; other PLMN kept apart.
    assert got == [
        CellPresence(T0, 900, "00101", 1, 10, 8),
        CellPresence(T0, 900, "00101", 1, 11, 4),
        CellPresence(T0, 900, "20801", 7, 10, 6),
        CellPresence(T1, 900, "00101", 1, 10, 2),
    ]


def test_presence_time_window(tmp_path):
    with Store(tmp_path / "a.duckdb") as store:
        store.put(batch("mme-1", 1, [(T0, "00101", 1, 10, 3), (T1, "00101", 1, 10, 4)]))
        assert [p.start for p in store.cell_presence(start=T1)] == [T1]
        assert [p.start for p in store.cell_presence(end=T1)] == [T0]


def test_empty_batch_is_stored_and_deduplicated(tmp_path):
    with Store(tmp_path / "a.duckdb") as store:
        assert store.put(batch("mme-1", 1, [])) == "stored"
        assert store.put(batch("mme-1", 1, [])) == "duplicate"
        assert store.counts() == (1, 0)


def test_failed_put_leaves_nothing_and_can_be_retried(tmp_path, monkeypatch):
    store = Store(tmp_path / "a.duckdb")
    b = batch("mme-1", 1, [(T0, "00101", 1, 10, 3)])

    def broken(self, _batch):
        raise duckdb.IOException("disk full (simulated)")

    monkeypatch.setattr(Store, "_insert_rows", broken)
    with pytest.raises(duckdb.IOException):
        store.put(b)
    assert store.counts() == (0, 0)  # the batch key row was rolled back too
    monkeypatch.undo()
    assert store.put(b) == "stored"
    assert store.counts() == (1, 1)
    store.close()


def test_data_and_dedupe_survive_reopen(tmp_path):
    path = tmp_path / "a.duckdb"
    with Store(path) as store:
        store.put(batch("mme-1", 1, [(T0, "00101", 1, 10, 3)]))
    with Store(path) as store:
        assert store.put(batch("mme-1", 1, [(T0, "00101", 1, 10, 3)])) == "duplicate"
    with Store(path, read_only=True) as store:
        assert store.cell_presence() == [CellPresence(T0, 900, "00101", 1, 10, 3)]


def test_large_batch(tmp_path):
    rows = [(T0, "00101", 1, cell, 2) for cell in range(20_000)]
    with Store(tmp_path / "a.duckdb") as store:
        assert store.put(batch("mme-1", 1, rows)) == "stored"
        got = store.cell_presence()
    assert len(got) == 20_000
    assert sum(p.devices for p in got) == 40_000


def test_read_only_open_errors_are_one_line(tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database" * 500)
    with pytest.raises(StoreError, match="not a DuckDB database") as err:
        Store(junk, read_only=True)
    assert "\n" not in str(err.value)
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()  # a DuckDB file without our tables
    with pytest.raises(StoreError, match="not a cellcensus aggregator database"):
        Store(other, read_only=True)


ROW = st.tuples(st.integers(0, 3), st.sampled_from(["00101", "20801"]), st.integers(1, 3),
                st.integers(1, 4), st.integers(1, 50))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["mme-1", "mme-2", "amf-1"]), st.lists(ROW, max_size=8)),
                max_size=6))
def test_presence_is_the_sum_of_every_stored_row(batches):
    expected: Counter = Counter()
    with tempfile.TemporaryDirectory() as tmp, Store(f"{tmp}/a.duckdb") as store:
        for seq, (collector, rows) in enumerate(batches):
            rows = [(T0 + 900 * b, plmn, tac, cell, n) for b, plmn, tac, cell, n in rows]
            assert store.put(batch(collector, seq, rows)) == "stored"
            assert store.put(batch(collector, seq, rows)) == "duplicate"  # never counted twice
            for start, plmn, tac, cell, n in rows:
                expected[(start, plmn, tac, cell)] += n
        got = {(p.start, p.plmn, p.tac, p.cell): p.devices for p in store.cell_presence()}
    assert got == dict(expected)


def test_zone_tallies_summed_and_residents_latest_per_collector_and_day(tmp_path):
    from wire.tally import OvernightRow, RecurrenceRow, ResidentRow, StayRow

    day = T0 - T0 % 86400

    def zb(collector: str, seq: int, **rows) -> TallyBatch:
        return TallyBatch(collector, 1, seq, 900, (), **rows)

    with Store(tmp_path / "a.duckdb") as store:
        assert store.residents() == {}
        store.put(zb("a", 1, residents=(ResidentRow(day - 86400, "00101", "park", 5),)))
        store.put(zb("a", 2, residents=(ResidentRow(day, "00101", "park", 7),
                                        ResidentRow(day, "00101", "gare", 2))))
        # a later row set of the same day replaces a's earlier one; b adds its own
        store.put(zb("a", 3, residents=(ResidentRow(day, "00101", "park", 8),)))
        store.put(zb("b", 1, residents=(ResidentRow(day, "00101", "park", 1),)),)
        store.put(zb("a", 4, stays=(StayRow(T0, "00101", "park", "IT", "ge4h", 2),),
                     overnight=(OvernightRow(day, "00101", "park", "IT", 3),),
                     recurrence=(RecurrenceRow(day, "00101", "park", "domestic", "first", 4),)))
        store.put(zb("b", 2, stays=(StayRow(T0, "00101", "park", "IT", "ge4h", 1),)))
        assert store.residents() == {"park": 9}
        assert store.residents(day - 1) == {"park": 5}
        assert store.residents(day - 86400 - 1) == {}
        assert store.stays() == [(T0, "00101", "park", "IT", "ge4h", 3)]
        assert store.stays(T0 + 900) == []
        assert store.overnight() == [(day, "00101", "park", "IT", 3)]
        assert store.recurrence() == [(day, "00101", "park", "domestic", "first", 4)]


def test_residents_by_band_latest_row_set_summed_over_bands(tmp_path):
    from wire.tally import ResidentRow

    day = T0 - T0 % 86400

    def rb(collector: str, seq: int, *rows: tuple) -> TallyBatch:
        return TallyBatch(collector, 1, seq, 900, (), residents=tuple(
            ResidentRow(day, "00101", *r) for r in rows))

    with Store(tmp_path / "a.duckdb") as store:
        assert store.residents_by_band() == {}
        store.put(rb("a", 1, ("park", 9, "30-44")))
        store.put(rb("a", 2, ("park", 5, "30-44"), ("park", 2, "75+"), ("park", 1, ""),
                     ("gare", 3, "0-14")))
        store.put(rb("b", 1, ("park", 4, "30-44")))
        assert store.residents_by_band() == {"park": {"30-44": 9, "75+": 2, "": 1},
                                             "gare": {"0-14": 3}}
        assert store.residents() == {"park": 12, "gare": 3}
        assert store.residents_by_band(day - 1) == {}


def test_schema_3_file_upgraded_in_place(tmp_path):
    """A database written by the schema 3 aggregator (residents without age_band) is
    upgraded when opened for writing; its rows read with the band ""; read-only refuses
    it with a hint until then."""
    from wire.tally import ResidentRow

    path, day = tmp_path / "old.duckdb", T0 - T0 % 86400
    with Store(path) as store:  # make it look like schema 3, as that version created it
        store.con.execute("DROP TABLE residents")
        store.con.execute("CREATE TABLE residents (collector VARCHAR NOT NULL, epoch BIGINT"
                          " NOT NULL, seq BIGINT NOT NULL, day_start BIGINT NOT NULL, plmn"
                          " VARCHAR NOT NULL, zone VARCHAR NOT NULL, devices BIGINT NOT NULL)")
        store.con.execute("INSERT INTO residents VALUES ('a', 1, 1, ?, '00101', 'park', 6)",
                          [day])
        store.con.execute("UPDATE meta SET value = '3' WHERE name = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 3.*aggregator serve"):
        Store(path, read_only=True)
    with Store(path) as store:
        assert store.residents_by_band() == {"park": {"": 6}}
        store.put(TallyBatch("a", 1, 2, 900, (), residents=(
            ResidentRow(day, "00101", "park", 4, "15-29"),)))
        assert store.residents_by_band() == {"park": {"15-29": 4}}
    with Store(path, read_only=True) as store:
        assert store.residents() == {"park": 4}


def test_schema_4_file_upgraded_in_place(tmp_path):
    """A database written by the schema 4 aggregator (presence and sketches without
    age_band) is upgraded when opened for writing: its rows read with the band "", new
    rows keep theirs; read-only refuses it with a hint until then."""
    from wire.tally import PresenceRow

    path = tmp_path / "old.duckdb"
    with Store(path) as store:  # make it look like schema 4, as that version created it
        for table in ("presence", "sketches"):
            store.con.execute(f"ALTER TABLE {table} DROP COLUMN age_band")
        store.con.execute("INSERT INTO presence VALUES ('a', 1, 1, ?, 900, '00101', 1, 10, 6,"
                          " 'domestic')", [T0])
        store.con.execute("UPDATE meta SET value = '4' WHERE name = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 4.*aggregator serve"):
        Store(path, read_only=True)
    with Store(path) as store:
        assert store.presence_by_segment(bands=True) == [(T0, 900, "00101", 10, "domestic",
                                                          "", 6)]
        store.put(TallyBatch("a", 1, 2, 900, (PresenceRow(T0, "00101", 1, 10, 4, "domestic",
                                                           "60-74"),)))
    with Store(path, read_only=True) as store:
        assert store.presence_by_segment(bands=True) == [
            (T0, 900, "00101", 10, "domestic", "", 6),
            (T0, 900, "00101", 10, "domestic", "60-74", 4)]
        assert store.presence_by_segment() == [(T0, 900, "00101", 10, "domestic", 10)]
        assert store.sketches(bands=True) == []
