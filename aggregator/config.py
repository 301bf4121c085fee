"""Validated, frozen configuration of the aggregator commands.

Everything is checked here before any socket or file is opened; an error
names the option and the bad value (`--listen: invalid endpoint 'tcp://x'
...`), and the command exits with status 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from wire.curve import CurveKeyError, allow_list, load_secret
from wire.reference import ReferenceError as ReferenceFileError
from wire.reference import read_cells

FORMATS = ("table", "json")
_TCP_RE = re.compile(r"^tcp://(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+):(?P<port>\*|[0-9]{1,5})$")
_IPC_MAX_PATH = 107  # sun_path is 108 bytes with the NUL


class ConfigError(ValueError):
    """An invalid option value; the message names the option and the value."""


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """`aggregator serve`: where to listen and where to store."""

    listen: str
    db: Path
    curve: tuple[bytes, bytes] | None = None  # the aggregator's (public, secret) key
    allow: Path | None = None                 # folder of the accepted collectors' public keys


@dataclass(frozen=True, slots=True)
class ReportConfig:
    """`aggregator report`: which store and which output format."""

    db: Path
    format: str
    cells: list | None = None  # the reference cells.csv (wire.reference.Cell), with zones


def check_endpoint(endpoint: str) -> str:
    """`endpoint` if it is a bindable tcp://HOST:PORT (PORT may be *) or ipc://PATH."""
    tcp = _TCP_RE.match(endpoint)
    if tcp:
        port = tcp.group("port")
        if port == "*" or 1 <= int(port) <= 65535:
            return endpoint
        raise ConfigError(f"--listen: invalid port {port!r} in {endpoint!r} (1-65535 or *)")
    if endpoint.startswith("ipc://"):
        path = endpoint[len("ipc://"):]
        if path and len(path.encode()) <= _IPC_MAX_PATH:
            return endpoint
        raise ConfigError(f"--listen: invalid ipc path in {endpoint!r}"
                          f" (non-empty, at most {_IPC_MAX_PATH} bytes)")
    raise ConfigError(f"--listen: invalid endpoint {endpoint!r}"
                      " (expected tcp://HOST:PORT or ipc://PATH)")


def serve_config(listen: str, db: str, curve_secret: str | None = None,
                 allow: str | None = None) -> ServeConfig:
    """Check the options of `serve`: the endpoint's form, the database's directory, and
    the CurveZMQ key and allow list (both or neither)."""
    curve = None
    if (curve_secret is None) != (allow is None):
        raise ConfigError("--curve-secret and --allow go together (CurveZMQ needs the "
                          "aggregator's secret key and the collectors' public keys)")
    if curve_secret is not None:
        try:
            curve = load_secret(curve_secret)
        except CurveKeyError as e:
            raise ConfigError(f"--curve-secret: {e}") from None
        try:
            allow_list(allow)
        except CurveKeyError as e:
            raise ConfigError(f"--allow: {e}") from None
    path = Path(db)
    if path.is_dir():
        raise ConfigError(f"--db: {db!r} is a directory, expected a database file")
    if not path.parent.is_dir():
        raise ConfigError(f"--db: directory {str(path.parent)!r} of {db!r} does not exist")
    return ServeConfig(check_endpoint(listen), path, curve, Path(allow) if allow else None)


def report_config(db: str, fmt: str, reference: str | None = None) -> ReportConfig:
    """Check the options of `report`: the database file must exist; the reference folder,
    when given, must hold a readable cells.csv (errors name the file, line and value)."""
    path = Path(db)
    if not path.is_file():
        raise ConfigError(f"--db: no such database file {db!r}")
    if fmt not in FORMATS:
        raise ConfigError(f"--format: invalid format {fmt!r} (one of {', '.join(FORMATS)})")
    cells = None
    if reference is not None:
        folder = Path(reference)
        if not folder.is_dir():
            raise ConfigError(f"--reference: no such folder {reference!r}")
        try:
            cells = read_cells(str(folder / "cells.csv"))
        except ReferenceFileError as exc:
            raise ConfigError(f"--reference: {exc}") from None
    return ReportConfig(path, fmt, cells)
