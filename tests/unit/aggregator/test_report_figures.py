"""The report's extrapolated figures against figures computed by hand from the known store
of conftest.py (its docstring lists the rows), and the publication rules as rendered."""

from __future__ import annotations

import json
import math

import pytest

from aggregator.__main__ import main
from aggregator.estimate import Basis
from aggregator.extrapolate import ForeignFactors
from aggregator.report import ReportOptions, build_report
from aggregator.store import Store
from tests.unit.aggregator.conftest import T0, cells

W = 1500 / 145          # national weight: census total / distinct non-foreign devices
W_IT = 1 / (0.5 * 0.8)  # 2.5
RSE = 1.04 / 64         # HLL lgK 12: the national weight comes from a sketch union
Z = 1.959963984540054
BASIS = Basis({"a": 1000, "b": 500, "c": 0}, {"IT": ForeignFactors(0.5, 0.8)})


def report(db, **kw) -> dict:
    with Store(db, read_only=True) as store:
        return build_report(store, ReportOptions(cells(), BASIS, **kw))


def by_zone(rows: list[dict]) -> dict[str, dict]:
    return {r["zone"]: r for r in rows}


def test_presence_is_the_mean_of_bins_weighted(known_db):
    doc = report(known_db)
    rows = by_zone(doc["presence"])
    assert set(rows) == {"a", "b", "c"} and all(r["seconds"] == 3600 for r in rows.values())
    a = rows["a"]  # mean of bins 90 + 30 = 120 domestic devices, n >= 100: normal interval
    people = 120 * W
    # domestic devices of unknown home weigh the national ratio, a model for visitors from
    # other regions: its relative error VISITOR_RSE (10 %) adds (0.1 × people)²
    half = Z * math.sqrt(120 * W * (W - 1) + (RSE * people) ** 2 + (0.1 * people) ** 2)
    assert a["people"] == pytest.approx(people, abs=0.1)
    assert a["ci95"] == pytest.approx([people - half, people + half], abs=0.1)
    assert a["suppressed"] is False and a["start"] == "2026-12-08T19:00:00Z"
    b = rows["b"]  # 20 domestic + IT 10 in two bins of four = 5: 25 raw devices
    assert b["people"] == pytest.approx(20 * W + 5 * W_IT, abs=0.1)
    assert b["ci95"][0] <= b["people"] <= b["ci95"][1] and b["ci95"][0] >= 25
    c = rows["c"]  # 8 IT devices < k = 20
    assert c == {"zone": "c", "start": "2026-12-08T19:00:00Z", "seconds": 3600,
                 "people": None, "suppressed": True, "ci95": None}


def test_visitors_are_unions_weighted_by_segment(known_db):
    rows = by_zone(report(known_db)["visitors"])
    a = rows["a"]  # d0..d109: 110 distinct domestic devices
    assert a["people"] == pytest.approx(110 * W, rel=1e-3)
    assert (a["start"], a["end"]) == ("2026-12-08T19:00:00Z", "2026-12-08T20:00:00Z")
    assert a["by_country"] == {} and a["suppressed"] is False
    assert a["ci95"][0] < a["people"] < a["ci95"][1]
    b = rows["b"]  # 30 domestic, 15 IT: the IT part (< 20) is left out of by_country
    assert b["people"] == pytest.approx(30 * W + 15 * W_IT, rel=1e-3)
    assert b["by_country"] == {}


def test_no_suppression_by_difference_in_the_rendered_report(known_db):
    """Zone c: 30 IT devices and 5 domestic ones.  Publishing the total (5 W + 75) and IT
    (75) would give the 5 domestic devices' figure by difference: the IT part goes too."""
    c = by_zone(report(known_db)["visitors"])["c"]
    assert c["people"] == pytest.approx(5 * W + 30 * W_IT, rel=1e-3)
    assert c["by_country"] == {}
    # with k = 5 nothing is below k and IT is published
    c5 = by_zone(report(known_db, k=5)["visitors"])["c"]
    assert c5["by_country"] == {"IT": pytest.approx(75.0, rel=1e-3)}
    # every rendered total minus its rendered countries is never one hidden small part
    for k in (5, 20, 31):
        for row in report(known_db, k=k)["visitors"]:
            if not row["suppressed"] and row["by_country"]:
                assert row["people"] - sum(row["by_country"].values()) > 0


class WithResidents:
    """The known store with residents rows (contracts §2), whatever the store has yet."""

    def __init__(self, store: Store, residents: dict[str, int]) -> None:
        self.store, self._residents = store, residents

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def residents(self, day_start: int | None = None) -> dict[str, int]:
        return dict(self._residents)


def _homes_report(path) -> dict:
    """The report of four bins of zone a's cell 1 (home:a 60, home:b 10, domestic 20,
    unknown 4 devices) and one row of 40 home:b devices in zone b's cell 3, with the
    hour's sketches of the same devices (distinct names), residents a 50 and b 100."""
    from aggregator.store import Store as S
    from tests.unit.aggregator.conftest import PLMN, sketch
    from wire.tally import PresenceRow, SketchRow, TallyBatch
    rows = [PresenceRow(T0 + i * 900, PLMN, 1, 1, n, seg) for i in range(4)
            for seg, n in (("home:a", 60), ("home:b", 10), ("domestic", 20), ("unknown", 4))]
    rows.append(PresenceRow(T0, PLMN, 1, 3, 40, "home:b"))
    sketches = {(1, "home:a"): ids_("h", 0, 60), (1, "home:b"): ids_("b", 0, 10),
                (1, "domestic"): ids_("d", 0, 20), (1, "unknown"): ids_("u", 0, 4),
                (3, "home:b"): ids_("b", 100, 140)}
    sk = tuple(SketchRow(T0, PLMN, 1, cell, seg, sketch(items))
               for (cell, seg), items in sketches.items())
    with S(path) as store:
        store.put(TallyBatch("m", 1, 0, 900, tuple(rows), sk))
    with S(path, read_only=True) as store:
        return build_report(WithResidents(store, {"a": 50, "b": 100}),
                            ReportOptions(cells(), BASIS))


# Unknown-home devices per homed device at the day's quietest (only) hour, distinct devices
# of the hour: (20 + 4) / (60 + 10 + 40) = 24 / 110; zone a keeps 24 - 70 × 24 / 110 of its
# 24 unknown-home devices, at the national weight 1500 / 150 = 10 (residents rows).
KEPT_A = 24 - 70 * 24 / 110


def test_home_segments_post_stratified(tmp_path):
    doc = _homes_report(tmp_path / "home.duckdb")
    # hour weights calibrated to the residents present (all cells, mean of bins): home:a
    # 60, home:b 10 + 40 / 4 = 20, so a 1000 / 60, b 500 / 20 = 25
    a = by_zone(doc["presence"])["a"]
    assert a["people"] == pytest.approx(60 * 1000 / 60 + 10 * 25 + KEPT_A * 10, abs=0.1)
    b = by_zone(doc["presence"])["b"]  # 40 in one bin of four: mean 10 < k
    assert b["suppressed"] is True


def test_visitors_leave_out_the_residents_of_undetected_home(tmp_path):
    """Unknown-home devices include residents whose home is not detected (phone off the
    first night...), already stood for by the home weights: per homed device, the day's
    share r of them is taken off a zone's unknown-home devices over a period too, not only
    in the presence figures.  Distinct devices weigh census / residents rows: home:a
    1000 / 50, home:b 500 / 100."""
    v = by_zone(_homes_report(tmp_path / "undetected.duckdb")["visitors"])["a"]
    assert v["people"] == pytest.approx(60 * 20 + 10 * 5 + KEPT_A * 10, rel=1e-4)
    assert v["ci95"][0] < v["people"] < v["ci95"][1]


def test_undetected_share_counts_devices_switched_on_during_the_hour(tmp_path):
    """r is the least ratio over the day's hours of *distinct* unknown-home to homed
    devices: 10 phones switched on halfway through the quiet hour (two bins of four: a
    mean of 5) are 10 residents for the rest of the day, so r = 10 / 100, not 5 / 100;
    the next hour's 20 visitors (30 / 100) do not lower it."""
    from aggregator.presence import undetected_shares
    from aggregator.store import Store as S
    from tests.unit.aggregator.conftest import PLMN, sketch
    from wire.tally import PresenceRow, SketchRow, TallyBatch
    rows = [PresenceRow(T0 + i * 900, PLMN, 1, 1, 100, "home:a") for i in range(8)]
    rows += [PresenceRow(T0 + i * 900, PLMN, 1, 2, 10, "domestic") for i in range(2, 8)]
    rows += [PresenceRow(T0 + 3600 + i * 900, PLMN, 1, 2, 20, "unknown") for i in range(4)]
    sk = [SketchRow(T0 + h, PLMN, 1, 1, "home:a", sketch(ids_("h", 0, 100)))
          for h in (0, 3600)]
    sk += [SketchRow(T0 + h, PLMN, 1, 2, "domestic", sketch(ids_("u", 0, 10)))
           for h in (0, 3600)]
    sk.append(SketchRow(T0 + 3600, PLMN, 1, 2, "unknown", sketch(ids_("v", 0, 20))))
    path = tmp_path / "share.duckdb"
    with S(path) as store:
        store.put(TallyBatch("m", 1, 0, 900, tuple(rows), tuple(sk)))
    with S(path, read_only=True) as store:
        shares = undetected_shares(store)
    assert shares == {T0 - T0 % 86400: pytest.approx(0.1, rel=1e-6)}


def test_visitors_count_a_device_once_across_segments(tmp_path):
    """A device seen as `domestic` before its home was decided and as `home:a` after counts
    once, with its home's weight; only the devices never homed take the national one."""
    from aggregator.store import Store as S
    from tests.unit.aggregator.conftest import PLMN, sketch
    from wire.tally import SketchRow, TallyBatch
    sk = (SketchRow(T0, PLMN, 1, 1, "domestic", sketch(ids_("d", 0, 100))),
          SketchRow(T0 + 3600, PLMN, 1, 1, "home:a", sketch(ids_("d", 0, 60))))
    path = tmp_path / "once.duckdb"
    with S(path) as store:
        store.put(TallyBatch("m", 1, 0, 900, (), sk))
    with S(path, read_only=True) as store:
        doc = build_report(WithResidents(store, {"a": 50, "b": 100}),
                           ReportOptions(cells(), BASIS))
    v = by_zone(doc["visitors"])["a"]  # 60 homed × 20 + 40 never homed × 10
    assert v["people"] == pytest.approx(60 * 20 + 40 * 10, rel=0.02)


def ids_(prefix: str, lo: int, hi: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(lo, hi)]


def test_filters(known_db):
    doc = report(known_db, zones=frozenset({"b"}), raw=True)
    assert {r["zone"] for r in doc["presence"] + doc["visitors"] + doc["zone_devices"]} == {"b"}
    assert {r["cell"] for r in doc["cell_presence"]} == {3}
    later = report(known_db, start=T0 + 3600, raw=True)
    assert later["presence"] == [] and later["cell_presence"] == []
    assert later["visitors"] == []
    earlier = report(known_db, start=T0 - 3600, end=T0 + 3600)
    v = by_zone(earlier["visitors"])["a"]
    assert (v["start"], v["end"]) == ("2026-12-08T18:00:00Z", "2026-12-08T20:00:00Z")


def test_raw_zone_devices_are_k_suppressed_with_their_segments(known_db):
    """zone_devices with --raw: zone c holds 30 IT and 5 domestic devices; the 5 are under
    k = 20 and would come back as total − IT, so IT goes too; zone b's 15 IT go alone
    (b's total and domestic 30 then give 15 by difference: domestic is hidden as well)."""
    doc = report(known_db, raw=True)
    rows = by_zone(doc["zone_devices"])
    assert rows["c"]["by_segment"] == {} and rows["c"]["suppressed"] is False
    assert rows["b"]["by_segment"] == {} and rows["a"]["by_segment"] == {
        "domestic": pytest.approx(110, rel=0.02)}
    assert "zone_devices" not in report(known_db) and "cell_presence" not in report(known_db)
    cells_ = doc["cell_presence"]  # per cell and bin: cell 3's 10 IT and cell 4's 8 withheld
    assert all(r["suppressed"] == (r["devices"] is None) for r in cells_)


def test_noise_keeps_suppression_and_moves_figures(known_db):
    plain = report(known_db)
    noisy = report(known_db, epsilon=0.5, noise_seed=3)
    for section in ("presence", "visitors"):
        for p, n in zip(plain[section], noisy[section], strict=True):
            assert p["suppressed"] == n["suppressed"]
            if not p["suppressed"]:
                assert p["people"] != n["people"]
                assert n["ci95"][1] - n["ci95"][0] > p["ci95"][1] - p["ci95"][0]


def test_command_line_csv_and_table(known_db, reference, capsys):
    args = ["report", "--db", str(known_db), "--reference", str(reference),
            "--config", str(reference / "agg.toml")]
    assert main([*args, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert by_zone(doc["presence"])["a"]["people"] == pytest.approx(120 * W, abs=0.1)
    assert main([*args, "--format", "csv", "--zone", "c"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("section,zone,start,end,plmn,tac,cell,breakdown,value,ci95_lo,"
                        "ci95_hi,suppressed")
    assert ("presence,c,2026-12-08T19:00:00Z,2026-12-08T20:00:00Z,,,,,,,,true") in lines
    visitors = [line for line in lines if line.startswith("visitors,c,")]
    assert len(visitors) == 1 and visitors[0].endswith(",false")
    assert main([*args, "--from", "2026-12-08T19:00:00Z", "--to", "2026-12-08T20:00"]) == 0
    text = capsys.readouterr().out
    assert "presence: people per zone and hour" in text
    c_line = next(line for line in text.splitlines()
                  if line.startswith("2026-12-08T19:00:00Z  c "))
    assert c_line.split()[-1] == "suppressed"


def test_foreign_default_and_no_census(known_db):
    """Without a [foreign] row IT takes the default 1 / (0.3 × 0.95); without census.csv a
    domestic device is one person."""
    with Store(known_db, read_only=True) as store:
        doc = build_report(store, ReportOptions(cells(), Basis(None), k=1))
    b = by_zone(doc["presence"])["b"]  # 20 domestic + 5 IT
    assert b["people"] == pytest.approx(20 + 5 / (0.3 * 0.95), abs=0.1)


def test_raked_weights_when_residents_have_age_bands(known_db):
    """Contract C: with residents by age band, the weights carry the raked (zone, band)
    weights (zone weights stay census / residents: raking moves weight between bands)."""
    from aggregator.estimate import weights

    class Banded(WithResidents):
        def residents_by_band(self, day_start=None):
            return {"a": {"y": 10, "o": 20}, "b": {"y": 30, "o": 40}}

    basis = Basis({"a": 60, "b": 140}, census_bands={"a": {"y": 30, "o": 30},
                                                     "b": {"y": 60, "o": 80}})
    with Store(known_db, read_only=True) as store:
        w = weights(Banded(store, {"a": 30, "b": 70}), basis)
    x = (math.sqrt(245700) - 450) / 2  # test_extrapolate's 2 × 2 case
    assert w.by_band[("a", "y")].value == pytest.approx(x / 10, rel=1e-5)
    assert w.home["a"].value == pytest.approx(2.0) and w.home["b"].value == pytest.approx(2.0)


def test_period_share_is_the_least_of_its_days():
    """Over a period of several days only the residents undetected on every day are left
    among the unknown-home devices (a device homed on any day counts once, with its home):
    the least of the days' shares, not their mean."""
    from aggregator.estimate import _period_share
    day1, day2 = T0 - T0 % 86400, T0 - T0 % 86400 + 86400
    shares = {day1: 0.12, day2: 0.003}
    assert _period_share(shares, day1 + 3600, day2 + 7200) == 0.003   # both days
    assert _period_share(shares, day1 + 3600, day1 + 7200) == 0.12    # the first alone
    assert _period_share(shares, day2 + 86400, day2 + 90000) == 0.0   # a day without r
    assert _period_share(None, day1, day2) == 0.0


def test_visitors_of_a_period_weigh_by_the_residents_of_its_last_day(tmp_path):
    """Homes accumulate day after day (a phone off the first night is homed the second), so
    the residents rows grow: 50 homes of zone a decided after the first night, 80 after the
    second.  The 50 devices homed on day 1 are zone a's 1000 people (1000 / 50 each) on day 1;
    the 80 of day 2, 1000 / 80 each.  Weighing day 1 by day 2's residents read 625."""
    from aggregator.store import Store as S
    from tests.unit.aggregator.conftest import PLMN, sketch
    from wire.tally import SketchRow, TallyBatch
    day1, day2 = T0 - T0 % 86400, T0 - T0 % 86400 + 86400
    sk = (SketchRow(T0, PLMN, 1, 1, "home:a", sketch(ids_("h", 0, 50))),
          SketchRow(T0 + 86400, PLMN, 1, 1, "home:a", sketch(ids_("h", 0, 80))))
    path = tmp_path / "days.duckdb"
    with S(path) as store:
        store.put(TallyBatch("m", 1, 0, 900, (), sk))

    class ByDay(WithResidents):
        def residents(self, day_start=None):  # as of the latest day at or before day_start
            days = {day1: {"a": 50, "b": 100}, day2: {"a": 80, "b": 100}}
            return days[day2 if day_start is None or day_start >= day2 else day1]

    with S(path, read_only=True) as store:
        periods = ((T0, T0 + 3600), (T0 + 86400, T0 + 86400 + 3600))
        doc = build_report(ByDay(store, {}), ReportOptions(cells(), BASIS, periods=periods))
    got = sorted((r["start"], r["people"]) for r in doc["visitors"] if r["zone"] == "a")
    assert [people for _start, people in got] == pytest.approx([50 * 1000 / 50,
                                                                80 * 1000 / 80], rel=0.01)
