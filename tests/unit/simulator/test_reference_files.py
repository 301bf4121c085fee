"""The reference folder beside the capture: cells.csv, zones.geojson, census.csv written
by `simulator generate` read back with wire.reference; bad files are refused naming the
file, the line or key, and the value."""

from __future__ import annotations

import json

import pytest

from simulator.generate import reference_zones
from simulator.scenario import load
from wire.reference import (
    AGE_BANDS,
    ReferenceError,
    Zone,
    read_census,
    read_zones,
    write_census,
    write_zones,
)


def test_tiny_folder_holds_zones_and_census(tiny, tiny_out):
    out, _ = tiny_out
    zones = read_zones(str(out / "zones.geojson"))
    assert [z.id for z in zones] == [z.id for z in tiny.zones]
    assert zones[2].name == "Fourvière" and zones[0].ring[0] == zones[0].ring[-1]
    census = read_census(str(out / "census.csv"))
    truth = json.loads((out / "truth.json").read_text())
    assert {z: sum(b.values()) for z, b in census.items()} == {
        r["zone"]: r["people"] for r in truth["residents"]}
    assert sum(map(sum, (b.values() for b in census.values()))) == tiny.population.people
    assert all(list(b) == list(AGE_BANDS) for b in census.values())


def test_zone_squares_and_polygons_contain_their_position():
    scn = load("demo")
    for z, ref in zip(scn.zones, reference_zones(scn), strict=True):
        xs, ys = [p[0] for p in ref.ring], [p[1] for p in ref.ring]
        assert min(xs) < z.lon < max(xs) and min(ys) < z.lat < max(ys), z.id
        if z.polygon is None:  # 600 m wide: about 0.0054 degree of latitude
            assert max(ys) - min(ys) == pytest.approx(600 / 111_320, rel=1e-3)


def test_round_trip_and_order(tmp_path):
    zones = [Zone("a-1", "Été", ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0))),
             Zone("b", "B", ((4.8, 45.7), (4.9, 45.7), (4.9, 45.8), (4.8, 45.7)))]
    write_zones(str(tmp_path / "z.geojson"), zones)
    assert read_zones(str(tmp_path / "z.geojson")) == zones
    census = {"b": {"0-14": 3, "75+": 1}, "a-1": dict.fromkeys(AGE_BANDS, 2)}
    write_census(str(tmp_path / "c.csv"), census)
    back = read_census(str(tmp_path / "c.csv"))
    assert list(back) == ["b", "a-1"] and back["b"]["75+"] == 1 and back["b"]["30-44"] == 0
    assert back["a-1"] == census["a-1"]


@pytest.mark.parametrize(("text", "expected"), [
    ("zone,band,people\n", "c.csv: missing column(s) age_band"),
    ("zone,age_band,people\nBad,0-14,1\n", "c.csv:2: zone: must be a zone id, got 'Bad'"),
    ("zone,age_band,people\na,0-14,1\na,15-20,1\n",
     "c.csv:3: age_band: must be one of 0-14, 15-29, 30-44, 45-59, 60-74, 75+, got '15-20'"),
    ("zone,age_band,people\na,0-14,1.5\n", "c.csv:2: people: must be an integer >= 0, got '1.5'"),
    ("zone,age_band,people\na,0-14,1\na,0-14,2\n",
     "c.csv:3: age_band: repeated for zone a, got '0-14'"),
])
def test_bad_census_is_refused(tmp_path, text, expected):
    (tmp_path / "c.csv").write_text(text)
    with pytest.raises(ReferenceError) as e:
        read_census(str(tmp_path / "c.csv"))
    assert str(e.value) == str(tmp_path / expected)


@pytest.mark.parametrize(("doc", "expected"), [
    ({"type": "Feature"}, "z.geojson: type: must be FeatureCollection, got 'Feature'"),
    ({"type": "FeatureCollection", "features": [{"properties": {"id": "A"}}]},
     "z.geojson: features[0].properties.id: must be a new zone id ([a-z0-9][a-z0-9-]*), "
     "got 'A'"),
    ({"type": "FeatureCollection", "features": [
        {"properties": {"id": "a"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]},
     "z.geojson: features[0].geometry: must be a Polygon with a closed ring of [lon, lat], "
     "got {'type': 'Point'"),
])
def test_bad_zones_are_refused(tmp_path, doc, expected):
    (tmp_path / "z.geojson").write_text(json.dumps(doc))
    with pytest.raises(ReferenceError) as e:
        read_zones(str(tmp_path / "z.geojson"))
    assert str(e.value).startswith(str(tmp_path / expected))
    (tmp_path / "n.geojson").write_text("{")
    with pytest.raises(ReferenceError, match="not JSON"):
        read_zones(str(tmp_path / "n.geojson"))
