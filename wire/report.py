"""The report/truth schema (DESIGN.md, "Report and truth"), defined once.

`aggregator report --format json` and the simulator's `truth.json` are both
a JSON object of this shape (sections grow issue by issue):

    {"schema": "cellcensus.report/1",
     "cell_presence": [{"plmn": "00101", "tac": 1, "cell": 4660, "start": "2026-12-08T19:00:00Z",
                        "seconds": 900, "devices": 3}, ...]}

`cell_presence` counts devices of the operator present in a cell during a bin
(before extrapolation): the report from tallies, the truth from the agents.
Times are ISO 8601 UTC with a trailing Z.
"""

from __future__ import annotations

import datetime as _dt

SCHEMA = "cellcensus.report/1"
CELL_PRESENCE_KEYS = ("plmn", "tac", "cell", "start", "seconds", "devices")


def iso(ts: float) -> str:
    """ISO 8601 UTC text of a POSIX time, second precision, trailing Z."""
    return _dt.datetime.fromtimestamp(int(ts), _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> int:
    """POSIX seconds of an ISO 8601 UTC time written by `iso`."""
    return int(_dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=_dt.UTC).timestamp())


def cell_presence_row(plmn: str, tac: int, cell: int, start: int, seconds: int,
                      devices: int) -> dict:
    """One `cell_presence` entry."""
    return {"plmn": plmn, "tac": tac, "cell": cell, "start": iso(start),
            "seconds": seconds, "devices": devices}


def new_report(cell_presence: list[dict]) -> dict:
    """A report/truth document, rows sorted by (start, plmn, tac, cell)."""
    rows = sorted(cell_presence, key=lambda r: (r["start"], r["plmn"], r["tac"], r["cell"]))
    return {"schema": SCHEMA, "cell_presence": rows}


def presence_index(doc: dict) -> dict[tuple[str, str, int], int]:
    """{(start, plmn, cell): devices} of a report or truth, for comparisons."""
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document: schema={doc.get('schema')!r}")
    return {(r["start"], r["plmn"], r["cell"]): r["devices"] for r in doc["cell_presence"]}
