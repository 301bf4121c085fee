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
