"""The truth rule on hand-made network-visible steps (µs); expected values are worked out by
hand below (most on-time in the bin wins, ties to the cell entered first, zero on-time is
absent, on-time counted to the microsecond)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.mobility import PhoneTimeline
from simulator.population import Person, Phone
from simulator.scenario import CellSpec, load
from simulator.truth import document, on_time, presence
from wire.report import parse_iso

T0 = parse_iso("2026-12-08T17:00:00Z")  # a multiple of 900
US = 1_000_000
# B has a larger ECI than A, so a tie won by B cannot come from sorting by cell id
A = CellSpec(4101, 1, 1, "bellecour", 4.83, 45.76, 0)
B = CellSpec(4101, 2, 1, "terreaux", 4.83, 45.76, 120)
C = CellSpec(4203, 1, 2, "tete-d-or", 4.85, 45.77, 40)


def _phone(i: int, *steps: tuple[int, CellSpec | None]) -> list:
    """A phone's visible steps, (µs, cell), from (seconds after T0, cell)."""
    return [((T0 + t) * US, c) for t, c in steps]


def _timeline(i: int) -> PhoneTimeline:
    person = Person(i, "bellecour", Phone(f"00101000000000{i}", "3520990000000001", False))
    return PhoneTimeline(person, (), ())


# P: on at 100 in A, B at 500, A again at 800, C at 1000, off at 2000.
#    bin 0:    A 100-500 (400) + A 800-900 (100) = 500, B 500-800 = 300   -> A
#    bin 900:  A 900-1000 = 100, C 1000-1800 = 800                        -> C
#    bin 1800: C 1800-2000 = 200                                          -> C
#    bin 2700: off                                                        -> absent
P = _phone(1, (100, A), (500, B), (800, A), (1000, C), (2000, None))
# Q: on at 1000 in B, A at 1400, off at 1800.
#    bin 900:  B 1000-1400 = 400, A 1400-1800 = 400: a tie, B entered first -> B
#    bin 1800: off from its very start                                     -> absent
Q = _phone(2, (1000, B), (1400, A), (1800, None))
# R: on at 2650 in A, still on at the end (3600).
#    bin 1800: A 2650-2700 = 50 (any on-time counts)                      -> A
#    bin 2700: A 2700-3600 = 900                                          -> A
R = _phone(3, (2650, A), )
END = T0 + 3600


def test_presence_by_hand():
    assert presence([P, Q, R], END, 900) == {
        (T0, A): 1,
        (T0 + 900, C): 1, (T0 + 900, B): 1,
        (T0 + 1800, C): 1, (T0 + 1800, A): 1,
        (T0 + 2700, A): 1,
    }


def test_on_time_by_hand_keeps_the_order_cells_were_entered():
    got = on_time(P, END, 900)
    assert got == {T0: {A: 500 * US, B: 300 * US}, T0 + 900: {A: 100 * US, C: 800 * US},
                   T0 + 1800: {C: 200 * US}}
    assert list(got[T0]) == [A, B]


def test_the_end_of_the_scenario_cuts_the_last_bin():
    # R until a 10-minute end: bin 2700 holds 2700-3000 only, still present in A
    assert on_time(R, T0 + 3000, 900)[T0 + 2700] == {A: 300 * US}


def test_on_time_counts_microseconds():
    """Steps at any microsecond (a periodic TAU's, a paging response's).  Bin 0: A 0 to
    449.999999 s, B to 899.999999 s (450 s), A for the last µs: 449.999999 s + 1 µs = 450 s,
    a tie, A entered first."""
    s = [(T0 * US, A), ((T0 + 450) * US - 1, B), ((T0 + 900) * US - 1, A)]
    got = on_time(s, T0 + 900, 900)
    assert got == {T0: {A: 450 * US, B: 450 * US}}
    assert presence([s], T0 + 900, 900) == {(T0, A): 1}
    # one microsecond more in B: B
    s = [(T0 * US, A), ((T0 + 450) * US - 1, B), (T0 * US + 900 * US, A)]
    assert presence([s], T0 + 900, 900) == {(T0, B): 1}
    # a switch-off 1 µs after a bin boundary still leaves that bin present
    s = [((T0 + 100) * US, C), ((T0 + 900) * US + 1, None)]
    assert on_time(s, T0 + 1800, 900) == {T0: {C: 800 * US}, T0 + 900: {C: 1}}


def test_a_phone_straddling_a_boundary_counts_in_both_bins():
    # on at 850 in C, off at 950: 50 s in bin 0 and 50 s in bin 900
    s = _phone(4, (850, C), (950, None))
    assert presence([s], END, 900) == {(T0, C): 1, (T0 + 900, C): 1}


def test_document_rows():
    tiny = load("tiny")  # starts at T0, ends 3 h later: P, Q and R fit in its first hour
    doc = document(tiny, [_timeline(1), _timeline(2), _timeline(3)], [P, Q, R])
    assert doc["schema"] == "cellcensus.report/1"
    assert doc["cell_presence"][0] == {"plmn": "00101", "tac": 1, "cell": 4101 << 8 | 1,
                                       "start": "2026-12-08T17:00:00Z", "seconds": 900,
                                       "devices": 1}
    # P 3 rows, Q 1, R stays on until tiny's end (3 h): bin 1800 and the 9 bins 2700..9900
    assert len(doc["cell_presence"]) == 3 + 1 + 10
    assert doc["cell_presence"][-1]["start"] == "2026-12-08T19:45:00Z"
    assert sum(r["devices"] for r in doc["cell_presence"]) == 14


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2999), st.sampled_from([A, B, C, None])),
                min_size=1, max_size=8, unique_by=lambda x: x[0]))
def test_on_time_equals_a_second_by_second_count(raw):
    """Oracle: walk every second of the hour and add it to the cell the phone is in."""
    steps = [((T0 + t) * US, c) for t, c in sorted(raw)]
    want: dict[int, dict] = {}
    for sec in range(T0, T0 + 3000):
        cell = None
        for t, c in steps:
            if t <= sec * US:
                cell = c
        if cell is not None:
            b = sec - sec % 300
            want.setdefault(b, {}).setdefault(cell, 0)
            want[b][cell] += US
    assert on_time(steps, T0 + 3000, 300) == want
