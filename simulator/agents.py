"""Everyone in a city-model scenario, as numpy arrays (one entry per person).

Residents come first, exactly the census of each home zone and age band; then the
visitors of each `[[visitors.*]]` group, day by day of arrival.  Who carries the
operator's SIM is drawn here too (`devices`: 0, 1 or 2 with multi-SIM): residents by
ownership of their age band and market share of their home zone; visitors from other
regions get an age band from the city's age pyramid and own a phone as residents of
that band do (a family's children at a festival are there, their phones mostly not),
then carry it (carry share) on the operator's network (operator share); foreign
visitors (no band) by carry share and capture share.  Everything is O(people) and vectorised; only the
operator's devices later get Python objects (`phones.py`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from simulator.scenario import Scenario

RESIDENT, DOMESTIC, FOREIGN = 0, 1, 2
NEVER = np.iinfo(np.int64).max   # a resident's leave
ALWAYS = np.iinfo(np.int64).min  # a resident's arrival


def generator(seed: int, *purpose: object) -> np.random.Generator:
    """A numpy generator for one purpose, stable across runs and versions."""
    words = [zlib.crc32(str(p).encode()) for p in purpose]
    return np.random.default_rng(np.random.SeedSequence([seed % (1 << 63), *words]))


@dataclass(frozen=True, slots=True)
class Agents:
    """Per person: kind, home zone (index, -1 for visitors), age band, visitor group
    (index into `city.visitors`, -1 for residents), country (index into `countries`,
    -1 domestic), work zone of commuters, arrival and departure (POSIX seconds), lodging
    (zone at night: home, hotel zone, or -1 for day trippers) and operator devices."""

    kind: np.ndarray
    home: np.ndarray
    band: np.ndarray
    group: np.ndarray
    country: np.ndarray
    work: np.ndarray
    arrive: np.ndarray
    leave: np.ndarray
    lodging: np.ndarray
    devices: np.ndarray
    countries: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.kind)


def pick(r: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    """`n` indices drawn with the given weights (uniform when they are all zero)."""
    w = np.asarray(weights, dtype=float)
    w = np.ones_like(w) if w.sum() <= 0 else w
    return r.choice(len(w), size=n, p=w / w.sum()).astype(np.int16)


def uniform_hours(r: np.random.Generator, n: int, span: tuple[float, float]) -> np.ndarray:
    """`n` durations in seconds drawn uniformly in [span[0], span[1]] hours."""
    return np.rint(r.uniform(span[0], span[1], n) * 3600).astype(np.int64)


def build(scn: Scenario, seed: int) -> Agents:
    """Residents and visitors of the scenario, deterministic for `seed`."""
    city = scn.city
    zone_ids = [z.id for z in scn.zones]
    r = generator(seed, "residents")
    home = np.repeat(np.arange(len(zone_ids), dtype=np.int16),
                     [sum(city.census[z]) for z in zone_ids])
    band = np.concatenate([np.repeat(np.arange(6, dtype=np.int8), city.census[z])
                           for z in zone_ids])
    n = len(home)
    working_age = (band >= 1) & (band <= 3)
    commuter = working_age & (r.random(n) < city.daily.commuter_share)
    work = np.where(commuter, pick(r, n, [city.jobs[z] for z in zone_ids]), -1).astype(np.int16)
    owner = r.random(n) < np.asarray(city.operator.ownership)[band]
    share = np.asarray([city.market_share[z] for z in zone_ids])[home]
    devices = (owner & (r.random(n) < share)).astype(np.int8)
    devices += (devices > 0) & (r.random(n) < city.operator.multi_sim_share)
    parts = [dict(kind=np.zeros(n, np.int8), home=home, band=band, group=np.full(n, -1, np.int16),
                  country=np.full(n, -1, np.int16), work=work, arrive=np.full(n, ALWAYS),
                  leave=np.full(n, NEVER), lodging=home.copy(), devices=devices)]
    countries = tuple(sorted({v.country for v in city.visitors if v.country}))
    for g in range(len(city.visitors)):
        for day in range(scn.days):
            parts.append(_visitors(scn, g, day, countries, generator(seed, "visitors", g, day)))
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return Agents(**cols, countries=countries)


def _visitors(scn: Scenario, g: int, day: int, countries: tuple[str, ...],
              r: np.random.Generator) -> dict:
    """The arrivals of visitor group `g` on scenario day `day` (0-based)."""
    v = scn.city.visitors[g]
    n, midnight = v.per_day, scn.first_midnight + day * 86400
    zone_ids = [z.id for z in scn.zones]
    arrive = midnight + uniform_hours(r, n, v.arrival)
    nights = np.where(r.random(n) < v.overnight_share,
                      r.integers(v.nights[0], v.nights[1] + 1, n), 0)
    day_trip = np.minimum(arrive + uniform_hours(r, n, v.stay_hours), midnight + 85500)
    leave = np.where(nights > 0, midnight + nights * 86400 + uniform_hours(r, n, (9, 13)),
                     np.maximum(day_trip, arrive + 1800))
    hotels = np.asarray([zone_ids.index(z) for z in v.overnight_zones], np.int16)
    lodging = np.where(nights > 0, hotels[r.integers(0, len(hotels), n)], -1).astype(np.int16)
    carry = r.random(n) < v.carry_share
    devices = (carry & (r.random(n) < v.operator_share)).astype(np.int8)
    band = np.full(n, -1, np.int8)
    if not v.country:  # by the ownership of an age band drawn from the pyramid
        pyramid = np.asarray(scn.city.daily.age_pyramid, dtype=float)
        band = r.choice(len(pyramid), n, p=pyramid / pyramid.sum()).astype(np.int8)
        devices &= (r.random(n) < np.asarray(scn.city.operator.ownership)[band]).astype(np.int8)
    kind = FOREIGN if v.country else DOMESTIC
    country = countries.index(v.country) if v.country else -1
    return dict(kind=np.full(n, kind, np.int8), home=np.full(n, -1, np.int16),
                band=band, group=np.full(n, g, np.int16),
                country=np.full(n, country, np.int16), work=np.full(n, -1, np.int16),
                arrive=arrive.astype(np.int64), leave=leave.astype(np.int64), lodging=lodging,
                devices=devices)
