"""bench/accuracy.perturb: each operator parameter is scaled once from its nominal value.

A visitors' operator share left to its default (the operator's market share) used to be
scaled from the already scaled market share, so "market share ×1.3" made Lyon's visitors
from other regions ×1.69 as likely as its residents to carry the operator's SIM.
Oracles: the products written out by hand.
"""

from __future__ import annotations

import pytest

from bench.accuracy import perturb


def _doc() -> dict:
    return {"zones": [{"id": "a", "market_share": 0.5}, {"id": "b"}],
            "operator": {"market_share": 0.35},
            "visitors": {"domestic": [{"region": "near"},
                                      {"region": "far", "operator_share": 0.2}]}}


@pytest.mark.parametrize(("f", "op", "zone_a", "near", "far"), [
    (1.3, 0.455, 0.65, 0.455, 0.26),   # 0.35 × 1.3, 0.5 × 1.3, 0.35 × 1.3 (not × 1.69), 0.2 × 1.3
    (0.7, 0.245, 0.35, 0.245, 0.14),
])
def test_market_share_scales_every_share_once(f, op, zone_a, near, far):
    doc = _doc()
    assert perturb(doc, f, 1.0, 1.0) == [f"market shares ×{f}"]
    assert doc["operator"]["market_share"] == pytest.approx(op)
    assert doc["zones"][0]["market_share"] == pytest.approx(zone_a)
    assert "market_share" not in doc["zones"][1]  # takes the operator's, scaled already
    near_v, far_v = doc["visitors"]["domestic"]
    assert near_v["operator_share"] == pytest.approx(near)
    assert far_v["operator_share"] == pytest.approx(far)


def test_ownership_scales_the_bands_ownership_only():
    """Visitors from other regions own phones by the ownership of their age band (the
    simulator's agents): scaling it scales them; their carry share stays."""
    doc = _doc()
    carry = [v.get("carry_share") for v in doc["visitors"]["domestic"]]
    perturb(doc, 1.0, 1.0, 0.7)
    assert doc["operator"]["ownership"]["15-29"] == pytest.approx(0.98 * 0.7)
    assert [v.get("carry_share") for v in doc["visitors"]["domestic"]] == carry
    assert "operator_share" not in doc["visitors"]["domestic"][0]
