"""The report's extrapolated figures: a weight per segment, then people per zone and hour
(`presence`) and distinct people per zone over a period (`visitors`), before publication.

Segments (contracts §1): `home:<h>` a resident of zone h, `domestic` / `unknown` a
domestic device of unknown home, `XX` a roamer of country XX.  Weights (extrapolate.py):
- `home:<h>`: census(h) / residents(h), residents from `Store.residents()` of the day (the
  first day's for hours before it); in a presence hour, census(h) / the devices of home h
  present in any cell that hour (`Weights.calibrated`: phones off at night, homes decided
  during the day); with age bands (contract C) the raked (zone, band) weights w(h, a), all
  of a zone scaled by one factor in a presence hour so that its present devices still
  stand for census(h);
- `domestic`, `unknown` and a `home:<h>` without its own weight: the national ratio
  Σ census / Σ residents, whatever their band; with `Basis.visitor_bands`, that of their
  band a, Σ_h w(h, a) n(h, a) / Σ_h n(h, a) over the raked residents n(h, a) (off by
  default: it holds only if the visitors' phones per person of each band are the
  residents', which no tally measures; on Lyon it made the visitors worse, README).
  With no residents rows in the store, residents(h) is the HLL
  union of the `home:<h>` sketches over everything stored; with no home segment either
  (short replays), the national ratio is census total / distinct non-foreign devices seen
  over everything stored (HLL unions: their error is added to every figure's interval);
- `XX`: 1 / (capture_share(XX) × carry_rate(XX)) of the `[foreign]` table, or its default;
- without a census every domestic device counts as one person (basis "no census").
Non-resident weights are models: their relative error `Basis.visitor_rse` widens intervals.
The presence and sketch rows carry the device's age band (wire.tally version 5; "" without a
profile): each (segment, band) is a stratum (`stratum`, "home:lyon-1|30-44"; a band ""
stratum is the bare segment) weighed by `Weights.of` as above, so that a resident's phone
stands for the people of its own zone and age band (children and the elderly own fewer
phones: the all-ages w(h) over-weighs the adults who commute, README "Extrapolation").

A zone-hour's devices are the mean over the hour's bins of the zone's devices per bin (its
cells summed), per segment, less the unknown-home devices taken for residents whose home is
not detected (`presence.undetected_shares`, from the distinct devices of the day's quietest
hour); a zone's visitors over [start, end) are HLL unions of its
cells' sketches of those hours, per segment, each device counted once (`_distinct_rest`),
less the same share of undetected residents (`less_undetected`).
Each figure keeps `raw_devices` (devices before any expansion) for publish.suppress, which
removes it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from aggregator.extrapolate import (
    HLL_RSE,
    UNKNOWN_HOME,
    ForeignFactors,
    Weight,
    estimate,
    foreign_weight,
    poststratify,
    rake_weights,
)
from aggregator.uniques import unique_by_group
from wire.tally import COUNTRY_RE, SKETCH_SECONDS

HOUR = 3600
DAY = 86400
BAND_SEP = "|"  # between the segment and the age band of a stratum
REST = ""  # the `country` label of a visitors figure's non-foreign part (never rendered)
DEFAULT_FOREIGN = ForeignFactors(capture_share=0.3, carry_rate=0.95)
# The weights of non-residents are models, not measurements: the national ratio stands for
# visitors from other regions (whose phone ownership and operator share differ from the
# residents'), the [foreign] factors are configured estimates.  Their relative error (a
# standard error, common to every device of the segment) widens the intervals honestly.
VISITOR_RSE = 0.1
NO_CENSUS = Weight(1.0, "no census: one device = one person")

log = logging.getLogger("aggregator.estimate")


@dataclass(frozen=True, slots=True)
class Basis:
    """What the weights are made of besides the store: census people per zone (None: no
    census.csv) and the per-country table of foreign factors with its default."""

    census: Mapping[str, int] | None = None
    foreign: Mapping[str, ForeignFactors] = field(default_factory=dict)
    foreign_default: ForeignFactors = DEFAULT_FOREIGN
    census_bands: Mapping[str, Mapping[str, int]] | None = None  # {zone: {age band: people}}
    visitor_rse: float = VISITOR_RSE  # relative error of the weights of non-residents
    # weigh the domestic devices of unknown home by the national ratio of their age band
    # (module docstring) rather than the all-ages one
    visitor_bands: bool = False


@dataclass(frozen=True, slots=True)
class Weights:
    """The weight of every segment, and the relative error they carry (an HLL ratio)."""

    home: Mapping[str, Weight]
    national: Weight
    basis: Basis
    extra_rse: float = 0.0
    by_band: Mapping[tuple[str, str], Weight] = field(default_factory=dict)  # raked (h, a)
    national_by_band: Mapping[str, Weight] = field(default_factory=dict)  # band a: national

    def calibrated(self, present: Mapping[tuple[str, str], float]) -> Weights:
        """The weights of one hour: the weights of home h times one factor, census(h) / the
        people its devices present in any cell that hour stand for (`present`: {(h, band):
        devices}, a mean over the hour's bins; a device of band a weighs w(h, a), of band ""
        or without a raked weight w(h)), where at least one is present; the others as they
        are (module docstring, "activity").  Without bands this is census(h) / present(h)."""
        census = self.basis.census
        if census is None:
            return self
        home, by_band = dict(self.home), dict(self.by_band)
        zones: dict[str, dict[str, float]] = {}
        for (zone, band), n in present.items():
            zones.setdefault(zone, {})[band] = n
        raked: dict[str, list[str]] = {}  # zone -> its bands with a raked weight
        for zone, band in self.by_band:
            raked.setdefault(zone, []).append(band)
        for zone, bands in zones.items():
            n = sum(bands.values())
            if n < 1.0 or zone not in census:
                continue
            base = self.home.get(zone)
            if base is None or base.value is None or base.value <= 0:
                home[zone] = Weight(census[zone] / n, "census / present")
                continue
            mass = sum(m * _value(self.by_band.get((zone, b)), base.value)
                       for b, m in bands.items())
            k = census[zone] / mass
            home[zone] = Weight(base.value * k, "census / present")
            for band in raked.get(zone, ()):
                w = self.by_band[(zone, band)]
                if w.value is not None:
                    by_band[(zone, band)] = Weight(w.value * k, "raked zone × age / present")
        return Weights(home, self.national, self.basis, self.extra_rse, by_band,
                       self.national_by_band)

    def of(self, label: str) -> Weight:
        """People one device of the stratum `label` (a segment, with its age band after
        BAND_SEP when it has one) stands for: module docstring."""
        segment, band = split_stratum(label)
        if COUNTRY_RE.match(segment):
            return foreign_weight(segment, self.basis.foreign, self.basis.foreign_default)
        if segment.startswith("home:"):
            for w in (self.by_band.get((segment[5:], band)) if band else None,
                      self.home.get(segment[5:])):
                if w is not None and w.value is not None:
                    return w
        w = self.national_by_band.get(band) if band and self.basis.visitor_bands else None
        return w if w is not None and w.value is not None else self.national


def stratum(segment: str, band: str) -> str:
    """The stratum label of a segment and age band: the segment when the band is ""."""
    return f"{segment}{BAND_SEP}{band}" if band else segment


def split_stratum(label: str) -> tuple[str, str]:
    """(segment, age band) of a stratum label (band "" for a bare segment)."""
    segment, _, band = label.partition(BAND_SEP)
    return segment, band


def _value(w: Weight | None, default: float) -> float:
    return w.value if w is not None and w.value is not None else default


def is_foreign(segment: str) -> bool:
    """True for a roamer's segment (ISO 3166 alpha-2), or a stratum of one."""
    return bool(COUNTRY_RE.match(split_stratum(segment)[0]))


def residents_of(store, at: int | None = None, until: int | None = None) -> dict[str, int]:
    """{home zone: detected residents} from `Store.residents()` as of the day of `at`; before
    the first residents day, those of the first day after `at` (up to `until`): the homes
    first decided describe the devices seen before them better than none."""
    found = dict(store.residents(at))
    day = at
    while not found and day is not None and until is not None and day < until:
        day += 86400
        found = dict(store.residents(day))
    return found


def weights(store, basis: Basis, at: int | None = None, until: int | None = None) -> Weights:
    """The weights of the report (module docstring), from the census, the residents rows as
    of `at` (or the first day after it, up to `until`) and, when there are none, an HLL
    union of all non-foreign sketches."""
    if basis.census is None:
        return Weights({}, NO_CENSUS, basis)
    census = {z: int(p) for z, p in basis.census.items()}
    residents = residents_of(store, at, until)
    strays = sorted(z for z in residents if z not in census)
    if strays:
        log.warning("residents of zones without census ignored zones=%s", ",".join(strays))
        residents = {z: n for z, n in residents.items() if z in census}
    if sum(residents.values()) > 0:
        home = poststratify(census, residents)
        by_band, national_by_band = _raked(store, basis, at, until)
        return Weights(home, home[UNKNOWN_HOME], basis, 0.0, by_band, national_by_band)
    rows = [r for r in store.sketches() if not is_foreign(r[4])]
    homes = _residents_from_sketches(rows, census)
    if sum(homes.values()) >= 1.0:
        home = poststratify(census, {z: max(1, round(n)) for z, n in homes.items()})
        return Weights(home, home[UNKNOWN_HOME], basis, HLL_RSE)
    seen = unique_by_group(rows, {(r[1], r[3]): "all" for r in rows})
    devices = seen["all"].devices if "all" in seen else 0.0
    if devices < 1.0:
        return Weights({}, Weight(None, "missing: no domestic device seen"), basis)
    national = Weight(sum(census.values()) / devices, "census / domestic devices seen")
    return Weights({}, national, basis, HLL_RSE)


def _raked(store, basis: Basis, at: int | None, until: int | None
           ) -> tuple[dict[tuple[str, str], Weight], dict[str, Weight]]:
    """Raked (zone, age band) weights of the residents with a subscriber profile (contract C:
    `Store.residents_by_band`), when the census has bands and some resident has one, and
    the national weight of each band, Σ_h w(h, a) n(h, a) / Σ_h n(h, a): the people of
    band a the raking gave the profiled residents of band a, per device (the census of the
    band when every resident has a profile), for the domestic devices of unknown home."""
    if basis.census_bands is None or not hasattr(store, "residents_by_band"):
        return {}, {}
    by_band = dict(store.residents_by_band(at))
    day = at
    while not by_band and day is not None and until is not None and day < until:
        day += DAY
        by_band = dict(store.residents_by_band(day))
    if not any(b for bands in by_band.values() for b in bands):
        return {}, {}
    raked = rake_weights(basis.census_bands, by_band)
    people: dict[str, float] = {}
    devices: dict[str, int] = {}
    for (zone, band), w in raked.items():
        n = by_band[zone][band]
        people[band] = people.get(band, 0.0) + w.value * n
        devices[band] = devices.get(band, 0) + n
    return raked, {b: Weight(people[b] / devices[b], "raked age band, all zones")
                   for b in people if devices[b] > 0}


def _residents_from_sketches(rows, census: Mapping[str, int]) -> dict[str, float]:
    """{zone: distinct devices of segment home:<zone> seen in any cell and hour} (an HLL
    union per zone), for the zones of the census: the detected residents while the store
    has no residents rows."""
    groups = {}
    for r in rows:
        if r[4].startswith("home:") and r[4][5:] in census:
            groups.setdefault(r[4][5:], []).append(r)
    out = {}
    for zone, zone_rows in groups.items():
        u = unique_by_group(zone_rows, {(r[1], r[3]): zone for r in zone_rows})
        out[zone] = u[zone].devices
    return out


def figure(labels: dict, counts: Mapping[str, float], w: Weights, extra_rse: float) -> dict:
    """A figure (labels, people, ci95, raw_devices) of devices by segment."""
    weights_ = {s: w.of(s) for s in counts}
    model = {s: w.basis.visitor_rse for s in counts if not s.startswith("home:")}
    est = estimate(counts, weights_, extra_rse=max(extra_rse, w.extra_rse), fallback=NO_CENSUS,
                   weight_rse=model if w.basis.census is not None else None,
                   rse_group={s: split_stratum(s)[0] for s in model})
    return {**labels, "people": est.people, "ci95": list(est.ci95),
            "raw_devices": est.raw_devices}


def data_span(store) -> tuple[int, int] | None:
    """[first hour, last hour + 1 h) of the stored sketches, or None when there are none."""
    hours = [r[0] for r in store.sketches()]
    return (min(hours), max(hours) + SKETCH_SECONDS) if hours else None


def visitors_figures(store, zone_of: Mapping[tuple[str, int], str], w: Weights,
                     periods: list[tuple[int, int]], zones: set[str] | None = None,
                     shares: Mapping[int, float] | None = None) -> list[dict]:
    """Distinct people per zone over each period: a total (`country` None), one part per
    foreign country and the non-foreign rest (`country` REST), so that total = Σ parts for
    the rule against suppression by difference.  `shares` ({UTC day: r},
    presence.undetected_shares): unknown-home devices per homed device that are residents
    whose home is not detected; the least r of the period's days times its homed devices is
    taken off its unknown-home devices (as for presence), as the home weights already stand
    for those residents."""
    group_of = {k: z for k, z in zone_of.items() if zones is None or z in zones}
    out = []
    for lo, hi in periods:
        labels = {"section": "visitors", "start": lo, "end": hi}
        rows = [(*r[:4], stratum(r[4], r[5]), r[6]) for r in store.sketches(lo, hi, bands=True)]
        homed = unique_by_group([r for r in rows if r[4].startswith("home:")], group_of)
        domestic = unique_by_group([r for r in rows if not is_foreign(r[4])], group_of)
        for zone, u in unique_by_group(rows, group_of).items():
            parts = {c: {c: n} for c, n in u.by_segment.items() if is_foreign(c)}
            parts[REST] = less_undetected(
                _distinct_rest(u.by_segment, homed.get(zone), domestic.get(zone)),
                _period_share(shares, lo, hi))
            figures = {c: figure({**labels, "zone": zone, "country": c}, counts, w, HLL_RSE)
                       for c, counts in parts.items()}
            every = {s: n for counts in parts.values() for s, n in counts.items()}
            total = figure({**labels, "zone": zone, "country": None}, every, w, HLL_RSE)
            total["raw_devices"] = max(int(u.devices), *(f["raw_devices"]
                                                         for f in figures.values()))
            out += [total, *figures.values()]
    return out


def _period_share(shares: Mapping[int, float] | None, lo: int, hi: int) -> float:
    """The least undetected-resident share of the UTC days [lo, hi) touches (0: none).  A
    device homed on any day of the period counts once, with its home's weight
    (`_distinct_rest`), so only the residents undetected on every day are left among the
    unknown-home devices: no more than on the day with the fewest."""
    if not shares:
        return 0.0
    found = [shares[d] for d in range(lo - lo % DAY, hi, DAY) if d in shares]
    return min(found, default=0.0)


def _distinct_rest(by_segment: Mapping[str, float], homed, domestic) -> dict[str, float]:
    """The non-foreign devices of a zone over a period by segment, each counted once: a
    device is in several segments when its home was decided during the period (`domestic`
    first, `home:<h>` after).  The home segments are scaled to the union of them (`homed`),
    the unknown-home ones to what the union of every non-foreign segment (`domestic`) holds
    beyond it, so that a device whose home is known counts with its home's weight."""
    home = {s: n for s, n in by_segment.items() if s.startswith("home:")}
    rest = {s: n for s, n in by_segment.items() if not is_foreign(s) and s not in home}
    out = {}
    n_home = homed.devices if homed is not None and home else 0.0
    for group, target in ((home, n_home),
                          (rest, max(0.0, (domestic.devices if domestic else 0.0) - n_home))):
        total = sum(group.values())
        out.update({s: n * target / total if total > 0 else 0.0 for s, n in group.items()})
    return out


def less_undetected(counts: dict[str, float], share: float) -> dict[str, float]:
    """`counts` with `share` × (its home devices) taken off its unknown-home segments
    (in proportion, never below 0)."""
    homed = sum(n for s, n in counts.items() if s.startswith("home:"))
    rest = {s: n for s, n in counts.items() if not s.startswith("home:") and not is_foreign(s)}
    total = sum(rest.values())
    if share <= 0 or homed <= 0 or total <= 0:
        return counts
    keep = max(0.0, total - share * homed) / total
    return {s: n * keep if s in rest else n for s, n in counts.items()}
