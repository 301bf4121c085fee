"""Reference-data files (DESIGN.md, "Report and truth": the reference folder).

`cells.csv`: the OpenCelliD columns plus `zone`.  `radio` is LTE or NR,
`mcc`/`net` the PLMN (net keeps its digits as text so "01" and "001"
stay distinct), `area` the TAC, `cell` the ECI (28-bit) or NCI (36-bit).

`zones.geojson`: a FeatureCollection, one Feature per zone with `properties.id`
(`[a-z0-9][a-z0-9-]*`), `properties.name` and a Polygon geometry (one closed ring of
[lon, lat] positions).

`census.csv`: header `zone,age_band,people`, one row per zone and age band
(`AGE_BANDS`), people an integer.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass

CELL_COLUMNS = ("radio", "mcc", "net", "area", "cell", "unit", "lon", "lat", "range",
                "samples", "changeable", "created", "updated", "averageSignal", "zone")


AGE_BANDS = ("0-14", "15-29", "30-44", "45-59", "60-74", "75+")
CENSUS_COLUMNS = ("zone", "age_band", "people")
ZONE_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


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


def _read_csv(path: str, required: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a CSV file with a header holding `required`; errors name the file."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            fields, rows = reader.fieldnames or (), list(reader)
    except OSError as e:
        raise ReferenceError(f"{path}: {e.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise ReferenceError(f"{path}: not a CSV text file ({e.__class__.__name__})") from None
    missing = [c for c in required if c not in fields]
    if missing:
        raise ReferenceError(f"{path}: missing column(s) {', '.join(missing)}")
    return rows


def read_cells(path: str) -> list[Cell]:
    """Read cells.csv; errors name the file, the line and the bad value."""
    rows = _read_csv(path, ("radio", "mcc", "net", "area", "cell", "lon", "lat"))
    out = []
    for n, row in enumerate(rows, start=2):
        try:
            out.append(Cell(row["radio"], row["mcc"].zfill(3), row["net"], int(row["area"]),
                            int(row["cell"]), float(row["lon"]), float(row["lat"]),
                            int(row.get("range") or 0), row.get("zone") or ""))
        except (TypeError, ValueError) as e:
            raise ReferenceError(f"{path}:{n}: bad value ({e})") from None
    return out


@dataclass(frozen=True, slots=True)
class Zone:
    """One Feature of zones.geojson; `ring` is closed (first position == last)."""

    id: str
    name: str
    ring: tuple[tuple[float, float], ...]


def write_zones(path: str, zones: list[Zone]) -> None:
    """Write zones.geojson (one Feature per zone, in the given order)."""
    features = [{"type": "Feature", "properties": {"id": z.id, "name": z.name},
                 "geometry": {"type": "Polygon",
                              "coordinates": [[[round(x, 6), round(y, 6)] for x, y in z.ring]]}}
                for z in zones]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f, indent=1,
                  ensure_ascii=False)
        f.write("\n")


def read_zones(path: str) -> list[Zone]:
    """Read zones.geojson; errors name the file, the key (features[i]...) and the value."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise ReferenceError(f"{path}: {e.strerror}") from None
    except ValueError as e:
        raise ReferenceError(f"{path}: not JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ReferenceError(f"{path}: type: must be FeatureCollection, got "
                             f"{doc.get('type') if isinstance(doc, dict) else doc!r}")
    out, seen = [], set()
    for i, feat in enumerate(doc.get("features") or []):
        where = f"{path}: features[{i}]"
        props = feat.get("properties") if isinstance(feat, dict) else None
        zid = props.get("id") if isinstance(props, dict) else None
        if not isinstance(zid, str) or not ZONE_ID.fullmatch(zid) or zid in seen:
            raise ReferenceError(f"{where}.properties.id: must be a new zone id "
                                 f"([a-z0-9][a-z0-9-]*), got {zid!r}")
        seen.add(zid)
        geom = feat.get("geometry") or {}
        ring = _ring(geom.get("coordinates") if geom.get("type") == "Polygon" else None)
        if ring is None:
            raise ReferenceError(f"{where}.geometry: must be a Polygon with a closed ring of "
                                 f"[lon, lat], got {geom!r}"[:300])
        out.append(Zone(zid, str(props.get("name") or zid), ring))
    return out


def _ring(coords: object) -> tuple[tuple[float, float], ...] | None:
    try:
        ring = tuple((float(x), float(y)) for x, y in coords[0])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    ok = len(ring) >= 4 and ring[0] == ring[-1] and all(
        -180 <= x <= 180 and -90 <= y <= 90 for x, y in ring)
    return ring if ok else None


def write_census(path: str, census: dict[str, dict[str, int]]) -> None:
    """Write census.csv: one row per zone (given order) and age band (AGE_BANDS order)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CENSUS_COLUMNS)
        for zone, bands in census.items():
            for band in AGE_BANDS:
                w.writerow([zone, band, int(bands.get(band, 0))])


def read_census(path: str) -> dict[str, dict[str, int]]:
    """Read census.csv into {zone: {age band: people}}; errors name file, line and value."""
    rows = _read_csv(path, CENSUS_COLUMNS)
    out: dict[str, dict[str, int]] = {}
    for n, row in enumerate(rows, start=2):
        zone, band, people = row["zone"], row["age_band"], row["people"]
        if not zone or not ZONE_ID.fullmatch(zone):
            raise ReferenceError(f"{path}:{n}: zone: must be a zone id, got {zone!r}")
        if band not in AGE_BANDS:
            raise ReferenceError(f"{path}:{n}: age_band: must be one of "
                                 f"{', '.join(AGE_BANDS)}, got {band!r}")
        if not (people or "").isdigit():
            raise ReferenceError(f"{path}:{n}: people: must be an integer >= 0, got {people!r}")
        bands = out.setdefault(zone, {})
        if band in bands:
            raise ReferenceError(f"{path}:{n}: age_band: repeated for zone {zone}, got {band!r}")
        bands[band] = int(people)
    return out
