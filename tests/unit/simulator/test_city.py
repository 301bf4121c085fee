"""The city model of a scenario file: `demo` loads as documented, every new key has its
default, mistakes are refused naming file, key and value, `--scale` / `--days` resize."""

from __future__ import annotations

import pytest
from pycrate_mobile.MCC_MNC import MNC_dict

from simulator.city import AGE_PYRAMID, OWNERSHIP
from simulator.scenario import BUILTIN, ScenarioError, load, parse, resize

DEMO = (BUILTIN / "demo.toml").read_text()


def test_demo_loads_as_documented():
    s = load("demo")
    c = s.city
    assert s.population is None and s.days == 2 and s.utc_offset == 3600
    assert s.first_midnight == s.start  # starts at local midnight
    assert len(s.zones) == 8 and 8 <= len(s.cells) <= 13
    assert [(c.rat, c.zone) for c in s.cells if c.rat == "nr"] == [("nr", "part-dieu"),
                                                                   ("nr", "tete-d-or")]
    assert c.operator.nr_share == 0.4  # 5G SIMs in France by late 2026 (see demo.toml)
    assert sum(c.census["bellecour"]) == 450 and c.census["terreaux"] == (40, 120, 90, 60, 50,
                                                                          30)
    assert 2800 <= sum(map(sum, c.census.values())) <= 3200
    assert c.market_share["croix-rousse"] == 0.4 and c.market_share["bellecour"] == 0.35
    assert c.operator.ownership == OWNERSHIP and c.daily.age_pyramid == AGE_PYRAMID
    park = next(z for z in s.zones if z.id == "tete-d-or")
    assert park.polygon[0] == park.polygon[-1] and len(park.polygon) == 5
    assert [v.country for v in c.visitors if v.country] == ["IT", "CH", "ES", "DE", "GB"]
    assert [e.days for e in c.events] == [(1, 2)]


def test_foreign_plmns_are_of_their_country():
    """The collector names a roamer's segment from pycrate's MCC table: it must agree."""
    for v in load("demo").city.visitors:
        if v.country:
            assert MNC_dict[v.mcc + v.mnc][1] == v.country, v


def test_defaults_of_the_city_model():
    minimal = "\n".join(line for line in DEMO.splitlines()
                        if not line.startswith(("[city]", "commuter_share", "work_", "leisure_",
                                                "evening_", "zone_side_m", "[operator]",
                                                "market_share", "off_share", "night_off",
                                                "multi_sim", "m2m_", "imeisv", "msisdn",
                                                "nr_share")))
    c = parse(minimal, "city.toml").city
    assert (c.daily.commuter_share, c.daily.work_start, c.daily.zone_side_m) == (0.6, (7, 10), 600)
    op = c.operator
    assert (op.market_share, op.off_share, op.night_off_share, op.multi_sim_share,
            op.m2m_devices, op.msisdn_share, op.nr_share) == (0.35, 0.02, 0.1, 0.03, 0, 1.0, 0.4)
    assert set(c.market_share.values()) == {0.35}
    es = next(v for v in c.visitors if v.country == "ES")  # capture_share not given
    assert (es.operator_share, es.carry_share, es.overnight_share, es.nights) == (
        0.3, 0.95, 0.6, (1, 3))


def _error(text: str) -> str:
    with pytest.raises(ScenarioError) as e:
        parse(text, "city.toml")
    return str(e.value)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('"75+" = 30 }', '"75" = 30 }', "city.toml: zones[1].census.75+: missing"),
    ("residents = 200", "residents = -1",
     "city.toml: zones[2].residents: must be an integer in 0..50000000, got -1"),
    ('id = "fourviere"', 'id = "Fourviere"',
     "city.toml: zones[2].id: must be lowercase letters, digits and dashes"),
    ("polygon = [[4.8440", "polygon = [[190",
     "city.toml: zones[4].polygon: must be a list of at least 3 [lon, lat] positions"),
    ("market_share = 0.4", "market_share = 1.4",
     "city.toml: zones[5].market_share: must be a number in 0.0..1.0, got 1.4"),
    ("off_share = 0.02", "off_share = -0.1",
     "city.toml: operator.off_share: must be a number in 0.0..1.0, got -0.1"),
    ("m2m_devices = 20", "m2m_devices = 2.5",
     "city.toml: operator.m2m_devices: must be an integer in 0..10000000, got 2.5"),
    ('m2m_tacs = ["35473310"', 'm2m_tacs = ["3547"',
     "city.toml: operator.m2m_tacs: must be a list of 8-digit IMEI TACs, got ['3547'"),
    ("commuter_share = 0.6", "commuter_share = 0.6\ncommuters = 3",
     "city.toml: city.commuters: unknown key"),
    ('country = "IT"', 'country = "Italy"',
     "city.toml: visitors.foreign[0].country: must be an ISO 3166 alpha-2 code like IT, "
     "got 'Italy'"),
    ('mcc = "222"', 'mcc = "22"', "city.toml: visitors.foreign[0].mcc: must be 3 digits, got '22'"),
    ("per_day = 250", 'per_day = "many"',
     "city.toml: visitors.domestic[0].per_day: must be an integer in 0..50000000, got 'many'"),
    ('overnight_zones = ["bellecour", "part-dieu", "terreaux"]\n\n# Foreign',
     'overnight_zones = ["bellecour", "nowhere"]\n\n# Foreign',
     "city.toml: visitors.domestic[1].overnight_zones: must be a list of [[zones]] ids, got "
     "['bellecour', 'nowhere']"),
    ("arrival = [9, 19]", "arrival = [19, 9]",
     "city.toml: visitors.domestic[0].arrival: must be [from, to] hours with 0 <= from <= to "
     "<= 24, got [19, 9]"),
    ("days = [1, 2]", "days = [1, 3]",
     "city.toml: events[0].days: must be a list of scenario days in 1..2, got [1, 3]"),
    ('zones = ["tete-d-or"]', 'zones = ["parc"]',
     "city.toml: events[0].zones: must be a list of [[zones]] ids, got ['parc']"),
    ("hours = [18, 23]", "hours = [18, 18]",
     "city.toml: events[0].hours: must last at least half an hour, got [18.0, 18.0]"),
    ("returning_share = 0.2", "returning_share = 2",
     "city.toml: events[0].returning_share: must be a number in 0.0..1.0, got 2"),
    ("utc_offset_hours = 1", "utc_offset_hours = 15",
     "city.toml: scenario.utc_offset_hours: must be a number in -12..14, got 15"),
])
def test_errors_name_file_key_and_value(old, new, expected):
    assert old in DEMO, old
    assert _error(DEMO.replace(old, new, 1)).startswith(expected)


def test_census_or_residents_not_both_and_someone_lives_there():
    text = DEMO.replace("residents = 450", "residents = 450\ncensus = " + "{ " + ", ".join(
        f'"{b}" = 1' for b in ("0-14", "15-29", "30-44", "45-59", "60-74", "75+")) + " }", 1)
    assert _error(text) == "city.toml: zones[0].residents: give census or residents, not both, " \
                           "got 450"
    empty = "\n".join(line for line in DEMO.splitlines()
                      if not line.startswith(("residents", "census")))
    assert _error(empty).startswith("city.toml: zones: a city model needs residents")


def test_pyramid_must_add_up_and_residents_split_by_it():
    text = DEMO.replace("[city]\n", '[city]\nage_pyramid = { "0-14" = 0.5, "15-29" = 0.5, '
                        '"30-44" = 0.5, "45-59" = 0, "60-74" = 0, "75+" = 0 }\n')
    assert _error(text).startswith("city.toml: city.age_pyramid: shares must add up to 1")
    text = DEMO.replace("[city]\n", '[city]\nage_pyramid = { "0-14" = 0.5, "15-29" = 0.5, '
                        '"30-44" = 0, "45-59" = 0, "60-74" = 0, "75+" = 0 }\n')
    assert parse(text, "city.toml").city.census["bellecour"] == (225, 225, 0, 0, 0, 0)


def test_flat_zones_refuse_census_keys():
    tiny = (BUILTIN / "tiny.toml").read_text()
    text = tiny.replace('name = "Terreaux"', 'name = "Terreaux"\nresidents = 5')
    assert _error(text) == "city.toml: zones[1].residents: unknown key"


def test_resize_scales_counts_and_cuts_days():
    s = load("demo")
    half = resize(s, 0.5)
    assert sum(half.city.census["bellecour"]) == pytest.approx(225, abs=3)
    assert half.city.visitors[0].per_day == 125 and half.city.events[0].attendance == 300
    assert half.city.operator.m2m_devices == 10
    one = resize(s, 1.0, 1)
    assert one.days == 1 and one.end == s.start + 86400 and one.city.events[0].days == (1,)
    assert resize(load("tiny"), 3.0).population.people == 12  # a flat scenario is not scaled


def test_lyon_fete_des_lumieres_loads_at_full_size():
    s = load("lyon-fete-des-lumieres")
    c = s.city
    assert s.days == 4 and sum(map(sum, c.census.values())) == 1_400_000
    assert sum(v.per_day for v in c.visitors) * s.days == pytest.approx(1.8e6, rel=0.05)
    foreign = sorted((v for v in c.visitors if v.country), key=lambda v: -v.per_day)
    assert [v.country for v in foreign[:5]] == ["IT", "CH", "ES", "DE", "GB"]
    park = next(e for e in c.events if e.zones == ("tete-d-or",))
    unique = park.attendance * (1 + (len(park.days) - 1) * (1 - park.returning_share))
    assert unique == pytest.approx(230_000, rel=0.1)
    for v in foreign:
        assert MNC_dict[v.mcc + v.mnc][1] == v.country
