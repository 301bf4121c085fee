"""Unit tests of aggregator.config and the `serve` command's option checks."""

from __future__ import annotations

import pytest

from aggregator.__main__ import main
from aggregator.config import ConfigError, check_endpoint, serve_config


@pytest.mark.parametrize("endpoint", [
    "tcp://0.0.0.0:5555", "tcp://127.0.0.1:*", "tcp://[::1]:5555", "tcp://eth0:5555",
    "ipc:///run/cellcensus/agg.sock",
])
def test_good_endpoints(endpoint):
    assert check_endpoint(endpoint) == endpoint


@pytest.mark.parametrize(("endpoint", "message"), [
    ("localhost:5555", "invalid endpoint 'localhost:5555'"),
    ("tcp://0.0.0.0", "invalid endpoint 'tcp://0.0.0.0'"),
    ("tcp://0.0.0.0:0", "invalid port '0'"),
    ("tcp://0.0.0.0:70000", "invalid port '70000'"),
    ("ipc://", "invalid ipc path"),
    ("ipc://" + "x" * 200, "invalid ipc path"),
    ("udp://0.0.0.0:5555", "invalid endpoint"),
])
def test_bad_endpoints_name_the_option_and_value(endpoint, message):
    with pytest.raises(ConfigError, match="^--listen: ") as exc:
        check_endpoint(endpoint)
    assert message in str(exc.value)


def test_db_directory_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="^--db: directory .* does not exist"):
        serve_config("tcp://127.0.0.1:5555", str(tmp_path / "no" / "a.duckdb"))
    with pytest.raises(ConfigError, match="^--db: .* is a directory"):
        serve_config("tcp://127.0.0.1:5555", str(tmp_path))


def test_serve_usage_errors_exit_2(tmp_path, capsys):
    assert main(["serve", "--listen", "nonsense", "--db", str(tmp_path / "a.duckdb")]) == 2
    assert capsys.readouterr().err == (
        "aggregator serve: --listen: invalid endpoint 'nonsense'"
        " (expected tcp://HOST:PORT or ipc://PATH)\n")
    assert not (tmp_path / "a.duckdb").exists()  # checked before any I/O
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--db", str(tmp_path / "a.duckdb")])
    assert exc.value.code == 2


def test_serve_unbindable_endpoint_exits_1(tmp_path, capsys):
    # TEST-NET-1 address: a valid form that no local interface owns.
    assert main(["serve", "--listen", "tcp://192.0.2.1:5555",
                 "--db", str(tmp_path / "a.duckdb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aggregator serve: cannot listen on tcp://192.0.2.1:5555: ")
    assert err.count("\n") == 1


# --- report and serve options: the aggregator config file, the reference, the filters ---

def report_args(known_db, reference, *more):
    return ["report", "--db", str(known_db), "--reference", str(reference), *more]


@pytest.mark.parametrize(("text", "message"), [
    ("[foreign]\nIT = { capture_share = 1.5, carry_rate = 0.9 }\n",
     "agg.toml: foreign.IT.capture_share: 1.5 is not a number in (0, 1]"),
    ("[foreign]\nIT = { capture_share = 0.5 }\n", "agg.toml: foreign.IT: "),
    ("[foreign]\nItaly = { capture_share = 0.5, carry_rate = 0.9 }\n",
     "agg.toml: foreign: country 'Italy' is not ISO 3166 alpha-2"),
    ("[foreign]\ndefault = { capture_share = 0, carry_rate = 0.9 }\n",
     "agg.toml: foreign.default.capture_share: 0 is not a number in (0, 1]"),
    ("[foriegn]\n", "agg.toml: foriegn: unknown key"),
    ("foreign = 3\n", "agg.toml: foreign: must be a table, got 3"),
    ("[foreign\n", "agg.toml: not TOML"),
])
def test_config_file_errors_name_file_key_and_value(known_db, reference, capsys, text, message):
    (reference / "agg.toml").write_text(text)
    code = main(report_args(known_db, reference, "--config", str(reference / "agg.toml")))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize(("more", "message"), [
    (["--zone", "nowhere"], "--zone: 'nowhere' is not a zone of cells.csv (known: a, b, c)"),
    (["--from", "2026-12-08T19:30:00Z"], "--from: '2026-12-08T19:30:00Z' is not on the hour"),
    (["--to", "yesterday"], "--to: 'yesterday' is not an ISO 8601 time"),
    (["--from", "2026-12-08T19:00:00Z", "--to", "2026-12-08T19:00:00Z"],
     "--to: '2026-12-08T19:00:00Z' is not after --from"),
    (["--k", "0"], "--k: 0 is not an integer >= 1"),
    (["--epsilon", "-1"], "--epsilon: -1.0 is not a number > 0"),
    (["--config", "/nonexistent/agg.toml"], "--config: /nonexistent/agg.toml: No such file"),
])
def test_report_option_errors(known_db, reference, capsys, more, message):
    assert main(report_args(known_db, reference, *more)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_zone_needs_a_reference(known_db, capsys):
    assert main(["report", "--db", str(known_db), "--zone", "a"]) == 2
    assert "--zone: needs --reference" in capsys.readouterr().err


def test_census_errors_name_file_line_and_value(known_db, reference, capsys):
    (reference / "census.csv").write_text("zone,age_band,people\na,15-29,many\n")
    assert main(report_args(known_db, reference)) == 2
    err = capsys.readouterr().err
    assert "census.csv:2: people: must be an integer >= 0, got 'many'" in err


def test_serve_keeps_reference_and_config(tmp_path, reference):
    config = serve_config("tcp://127.0.0.1:5555", str(tmp_path / "a.duckdb"),
                          reference=str(reference), settings=str(reference / "agg.toml"))
    assert config.reference == reference
    assert config.settings.foreign["IT"].capture_share == 0.5
    with pytest.raises(ConfigError, match="^--reference: no such folder"):
        serve_config("tcp://127.0.0.1:5555", str(tmp_path / "a.duckdb"),
                     reference=str(tmp_path / "nope"))
