"""Unit tests of aggregator.extrapolate: weights, raking, estimates and their intervals.

Oracles: hand-derived numbers (in comments), closed forms (independence, the 2 × 2 odds
ratio kept by IPF), numpy's own negative-binomial sampler, and simulation of binomial
detection of a known population (interval coverage).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from aggregator.extrapolate import (
    HLL_RSE,
    UNKNOWN_HOME,
    ForeignFactors,
    RakeError,
    Weight,
    check_foreign_table,
    estimate,
    foreign_weight,
    nb_quantile,
    poststratify,
    rake,
)

# --- post-stratification ------------------------------------------------------------------


def test_poststratify_by_hand():
    w = poststratify({"a": 1000, "b": 600.0, "c": 50}, {"a": 250, "b": 200})
    assert w["a"] == Weight(4.0, "census")          # 1000 / 250
    assert w["b"] == Weight(3.0, "census")          # 600 / 200
    assert w["c"].value is None and w["c"].basis.startswith("missing")  # 0 detected, not inf
    assert w[UNKNOWN_HOME] == Weight(1650 / 450, "all zones")  # (1000+600+50) / (250+200)


def test_poststratify_zero_detected_everywhere():
    w = poststratify({"a": 10}, {"a": 0})
    assert w["a"].value is None and w[UNKNOWN_HOME].value is None


@pytest.mark.parametrize(("census", "detected", "message"), [
    ({"a": 10}, {"b": 1}, "residents_detected['b']: zone has no census population"),
    ({"a": -1}, {}, "census['a']: -1 is not a number in [0, inf]"),
    ({"a": math.nan}, {}, "census['a']: nan is not a number"),
    ({"a": 10}, {"a": 2.5}, "residents_detected['a']: 2.5 is not a count"),
    ({"a": 10}, {"a": True}, "residents_detected['a']: True is not a count"),
    ({"*": 10}, {}, "census: zone id '*' is reserved"),
])
def test_poststratify_errors_name_key_and_value(census, detected, message):
    with pytest.raises(ValueError) as exc:
        poststratify(census, detected)
    assert message in str(exc.value)


# --- raking ---------------------------------------------------------------------------------


def test_rake_from_uniform_seed_is_the_independence_table():
    rows, cols = np.array([30.0, 70.0]), np.array([20.0, 50.0, 30.0])
    fitted = rake(np.ones((2, 3)), rows, cols)
    np.testing.assert_allclose(fitted, np.outer(rows, cols) / 100.0)


def test_rake_2x2_keeps_the_seed_odds_ratio():
    # Seed [[7, 9], [12, 7]] raked to rows (5, 15), columns (10, 10).  IPF keeps the cross
    # product ratio 7·7 / (9·12) = 49/108; with x11 = a the margins give [[a, 5-a], [10-a, 5+a]],
    # so 108 a (5 + a) = 49 (5 - a)(10 - a), i.e. 59 a² + 1275 a - 2450 = 0.
    a = (-1275 + math.sqrt(1275**2 + 4 * 59 * 2450)) / (2 * 59)
    fitted = rake([[7, 9], [12, 7]], [5, 15], [10, 10], tol=1e-10)
    np.testing.assert_allclose(fitted, [[a, 5 - a], [10 - a, 5 + a]], rtol=1e-8)


def test_rake_reproduces_the_margins():
    rng = np.random.default_rng(3)
    seed = rng.integers(1, 50, size=(6, 5)).astype(float)
    rows = rng.uniform(100, 1000, 6)
    cols = rng.dirichlet(np.ones(5)) * rows.sum()
    fitted = rake(seed, rows, cols, tol=1e-9)
    np.testing.assert_allclose(fitted.sum(1), rows, rtol=1e-8)
    np.testing.assert_allclose(fitted.sum(0), cols, rtol=1e-8)


def test_rake_zero_row_with_zero_margin_stays_zero():
    fitted = rake([[0, 0], [1, 3]], [0, 8], [2, 6])
    np.testing.assert_allclose(fitted, [[0, 0], [2, 6]])


@pytest.mark.parametrize(("seed", "rows", "cols", "message"), [
    ([[1, 1], [1, 1]], [5, 5], [5, 6], "margins disagree: rows total 10, columns total 11"),
    ([[0, 0], [1, 1]], [5, 5], [5, 5], "row 0: seed is all zero but its margin is 5"),
    ([[1, 0], [1, 0]], [5, 5], [5, 5], "column 1: seed is all zero but its margin is 5"),
    ([[1, 0], [0, 1]], [1, 2], [2, 1], "did not converge in 1000 rounds"),  # structural zeros
    ([[1, 1]], [1, 1], [1, 1], "shapes"),
    ([[1, -1], [1, 1]], [1, 1], [1, 1], "seed: values must be finite and >= 0"),
])
def test_rake_errors(seed, rows, cols, message):
    with pytest.raises(RakeError, match=message):
        rake(seed, rows, cols)


# --- foreign visitors -----------------------------------------------------------------------

TABLE = {"IT": {"capture_share": 0.25, "carry_rate": 0.8}, "CH": ForeignFactors(0.5, 1.0)}
DEFAULT = {"capture_share": 0.1, "carry_rate": 0.5}


def test_foreign_weight_by_hand():
    assert foreign_weight("IT", TABLE, DEFAULT) == Weight(5.0, "foreign IT")  # 1/(0.25·0.8)
    assert foreign_weight("CH", TABLE, DEFAULT) == Weight(2.0, "foreign CH")
    assert foreign_weight("JP", TABLE, DEFAULT) == Weight(20.0, "foreign default")  # 1/0.05


@pytest.mark.parametrize(("table", "default", "message"), [
    ({"IT": {"capture_share": 1.5, "carry_rate": 0.8}}, DEFAULT,
     "foreign.IT.capture_share: 1.5 is not a number in (0, 1]"),
    ({"IT": {"capture_share": 0, "carry_rate": 0.8}}, DEFAULT,
     "foreign.IT.capture_share: 0 is not a number in (0, 1]"),
    ({"IT": {"capture_share": 0.5, "carry_rate": "high"}}, DEFAULT,
     "foreign.IT.carry_rate: 'high' is not a number"),
    ({"IT": {"capture_share": 0.5}}, DEFAULT, "foreign.IT: {'capture_share': 0.5} must have"),
    ({}, {"capture_share": 0.5, "carry_rate": -1}, "foreign.default.carry_rate: -1 is not"),
])
def test_foreign_errors_name_key_and_value(table, default, message):
    with pytest.raises(ValueError) as exc:
        foreign_weight("IT", table, default)
    assert message in str(exc.value)


def test_foreign_table_and_country_codes_checked():
    assert check_foreign_table(TABLE)["IT"] == ForeignFactors(0.25, 0.8)
    with pytest.raises(ValueError, match="foreign: country 'Italy' is not ISO 3166 alpha-2"):
        check_foreign_table({"Italy": DEFAULT})
    with pytest.raises(ValueError, match="country 'it' is not ISO 3166 alpha-2"):
        foreign_weight("it", TABLE, DEFAULT)


# --- estimates ------------------------------------------------------------------------------

W4 = {"a": Weight(4.0, "census")}


def test_estimate_by_hand_small_n():
    # census 1000, 250 residents detected: w = 4; 50 devices stand for 200 people.
    w = poststratify({"a": 1000}, {"a": 250})
    e = estimate({"a": 50}, w)
    assert (e.people, e.raw_devices) == (200.0, 50)
    # n < 100: 50 + quantiles of NB(50.5, 1/4); numpy's sampler is the oracle.
    draws = 50 + np.random.default_rng(1).negative_binomial(50.5, 0.25, 400_000)
    lo, hi = np.quantile(draws, [0.025, 0.975])
    assert abs(e.ci95[0] - lo) <= 2 and abs(e.ci95[1] - hi) <= 2
    assert e.ci95[0] < 200 < e.ci95[1]


def test_estimate_by_hand_large_n():
    # 400 devices at w = 4: 1600 people, var = 400·4·3 = 4800, half = 1.96·√4800 = 1.96·69.28 = 135.79.
    e = estimate({"a": 400}, W4)
    assert e.people == 1600.0 and e.raw_devices == 400
    assert e.ci95 == pytest.approx((1600 - 135.79, 1600 + 135.79), abs=0.01)


def test_estimate_sums_strata():
    e = estimate({"a": 300, "IT": 20}, {"a": Weight(4.0, "census"), "IT": Weight(5.0, "x")})
    assert e.people == 1300.0 and e.raw_devices == 320  # 300·4 + 20·5
    half = 1.959963984540054 * math.sqrt(300 * 4 * 3 + 20 * 5 * 4)
    assert e.ci95 == pytest.approx((1300 - half, 1300 + half))


def test_estimate_exact_weights():
    # w = 1: every person seen; w < 1: taken as exact, no variance.
    assert estimate({"a": 7}, {"a": Weight(1.0, "x")}).ci95 == (7.0, 7.0)
    assert estimate({"a": 10}, {"a": Weight(0.5, "x")}).ci95 == (5.0, 5.0)


def test_estimate_sketch_error_widens_the_interval():
    e = estimate({"a": 400}, W4, extra_rse=HLL_RSE)
    half = 1.959963984540054 * math.sqrt(4800 + (HLL_RSE * 1600) ** 2)
    assert e.ci95 == pytest.approx((1600 - half, 1600 + half))
    assert abs(HLL_RSE - 0.01625) < 1e-12  # 1.04 / 64


def test_estimate_zero_devices():
    assert estimate({}, W4).ci95 == (0.0, 0.0)
    e = estimate({"a": 0}, W4)  # a stratum known to exist: its people may all be undetected
    assert e.people == 0.0 and e.raw_devices == 0
    assert e.ci95[0] == 0.0 and e.ci95[1] == nb_quantile(0.975, 0.5, 0.25) > 0


def test_estimate_missing_weight():
    w = poststratify({"a": 1000, "c": 50}, {"a": 250})
    with pytest.raises(ValueError, match=r"counts\['c'\]: 3 devices but no weight \(missing"):
        estimate({"c": 3}, w)
    with pytest.raises(ValueError, match=r"counts\['zz'\]: 3 devices but no weight \(no weight"):
        estimate({"zz": 3}, w)
    assert estimate({"c": 3}, w, fallback=w[UNKNOWN_HOME]).people == pytest.approx(3 * 1050 / 250)
    assert estimate({"c": 0}, w).people == 0.0


@pytest.mark.parametrize(("counts", "weights", "kwargs", "message"), [
    ({"a": -1}, W4, {}, r"counts\['a'\]: -1 is not a count"),
    ({"a": "3"}, W4, {}, r"counts\['a'\]: '3' is not a count"),
    ({"a": 1}, {"a": Weight(-2.0, "x")}, {}, r"weights\['a'\]: -2.0 is not a number"),
    ({"a": 1}, W4, {"extra_rse": -0.1}, "extra_rse: -0.1 is not a number"),
])
def test_estimate_errors(counts, weights, kwargs, message):
    with pytest.raises(ValueError, match=message):
        estimate(counts, weights, **kwargs)


# --- negative binomial quantiles --------------------------------------------------------------


@pytest.mark.parametrize(("r", "p"), [(1, 0.5), (3.5, 0.2), (20, 0.7), (0.5, 0.05)])
def test_nb_quantile_against_the_pmf_by_lgamma(r, p):
    m = np.arange(5000)
    pmf = np.exp([math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1)
                  + r * math.log(p) + k * math.log1p(-p) for k in m])
    cdf = np.cumsum(pmf)
    for q in (0.025, 0.5, 0.975):
        assert nb_quantile(q, r, p) == int(np.argmax(cdf >= q))


def test_nb_quantile_coarsened_for_huge_supports():
    # p = 1e-6: the pmf would need ~8e7 terms; the coarsened sum must match sampling.
    draws = np.random.default_rng(2).negative_binomial(30.5, 1e-6, 400_000)
    for q in (0.025, 0.975):
        assert nb_quantile(q, 30.5, 1e-6) == pytest.approx(np.quantile(draws, q), rel=3e-3)
    assert nb_quantile(0.5, 5, 1.0) == 0


# --- interval coverage by simulation -------------------------------------------------------


def _coverage(true: list[int], weights: list[float], draws: int = 4000, seed: int = 11,
              sketch_rse: float = 0.0, extra_rse: float | None = None) -> float:
    """Share of simulated detections whose 95 % interval holds the true total: each of
    N_i people is detected with probability 1/w_i; with `sketch_rse`, the detected count is
    further blurred as a sketch union would (relative normal error); `extra_rse` is what
    the estimate is told (default: the truth, `sketch_rse`)."""
    extra_rse = sketch_rse if extra_rse is None else extra_rse
    rng = np.random.default_rng(seed)
    w = {f"s{i}": Weight(x, "t") for i, x in enumerate(weights)}
    total, hits, cache = sum(true), 0, {}
    for _ in range(draws):
        n = [int(rng.binomial(t, 1 / x)) for t, x in zip(true, weights, strict=True)]
        if sketch_rse:
            n = [max(0, round(c * (1 + sketch_rse * rng.standard_normal()))) for c in n]
        key = tuple(n)
        if key not in cache:
            cache[key] = estimate(dict(zip(w, n, strict=True)), w, extra_rse=extra_rse).ci95
        lo, hi = cache[key]
        hits += lo <= total <= hi
    return hits / draws


@pytest.mark.parametrize(("true", "weights"), [
    ([80], [4.0]),                   # n ≈ 20: negative binomial
    ([30, 200], [2.0, 10.0]),        # n ≈ 35 over two weights: moment-matched NB
    ([400], [4.0]),                  # n ≈ 100: at the switch
    ([2000], [4.0]),                 # n ≈ 500: normal
    ([3000, 500], [3.0, 25.0]),      # n ≈ 1020 over two weights: normal
])
def test_interval_coverage(true, weights):
    assert 0.93 <= _coverage(true, weights) <= 0.97


def test_interval_coverage_with_sketch_error():
    # 400,000 people at w = 4: binomial sd ≈ 1,100 people, sketch sd ≈ 6,500.
    assert 0.93 <= _coverage([400_000], [4.0], draws=2000, sketch_rse=HLL_RSE) <= 0.97
    # without the extra term the binomial interval alone is far too narrow
    assert _coverage([400_000], [4.0], draws=500, sketch_rse=HLL_RSE, extra_rse=0.0) < 0.5


def test_estimate_takes_fractional_counts():
    """A zone-hour's devices are a mean of bins: 2.5 devices of weight 4 are 10 people,
    from 2 raw devices (rounded down), the variance as for n = 2.5 (by hand: NB moments)."""
    est = estimate({"a": 2.5}, {"a": Weight(4.0, "census")})
    assert est.people == 10.0 and est.raw_devices == 2
    assert est.ci95[0] >= 2.5 and est.ci95[1] > 10.0
    big = estimate({"a": 150.5}, {"a": Weight(4.0, "census")})
    half = 1.959963984540054 * (150.5 * 4 * 3) ** 0.5
    assert big.ci95 == pytest.approx((602.0 - half, 602.0 + half))
    assert estimate({"a": 19.9999999999}, {"a": Weight(2.0, "census")}).raw_devices == 20


def test_rake_weights_2x2_by_hand():
    """Zones a, b; bands y(oung), o(ld).  Detected residents with a profile: a (10 y, 20 o),
    b (30 y, 40 o), none without.  Census a 60 (30 y, 30 o), b 140 (60 y, 80 o): row margins
    60 and 140, column margins 90 and 110.  IPF keeps the seed's odds ratio 10·40 / (20·30)
    = 2/3, so with x = fitted(a, y): x (50 + x) / ((60 - x)(90 - x)) = 2/3, i.e.
    x² + 450 x - 10800 = 0, x = (√245700 - 450) / 2 = 22.8405; the rest by the margins."""
    from aggregator.extrapolate import rake_weights
    x = (math.sqrt(245700) - 450) / 2
    w = rake_weights({"a": {"y": 30, "o": 30}, "b": {"y": 60, "o": 80}},
                     {"a": {"y": 10, "o": 20}, "b": {"y": 30, "o": 40}})
    assert w[("a", "y")].value == pytest.approx(x / 10, rel=1e-5)
    assert w[("a", "o")].value == pytest.approx((60 - x) / 20, rel=1e-5)
    assert w[("b", "y")].value == pytest.approx((90 - x) / 30, rel=1e-5)
    assert w[("b", "o")].value == pytest.approx((50 + x) / 40, rel=1e-5)
    assert {v.basis for v in w.values()} == {"raked zone × age"}


def test_rake_weights_unprofiled_devices_keep_their_share():
    """Zone a: 10 profiled (y) and 10 without a profile ("") of census 100: the profiled
    stand for 50 people (w 5); a band nobody detected (o) is absorbed."""
    from aggregator.extrapolate import rake_weights
    w = rake_weights({"a": {"y": 40, "o": 60}}, {"a": {"y": 10, "": 10}})
    assert set(w) == {("a", "y")}
    assert w[("a", "y")].value == pytest.approx(5.0)
    assert rake_weights({"a": {"y": 1}}, {"a": {"": 4}}) == {}
