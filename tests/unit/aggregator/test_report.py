"""Unit tests of aggregator.report and of the `report` command's formats and errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aggregator.__main__ import main
from aggregator.render import render_table
from aggregator.report import ReportOptions, build_report
from aggregator.store import Store
from wire.tally import PresenceRow, TallyBatch

T0 = int(dt.datetime(2026, 12, 8, 19, 0, tzinfo=dt.UTC).timestamp())
ROWS_1 = [(T0, "00101", 1, 10, 3), (T0 + 900, "00101", 1, 10, 2)]
ROWS_2 = [(T0, "00101", 1, 10, 5), (T0, "20801", 4660, 268435455, 12)]
# By hand: cell 10 at 19:00 is 3 + 5 = 8; total 8 + 12 + 2 = 22.
EXPECTED = [
    {"plmn": "00101", "tac": 1, "cell": 10, "start": "2026-12-08T19:00:00Z",
     "seconds": 900, "devices": 8},
    {"plmn": "20801", "tac": 4660, "cell": 268435455, "start": "2026-12-08T19:00:00Z",
     "seconds": 900, "devices": 12},
    {"plmn": "00101", "tac": 1, "cell": 10, "start": "2026-12-08T19:15:00Z",
     "seconds": 900, "devices": 2},
]
EXPECTED = [{**r, "suppressed": False} for r in EXPECTED]  # --raw --k 1: nothing below 1
RAW = ["--raw", "--k", "1"]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "a.duckdb"
    with Store(path) as store:
        for seq, (collector, rows) in enumerate([("mme-1", ROWS_1), ("mme-2", ROWS_2)]):
            store.put(TallyBatch(collector, 1, seq, 900, tuple(PresenceRow(*r) for r in rows)))
    return path


def test_build_report(db):
    with Store(db, read_only=True) as store:
        doc = build_report(store, ReportOptions(raw=True, k=1))
    assert doc == {"schema": "cellcensus.report/1", "cell_presence": EXPECTED}


def test_raw_counts_only_with_raw_and_k_suppressed(db, capsys):
    with Store(db, read_only=True) as store:
        assert build_report(store) == {"schema": "cellcensus.report/1"}
        doc = build_report(store, ReportOptions(raw=True, k=10))
    # 8 and 2 devices are under k = 10: withheld; 12 is published
    assert [(r["devices"], r["suppressed"]) for r in doc["cell_presence"]] == [
        (None, True), (12, False), (None, True)]
    assert main(["report", "--db", str(db)]) == 2  # no --reference: nothing but raw counts
    assert "--raw" in capsys.readouterr().err
    assert main(["report", "--db", str(db), "--raw", "--k", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3].split()[-1] == "suppressed" and lines[4].split()[-1] == "12"
    assert lines[-1].split()[-3:] == ["12", "+", "suppressed"]  # the total of what is shown


def test_json_format(db, capsys):
    assert main(["report", "--db", str(db), *RAW, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"schema": "cellcensus.report/1",
                                                   "cell_presence": EXPECTED}


def test_table_format(db, capsys):
    assert main(["report", "--db", str(db), *RAW]) == 0  # table is the default
    lines = capsys.readouterr().out.splitlines()[1:]  # under the title
    assert lines[0].split() == ["start", "plmn", "tac", "cell", "devices"]
    assert lines[2].split() == ["2026-12-08T19:00:00Z", "00101", "1", "10", "8"]
    assert lines[3].split() == ["2026-12-08T19:00:00Z", "20801", "4660", "268435455", "12"]
    assert lines[4].split() == ["2026-12-08T19:15:00Z", "00101", "1", "10", "2"]
    assert lines[-1].split() == ["total", "(3", "rows)", "22"]
    # aligned: every data line ends at the same column (devices right-aligned)
    assert len({len(line) for line in lines[2:5]} | {len(lines[-1])}) == 1


def test_empty_table():
    text = render_table({"schema": "cellcensus.report/1", "cell_presence": []})
    assert text.splitlines()[-1].split() == ["total", "(0", "rows)", "0"]


def test_missing_db_is_a_usage_error(tmp_path, capsys):
    assert main(["report", "--db", str(tmp_path / "nope.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--db" in err and "nope.duckdb" in err


def test_unreadable_db_is_a_runtime_error(tmp_path, capsys):
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"x" * 5000)
    assert main(["report", "--db", str(junk), "--raw"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a DuckDB database" in err


def test_bad_format_is_a_usage_error(db, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--db", str(db), "--format", "xml"])
    assert exc.value.code == 2


def test_table_title_names_the_section(db, capsys):
    assert main(["report", "--db", str(db), *RAW]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "cell_presence: devices per cell and bin (raw)")


def test_csv_format_of_cell_presence(db, capsys):
    assert main(["report", "--db", str(db), *RAW, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4  # header + 3 rows
    assert lines[1] == ("cell_presence,,2026-12-08T19:00:00Z,2026-12-08T19:15:00Z,00101,1,10,,"
                        "8,,,false")
