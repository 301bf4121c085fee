"""Scenario files: the built-in one loads; every kind of mistake is refused before any
output with one message naming the file, the key and the value."""

from __future__ import annotations

import pytest

from simulator.scenario import BUILTIN, ScenarioError, load, parse

TINY = (BUILTIN / "tiny.toml").read_text()


def test_tiny_loads_as_documented():
    s = load("tiny")
    assert (s.name, s.network.plmn, s.bin_seconds) == ("tiny", "00101", 900)
    assert s.start == 1796749200 and s.end - s.start == 3 * 3600  # 2026-12-08T17:00:00Z
    assert s.network.t3412 == 54 * 60
    assert len(s.enbs) == 3 and len(s.cells) == 8 and len(s.zones) == 5
    assert len({c.tac for c in s.cells}) == 2
    assert {c.eci for c in s.cells} >= {4101 << 8 | 1, 4203 << 8 | 2}
    assert (s.population.people, s.population.operator_phones) == (12, 8)
    assert s.behaviour.at_end == "switch-off"
    net = s.network
    assert (net.core_signalling, net.sgw_ip, net.hss_ip, net.pgw_ip) == (
        True, "10.0.0.2", "10.0.0.3", "10.0.0.4")
    assert s.population.msisdn_share == 0.75


def test_core_network_keys_have_defaults():
    keys = ("core_signalling", "sgw_ip", "hss_ip", "pgw_ip", "msisdn_share")
    text = "\n".join(line for line in TINY.splitlines() if not line.startswith(keys))
    s = parse(text, "city.toml")
    assert (s.network.core_signalling, s.network.sgw_ip, s.network.hss_ip) == (
        True, "10.0.0.2", "10.0.0.3")
    assert s.population.msisdn_share == 1.0


def test_a_path_works_like_a_name(tmp_path):
    p = tmp_path / "city.toml"
    p.write_text(TINY.replace('name = "tiny"', 'name = "city"'))
    assert load(str(p)).name == "city"


def _error(text: str) -> str:
    with pytest.raises(ScenarioError) as e:
        parse(text, "city.toml")
    return str(e.value)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("tac = 2", "tac = 0", "city.toml: enbs[2].tac: must be an integer in 1..65534, got 0"),
    ("tac = 2", 'tac = "2"', "city.toml: enbs[2].tac: must be an integer in 1..65534, got '2'"),
    ('mcc = "001"', 'mcc = "01"', "city.toml: network.mcc: must be 3 digits, got '01'"),
    ('mnc = "01"', "mnc = 1", "city.toml: network.mnc: must be a non-empty string, got 1"),
    ('ip = "10.0.1.2"', 'ip = "10.0.1.999"',
     "city.toml: enbs[1].ip: must be an IPv4 address, got '10.0.1.999'"),
    ('ip = "10.0.1.2"', 'ip = "10.0.1.1"', "city.toml: enbs: must not repeat, got '10.0.1.1'"),
    ("id = 4102", "id = 4101", "city.toml: enbs: must not repeat, got 4101"),
    ("id = 4102", "id = 1048576", "city.toml: enbs[1].id: must be an integer in 0..1048575"),
    ('zone = "fourviere"', 'zone = "croix-rousse"', "city.toml: enbs[0].sectors[2].zone: must "
     "be the id of a [[zones]] entry, got 'croix-rousse'"),
    ("t3412_minutes = 54", "t3412_minutes = 55",
     "city.toml: network.t3412_minutes: must be at most 31 or a multiple of 6"),
    ("operator_phones = 8", "operator_phones = 13",
     "city.toml: population.operator_phones: must be an integer in 0..12, got 13"),
    ('at_end = "switch-off"', 'at_end = "off"',
     "city.toml: behaviour.at_end: must be one of switch-off, stay-on, got 'off'"),
    ("session_seconds = [5, 600]", "session_seconds = [600, 5]",
     "city.toml: behaviour.session_seconds: must be [min, max]"),
    ('start = "2026-12-08T17:00:00Z"', 'start = "tomorrow"',
     "city.toml: scenario.start: must be a UTC time like 2026-12-08T17:00:00Z, got 'tomorrow'"),
    ("core_signalling = true", "core_signalling = 1",
     "city.toml: network.core_signalling: must be true or false, got 1"),
    ('sgw_ip = "10.0.0.2"', 'sgw_ip = "10.0.1.2"',
     "city.toml: enbs: must not repeat, got '10.0.1.2'"),
    ('hss_ip = "10.0.0.3"', 'hss_ip = "10.0.0.1"',
     "city.toml: enbs: must not repeat, got '10.0.0.1'"),
    ('pgw_ip = "10.0.0.4"', 'pgw_ip = "pgw"',
     "city.toml: network.pgw_ip: must be an IPv4 address, got 'pgw'"),
    ("msisdn_share = 0.75", "msisdn_share = 2",
     "city.toml: population.msisdn_share: must be a number in 0.0..1.0, got 2"),
    ("hours = 3", "hourz = 3", "city.toml: scenario.hours: missing"),
    ("bin_seconds = 900", "bin_seconds = 900\nbins = 4", "city.toml: scenario.bins: unknown key"),
    ("mme_code = 1", "mme_code = 1\n[extra]", "city.toml: extra: unknown key"),
])
def test_errors_name_file_key_and_value(old, new, expected):
    assert old in TINY
    assert _error(TINY.replace(old, new, 1)).startswith(expected)


def test_a_zone_without_cells_is_refused():
    text = TINY + '\n[[zones]]\nid = "croix-rousse"\nname = "Croix-Rousse"\nlon = 4.83\nlat = 45.77\n'
    # appended after [behaviour], the array of tables still belongs to the top level
    assert _error(text) == ("city.toml: zones: every zone needs at least one cell, "
                            "got 'croix-rousse'")


def test_toml_syntax_and_missing_files():
    assert _error("[scenario\n").startswith("city.toml: not valid TOML")
    with pytest.raises(ScenarioError, match=r"^nowhere: not a built-in scenario \(demo, lyon-fete-des-lumieres, tiny\)"):
        load("nowhere")


def test_start_may_be_a_toml_datetime():
    s = parse(TINY.replace('"2026-12-08T17:00:00Z"', "2026-12-08T17:00:00Z"), "city.toml")
    assert s.start == 1796749200
