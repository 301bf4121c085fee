"""Correlation tables (collector/identity.py): bounds, expiry, S1 connection pairing."""

from __future__ import annotations

from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_a_reallocated_guti_retires_the_old_one_once_the_new_one_is_used() -> None:
    """TS 24.301 §5.4.1: until the phone uses the new GUTI, the old one still names it."""
    c = Correlator()
    c.tmsi_learn(1, 0x100, ALICE, now=0.0)
    assert c.tmsi_lookup(1, 0x100, now=1.0) == ALICE
    c.tmsi_learn(1, 0x200, ALICE, now=2.0)           # TAU ACCEPT with a new GUTI
    assert c.tmsi_lookup(1, 0x100, now=3.0) == ALICE  # a retry with the old one
    assert c.tmsi_lookup(1, 0x200, now=4.0) == ALICE  # the new one used ...
    assert c.tmsi_lookup(1, 0x100, now=5.0) is None   # ... the old one is gone
    assert c.tmsi_lookup(1, 0x200, now=6.0) == ALICE
    # allocated twice before any use: the first new one, never used, is replaced
    c.tmsi_learn(1, 0x300, ALICE, now=7.0)
    c.tmsi_learn(1, 0x400, ALICE, now=8.0)
    assert c.tmsi_lookup(1, 0x300, now=9.0) is None
    assert c.tmsi_lookup(1, 0x200, now=9.0) == ALICE
    assert c.tmsi_lookup(1, 0x400, now=10.0) == ALICE
    assert c.tmsi_lookup(1, 0x200, now=11.0) is None


def test_a_retired_s_tmsi_given_to_another_phone_stays_the_other_phones() -> None:
    c = Correlator()
    c.tmsi_learn(1, 0x100, ALICE, now=0.0)
    c.tmsi_learn(1, 0x200, ALICE, now=1.0)
    c.tmsi_learn(1, 0x100, BOB, now=2.0)   # the MME gave Alice's old M-TMSI to Bob
    assert c.tmsi_lookup(1, 0x200, now=3.0) == ALICE
    assert c.tmsi_lookup(1, 0x100, now=4.0) == BOB
    # 5G-S-TMSIs are kept under the S-TMSI they map to, with the same rule
    c.tmsi5g_learn((1, 2, 0x500), BOB, now=5.0)
    assert c.tmsi5g_lookup((1, 2, 0x500), now=6.0) == BOB
    assert c.tmsi_lookup(1, 0x100, now=7.0) is None


def test_path_switch_forgets_the_source_side_of_the_connection() -> None:
    """After an X2 (Xn) handover the source eNB releases the UE over X2, never on S1."""
    c = Correlator()
    c.ue_learn(ASSOC, 7, 900, ALICE, now=0.0)
    c.ue_switched(900, now=1.0)                     # PATH SWITCH REQUEST, source MME id 900
    c.ue_learn(OTHER_ASSOC, 3, None, ALICE, now=1.0)
    assert c.ue_lookup(ASSOC, 7, None, now=2.0) is None
    assert c.ue_lookup(OTHER_ASSOC, 3, None, now=2.0) == ALICE
    c.ngap_ue_learn(ASSOC, 7, 900, BOB, now=0.0)
    c.ngap_ue_switched(900, now=1.0)
    c.ngap_ue_learn(OTHER_ASSOC, 3, 900, BOB, now=1.0)
    assert c.ngap_ue_lookup(ASSOC, 7, None, now=2.0) is None
    assert c.ngap_ue_lookup(OTHER_ASSOC, 3, 900, now=2.0) == BOB


def test_correlator_tables_are_bounded_and_expire() -> None:
    c = Correlator(max_entries=2, ttl=10.0)
    phones = [Subscriber(i, "001") for i in range(5)]  # one S-TMSI each
    for i in range(5):
        c.tmsi_learn(1, i, phones[i], now=float(i))
        c.bearer_learn((0x7F000001, 32), bytes([0, 0, 0, i]), BOB, now=float(i))
    assert c.tmsi_lookup(1, 0, now=5.0) is None
    assert c.tmsi_lookup(1, 4, now=5.0) == phones[4]
    assert c.bearer_lookup((0x7F000001, 32), b"\x00\x00\x00\x04", now=5.0) == BOB
    assert c.tmsi_lookup(1, 4, now=16.0) is None  # last used at 5.0
    assert repr(c) == "Correlator(enb=0, mme=0, tmsi=1, bearer=2, ran=0, amf=0, guti=2)"


class EagerTable:
    """Reference model: an LRU that checks its front for expiry on every put."""

    def __init__(self, max_entries: int, ttl: float) -> None:
        self.items: OrderedDict = OrderedDict()
        self.max, self.ttl = max_entries, ttl

    def get(self, key, now):
        item = self.items.get(key)
        if item is None:
            return None
        if now - item[0] > self.ttl:
            del self.items[key]
            return None
        self.items[key] = (max(now, item[0]), item[1])
        self.items.move_to_end(key)
        return item[1]

    def put(self, key, value, now):
        self.items[key] = (now, value)
        self.items.move_to_end(key)
        while len(self.items) > self.max:
            self.items.popitem(last=False)
        while self.items and now - next(iter(self.items.values()))[0] > self.ttl:
            self.items.popitem(last=False)

    def pop(self, key):
        self.items.pop(key, None)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(size=st.integers(1, 6), ops=st.lists(st.tuples(
    st.sampled_from(["get", "put", "pop"]), st.integers(0, 9), st.floats(0, 30)), max_size=80))
def test_lazy_expiry_behaves_as_eager_expiry(size: int, ops: list) -> None:
    table, model, now = BoundedTable(size, 20.0), EagerTable(size, 20.0), 0.0
    for i, (op, key, step) in enumerate(ops):
        now += step  # capture time only grows
        if op == "get":
            assert table.get(key, now) == model.get(key, now)
        elif op == "put":
            table.put(key, i, now)
            model.put(key, i, now)
        else:
            table.pop(key)
            model.pop(key)
        assert len(table) == len(model.items)
