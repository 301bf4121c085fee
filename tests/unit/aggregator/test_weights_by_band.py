"""Weights per (segment, age band) stratum (wire.tally version 5), against numbers worked
out by hand: the raked w(h, a) for the residents, the national ratio of each band for the
domestic devices of unknown home, the all-ages weights for band "", and the presence
hour's calibration that keeps census(h) for each home zone.

The 2 × 2 raking case is test_extrapolate's: zones a, b; bands y, o; residents a (10 y,
20 o), b (30 y, 40 o), all profiled; census a 60 (30 y, 30 o), b 140 (60 y, 80 o);
x = fitted(a, y) = (√245700 − 450) / 2, fitted(a, o) = 60 − x."""

from __future__ import annotations

import dataclasses
import math

import datasketches
import pytest

from aggregator.estimate import Basis, Weights, split_stratum, stratum, visitors_figures, weights
from aggregator.extrapolate import ForeignFactors, Weight
from aggregator.presence import presence_figures
from aggregator.store import Store
from wire.tally import PresenceRow, ResidentRow, SketchRow, TallyBatch

T0 = 1_796_000_400
DAY0 = T0 - T0 % 86400
PLMN = "00101"
X = (math.sqrt(245700) - 450) / 2
BASIS = Basis({"a": 60, "b": 140}, {"IT": ForeignFactors(0.5, 0.8)},
              census_bands={"a": {"y": 30, "o": 30}, "b": {"y": 60, "o": 80}})


def test_stratum_labels():
    assert stratum("home:a", "30-44") == "home:a|30-44" and stratum("domestic", "") == "domestic"
    assert split_stratum("home:a|75+") == ("home:a", "75+")
    assert split_stratum("IT") == ("IT", "")


def _weights(basis: Basis) -> Weights:
    return Weights({"a": Weight(2.0, "census")}, Weight(3.0, "all zones"), basis,
                   by_band={("a", "y"): Weight(1.5, "raked"), ("a", "o"): Weight(4.0, "raked")},
                   national_by_band={"y": Weight(1.8, "raked age band, all zones")})


def test_weight_of_each_stratum():
    w = _weights(BASIS)
    assert w.of("home:a|y").value == 1.5 and w.of("home:a|o").value == 4.0
    assert w.of("home:a").value == 2.0       # band "": the zone's weight
    assert w.of("home:a|z").value == 2.0     # a band without a raked weight: the zone's
    assert w.of("home:b|y").value == 3.0     # a zone without weight: the national ratio
    assert w.of("domestic|y").value == 3.0 and w.of("unknown").value == 3.0
    assert w.of("IT").value == pytest.approx(2.5)


def test_weight_of_visitors_by_band_when_asked():
    w = _weights(dataclasses.replace(BASIS, visitor_bands=True))
    assert w.of("home:b|y").value == 1.8     # a zone without weight: the band's national
    assert w.of("domestic|y").value == 1.8 and w.of("unknown|y").value == 1.8
    assert w.of("domestic|o").value == 3.0   # no national weight of the band: the national
    assert w.of("unknown").value == 3.0 and w.of("home:a|y").value == 1.5


def test_calibration_keeps_census_with_bands():
    """One factor per zone: 10 y (1.5) + 5 o (4.0) + 2 without band (2.0) stand for 39
    people, census a is 60, so every weight of a is × 60 / 39; without bands the factor
    gives census / present as before."""
    w = Weights({"a": Weight(2.0, "census")}, Weight(3.0, "all zones"), BASIS,
                by_band={("a", "y"): Weight(1.5, "raked"), ("a", "o"): Weight(4.0, "raked")})
    cal = w.calibrated({("a", "y"): 10, ("a", "o"): 5, ("a", ""): 2})
    k = 60 / 39
    assert cal.of("home:a|y").value == pytest.approx(1.5 * k)
    assert cal.of("home:a|o").value == pytest.approx(4.0 * k)
    assert cal.of("home:a").value == pytest.approx(2.0 * k)
    assert 10 * cal.of("home:a|y").value + 5 * cal.of("home:a|o").value + \
        2 * cal.of("home:a").value == pytest.approx(60)
    assert w.calibrated({("a", ""): 20}).of("home:a").value == pytest.approx(3.0)
    assert cal.of("domestic").value == 3.0  # only the home weights are calibrated


def _sketch(ids: range) -> bytes:
    s = datasketches.hll_sketch(12, datasketches.tgt_hll_type.HLL_4)
    for i in ids:
        s.update(i)
    return s.serialize_compact()


@pytest.fixture
def banded_db(tmp_path):
    """Zone a (cell 1) in the bin T0 and its hour: home:a 10 y + 5 o, domestic 4 y + 2
    without band, 3 IT; residents of the day as in the module docstring."""
    path = tmp_path / "banded.duckdb"
    presence = (PresenceRow(T0, PLMN, 1, 1, 10, "home:a", "y"),
                PresenceRow(T0, PLMN, 1, 1, 5, "home:a", "o"),
                PresenceRow(T0, PLMN, 1, 1, 4, "domestic", "y"),
                PresenceRow(T0, PLMN, 1, 1, 2, "domestic", ""),
                PresenceRow(T0, PLMN, 1, 1, 3, "IT", ""))
    sketches = (SketchRow(T0, PLMN, 1, 1, "home:a", _sketch(range(0, 10)), "y"),
                SketchRow(T0, PLMN, 1, 1, "home:a", _sketch(range(10, 15)), "o"),
                SketchRow(T0, PLMN, 1, 1, "domestic", _sketch(range(15, 19)), "y"),
                SketchRow(T0, PLMN, 1, 1, "domestic", _sketch(range(19, 21)), ""),
                SketchRow(T0, PLMN, 1, 1, "IT", _sketch(range(21, 24)), ""))
    residents = tuple(ResidentRow(DAY0, PLMN, z, n, b) for z, b, n in (
        ("a", "y", 10), ("a", "o", 20), ("b", "y", 30), ("b", "o", 40)))
    with Store(path) as store:
        store.put(TallyBatch("c", 1, 0, 900, presence, sketches, residents=residents))
    return path


def test_raked_and_national_band_weights_from_the_store(banded_db):
    with Store(banded_db, read_only=True) as store:
        w = weights(store, BASIS, T0)
    assert w.home["a"].value == pytest.approx(2.0) and w.national.value == pytest.approx(2.0)
    assert w.of("home:a|y").value == pytest.approx(X / 10, rel=1e-5)
    assert w.of("home:a|o").value == pytest.approx((60 - X) / 20, rel=1e-5)
    # every resident profiled: a band's national weight is its census over its residents
    assert w.national_by_band["y"].value == pytest.approx(90 / 40, rel=1e-5)
    assert w.national_by_band["o"].value == pytest.approx(110 / 60, rel=1e-5)


@pytest.mark.parametrize("visitor_bands", [False, True])
def test_presence_weighs_each_stratum(banded_db, visitor_bands):
    """People of zone a at T0's hour (one bin): home a calibrated to census 60 whatever its
    bands, domestic 6 × 200/100 (the national ratio; with `visitor_bands`, 4 y × 90/40 and
    2 without band × 200/100), IT 3 × 2.5."""
    zone_of = {(PLMN, 1): "a"}
    basis = dataclasses.replace(BASIS, visitor_bands=visitor_bands)
    with Store(banded_db, read_only=True) as store:
        (fig,) = presence_figures(store, zone_of, lambda hour: weights(store, basis, hour),
                                  shares={})
    domestic = 4 * 90 / 40 + 2 * 2.0 if visitor_bands else 6 * 2.0
    assert fig["people"] == pytest.approx(60 + domestic + 3 * 2.5, rel=1e-5)
    assert fig["raw_devices"] == 24


def test_visitors_weigh_each_stratum(banded_db):
    """Distinct people of zone a over T0's hour: 10 y at w(a, y) = x / 10, 5 o at
    w(a, o) = (60 − x) / 20, 4 y at 90/40 (with `visitor_bands`) or 2.0, 2 without band at
    2.0, 3 IT at 2.5 (HLL counts are exact at these sizes)."""
    zone_of = {(PLMN, 1): "a"}
    for visitor_bands, domestic in ((False, 6 * 2.0), (True, 4 * 90 / 40 + 2 * 2.0)):
        with Store(banded_db, read_only=True) as store:
            w = weights(store, dataclasses.replace(BASIS, visitor_bands=visitor_bands), T0)
            figs = visitors_figures(store, zone_of, w, [(T0, T0 + 3600)], shares={})
        total = next(f for f in figs if f["country"] is None)
        assert total["people"] == pytest.approx(X + (60 - X) / 4 + domestic + 3 * 2.5,
                                                rel=1e-4)


def test_model_error_of_a_segment_is_not_split_by_its_bands():
    """The visitors' 10 % model error is common to a segment's devices: 100 domestic
    devices at weight 2 in one stratum or split over two bands give one interval."""
    from aggregator.estimate import figure

    w = Weights({}, Weight(2.0, "all zones"), BASIS)
    one = figure({}, {"domestic": 100.0}, w, 0.0)
    split = figure({}, {"domestic|y": 50.0, "domestic|o": 50.0}, w, 0.0)
    assert split["people"] == one["people"] == pytest.approx(200.0)
    assert split["ci95"] == pytest.approx(one["ci95"])
    half = 1.959963984540054 * math.sqrt(100 * 2 * 1 + (0.1 * 200) ** 2)
    assert one["ci95"] == pytest.approx([200 - half, 200 + half])
