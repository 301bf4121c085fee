"""Reference-data files (DESIGN.md, "Report and truth": the reference folder).

`cells.csv`: the OpenCelliD columns plus `zone`.  `radio` is LTE or NR,
`mcc`/`net` the PLMN (net keeps its digits as text so "01" and "001"
stay distinct), `area` the TAC, `cell` the ECI (28-bit) or NCI (36-bit).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

CELL_COLUMNS = ("radio", "mcc", "net", "area", "cell", "unit", "lon", "lat", "range",
                "samples", "changeable", "created", "updated", "averageSignal", "zone")


class ReferenceError(Exception):
    """A reference file that cannot be used; the message names file, line and value."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One row of cells.csv."""

    radio: str
    mcc: str
    net: str
    area: int
    cell: int
    lon: float
    lat: float
    range: int
    zone: str

    @property
    def plmn(self) -> str:
        """MCCMNC digits, as in tallies and `collector inspect`."""
        return self.mcc + self.net


def write_cells(path: str, cells: list[Cell], created: int = 0) -> None:
    """Write cells.csv with the OpenCelliD header plus zone."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CELL_COLUMNS)
        for c in cells:
            w.writerow([c.radio, c.mcc, c.net, c.area, c.cell, "", f"{c.lon:.6f}",
                        f"{c.lat:.6f}", c.range, 1, 1, created, created, "", c.zone])


def read_cells(path: str) -> list[Cell]:
    """Read cells.csv; errors name the file, the line and the bad value."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            fields, rows = reader.fieldnames or (), list(reader)
    except OSError as e:
        raise ReferenceError(f"{path}: {e.strerror}") from None
    missing = [c for c in ("radio", "mcc", "net", "area", "cell", "lon", "lat") if c not in fields]
    if missing:
        raise ReferenceError(f"{path}: missing column(s) {', '.join(missing)}")
    out = []
    for n, row in enumerate(rows, start=2):
        try:
            out.append(Cell(row["radio"], row["mcc"].zfill(3), row["net"], int(row["area"]),
                            int(row["cell"]), float(row["lon"]), float(row["lat"]),
                            int(row.get("range") or 0), row.get("zone") or ""))
        except (TypeError, ValueError) as e:
            raise ReferenceError(f"{path}:{n}: bad value ({e})") from None
    return out
