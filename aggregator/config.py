"""Validated, frozen configuration of the aggregator commands.

Everything is checked here before any socket or file is opened; an error
names the option and the bad value (`--listen: invalid endpoint 'tcp://x'
...`), and the command exits with status 2.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from aggregator.estimate import DEFAULT_FOREIGN, Basis
from aggregator.extrapolate import ForeignFactors, check_foreign_factors, check_foreign_table
from aggregator.report import DEFAULT_K, ReportOptions
from wire.curve import CurveKeyError, allow_list, load_secret
from wire.reference import ReferenceError as ReferenceFileError
from wire.reference import read_cells, read_census

FORMATS = ("table", "json", "csv")
SETTINGS_TABLES = ("foreign",)
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
    reference: Path | None = None             # reference folder (kept for reports; unused yet)
    settings: Settings | None = None          # the aggregator's config file, checked


@dataclass(frozen=True, slots=True)
class Settings:
    """The aggregator's config file (TOML): `[foreign]` rows `XX = {capture_share = ...,
    carry_rate = ...}` and `default = {...}` for countries without a row."""

    foreign: dict[str, ForeignFactors]
    foreign_default: ForeignFactors = DEFAULT_FOREIGN


@dataclass(frozen=True, slots=True)
class ReportConfig:
    """`aggregator report`: which store, which output format, and what to report."""

    db: Path
    format: str
    options: ReportOptions = ReportOptions()


@dataclass(frozen=True, slots=True)
class ExportConfig:
    """`aggregator export`: which store, and the folder of the Parquet files."""

    db: Path
    out: Path


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


def load_settings(path: str) -> Settings:
    """Read and check the aggregator's config file; errors name the file, the key and the
    value (`agg.toml: foreign.IT.capture_share: 1.5 is not a number in (0, 1]`)."""
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"--config: {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config: {path}: not TOML ({exc})") from None
    for key in doc:
        if key not in SETTINGS_TABLES:
            raise ConfigError(f"{path}: {key}: unknown key (known: {', '.join(SETTINGS_TABLES)})")
    table = doc.get("foreign", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: foreign: must be a table, got {table!r}")
    rows = {k: v for k, v in table.items() if k != "default"}
    try:
        default = (check_foreign_factors("default", table["default"]) if "default" in table
                   else DEFAULT_FOREIGN)
        return Settings(check_foreign_table(rows), default)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _reference(reference: str) -> Path:
    folder = Path(reference)
    if not folder.is_dir():
        raise ConfigError(f"--reference: no such folder {reference!r}")
    return folder


def parse_time(option: str, text: str) -> int:
    """POSIX seconds of an ISO 8601 time on the hour (`2026-12-08T19:00:00Z`, a date, or no
    zone: UTC); figures are hourly, so another minute is an error naming the option."""
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option}: {text!r} is not an ISO 8601 time "
                          "(e.g. 2026-12-08T19:00:00Z)") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    seconds = int(t.timestamp())
    if seconds % 3600:
        raise ConfigError(f"{option}: {text!r} is not on the hour (figures are hourly)")
    return seconds


def serve_config(listen: str, db: str, curve_secret: str | None = None,
                 allow: str | None = None, reference: str | None = None,
                 settings: str | None = None) -> ServeConfig:
    """Check the options of `serve`: the endpoint's form, the database's directory, the
    CurveZMQ key and allow list (both or neither), the reference folder and config file."""
    curve = None
    folder = _reference(reference) if reference is not None else None
    checked = load_settings(settings) if settings is not None else None
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
    return ServeConfig(check_endpoint(listen), path, curve, Path(allow) if allow else None,
                       folder, checked)


def report_config(db: str, fmt: str, reference: str | None = None, *,
                  zones: list[str] | None = None, start: str | None = None,
                  end: str | None = None, k: int = DEFAULT_K, epsilon: float | None = None,
                  settings: str | None = None, raw: bool = False,
                  periods: list[str] | None = None, periods_file: str | None = None
                  ) -> ReportConfig:
    """Check the options of `report`: the database file must exist; the reference folder,
    when given, must hold a readable cells.csv and may hold census.csv (errors name the file,
    line and value); zones must be zones of cells.csv; times on the hour, start < end;
    without --reference only the raw sections exist, so --raw is needed; visitors periods
    (`--period START/END`, `--periods FILE`) on the hour, each start before its end."""
    path = Path(db)
    if not path.is_file():
        raise ConfigError(f"--db: no such database file {db!r}")
    if fmt not in FORMATS:
        raise ConfigError(f"--format: invalid format {fmt!r} (one of {', '.join(FORMATS)})")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"--k: {k!r} is not an integer >= 1")
    if epsilon is not None and not 0 < epsilon < float("inf"):
        raise ConfigError(f"--epsilon: {epsilon!r} is not a number > 0")
    lo = parse_time("--from", start) if start is not None else None
    hi = parse_time("--to", end) if end is not None else None
    if lo is not None and hi is not None and lo >= hi:
        raise ConfigError(f"--to: {end!r} is not after --from {start!r}")
    found = load_settings(settings) if settings is not None else Settings({})
    cells, census, bands = None, None, None
    if reference is not None:
        folder = _reference(reference)
        try:
            cells = read_cells(str(folder / "cells.csv"))
            if (folder / "census.csv").is_file():
                bands = read_census(str(folder / "census.csv"))
                census = {z: sum(by.values()) for z, by in bands.items()}
        except ReferenceFileError as exc:
            raise ConfigError(f"--reference: {exc}") from None
    if zones and cells is None:
        raise ConfigError("--zone: needs --reference (zones are those of cells.csv)")
    known = {c.zone for c in cells or () if c.zone}
    for zone in zones or ():
        if zone not in known:
            raise ConfigError(f"--zone: {zone!r} is not a zone of cells.csv "
                              f"(known: {', '.join(sorted(known))})")
    if cells is None and not raw:
        raise ConfigError("--reference: needed for the figures in persons; without it only "
                          "the raw sections exist (add --raw)")
    spans = [_period("--period", text) for text in periods or ()]
    if periods_file is not None:
        spans += read_periods(periods_file)
    basis = Basis(census, found.foreign, found.foreign_default, bands)
    return ReportConfig(path, fmt, ReportOptions(
        cells, basis, frozenset(zones) if zones else None, lo, hi, k, epsilon,
        periods=tuple(dict.fromkeys(spans)) or None, raw=raw))


def _period(option: str, text: str) -> tuple[int, int]:
    """[start, end) of `START/END` (ISO 8601 times on the hour)."""
    start, sep, end = text.partition("/")
    if not sep:
        raise ConfigError(f"{option}: {text!r} is not START/END "
                          "(e.g. 2026-12-08T17:00:00Z/2026-12-08T22:00:00Z)")
    lo, hi = parse_time(option, start), parse_time(option, end)
    if lo >= hi:
        raise ConfigError(f"{option}: {text!r} does not end after it starts")
    return lo, hi


def read_periods(path: str) -> list[tuple[int, int]]:
    """The visitors periods of a report or truth JSON document (`truth.json`: the event
    days' windows and the whole scenario), or of a text file of `START/END` lines."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--periods: cannot read {path!r}: {exc.__class__.__name__}") from None
    if text.lstrip().startswith("{"):
        try:
            rows = json.loads(text).get("visitors", [])
            lines = [f"{r['start']}/{r['end']}" for r in rows]
        except (ValueError, AttributeError, KeyError, TypeError):
            raise ConfigError(f"--periods: {path!r} is not a report document with "
                              "visitors rows (start, end)") from None
    else:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and ln[0] != "#"]
    spans = [_period(f"--periods: {path}: line {i}", ln) for i, ln in enumerate(lines, 1)]
    if not spans:
        raise ConfigError(f"--periods: {path!r} holds no period")
    return sorted(set(spans))


def export_config(db: str, out: str) -> ExportConfig:
    """Check the options of `export`: the database file exists; the output folder is new
    or empty (an export never mixes with an older one)."""
    path, folder = Path(db), Path(out)
    if not path.is_file():
        raise ConfigError(f"--db: no such database file {db!r}")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(f"--out: {out!r} exists and is not an empty folder")
    return ExportConfig(path, folder)
