"""Correlation tables (collector/identity.py): bounds, expiry, S1 connection pairing."""

from __future__ import annotations

import pytest

from collector.identity import BoundedTable, Correlator, Subscriber

ALICE, BOB = Subscriber(0xA11CE, "001"), Subscriber(0xB0B, "208")
ASSOC, OTHER_ASSOC = (("10.0.0.1", 36412), ("10.0.0.2", 5000)), "assoc-2"


def test_table_is_bounded_lru() -> None:
    t = BoundedTable(max_entries=3, ttl=100.0)
    for k in "abc":
        t.put(k, k.upper(), now=0.0)
    assert t.get("a", now=1.0) == "A"  # touch a: b is now the oldest
    t.put("d", "D", now=2.0)
    assert len(t) == 3
    assert t.get("b", now=2.0) is None
    assert [t.get(k, now=2.0) for k in "acd"] == ["A", "C", "D"]


def test_table_expires_by_capture_time() -> None:
    t = BoundedTable(max_entries=10, ttl=60.0)
    t.put("a", 1, now=0.0)
    t.put("b", 2, now=50.0)
    assert t.get("a", now=60.0) == 1  # used at 60: lives until 120
    assert t.get("b", now=111.0) is None  # unused since 50
    t.put("c", 3, now=200.0)  # purges the expired front
    assert len(t) == 1
    assert t.get("a", now=200.0) is None


def test_table_validates_bounds_and_hides_contents() -> None:
    with pytest.raises(ValueError):
        BoundedTable(0, 1.0)
    with pytest.raises(ValueError):
        BoundedTable(1, 0.0)
    t = BoundedTable(5, 10.0)
    t.put("secret-key", "secret-value", 0.0)
    assert "secret" not in repr(t)


def test_connection_pair_is_learned_from_first_downlink() -> None:
    c = Correlator()
    c.ue_learn(ASSOC, 7, None, ALICE, now=0.0)              # InitialUEMessage
    assert c.ue_lookup(ASSOC, 7, 900, now=1.0) == ALICE     # first downlink: both ids
    c.ue_learn(ASSOC, 7, 900, ALICE, now=1.0)
    assert c.ue_lookup(ASSOC, None, 900, now=2.0) == ALICE  # MME id alone
    assert c.ue_lookup(OTHER_ASSOC, 7, None, now=2.0) is None  # eNB ids are per association


def test_stale_binding_is_not_used() -> None:
    c = Correlator()
    c.ue_learn(ASSOC, 7, 900, ALICE, now=0.0)
    # eNB id 7 now paired with MME id 901 on the wire: the old binding is stale
    assert c.ue_lookup(ASSOC, 7, 901, now=1.0) is None
    c.ue_learn(ASSOC, 7, 901, BOB, now=1.0)
    assert c.ue_lookup(ASSOC, 7, 901, now=2.0) == BOB
    assert c.ue_lookup(ASSOC, 8, 900, now=2.0) is None  # 900's partner was (ASSOC, 7)


def test_release_forgets_connection_but_not_tmsi() -> None:
    c = Correlator()
    c.ue_learn(ASSOC, 7, 900, ALICE, now=0.0)
    c.tmsi_learn(1, 0xF500075E, ALICE, now=0.0)
    c.ue_release(ASSOC, 7, 900)
    assert c.ue_lookup(ASSOC, 7, 900, now=1.0) is None
    assert c.tmsi_lookup(1, 0xF500075E, now=1.0) == ALICE
    assert c.tmsi_lookup(2, 0xF500075E, now=1.0) is None


def test_correlator_tables_are_bounded_and_expire() -> None:
    c = Correlator(max_entries=2, ttl=10.0)
    for i in range(5):
        c.tmsi_learn(1, i, ALICE, now=float(i))
        c.bearer_learn((0x7F000001, 32), bytes([0, 0, 0, i]), BOB, now=float(i))
    assert c.tmsi_lookup(1, 0, now=5.0) is None
    assert c.tmsi_lookup(1, 4, now=5.0) == ALICE
    assert c.bearer_lookup((0x7F000001, 32), b"\x00\x00\x00\x04", now=5.0) == BOB
    assert c.tmsi_lookup(1, 4, now=16.0) is None  # last used at 5.0
    assert repr(c) == "Correlator(enb=0, mme=0, tmsi=1, bearer=2)"
