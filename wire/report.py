"""The report/truth schema (DESIGN.md, "Report and truth"), defined once.

`aggregator report --format json` and the simulator's `truth.json` are both
a JSON object of this shape (sections grow issue by issue):

    {"schema": "cellcensus.report/1",
     "cell_presence": [{"plmn": "00101", "tac": 1, "cell": 4660, "start": "2026-12-08T19:00:00Z",
                        "seconds": 900, "devices": 3}, ...]}

`cell_presence` counts devices of the operator present in a cell during a bin
(before extrapolation): the report from tallies, the truth from what the operator's
network can see of its phones (the cell of each one's last location-bearing message: an
idle phone reselects silently, so not always the cell it is in; simulator/visible.py).

`zone_devices` counts the distinct devices of the operator present (by the same
rule, in at least one bin) in a zone's cells over a period [start, end), with
`by_segment` ("domestic", ISO 3166 alpha-2 of roamers, "unknown"):

    "zone_devices": [{"zone": "tete-d-or", "start": "...", "end": "...",
                      "devices": 1312.4, "ci95": [1290.0, 1335.1],
                      "by_segment": {"domestic": 1280.2, "IT": 32.0}}, ...]

the report's from a union of HLL sketches (an estimate with its interval), the
truth's exact (an integer, no `ci95`).
Times are ISO 8601 UTC with a trailing Z.

Persons (not devices), the truth's exact counts or the report's extrapolation:

    "presence":  [{"zone", "start", "seconds", "people", "ci95"?, "suppressed"?}]  per zone, hour
    "visitors":  [{"zone", "start", "end", "people", "ci95"?, "suppressed"?,
                   "by_country": {"IT": n, ...}}]     distinct persons present at least once
    "residents": [{"zone", "people"}]                  people whose home is the zone
    "overnight": [{"zone", "date", "people", "by_country"}]  visitors whose stay spans 04:00
                                                       local and lasts >= 5 h, by that zone

`ci95` and `suppressed` appear in reports only.
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


def _estimate(row: dict, ci95: tuple[float, float] | None, suppressed: bool | None) -> dict:
    if ci95 is not None:
        row["ci95"] = [ci95[0], ci95[1]]
    if suppressed is not None:
        row["suppressed"] = suppressed
    return row


def presence_row(zone: str, start: int, seconds: int, people: float,
                 ci95: tuple[float, float] | None = None, suppressed: bool | None = None
                 ) -> dict:
    """One `presence` entry: persons in `zone` during [start, start + seconds)."""
    return _estimate({"zone": zone, "start": iso(start), "seconds": seconds, "people": people},
                     ci95, suppressed)


def visitors_row(zone: str, start: int, end: int, people: float,
                 by_country: dict[str, float] | None = None,
                 ci95: tuple[float, float] | None = None, suppressed: bool | None = None
                 ) -> dict:
    """One `visitors` entry: distinct persons present in `zone` at least once in [start, end);
    `by_country`: the foreigners among them by ISO 3166 alpha-2."""
    row = _estimate({"zone": zone, "start": iso(start), "end": iso(end), "people": people},
                    ci95, suppressed)
    row["by_country"] = dict(sorted((by_country or {}).items()))
    return row


def residents_row(zone: str, people: float) -> dict:
    """One `residents` entry: people whose home is `zone`."""
    return {"zone": zone, "people": people}


def overnight_row(zone: str, date: str, people: float, by_country: dict[str, float] | None = None
                  ) -> dict:
    """One `overnight` entry: visitors who spent the night ending on `date` (YYYY-MM-DD, local)
    in `zone`."""
    return {"zone": zone, "date": date, "people": people,
            "by_country": dict(sorted((by_country or {}).items()))}


def _order(row: dict) -> tuple:
    return (row.get("start", row.get("date", "")), row["zone"], row.get("end", ""))


def new_report(cell_presence: list[dict] | None, zone_devices: list[dict] | None = None,
               **sections: list[dict]) -> dict:
    """A report/truth document, rows sorted by (start, plmn, tac, cell) and by zone; any
    further section (`presence`, `visitors`, `residents`, `overnight`) under its own name,
    sorted by (start or date, zone).  A section given as None is left out (a report without
    `--raw` has no `cell_presence` nor `zone_devices`)."""
    doc: dict = {"schema": SCHEMA}
    if cell_presence is not None:
        doc["cell_presence"] = sorted(cell_presence, key=lambda r: (r["start"], r["plmn"],
                                                                    r["tac"], r["cell"]))
    if zone_devices is not None:
        doc["zone_devices"] = sorted(zone_devices, key=lambda r: (r["start"], r["zone"]))
    for name, section in sections.items():
        doc[name] = sorted(section, key=_order)
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
