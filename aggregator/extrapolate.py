"""From the operator's detected devices to the whole population, with 95 % intervals.

Pure functions over numbers, dicts and numpy arrays (no I/O, no scipy).

Weights, `w` = people one detected device stands for, per stratum:
- residents of home zone h: `w(h) = census(h) / residents_detected(h)` (post-stratification;
  it absorbs market share, phones off, people without a phone and multi-SIM); a zone with no
  detected resident has a *missing* weight, never an infinite one;
- domestic devices of unknown home (key `UNKNOWN_HOME`): the ratio over all zones,
  `sum(census) / sum(residents_detected)`;
- with a profile (age band), `rake` fits the detected zone × age table to the census margins by
  iterative proportional fitting; the weight of cell (h, a) is `fitted(h, a) / detected(h, a)`;
- foreign visitors of country c: `w(c) = 1 / (capture_share(c) × carry_rate(c))` from a
  configured table, or its default.

Estimate and interval (ESSnet inference model): in stratum i the detected count n_i is a
binomial draw from the true N_i with detection probability p_i = 1 / w_i, so
`N̂_i = w_i n_i` and `var(N̂_i) = n_i (1 - p_i) / p_i² = n_i w_i (w_i - 1)`.  Strata are
independent: `people = Σ w_i n_i` and `var = Σ n_i w_i (w_i - 1) + (extra_rse × people)²`,
the last term being the relative error of a sketch union (HLL lgK 12: 1.04 / √4096 ≈ 1.6 %).
- n = Σ n_i ≥ 100: `people ± 1.96 √var` (normal approximation), not below n;
- n < 100: the undetected part N_i - n_i is negative binomial (failures before the r-th
  success, p = p_i): NB(n_i, p_i) under a prior ∝ 1/N, NB(n_i + 1, p_i) under a flat prior.
  We take r = n_i + ½ (Jeffreys-like): by simulation NB(n_i) covers the truth far too rarely
  when a heavy stratum has few devices (33 % for N = 20 at w = 50) and NB(n_i + 1) too often
  (97-99 %).  Strata are combined by the negative binomial of the same mean and variance,
  μ = Σ (n_i + ½)(w_i - 1) and σ² = Σ (n_i + ½) w_i (w_i - 1) + (extra_rse × people)²:
  p = μ / σ², r = μ p / (1 - p) (exact when all strata share one weight, as a sum of
  NB(r_i, p) is NB(Σ r_i, p)), and the interval is `n + [q₀.₀₂₅, q₀.₉₇₅]` of it, the
  quantiles by summing the pmf.  So a stratum listed with 0 devices still widens the upper
  bound (all its people may be undetected), and n = 0 gives [0, q₀.₉₇₅].
A weight below 1 (more devices than people, e.g. an outdated census) is taken as exact:
its stratum adds `w n` people and no variance.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from wire.tally import COUNTRY_RE

UNKNOWN_HOME = "*"  # poststratify's key for the weight of devices of unknown home zone
HLL_RSE = 1.04 / math.sqrt(4096)  # relative standard error of an HLL sketch of lgK 12
LARGE_N = 100  # from this many raw devices the interval is the normal approximation
_Z95 = 1.959963984540054
_PMF_TERMS = 1 << 20  # at most this many pmf terms are summed for one quantile


@dataclass(frozen=True, slots=True)
class Weight:
    """People one detected device stands for (`value`), or None when it cannot be known."""

    value: float | None
    basis: str  # "census", "all zones", "foreign IT", "foreign default", "missing: ..."


@dataclass(frozen=True, slots=True)
class Estimate:
    """An extrapolated figure: people, its 95 % interval, and the raw devices behind it."""

    people: float
    ci95: tuple[float, float]
    raw_devices: int  # the detected devices, rounded down (a mean of bins may be fractional)


@dataclass(frozen=True, slots=True)
class ForeignFactors:
    """How visitors of one country are seen: the operator's share of their roaming, and
    the share of them carrying a phone that is switched on."""

    capture_share: float
    carry_rate: float


class RakeError(ValueError):
    """Margins that cannot be fitted: totals that disagree, a zero row, no convergence."""


def _number(path: str, value: object, lo: float, hi: float = math.inf,
            lo_open: bool = False) -> float:
    """`value` as a float in [lo, hi] ((lo, hi] if `lo_open`), else an error naming `path`."""
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(value))
    if ok and (value > lo if lo_open else value >= lo) and value <= hi:
        return float(value)
    span = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"
    raise ValueError(f"{path}: {value!r} is not a number in {span}")


def _count(path: str, value: object) -> int:
    if isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise ValueError(f"{path}: {value!r} is not a count (an integer >= 0)")


def poststratify(census: Mapping[str, float], residents_detected: Mapping[str, int]
                 ) -> dict[str, Weight]:
    """{zone: Weight} with w = census / detected residents, plus `UNKNOWN_HOME`: the ratio
    over all zones (Σ census / Σ detected).  A zone with no detected resident (or absent from
    `residents_detected`) gets a missing weight; a detected zone without census is an error."""
    if UNKNOWN_HOME in census:
        raise ValueError(f"census: zone id {UNKNOWN_HOME!r} is reserved for unknown home")
    people = {z: _number(f"census[{z!r}]", v, 0.0) for z, v in census.items()}
    found = {z: _count(f"residents_detected[{z!r}]", v) for z, v in residents_detected.items()}
    for zone in found:
        if zone not in people:
            raise ValueError(f"residents_detected[{zone!r}]: zone has no census population")
    weights = {z: Weight(people[z] / found[z], "census") if found.get(z, 0) > 0
               else Weight(None, "missing: no resident detected") for z in people}
    total = sum(found.values())
    weights[UNKNOWN_HOME] = (Weight(sum(people.values()) / total, "all zones") if total
                             else Weight(None, "missing: no resident detected"))
    return weights


def rake(seed: np.ndarray, row_margins, col_margins, tol: float = 1e-6,
         max_iter: int = 1000) -> np.ndarray:
    """Iterative proportional fitting of `seed` (zone × age band, ≥ 0) to the row and column
    margins: rows then columns are scaled in turn until every margin is within
    `tol × total`.  Raises RakeError when the margins' totals differ by more than that, when a
    row or column of zeros must reach a positive margin, or after `max_iter` rounds."""
    x = np.array(seed, dtype=float)
    rows, cols = np.asarray(row_margins, dtype=float), np.asarray(col_margins, dtype=float)
    if x.ndim != 2 or rows.shape != (x.shape[0],) or cols.shape != (x.shape[1],):
        raise RakeError(f"shapes: seed {x.shape}, row margins {rows.shape}, "
                        f"column margins {cols.shape} do not fit")
    for name, a in (("seed", x), ("row margins", rows), ("column margins", cols)):
        if not (np.isfinite(a).all() and (a >= 0).all()):
            raise RakeError(f"{name}: values must be finite and >= 0")
    total = max(rows.sum(), cols.sum())
    if abs(rows.sum() - cols.sum()) > tol * max(total, 1.0):
        raise RakeError(f"margins disagree: rows total {rows.sum():g}, "
                        f"columns total {cols.sum():g}")
    for name, sums, target in (("row", x.sum(1), rows), ("column", x.sum(0), cols)):
        for i in np.flatnonzero((sums == 0) & (target > 0)):
            raise RakeError(f"{name} {i}: seed is all zero but its margin is {target[i]:g}")
    gap = math.inf
    for _ in range(max_iter):
        x *= _ratio(rows, x.sum(1))[:, None]
        x *= _ratio(cols, x.sum(0))[None, :]
        gap = float(np.abs(x.sum(1) - rows).max(initial=0.0))  # columns are exact here
        if gap <= tol * max(total, 1.0):
            return x
    raise RakeError(f"did not converge in {max_iter} rounds: a row margin is still "
                    f"{gap:g} away (structural zeros that make the margins unreachable?)")


def rake_weights(census_by_band: Mapping[str, Mapping[str, float]],
                 residents_by_band: Mapping[str, Mapping[str, int]]
                 ) -> dict[tuple[str, str], Weight]:
    """{(zone, age band): Weight} of detected residents with a profile, by raking.

    Seed: the detected residents n(h, a) of the bands of `census_by_band` (band "" = no
    profile is left out of the seed).  Row margins: the people of zone h the profiled devices
    stand for, census(h) × profiled(h) / detected(h) (the unprofiled ones keep the rest and
    the zone weight); column margins: the census of band a over every zone, scaled to the same
    total (a band no profiled device has, children without phones say, is absorbed by the
    others).  `rake` fits the seed, and w(h, a) = fitted(h, a) / n(h, a).  A cell with no
    device has no weight.  Zones without census or without any profiled device are left out.
    Each zone's people are census(h) whatever the bands: raking moves weight between the
    bands of a zone, never between zones."""
    zones = sorted(z for z, by in residents_by_band.items()
                   if z in census_by_band and any(b and n > 0 for b, n in by.items()))
    bands = sorted({b for z in zones for b, n in residents_by_band[z].items() if b and n > 0}
                   & {b for z in zones for b in census_by_band[z]})
    if not zones or not bands:
        return {}
    seed = np.array([[_count(f"residents[{z!r}][{b!r}]", residents_by_band[z].get(b, 0))
                      for b in bands] for z in zones], dtype=float)
    detected = np.array([sum(residents_by_band[z].values()) for z in zones], dtype=float)
    census = np.array([[_number(f"census[{z!r}][{b!r}]", census_by_band[z].get(b, 0), 0.0)
                        for b in bands] for z in zones])
    people = np.array([sum(_number(f"census[{z!r}][{b!r}]", n, 0.0)
                           for b, n in census_by_band[z].items()) for z in zones])
    rows = people * seed.sum(1) / detected
    cols = census.sum(0) * rows.sum() / max(census.sum(), 1e-12)
    fitted = rake(seed, rows, cols)
    return {(z, b): Weight(float(fitted[i, j] / seed[i, j]), "raked zone × age")
            for i, z in enumerate(zones) for j, b in enumerate(bands) if seed[i, j] > 0}


def _ratio(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """target / current, 0 where current is 0 (those rows are zero and stay zero)."""
    out = np.zeros_like(target)
    np.divide(target, current, out=out, where=current > 0)
    return out


def check_foreign_factors(key: str, raw: ForeignFactors | Mapping) -> ForeignFactors:
    """One row of the per-country table, checked: both shares in (0, 1]; errors name the
    key and the value (`foreign.IT.capture_share: 1.5 is not a number in (0, 1]`)."""
    if isinstance(raw, ForeignFactors):
        raw = {"capture_share": raw.capture_share, "carry_rate": raw.carry_rate}
    if not isinstance(raw, Mapping) or set(raw) != {"capture_share", "carry_rate"}:
        raise ValueError(f"foreign.{key}: {raw!r} must have exactly capture_share and "
                         "carry_rate")
    return ForeignFactors(*(_number(f"foreign.{key}.{f}", raw[f], 0.0, 1.0, lo_open=True)
                            for f in ("capture_share", "carry_rate")))


def check_foreign_table(table: Mapping[str, ForeignFactors | Mapping]
                        ) -> dict[str, ForeignFactors]:
    """The whole per-country table checked once (keys ISO 3166 alpha-2), e.g. at start-up."""
    for key in table:
        if not (isinstance(key, str) and COUNTRY_RE.match(key)):
            raise ValueError(f"foreign: country {key!r} is not ISO 3166 alpha-2 (e.g. 'IT')")
    return {key: check_foreign_factors(key, raw) for key, raw in table.items()}


def foreign_weight(country: str, table: Mapping[str, ForeignFactors | Mapping],
                   default: ForeignFactors | Mapping) -> Weight:
    """Weight of a visitor from `country`: 1 / (capture_share × carry_rate) of its row in
    `table`, or of `default` when the country has no row."""
    if not (isinstance(country, str) and COUNTRY_RE.match(country)):
        raise ValueError(f"country {country!r} is not ISO 3166 alpha-2 (e.g. 'IT')")
    if country in table:
        f, basis = check_foreign_factors(country, table[country]), f"foreign {country}"
    else:
        f, basis = check_foreign_factors("default", default), "foreign default"
    return Weight(1.0 / (f.capture_share * f.carry_rate), basis)


def nb_quantile(q: float, r: float, p: float) -> int:
    """The q-quantile of NB(r, p), the failures before the r-th success (r > 0 may be real):
    the smallest m with P(M <= m) >= q, by summing the pmf.  When more than 2^20 terms would
    be needed, NB(r, p) ≈ s · NB(r, s·p) is used (exact in the gamma limit p → 0)."""
    if p >= 1.0:
        return 0
    mean, sd = r * (1 - p) / p, math.sqrt(r * (1 - p)) / p
    top = math.ceil(mean + 12 * sd + 30)
    if top > _PMF_TERMS:
        s = math.ceil(top / _PMF_TERMS)
        return s * nb_quantile(q, r, min(1.0, s * p))
    m = np.arange(top, dtype=float)
    # log pmf(m + 1) - log pmf(m) = log((m + r) / (m + 1)) + log(1 - p)
    steps = np.log(m + r) - np.log1p(m) + math.log1p(-p)
    log_pmf = r * math.log(p) + np.concatenate(([0.0], np.cumsum(steps)))
    cdf = np.cumsum(np.exp(log_pmf))
    return int(min(np.searchsorted(cdf, q), top))


def estimate(counts_by_stratum: Mapping[str, int], weights: Mapping[str, Weight],
             extra_rse: float = 0.0, fallback: Weight | None = None,
             weight_rse: Mapping[str, float] | None = None,
             rse_group: Mapping[str, str] | None = None) -> Estimate:
    """People = Σ w·n over strata with a 95 % interval (module docstring: binomial detection,
    negative binomial below `LARGE_N` raw devices, `extra_rse` for a sketch union,
    `weight_rse` the relative error of a stratum's weight itself, e.g. a configured capture
    factor: it adds (rse × w × n)² per stratum, the error being common to the stratum's
    devices; `rse_group` names, per stratum, the group whose strata share that error, the
    age bands of one segment weighed by one model: (Σ rse × w × n)² per group, not a sum of
    squares that would shrink as a segment is split).  A stratum with devices and no usable
    weight takes `fallback`, or is an error naming it; one listed with 0 devices widens the
    upper bound (its people may all be undetected)."""
    extra = _number("extra_rse", extra_rse, 0.0)
    model_sd: dict[str, float] = {}  # group -> the standard error of its people
    n_total, people, floor, var = 0, 0.0, 0.0, 0.0
    mu_nb, var_nb = 0.0, 0.0  # moments of the undetected part, shape n + 1/2 per stratum
    for stratum, raw in counts_by_stratum.items():
        n = _amount(f"counts[{stratum!r}]", raw)
        weight = weights.get(stratum)
        if weight is None or weight.value is None:
            weight = fallback
        if weight is None or weight.value is None:
            if n == 0:
                continue
            why = "no weight" if stratum not in weights else weights[stratum].basis
            raise ValueError(f"counts[{stratum!r}]: {raw} devices but no weight ({why})")
        w = _number(f"weights[{stratum!r}]", weight.value, 0.0)
        n_total, people = n_total + n, people + w * n
        rse = (weight_rse or {}).get(stratum, 0.0)
        group = (rse_group or {}).get(stratum, stratum)
        model_sd[group] = (model_sd.get(group, 0.0)
                           + _number(f"weight_rse[{stratum!r}]", rse, 0.0) * w * n)
        if w > 1.0:
            floor, var = floor + n, var + n * w * (w - 1)
            mu_nb, var_nb = mu_nb + (n + 0.5) * (w - 1), var_nb + (n + 0.5) * w * (w - 1)
        else:
            floor += w * n
    sketch_var = (extra * people) ** 2 + sum(sd * sd for sd in model_sd.values())
    if n_total >= LARGE_N or mu_nb == 0.0:
        half = _Z95 * math.sqrt(var + sketch_var)
        lo = max(people - half, floor if extra == 0.0 else 0.0)
        return Estimate(people, (lo, people + half), _floor(n_total))
    p = mu_nb / (var_nb + sketch_var)  # the NB of the undetected part's mean and variance
    r = mu_nb * p / (1 - p)
    return Estimate(people, (floor + nb_quantile(0.025, r, p),
                             floor + nb_quantile(0.975, r, p)), _floor(n_total))


def _amount(path: str, value: object) -> float:
    """A detected amount: a count, or a real >= 0 (a mean of bins' counts, a sketch's
    estimate); else an error naming `path`."""
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(value) and value >= 0)
    if ok:
        return float(value)
    raise ValueError(f"{path}: {value!r} is not a count (a number >= 0)")


def _floor(n: float) -> int:
    """Whole devices in `n`, rounded down (tolerating float sums like 19.999999999)."""
    return math.floor(n + 1e-9)
