"""Scenario files (TOML) → a validated, frozen `Scenario` (DESIGN.md, "Simulator").

Everything is checked here, before any output is written; an error names
the file, the key and the bad value (`tiny.toml: enbs[1].tac: must be an
integer in 1..65535, got 0`).  `scenarios/tiny.toml` is the documented
sample of every key.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import tomllib
from dataclasses import dataclass
from pathlib import Path

from simulator.fields import Fields, ScenarioError
from wire.report import parse_iso

BUILTIN = Path(__file__).resolve().parent / "scenarios"
AT_END = ("switch-off", "stay-on")  # what phones still on do when the scenario ends
SGW_IP, HSS_IP, PGW_IP = "10.0.0.2", "10.0.0.3", "10.0.0.4"  # defaults of [network]

__all__ = ["Scenario", "ScenarioError", "load", "parse"]


@dataclass(frozen=True, slots=True)
class Zone:
    """A named area of the city (a zone id of zones.geojson)."""

    id: str
    name: str
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class CellSpec:
    """One E-UTRAN cell: sector `sector` of eNB `enb_id`; ECI = enb_id << 8 | sector."""

    enb_id: int
    sector: int
    tac: int
    zone: str
    lon: float
    lat: float
    azimuth: int

    @property
    def eci(self) -> int:
        """28-bit E-UTRAN cell identity (TS 36.413 §9.2.1.38)."""
        return (self.enb_id << 8) | self.sector


@dataclass(frozen=True, slots=True)
class Enb:
    """An eNodeB: its S1 address and its cells."""

    id: int
    name: str
    ip: str
    tac: int
    cells: tuple[CellSpec, ...]


@dataclass(frozen=True, slots=True)
class Network:
    """The operator's PLMN, its MME and the MME's peers (S-GW on S11, HSS on S6a).

    `core_signalling`: the capture holds S11 GTPv2-C and S6a Diameter beside S1AP.
    The P-GW is never on the captured links: its address appears in F-TEIDs only.
    """

    mcc: str
    mnc: str
    mme_ip: str
    mme_group_id: int
    mme_code: int
    t3412: int  # periodic TAU timer, seconds
    core_signalling: bool = True
    sgw_ip: str = SGW_IP
    hss_ip: str = HSS_IP
    pgw_ip: str = PGW_IP

    @property
    def plmn(self) -> str:
        """MCCMNC digits."""
        return self.mcc + self.mnc


@dataclass(frozen=True, slots=True)
class Population:
    """How many people, how many carry the operator's SIM, how many report an IMEISV, how
    many SIMs have a phone number (MSISDN)."""

    people: int
    operator_phones: int
    imeisv_share: float
    msisdn_share: float = 1.0


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How people move and use their phones; durations in seconds."""

    moves_per_hour: float
    quiet_share: float
    zone_change_share: float
    data_sessions_per_hour: float
    session_seconds: tuple[int, int]
    mobile_terminated_share: float
    power_on_within: int
    power_cycle_share: float
    off_seconds: tuple[int, int]
    at_end: str
    end_off_seconds: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole validated scenario; `start` and `end` are POSIX seconds."""

    name: str
    source: str
    start: int
    end: int
    bin_seconds: int
    network: Network
    zones: tuple[Zone, ...]
    enbs: tuple[Enb, ...]
    population: Population
    behaviour: Behaviour

    @property
    def cells(self) -> tuple[CellSpec, ...]:
        """Every cell, eNB by eNB."""
        return tuple(c for e in self.enbs for c in e.cells)


def load(name_or_path: str) -> Scenario:
    """A built-in scenario by name (`tiny`) or a TOML file by path."""
    builtin = BUILTIN / f"{name_or_path}.toml"
    path = builtin if builtin.is_file() else Path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        names = ", ".join(sorted(p.stem for p in BUILTIN.glob("*.toml")))
        raise ScenarioError(f"{name_or_path}: not a built-in scenario ({names}) nor a "
                            f"readable file ({e.strerror})") from None
    return parse(text, path.name)


def parse(text: str, file: str = "<scenario>") -> Scenario:
    """Validate the TOML text of a scenario; `file` names it in errors."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{file}: not valid TOML ({e})") from None
    top = Fields(doc, file)
    head = top.table("scenario")
    name, start = head.text("name"), _start(head)
    seconds = round(head.number("hours", 0.25, 24 * 31) * 3600)
    bin_seconds = head.integer("bin_seconds", 60, 86400, 900)
    head.done()
    network = _network(top.table("network"))
    zones = tuple(_zone(f) for f in top.tables("zones"))
    _unique(top, "zones", [z.id for z in zones])
    enbs = tuple(_enb(f, {z.id for z in zones}, network) for f in top.tables("enbs"))
    _unique(top, "enbs", [e.id for e in enbs])
    _unique(top, "enbs", [e.ip for e in enbs] + [network.mme_ip, network.sgw_ip, network.hss_ip,
                                                  network.pgw_ip])
    served = {c.zone for e in enbs for c in e.cells}
    for z in zones:
        if z.id not in served:
            raise top.fail("zones", "every zone needs at least one cell", z.id)
    population, behaviour = _population(top.table("population")), _behaviour(
        top.table("behaviour"))
    top.done()
    return Scenario(name, file, start, start + seconds, bin_seconds, network, zones, enbs,
                    population, behaviour)


def _start(f: Fields) -> int:
    v = f.raw("start")  # TOML gives a datetime (unquoted) or a string
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return int(v.timestamp())
    try:
        return parse_iso(v)
    except (TypeError, ValueError):
        raise f.fail("start", "must be a UTC time like 2026-12-08T17:00:00Z", v) from None


def _unique(f: Fields, key: str, values: list) -> None:
    seen = set()
    for v in values:
        if v in seen:
            raise f.fail(key, "must not repeat", v)
        seen.add(v)


def _ipv4(f: Fields, key: str, default: str | None = None) -> str:
    v = f.text(key, default)
    try:
        return str(ipaddress.IPv4Address(v))
    except ValueError:
        raise f.fail(key, "must be an IPv4 address", v) from None


def _network(f: Fields) -> Network:
    mcc, mnc = f.text("mcc"), f.text("mnc")
    if not (mcc.isdigit() and len(mcc) == 3):
        raise f.fail("mcc", "must be 3 digits", mcc)
    if not (mnc.isdigit() and len(mnc) in (2, 3)):
        raise f.fail("mnc", "must be 2 or 3 digits", mnc)
    t3412 = f.integer("t3412_minutes", 1, 186, 54)
    if t3412 > 31 and t3412 % 6:
        raise f.fail("t3412_minutes", "must be at most 31 or a multiple of 6 (NAS GPRS timer)",
                     t3412)
    net = Network(mcc, mnc, _ipv4(f, "mme_ip"), f.integer("mme_group_id", 0, 0xFFFF),
                  f.integer("mme_code", 0, 0xFF), t3412 * 60,
                  core_signalling=f.flag("core_signalling", True),
                  sgw_ip=_ipv4(f, "sgw_ip", SGW_IP),
                  hss_ip=_ipv4(f, "hss_ip", HSS_IP),
                  pgw_ip=_ipv4(f, "pgw_ip", PGW_IP))
    f.done()
    return net


def _zone(f: Fields) -> Zone:
    z = Zone(f.text("id"), f.text("name"), f.number("lon", -180, 180), f.number("lat", -90, 90))
    f.done()
    return z


def _enb(f: Fields, zones: set[str], net: Network) -> Enb:
    enb_id, tac = f.integer("id", 0, (1 << 20) - 1), f.integer("tac", 1, 0xFFFE)
    name, ip = f.text("name"), _ipv4(f, "ip")
    lon, lat = f.number("lon", -180, 180), f.number("lat", -90, 90)
    cells = []
    for s in f.tables("sectors"):
        zone = s.text("zone")
        if zone not in zones:
            raise s.fail("zone", "must be the id of a [[zones]] entry", zone)
        cells.append(CellSpec(enb_id, s.integer("sector", 0, 255), tac, zone, lon, lat,
                              s.integer("azimuth", 0, 359)))
        s.done()
    _unique(f, "sectors", [c.sector for c in cells])
    f.done()
    return Enb(enb_id, name, ip, tac, tuple(cells))


def _population(f: Fields) -> Population:
    people = f.integer("people", 1, 10_000_000)
    p = Population(people, f.integer("operator_phones", 0, people),
                   f.number("imeisv_share", 0.0, 1.0, 0.0),
                   f.number("msisdn_share", 0.0, 1.0, 1.0))
    f.done()
    return p


def _behaviour(f: Fields) -> Behaviour:
    lo_s, hi_s = f.span("session_seconds", 1, 86400, [5, 120])
    lo_o, hi_o = f.span("off_minutes", 1, 24 * 60, [10, 40])
    lo_e, hi_e = f.span("end_off_minutes", 1, 24 * 60, [1, 20])
    b = Behaviour(
        moves_per_hour=f.number("moves_per_hour", 0.0, 60.0),
        quiet_share=f.number("quiet_share", 0.0, 1.0, 0.0),
        zone_change_share=f.number("zone_change_share", 0.0, 1.0, 0.5),
        data_sessions_per_hour=f.number("data_sessions_per_hour", 0.0, 60.0, 1.0),
        session_seconds=(lo_s, hi_s),
        mobile_terminated_share=f.number("mobile_terminated_share", 0.0, 1.0, 0.3),
        power_on_within=f.integer("power_on_minutes", 0, 24 * 60, 30) * 60,
        power_cycle_share=f.number("power_cycle_share", 0.0, 1.0, 0.0),
        off_seconds=(lo_o * 60, hi_o * 60),
        at_end=f.text("at_end", "switch-off", AT_END),
        end_off_seconds=(lo_e * 60, hi_e * 60))
    f.done()
    return b
