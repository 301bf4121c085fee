"""The report's extrapolated figures: a weight per segment, then people per zone and hour
(`presence`) and distinct people per zone over a period (`visitors`), before publication.

Segments (contracts §1): `home:<h>` a resident of zone h, `domestic` / `unknown` a
domestic device of unknown home, `XX` a roamer of country XX.  Weights (extrapolate.py):
- `home:<h>`: census(h) / residents(h), residents from `Store.residents()`;
- `domestic`, `unknown` and a `home:<h>` without its own weight: the national ratio
  Σ census / Σ residents.  With no residents rows in the store, residents(h) is the HLL
  union of the `home:<h>` sketches over everything stored; with no home segment either
  (short replays), the national ratio is census total / distinct non-foreign devices seen
  over everything stored (HLL unions: their error is added to every figure's interval);
- `XX`: 1 / (capture_share(XX) × carry_rate(XX)) of the `[foreign]` table, or its default;
- without a census every domestic device counts as one person (basis "no census").

A zone-hour's devices are the mean over the hour's bins of the zone's devices per bin (its
cells summed), per segment; a zone's visitors over [start, end) are HLL unions of its cells'
sketches of those hours, per segment.  Each figure keeps `raw_devices` (devices before any
expansion) for publish.suppress, which removes it.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
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
)
from aggregator.uniques import unique_by_group
from wire.tally import SKETCH_SECONDS

HOUR = 3600
REST = ""  # the `country` label of a visitors figure's non-foreign part (never rendered)
DEFAULT_FOREIGN = ForeignFactors(capture_share=0.3, carry_rate=0.95)
NO_CENSUS = Weight(1.0, "no census: one device = one person")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

log = logging.getLogger("aggregator.estimate")


@dataclass(frozen=True, slots=True)
class Basis:
    """What the weights are made of besides the store: census people per zone (None: no
    census.csv) and the per-country table of foreign factors with its default."""

    census: Mapping[str, int] | None = None
    foreign: Mapping[str, ForeignFactors] = field(default_factory=dict)
    foreign_default: ForeignFactors = DEFAULT_FOREIGN


@dataclass(frozen=True, slots=True)
class Weights:
    """The weight of every segment, and the relative error they carry (an HLL ratio)."""

    home: Mapping[str, Weight]
    national: Weight
    basis: Basis
    extra_rse: float = 0.0

    def of(self, segment: str) -> Weight:
        """People one device of `segment` stands for."""
        if _COUNTRY.match(segment):
            return foreign_weight(segment, self.basis.foreign, self.basis.foreign_default)
        if segment.startswith("home:"):
            w = self.home.get(segment[5:])
            if w is not None and w.value is not None:
                return w
        return self.national


def is_foreign(segment: str) -> bool:
    """True for a roamer's segment (ISO 3166 alpha-2)."""
    return bool(_COUNTRY.match(segment))


def residents_of(store, at: int | None = None) -> dict[str, int]:
    """{home zone: detected residents} from `Store.residents()` as of the day of `at`."""
    return dict(store.residents(at))


def weights(store, basis: Basis, at: int | None = None) -> Weights:
    """The weights of the report (module docstring), from the census, the residents rows as
    of `at` and, when there are none, an HLL union of all non-foreign sketches."""
    if basis.census is None:
        return Weights({}, NO_CENSUS, basis)
    census = {z: int(p) for z, p in basis.census.items()}
    residents = residents_of(store, at)
    strays = sorted(z for z in residents if z not in census)
    if strays:
        log.warning("residents of zones without census ignored zones=%s", ",".join(strays))
        residents = {z: n for z, n in residents.items() if z in census}
    if sum(residents.values()) > 0:
        home = poststratify(census, residents)
        return Weights(home, home[UNKNOWN_HOME], basis)
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


def _figure(labels: dict, counts: Mapping[str, float], w: Weights, extra_rse: float) -> dict:
    """A figure (labels, people, ci95, raw_devices) of devices by segment."""
    weights_ = {s: w.of(s) for s in counts}
    est = estimate(counts, weights_, extra_rse=max(extra_rse, w.extra_rse), fallback=NO_CENSUS)
    return {**labels, "people": est.people, "ci95": list(est.ci95),
            "raw_devices": est.raw_devices}


def presence_figures(store, zone_of: Mapping[tuple[str, int], str], w: Weights,
                     start: int | None = None, end: int | None = None,
                     zones: set[str] | None = None) -> list[dict]:
    """People per zone and hour (hours starting in [start, end)): the hour's devices by
    segment are the mean over its bins (those with any row in the store) of the zone's
    devices per bin, then weighted."""
    sums: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    bins: dict[int, set[int]] = defaultdict(set)
    for bin_start, _seconds, plmn, cell, segment, devices in store.presence_by_segment(
            start, end):
        hour = bin_start - bin_start % HOUR
        bins[hour].add(bin_start)
        zone = zone_of.get((plmn, cell))
        if zone is not None and (zones is None or zone in zones):
            sums[(zone, hour)][segment] += devices
    out = []
    for (zone, hour), by_segment in sorted(sums.items()):
        n_bins = len(bins[hour])
        counts = {s: d / n_bins for s, d in sorted(by_segment.items())}
        out.append(_figure({"section": "presence", "zone": zone, "start": hour,
                            "seconds": HOUR}, counts, w, 0.0))
    return out


def data_span(store) -> tuple[int, int] | None:
    """[first hour, last hour + 1 h) of the stored sketches, or None when there are none."""
    hours = [r[0] for r in store.sketches()]
    return (min(hours), max(hours) + SKETCH_SECONDS) if hours else None


def visitors_figures(store, zone_of: Mapping[tuple[str, int], str], w: Weights,
                     periods: list[tuple[int, int]], zones: set[str] | None = None
                     ) -> list[dict]:
    """Distinct people per zone over each period: a total (`country` None), one part per
    foreign country and the non-foreign rest (`country` REST), so that total = Σ parts for
    the rule against suppression by difference."""
    group_of = {k: z for k, z in zone_of.items() if zones is None or z in zones}
    out = []
    for lo, hi in periods:
        labels = {"section": "visitors", "start": lo, "end": hi}
        for zone, u in unique_by_group(store.sketches(lo, hi), group_of).items():
            parts = {c: {c: n} for c, n in u.by_segment.items() if is_foreign(c)}
            parts[REST] = {s: n for s, n in u.by_segment.items() if not is_foreign(s)}
            figures = {c: _figure({**labels, "zone": zone, "country": c}, counts, w, HLL_RSE)
                       for c, counts in parts.items()}
            total = _figure({**labels, "zone": zone, "country": None}, u.by_segment, w, HLL_RSE)
            total["raw_devices"] = max(int(u.devices), *(f["raw_devices"]
                                                         for f in figures.values()))
            out += [total, *figures.values()]
    return out
