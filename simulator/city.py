"""The city model of a scenario: census, the operator's reach, visitors, events, daily life.

Read from `[city]`, `[operator]`, `[[visitors.domestic]]`, `[[visitors.foreign]]` and
`[[events]]` of a scenario file (and the `census` / `residents` of its zones) into frozen
objects; `scenarios/demo.toml` documents every key with its default.  A scenario with a
flat `[population]` table (`tiny`) has no city model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from simulator.fields import Fields
from wire.reference import AGE_BANDS

# Share of each age band in the population (France, INSEE 2024, rounded), the default split
# of a zone's `residents`.
AGE_PYRAMID = (0.17, 0.17, 0.19, 0.19, 0.17, 0.11)
# Phone ownership by age band (defaults of `[operator] ownership`).
OWNERSHIP = (0.45, 0.98, 0.97, 0.95, 0.85, 0.6)
# IMEI type allocation codes of cellular IoT modules (defaults of `[operator] m2m_tacs`).
M2M_TACS = ("35473310", "86720604", "35922209", "35404311")
_ISO2 = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class Daily:
    """Residents' days (local hours): commuters work in a zone by day, others go out."""

    commuter_share: float                   # of residents aged 15-59
    work_start: tuple[float, float]          # hours, local
    work_hours: tuple[float, float]
    leisure_share: float                    # non-commuters out once in the day
    leisure_minutes: tuple[int, int]
    evening_share: float                    # residents out in the evening
    evening_minutes: tuple[int, int]
    age_pyramid: tuple[float, ...]
    zone_side_m: int                        # default zone polygon: a square this wide


@dataclass(frozen=True, slots=True)
class Operator:
    """The operator's reach: market share, phones off, ownership, extra devices."""

    market_share: float
    off_share: float                        # phones off for a whole day
    night_off_share: float                  # phones switched off for the night
    ownership: tuple[float, ...]            # by age band
    multi_sim_share: float                  # owners with a second operator device
    m2m_devices: int
    m2m_tacs: tuple[str, ...]
    imeisv_share: float
    msisdn_share: float
    nr_share: float = 0.4                   # persons whose phone camps on NR where it can
    m2m_psm_share: float = 0.5              # modules asking for power saving mode (T3324)


@dataclass(frozen=True, slots=True)
class Visitors:
    """Visitors from one other region (`country` None) or one foreign country."""

    name: str                               # region name or ISO 3166 alpha-2 country
    country: str | None
    mcc: str
    mnc: str
    per_day: int                            # arrivals per day
    operator_share: float                   # on the operator's network (market or capture share)
    carry_share: float                      # carrying a phone that is on
    arrival: tuple[float, float]            # hours, local
    stay_hours: tuple[float, float]         # day trippers
    overnight_share: float
    nights: tuple[int, int]
    overnight_zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """An event: venue zones, scenario days (1 = the first local day), local hours."""

    name: str
    zones: tuple[str, ...]
    days: tuple[int, ...]
    hours: tuple[float, float]
    attendance: int                         # distinct persons per day
    returning_share: float                  # of a day's attendees, came on an earlier day
    resident_share: float                   # of attendance, residents (the rest: visitors)
    stay_minutes: tuple[int, int]


@dataclass(frozen=True, slots=True)
class City:
    """The whole city model; `census[zone] = people by age band (AGE_BANDS order)`."""

    census: dict[str, tuple[int, ...]]
    jobs: dict[str, float]
    attraction: dict[str, float]
    market_share: dict[str, float]          # per home zone (override or the operator's)
    daily: Daily
    operator: Operator
    visitors: tuple[Visitors, ...]
    events: tuple[Event, ...]

    def scaled(self, f: float) -> City:
        """Every count (census, arrivals, attendance, M2M devices) times `f`."""
        census = {z: tuple(round(n * f) for n in bands) for z, bands in self.census.items()}
        return replace(self, census=census,
                       operator=replace(self.operator,
                                        m2m_devices=round(self.operator.m2m_devices * f)),
                       visitors=tuple(replace(v, per_day=round(v.per_day * f))
                                      for v in self.visitors),
                       events=tuple(replace(e, attendance=round(e.attendance * f))
                                    for e in self.events))


def split(n: int, pyramid: tuple[float, ...]) -> tuple[int, ...]:
    """`n` people over the age bands by largest remainders (the parts add up to n)."""
    raw = [n * p for p in pyramid]
    out = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: out[i] - raw[i])[:n - sum(out)]:
        out[i] += 1
    return tuple(out)


def hours_pair(f: Fields, key: str, default: list) -> tuple[float, float]:
    """[from, to] local hours, 0 <= from <= to <= 24 (fractions allowed)."""
    v = f.raw_or(key, default)
    if (not isinstance(v, list) or len(v) != 2 or any(
            isinstance(x, bool) or not isinstance(x, int | float) for x in v)
            or not 0 <= v[0] <= v[1] <= 24):
        raise f.fail(key, "must be [from, to] hours with 0 <= from <= to <= 24", v)
    return float(v[0]), float(v[1])


def bands(f: Fields, key: str, default: tuple[float, ...] | None, integer: bool
          ) -> tuple | None:
    """A table {age band: value} with all six bands (`AGE_BANDS`)."""
    v = f.raw_or(key, None if default is None else dict(zip(AGE_BANDS, default, strict=True)))
    if v is None:
        return None
    sub = Fields(v, f.file, f.path_of(key))
    out = tuple(sub.integer(b, 0, 50_000_000) if integer else sub.number(b, 0.0, 1.0)
                for b in AGE_BANDS)
    sub.done()
    return out


def daily(f: Fields | None) -> Daily:
    """`[city]` (every key optional)."""
    f = f or Fields({}, "", "city")
    pyramid = bands(f, "age_pyramid", AGE_PYRAMID, integer=False)
    if abs(sum(pyramid) - 1) > 1e-6:
        raise f.fail("age_pyramid", "shares must add up to 1", f.raw_or("age_pyramid", None))
    d = Daily(f.number("commuter_share", 0.0, 1.0, 0.6), hours_pair(f, "work_start", [7, 10]),
              hours_pair(f, "work_hours", [6, 10]), f.number("leisure_share", 0.0, 1.0, 0.5),
              f.span("leisure_minutes", 5, 600, [30, 180]), f.number("evening_share", 0.0, 1.0,
                                                                    0.2),
              f.span("evening_minutes", 5, 300, [30, 180]), pyramid,
              f.integer("zone_side_m", 50, 20_000, 600))
    f.done()
    return d


def operator(f: Fields | None) -> Operator:
    """`[operator]` (every key optional)."""
    f = f or Fields({}, "", "operator")
    tacs = f.raw_or("m2m_tacs", list(M2M_TACS))
    if not isinstance(tacs, list) or not tacs or not all(
            isinstance(t, str) and t.isdigit() and len(t) == 8 for t in tacs):
        raise f.fail("m2m_tacs", "must be a list of 8-digit IMEI TACs", tacs)
    o = Operator(f.number("market_share", 0.0, 1.0, 0.35), f.number("off_share", 0.0, 1.0, 0.02),
                 f.number("night_off_share", 0.0, 1.0, 0.1),
                 bands(f, "ownership", OWNERSHIP, integer=False),
                 f.number("multi_sim_share", 0.0, 1.0, 0.03),
                 f.integer("m2m_devices", 0, 10_000_000, 0), tuple(tacs),
                 f.number("imeisv_share", 0.0, 1.0, 0.0), f.number("msisdn_share", 0.0, 1.0, 1.0),
                 f.number("nr_share", 0.0, 1.0, 0.4), f.number("m2m_psm_share", 0.0, 1.0, 0.5))
    f.done()
    return o


def visitors(f: Fields, foreign: bool, op: Operator, zones: set[str]) -> Visitors:
    """One `[[visitors.domestic]]` or `[[visitors.foreign]]` entry."""
    if foreign:
        country = f.text("country")
        if not _ISO2.fullmatch(country):
            raise f.fail("country", "must be an ISO 3166 alpha-2 code like IT", country)
        mcc, mnc = f.text("mcc"), f.text("mnc")
        if not (mcc.isdigit() and len(mcc) == 3):
            raise f.fail("mcc", "must be 3 digits", mcc)
        if not (mnc.isdigit() and len(mnc) in (2, 3)):
            raise f.fail("mnc", "must be 2 or 3 digits", mnc)
        name, share = country, f.number("capture_share", 0.0, 1.0, 0.3)
    else:
        name, country, mcc, mnc = f.text("region"), None, "", ""
        share = f.number("operator_share", 0.0, 1.0, op.market_share)
    over = f.raw_or("overnight_zones", sorted(zones))
    if not isinstance(over, list) or not over or any(z not in zones for z in over):
        raise f.fail("overnight_zones", "must be a list of [[zones]] ids", over)
    v = Visitors(name, country, mcc, mnc, f.integer("per_day", 0, 50_000_000), share,
                 f.number("carry_share", 0.0, 1.0, 0.95), hours_pair(f, "arrival", [9, 19]),
                 hours_pair(f, "stay_hours", [2, 8]), f.number("overnight_share", 0.0, 1.0,
                                                               0.6 if foreign else 0.1),
                 f.span("nights", 1, 30, [1, 3]), tuple(over))
    f.done()
    return v


def event(f: Fields, zones: set[str], days: int) -> Event:
    """One `[[events]]` entry."""
    venue = f.raw("zones")
    if not isinstance(venue, list) or not venue or any(z not in zones for z in venue):
        raise f.fail("zones", "must be a list of [[zones]] ids", venue)
    on = f.raw("days")
    if not isinstance(on, list) or not on or any(
            isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= days for d in on):
        raise f.fail("days", f"must be a list of scenario days in 1..{days}", on)
    hours = hours_pair(f, "hours", [18, 23])
    if hours[1] - hours[0] < 0.5:
        raise f.fail("hours", "must last at least half an hour", list(hours))
    e = Event(f.text("name"), tuple(venue), tuple(sorted(set(on))), hours,
              f.integer("attendance", 0, 50_000_000), f.number("returning_share", 0.0, 1.0, 0.2),
              f.number("resident_share", 0.0, 1.0, 0.5),
              f.span("stay_minutes", 15, 24 * 60, [30, 240]))
    f.done()
    return e
