"""Presence per cell per bin: expected values worked out by hand from the rule in
collector/presence.py (most on-time in the bin wins; ties to the first entered)."""

from __future__ import annotations

from collector.presence import PresenceState

X, Y, Z = ("00101", 1, 10), ("00101", 1, 11), ("00101", 2, 20)


def _run(events, bin_seconds=900, timeout=7200.0, lateness=0.0, end=None):
    st = PresenceState(bin_seconds, timeout, lateness)
    closed = []
    for dev, t, cell in events:
        st.observe(dev, t, cell)
        closed += st.advance(t)
    if end is not None:
        closed += st.advance(end)
    closed += st.flush()
    return {start: counts for start, counts in closed}, st


def test_most_time_in_bin_wins_and_position_carries_over():
    # A: X at 100, Y at 600 -> bin 0: X 500 s, Y 300 s -> X; bin 900: Y the whole bin.
    # B: Y at 850 -> bin 0: Y 50 s -> Y; bin 900: Y.
    got, _ = _run([(1, 100, X), (1, 600, Y), (2, 850, Y), (1, 1799, Y)])
    assert got == {0: {X: 1, Y: 1}, 900: {Y: 2}}


def test_tie_goes_to_the_cell_entered_first():
    got, _ = _run([(1, 0, X), (1, 450, Y), (1, 900, Y)])
    assert got[0] == {X: 1}


def test_detach_ends_presence():
    # on X from 0, detach at 1000: bin 0 X, bin 900 X (100 s), bin 1800 nothing.
    got, _ = _run([(1, 0, X), (1, 1000, None), (2, 2000, Z)])
    assert got[0] == {X: 1} and got[900] == {X: 1} and got[1800] == {Z: 1}


def test_silent_device_stays_present_until_timeout():
    # seen once at 0 in X, timeout 1000 s: on until 1000 -> bins 0 and 900; not 1800.
    got, _ = _run([(1, 0, X), (2, 2700, Z)], timeout=1000.0)
    assert got == {0: {X: 1}, 900: {X: 1}, 1800: {}, 2700: {Z: 1}}


def test_bins_close_only_after_lateness_and_late_events_are_counted():
    st = PresenceState(900, 7200.0, lateness=60.0)
    st.observe(1, 10, X)
    assert st.advance(950) == []             # 900 + 60 not reached
    assert st.advance(960) == [(0, {X: 1})]
    assert st.observe(1, 500, Y) is False    # bin 0 is closed and accounted
    assert st.late == 1


def test_state_is_purged_after_detach_or_timeout():
    _, st = _run([(1, 0, X), (1, 100, None), (2, 0, Y)], timeout=1000.0, end=5000)
    assert len(st) == 0


def test_a_long_gap_with_nobody_on_is_skipped():
    # captures from different years, merged: the empty bins between are not walked
    st = PresenceState(900, 1000.0, 0.0)
    st.observe(1, 0, X)
    closed = st.advance(5000)
    st.observe(2, 10**9, Y)
    closed += st.advance(10**9) + st.flush()
    assert [s for s, c in closed if c] == [0, 900, 999999900]
    assert len(closed) < 10
