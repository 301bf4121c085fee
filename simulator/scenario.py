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
from dataclasses import dataclass, replace
from pathlib import Path

from simulator import city as citymod
from simulator.city import City
from simulator.fields import Fields, ScenarioError
from wire.reference import ZONE_ID
from wire.report import parse_iso

BUILTIN = Path(__file__).resolve().parent / "scenarios"
AT_END = ("switch-off", "stay-on")  # what phones still on do when the scenario ends
SGW_IP, HSS_IP, PGW_IP = "10.0.0.2", "10.0.0.3", "10.0.0.4"  # defaults of [network]

__all__ = ["Scenario", "ScenarioError", "load", "parse", "resize"]


@dataclass(frozen=True, slots=True)
class Zone:
    """A named area of the city (a zone id of zones.geojson); `polygon`: its ring of
    (lon, lat) positions as given (None: a square around lon/lat, see `city.Daily`)."""

    id: str
    name: str
    lon: float
    lat: float
    polygon: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True, slots=True)
class CellSpec:
    """One cell: sector `sector` of base station `enb_id`, an E-UTRAN cell (`rat` "lte",
    ECI = enb_id << 8 | sector) or an NR cell of a gNB (`rat` "nr", NCI = enb_id << 12 |
    sector: a 24-bit gNB ID)."""

    enb_id: int
    sector: int
    tac: int
    zone: str
    lon: float
    lat: float
    azimuth: int
    rat: str = "lte"

    @property
    def eci(self) -> int:
        """The cell identity of its RAT: the 28-bit E-UTRAN cell identity (TS 36.413
        §9.2.1.38), or the 36-bit NR cell identity of an NR cell (TS 38.413 §9.3.1.7)."""
        return (self.enb_id << 12 if self.rat == "nr" else self.enb_id << 8) | self.sector


@dataclass(frozen=True, slots=True)
class Enb:
    """An eNodeB (`rat` "lte": S1 to the MME) or a gNB (`rat` "nr": NG to the AMF, which is
    the same node as the MME here): its address and its cells."""

    id: int
    name: str
    ip: str
    tac: int
    cells: tuple[CellSpec, ...]
    rat: str = "lte"


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
    data_sessions_per_hour: float  # while awake (07:00-23:00 local), city model
    session_seconds: tuple[int, int]
    mobile_terminated_share: float
    power_on_within: int
    power_cycle_share: float
    off_seconds: tuple[int, int]
    at_end: str
    end_off_seconds: tuple[int, int]
    # city model: the rate while at an event (people film and share; None: the awake rate)
    # and while asleep (background sync, push; 23:00-07:00 local)
    event_sessions_per_hour: float | None = None
    night_sessions_per_hour: float = 0.0


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole validated scenario; `start` and `end` are POSIX seconds.

    Either a flat `population` (people moving at random, `tiny`) or a `city` model (census,
    operator, visitors, events: agents with daily schedules).  `utc_offset`: seconds to add
    to UTC for local time (schedules, nights).
    """

    name: str
    source: str
    start: int
    end: int
    bin_seconds: int
    network: Network
    zones: tuple[Zone, ...]
    enbs: tuple[Enb, ...]
    population: Population | None
    behaviour: Behaviour
    city: City | None = None
    utc_offset: int = 0

    @property
    def first_midnight(self) -> int:
        """POSIX time of the local midnight that starts the scenario's first day."""
        local = self.start + self.utc_offset
        return local - local % 86400 - self.utc_offset

    @property
    def days(self) -> int:
        """Local days the scenario touches (day 1 holds its start)."""
        return -(-(self.end - self.first_midnight) // 86400)

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
    utc_offset = round(head.number("utc_offset_hours", -12, 14, 0) * 3600)
    head.done()
    network = _network(top.table("network"))
    flat = top.has("population")
    zone_tables = top.tables("zones")
    zones = tuple(_zone(f) for f in zone_tables)
    _unique(top, "zones", [z.id for z in zones])
    enbs = tuple(_enb(f, {z.id for z in zones}, network) for f in top.tables("enbs"))
    _unique(top, "enbs", [e.id for e in enbs])
    _unique(top, "enbs", [e.ip for e in enbs] + [network.mme_ip, network.sgw_ip, network.hss_ip,
                                                  network.pgw_ip])
    served = {c.zone for e in enbs for c in e.cells}
    for z in zones:
        if z.id not in served:
            raise top.fail("zones", "every zone needs at least one cell", z.id)
    behaviour = _behaviour(top.table("behaviour") if flat or top.has("behaviour") else
                           Fields({}, file, "behaviour"), flat)
    scn = Scenario(name, file, start, start + seconds, bin_seconds, network, zones, enbs, None,
                   behaviour, utc_offset=utc_offset)
    if flat:
        for z in zone_tables:
            z.done()
        scn = replace(scn, population=_population(top.table("population")))
    else:
        scn = replace(scn, city=_city(top, zone_tables, scn.days))
    top.done()
    return scn


def resize(scn: Scenario, scale: float = 1.0, days: int | None = None) -> Scenario:
    """`simulator generate --scale F --days D`: every count of the city model times `scale`;
    `days` local days from the first one (events on later days dropped)."""
    if days is not None:
        end = scn.first_midnight + days * 86400
        scn = replace(scn, end=end if end > scn.start else scn.start + 86400)
    if scn.city is None:
        return scn
    c = scn.city.scaled(scale)
    events = tuple(replace(e, days=tuple(d for d in e.days if d <= scn.days)) for e in c.events)
    return replace(scn, city=replace(c, events=tuple(e for e in events if e.days)))


def _city(top: Fields, zone_tables: list[Fields], days: int) -> City:
    head = top.table("city") if top.has("city") else None
    daily = citymod.daily(head)
    op = citymod.operator(top.table("operator") if top.has("operator") else None)
    census, jobs, attraction, share = {}, {}, {}, {}
    for f in zone_tables:
        zid = f.raw("id")
        counts = citymod.bands(f, "census", None, integer=True)
        if counts is not None and f.has("residents"):
            raise f.fail("residents", "give census or residents, not both", f.raw("residents"))
        if counts is None:
            counts = citymod.split(f.integer("residents", 0, 50_000_000, 0), daily.age_pyramid)
        census[zid] = counts
        jobs[zid] = f.number("jobs", 0, 1e9, 0)
        attraction[zid] = f.number("attraction", 0, 1e9, 1)
        share[zid] = f.number("market_share", 0.0, 1.0, op.market_share)
        f.done()
    if not sum(map(sum, census.values())):
        raise top.fail("zones", "a city model needs residents (census or residents of a zone)",
                       0)
    ids = set(census)
    groups = top.table("visitors") if top.has("visitors") else Fields({}, top.file, "visitors")
    vis = [citymod.visitors(v, False, op, ids) for v in _optional(groups, "domestic")]
    vis += [citymod.visitors(v, True, op, ids) for v in _optional(groups, "foreign")]
    groups.done()
    events = tuple(citymod.event(e, ids, days) for e in _optional(top, "events"))
    return City(census, jobs, attraction, share, daily, op, tuple(vis), events)


def _optional(f: Fields, key: str) -> list[Fields]:
    return f.tables(key) if f.has(key) else []


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
    """The zone's place (its census keys are read by `_city`)."""
    zid = f.text("id")
    if not ZONE_ID.fullmatch(zid):
        raise f.fail("id", "must be lowercase letters, digits and dashes ([a-z0-9][a-z0-9-]*)",
                     zid)
    return Zone(zid, f.text("name"), f.number("lon", -180, 180), f.number("lat", -90, 90),
                _polygon(f))


def _polygon(f: Fields) -> tuple[tuple[float, float], ...] | None:
    v = f.raw_or("polygon", None)
    if v is None:
        return None
    ok = isinstance(v, list) and len(v) >= 3 and all(
        isinstance(p, list) and len(p) == 2 and all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in p)
        and -180 <= p[0] <= 180 and -90 <= p[1] <= 90 for p in v)
    if not ok:
        raise f.fail("polygon", "must be a list of at least 3 [lon, lat] positions", v)
    ring = tuple((float(x), float(y)) for x, y in v)
    return ring if ring[0] == ring[-1] else (*ring, ring[0])


def _enb(f: Fields, zones: set[str], net: Network) -> Enb:
    rat = f.text("rat", "lte", ("lte", "nr"))
    enb_id = f.integer("id", 0, (1 << 24 if rat == "nr" else 1 << 20) - 1)
    tac = f.integer("tac", 1, 0xFFFE)
    name, ip = f.text("name"), _ipv4(f, "ip")
    lon, lat = f.number("lon", -180, 180), f.number("lat", -90, 90)
    cells = []
    for s in f.tables("sectors"):
        zone = s.text("zone")
        if zone not in zones:
            raise s.fail("zone", "must be the id of a [[zones]] entry", zone)
        cells.append(CellSpec(enb_id, s.integer("sector", 0, 255), tac, zone, lon, lat,
                              s.integer("azimuth", 0, 359), rat))
        s.done()
    _unique(f, "sectors", [c.sector for c in cells])
    f.done()
    return Enb(enb_id, name, ip, tac, tuple(cells), rat)


def _population(f: Fields) -> Population:
    people = f.integer("people", 1, 10_000_000)
    p = Population(people, f.integer("operator_phones", 0, people),
                   f.number("imeisv_share", 0.0, 1.0, 0.0),
                   f.number("msisdn_share", 0.0, 1.0, 1.0))
    f.done()
    return p


def _behaviour(f: Fields, flat: bool) -> Behaviour:
    lo_s, hi_s = f.span("session_seconds", 1, 86400, [5, 120])
    lo_o, hi_o = f.span("off_minutes", 1, 24 * 60, [10, 40])
    lo_e, hi_e = f.span("end_off_minutes", 1, 24 * 60, [1, 20])
    b = Behaviour(
        moves_per_hour=f.number("moves_per_hour", 0.0, 60.0, None if flat else 0.5),
        quiet_share=f.number("quiet_share", 0.0, 1.0, 0.0),
        zone_change_share=f.number("zone_change_share", 0.0, 1.0, 0.5),
        data_sessions_per_hour=f.number("data_sessions_per_hour", 0.0, 60.0,
                                        1.0 if flat else 0.5),
        session_seconds=(lo_s, hi_s),
        mobile_terminated_share=f.number("mobile_terminated_share", 0.0, 1.0, 0.3),
        power_on_within=f.integer("power_on_minutes", 0, 24 * 60, 30) * 60,
        power_cycle_share=f.number("power_cycle_share", 0.0, 1.0, 0.0),
        off_seconds=(lo_o * 60, hi_o * 60),
        at_end=f.text("at_end", "switch-off", AT_END),
        end_off_seconds=(lo_e * 60, hi_e * 60),
        event_sessions_per_hour=(f.number("event_sessions_per_hour", 0.0, 60.0)
                                 if f.has("event_sessions_per_hour") else None),
        night_sessions_per_hour=f.number("night_sessions_per_hour", 0.0, 60.0, 0.0))
    f.done()
    return b
