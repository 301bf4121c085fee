"""Unit tests of aggregator.publish: primary and secondary suppression, the linear audit,
and the optional Laplace noise.

The oracle of the "by difference" property is arithmetic on the published output itself:
for every aggregate, published total − Σ published parts must not equal a suppressed part.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.publish import LaplaceNoise, exposed, labelled_aggregates, suppress


def fig(raw: int, w: float = 2.0, **labels) -> dict:
    return {**labels, "people": raw * w, "ci95": [raw * w * 0.9, raw * w * 1.1],
            "raw_devices": raw}


def zone_with_countries(parts: dict[str, int], zone: str = "z1") -> list[dict]:
    """A zone total (country None) followed by its by-country parts."""
    return [fig(sum(parts.values()), zone=zone, country=None),
            *(fig(n, zone=zone, country=c) for c, n in parts.items())]


def test_primary_suppression_withholds_value_and_interval():
    out = suppress([fig(19, zone="a"), fig(20, zone="b")], k=20)
    assert out[0] == {"zone": "a", "people": None, "ci95": None, "suppressed": True}
    assert out[1] == {"zone": "b", "people": 40.0, "ci95": [36.0, 44.0], "suppressed": False}
    assert all("raw_devices" not in f for f in out)


def test_one_suppressed_part_takes_the_next_smallest_with_it():
    figures = zone_with_countries({"IT": 5, "CH": 40, "DE": 25, "ES": 90})
    out = suppress(figures)
    assert [f["suppressed"] for f in out] == [False, True, False, True, False]  # IT, then DE


def test_two_suppressed_parts_are_enough():
    out = suppress(zone_with_countries({"IT": 5, "CH": 7, "DE": 25, "ES": 90}))
    assert [f["suppressed"] for f in out] == [False, True, True, False, False]


def test_a_suppressed_total_hides_a_part():
    # total 19 < k but its one part would give it back (total = part)
    out = suppress(zone_with_countries({"IT": 19}), k=20)
    assert [f["suppressed"] for f in out] == [True, True]
    # a lone suppressed total among published parts (possible for figures that do not add
    # up, e.g. distinct visitors of a day vs of its hours): the smallest part goes with it
    out = suppress([fig(15, zone="z", hour=None), fig(30, zone="z", hour=1),
                    fig(25, zone="z", hour=2), fig(40, zone="z", hour=3)], k=20)
    assert [f["suppressed"] for f in out] == [True, False, True, False]


def test_zero_parts_give_no_cover():
    # IT (5) and FR (0) are both below k, but FR = 0 would let IT = total − published
    figures = zone_with_countries({"IT": 5, "FR": 0, "DE": 25, "ES": 90})
    out = suppress(figures)
    assert [f["suppressed"] for f in out] == [False, True, True, True, False]


def test_labelled_aggregates_of_a_two_way_table():
    figures = [fig(60, zone=None, country=None),
               fig(30, zone="a", country=None), fig(30, zone="b", country=None),
               fig(35, zone=None, country="IT"), fig(25, zone=None, country="CH"),
               fig(20, zone="a", country="IT"), fig(10, zone="a", country="CH"),
               fig(15, zone="b", country="IT"), fig(15, zone="b", country="CH")]
    assert sorted(labelled_aggregates(figures)) == [
        (0, (1, 2)), (0, (3, 4)), (1, (5, 6)), (2, (7, 8)), (3, (5, 7)), (4, (6, 8))]


def test_explicit_aggregates_period_and_hours():
    day = {"zone": "z", "start": "2026-12-08T00:00:00Z", "seconds": 86400}
    hours = [{"zone": "z", "start": f"2026-12-08T{h:02d}:00:00Z", "seconds": 3600}
             for h in range(4)]
    raws = [50, 3, 30, 22]
    figures = [fig(sum(raws), **day), *(fig(n, **h) for n, h in zip(raws, hours, strict=True))]
    assert labelled_aggregates(figures) == []  # labels alone do not link a day to its hours
    out = suppress(figures, aggregates=[(0, (1, 2, 3, 4))])
    assert [f["suppressed"] for f in out] == [False, False, True, False, True]


def _two_way(raw: np.ndarray, weights: list[float]) -> list[dict]:
    """Every cell, row total, column total and the grand total of a zone × country table."""
    zones, countries = [f"z{i}" for i in range(raw.shape[0])], [f"C{j}" for j in
                                                                  range(raw.shape[1])]
    people = raw * np.array(weights)[None, :]
    figures = [{"zone": None, "country": None, "people": float(people.sum()),
                "raw_devices": int(raw.sum())}]
    for i, z in enumerate(zones):
        figures.append({"zone": z, "country": None, "people": float(people[i].sum()),
                        "raw_devices": int(raw[i].sum())})
    for j, c in enumerate(countries):
        figures.append({"zone": None, "country": c, "people": float(people[:, j].sum()),
                        "raw_devices": int(raw[:, j].sum())})
        for i, z in enumerate(zones):
            figures.append({"zone": z, "country": c, "people": float(people[i, j]),
                            "raw_devices": int(raw[i, j])})
    return figures


def test_linear_audit_catches_a_bridge_between_two_blocks():
    # Two 2 × 2 blocks of small cells joined by one small cell (z1, C2): every row and column
    # holds 0 or ≥ 2 suppressed cells, yet rows z0 + z1 − columns C0 − C1 give the bridge.
    raw = np.full((4, 4), 50)
    for i, j in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]:
        raw[i, j] = 5
    figures = _two_way(raw, [1.0] * 4)
    groups = labelled_aggregates(figures)
    primary = [f["raw_devices"] < 20 for f in figures]
    bridge = next(i for i, f in enumerate(figures) if (f["zone"], f["country"]) == ("z1", "C2"))
    assert exposed(primary, groups) == {bridge}
    out = suppress(figures)
    hidden = [f["suppressed"] for f in out]
    assert sum(hidden) > sum(primary)
    assert exposed(hidden, groups) == set()


def _check_release(figures: list[dict], out: list[dict], groups, k: int) -> None:
    """No published figure from fewer than k devices; no suppressed one given back by one
    equation (published total − Σ published parts) nor by a combination of them."""
    hidden = [f["suppressed"] for f in out]
    for f, o in zip(figures, out, strict=True):
        assert o["suppressed"] or f["raw_devices"] >= k
        assert o["suppressed"] == (o["people"] is None)
    for total, parts in groups:
        if hidden[total]:
            if all(not hidden[p] for p in parts) and figures[total]["raw_devices"] > 0:
                pytest.fail("a suppressed total equals the sum of its published parts")
            continue
        rest = out[total]["people"] - sum(out[p]["people"] for p in parts if not hidden[p])
        for p in parts:
            if hidden[p] and figures[p]["raw_devices"] > 0:
                assert abs(figures[p]["people"] - rest) > 1e-6, "revealed by difference"
    assert not {j for j in exposed(hidden, groups) if figures[j]["raw_devices"] > 0}


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 5).flatmap(lambda cols: st.tuples(
           st.lists(st.lists(st.integers(0, 60), min_size=cols, max_size=cols),
                    min_size=1, max_size=5),
           st.lists(st.floats(1.0, 10.0), min_size=cols, max_size=cols))),
       st.integers(1, 30))
def test_random_two_way_tables(table, k):
    raw, weights = np.array(table[0]), table[1]
    figures = _two_way(raw, weights)
    out = suppress(figures, k=k)
    _check_release(figures, out, labelled_aggregates(figures), k)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 60), min_size=1, max_size=8), min_size=1, max_size=4),
       st.integers(1, 30))
def test_random_days_and_hours(days, k):
    # explicit aggregates: each day is the sum of its hours, the period the sum of its days
    figures, groups = [{"people": 0.0, "raw_devices": 0, "what": "period"}], []
    for d, hours in enumerate(days):
        day = len(figures)
        figures.append({"people": 3.0 * sum(hours), "raw_devices": sum(hours), "day": d})
        figures.extend({"people": 3.0 * n, "raw_devices": n, "day": d, "hour": h}
                       for h, n in enumerate(hours))
        groups.append((day, tuple(range(day + 1, len(figures)))))
    figures[0].update(people=3.0 * sum(map(sum, days)), raw_devices=sum(map(sum, days)))
    groups.append((0, tuple(g[0] for g in groups)))
    out = suppress(figures, k=k, aggregates=groups)
    _check_release(figures, out, groups, k)


def test_laplace_noise_is_seeded_and_scaled():
    figures = [fig(100, w=3.0, zone=f"z{i}") for i in range(4000)] + [fig(3, zone="small")]
    noise = LaplaceNoise(epsilon=0.5, contributions=2, seed=42)
    out = suppress(figures, noise=noise)
    assert out == suppress(figures, noise=noise)  # same seed, same release
    assert out != suppress(figures, noise=LaplaceNoise(0.5, 2, seed=43))
    assert out[-1]["people"] is None and out[-1]["suppressed"]
    shifts = np.array([o["people"] - 300.0 for o in out[:-1]])
    scale = 3.0 * 2 / 0.5  # w · contributions / ε people
    assert abs(shifts.mean()) < 0.1 * scale
    assert np.abs(shifts).mean() == pytest.approx(scale, rel=0.05)  # E|Laplace(b)| = b
    widths = [o["ci95"][1] - o["ci95"][0] for o in out[:-1]]
    assert widths == pytest.approx([60.0 + 2 * scale * np.log(20)] * 4000)


@pytest.mark.parametrize(("figures", "kwargs", "message"), [
    ([{"people": 1.0}], {}, "figure 0: no 'raw_devices'"),
    ([{"raw_devices": 1}], {}, "figure 0: no 'people'"),
    ([{"people": 1.0, "raw_devices": -1}], {}, "figure 0: raw_devices -1 is not a count"),
    ([{"people": None, "raw_devices": 30}], {}, "figure 0: people None is not a number"),
    ([{"people": 1.0, "raw_devices": 30, "by_country": {"IT": 3}}], {},
     "figure 0: label 'by_country' holds a dict; flatten"),
    ([{"people": 1.0, "raw_devices": 30}], {"k": 0}, "k: 0 is not an integer >= 1"),
    ([{"people": 1.0, "raw_devices": 30}], {"aggregates": [(0, (1,))]},
     "aggregates: figure index 1 out of range"),
])
def test_errors(figures, kwargs, message):
    with pytest.raises(ValueError, match=message):
        suppress(figures, **kwargs)


def test_noise_settings_checked():
    with pytest.raises(ValueError, match="noise.epsilon: 0 is not a number > 0"):
        LaplaceNoise(0)
    with pytest.raises(ValueError, match="noise.contributions: 0 is not an int >= 1"):
        LaplaceNoise(1.0, 0)


def test_nested_periods_do_not_give_a_small_difference():
    """Visitors of a zone over the whole period (100 devices) and over an event day within
    it (95): the 5 seen only outside the day would come out as 100 − 95, so the day goes;
    at 70 (30 outside) both stay.  The rule follows suppressions: a hidden day's IT part
    (a nested pair of its own) is left alone."""
    def visitors(start, end, raw, country=None):
        return {"zone": "z", "start": start, "end": end, "country": country,
                "people": raw * 3.0, "raw_devices": raw}
    out = suppress([visitors(0, 48, 100), visitors(17, 22, 95)], k=20, nested=[(0, 1)])
    assert [f["suppressed"] for f in out] == [False, True]
    out = suppress([visitors(0, 48, 100), visitors(17, 22, 70)], k=20, nested=[(0, 1)])
    assert [f["suppressed"] for f in out] == [False, False]
    with pytest.raises(ValueError, match="nested"):
        suppress([visitors(0, 48, 100)], nested=[(0, 3)])


def test_report_visitors_periods_never_differ_by_fewer_than_k(known_db):
    """Through the report: the known store's one hour as two nested periods (18:00-20:00
    and 19:00-20:00 hold the same devices: a difference of 0 singles nobody out) and every
    published pair of nested figures of one zone and country differs by 0 or >= k devices."""
    from aggregator.estimate import Basis
    from aggregator.report import ReportOptions, build_report, nested_periods
    from aggregator.store import Store
    from tests.unit.aggregator.conftest import CENSUS, T0, cells
    periods = ((T0 - 3600, T0 + 3600), (T0, T0 + 3600))
    with Store(known_db, read_only=True) as store:
        doc = build_report(store, ReportOptions(cells(), Basis(CENSUS), periods=periods))
    rows = {(r["zone"], r["start"]): r for r in doc["visitors"]}
    assert len(rows) == 6 and not rows[("a", "2026-12-08T19:00:00Z")]["suppressed"]
    figures = [{"section": "visitors", "zone": "z", "country": None, "start": 0, "end": 9},
               {"section": "visitors", "zone": "z", "country": None, "start": 2, "end": 5},
               {"section": "visitors", "zone": "z", "country": "IT", "start": 2, "end": 5},
               {"section": "presence", "zone": "z", "start": 2}]
    assert nested_periods(figures) == [(0, 1)]
