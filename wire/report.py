"""The report/truth schema (DESIGN.md, "Report and truth"), defined once.

`aggregator report --format json` and the simulator's `truth.json` are both
a JSON object of this shape (sections grow issue by issue):

    {"schema": "cellcensus.report/1",
     "cell_presence": [{"plmn": "00101", "tac": 1, "cell": 4660, "start": "2026-12-08T19:00:00Z",
                        "seconds": 900, "devices": 3}, ...]}

`cell_presence` counts devices of the operator present in a cell during a bin
(before extrapolation): the report from tallies, the truth from the agents.

`zone_devices` counts the distinct devices of the operator present (by the same
rule, in at least one bin) in a zone's cells over a period [start, end), with
`by_segment` ("domestic", ISO 3166 alpha-2 of roamers, "unknown"):

    "zone_devices": [{"zone": "tete-d-or", "start": "...", "end": "...",
                      "devices": 1312.4, "ci95": [1290.0, 1335.1],
                      "by_segment": {"domestic": 1280.2, "IT": 32.0}}, ...]

the report's from a union of HLL sketches (an estimate with its interval), the
truth's exact (an integer, no `ci95`).
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


def zone_devices_row(zone: str, start: int, end: int, devices: float,
                     by_segment: dict[str, float], ci95: tuple[float, float] | None = None
                     ) -> dict:
    """One `zone_devices` entry (`ci95` only in a report)."""
    row = {"zone": zone, "start": iso(start), "end": iso(end), "devices": devices}
    if ci95 is not None:
        row["ci95"] = [ci95[0], ci95[1]]
    row["by_segment"] = dict(sorted(by_segment.items()))
    return row


def new_report(cell_presence: list[dict], zone_devices: list[dict] | None = None) -> dict:
    """A report/truth document, rows sorted by (start, plmn, tac, cell) and by zone."""
    rows = sorted(cell_presence, key=lambda r: (r["start"], r["plmn"], r["tac"], r["cell"]))
    doc = {"schema": SCHEMA, "cell_presence": rows}
    if zone_devices is not None:
        doc["zone_devices"] = sorted(zone_devices, key=lambda r: (r["start"], r["zone"]))
    return doc


def presence_index(doc: dict) -> dict[tuple[str, str, int], int]:
    """{(start, plmn, cell): devices} of a report or truth, for comparisons."""
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document: schema={doc.get('schema')!r}")
    return {(r["start"], r["plmn"], r["cell"]): r["devices"] for r in doc["cell_presence"]}


def zone_devices_index(doc: dict) -> dict[tuple[str, str, str], dict]:
    """{(zone, start, end): entry} of the `zone_devices` of a report or truth."""
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document: schema={doc.get('schema')!r}")
    return {(r["zone"], r["start"], r["end"]): r for r in doc.get("zone_devices", [])}
