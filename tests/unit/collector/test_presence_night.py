"""The night hold (DESIGN.md: presence held 2 h after the last event by day, 8 h at
night): the hold of a location event is chosen by the local time of that event, in the
night window of home detection.  Expected bins worked out by hand (15-min bins, no
lateness): a device is present in every bin it has on-time in, up to last event + hold."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from collector.__main__ import build_parser
from collector.app import EdgeConfig, EdgePipeline
from collector.presence import NightHold, PresenceState
from collector.telemetry import Counters
from wire.pseudonym import Pseudonymizer

D0 = int(dt.datetime(2026, 12, 7, tzinfo=dt.UTC).timestamp())  # 00:00 UTC
H = 3600
X = ("00101", 1, 10)
PARIS = ZoneInfo("Europe/Paris")  # UTC+1 in December


def utc(_t: float) -> int:
    return 0


def paris(t: float) -> int:
    return int(dt.datetime.fromtimestamp(t, PARIS).utcoffset().total_seconds())


def bins_present(t: float, offset=utc) -> list[float]:
    """Hours (from D0, UTC) of the bins a device seen once at D0 + t is present in."""
    st = PresenceState(900, 7200.0, 0.0, hold=NightHold(7200.0, 28800.0, 20, 7, offset))
    st.observe(1, D0 + t, X)
    closed = st.advance(D0 + 3 * 86400)
    return [(start - D0) / H for start, counts in closed if counts]


def hours(first: float, n: int) -> list[float]:
    return [first + 0.25 * i for i in range(n)]


def test_day_event_is_held_two_hours():
    # 12:00 -> on until 14:00: bins 12:00 .. 13:45
    assert bins_present(12 * H) == hours(12, 8)


def test_night_event_is_held_eight_hours():
    # 21:00 -> on until 05:00 next day: bins 21:00 .. 04:45, 32 bins
    assert bins_present(21 * H) == hours(21, 32)


def test_the_window_opens_at_20_00_sharp():
    # 19:59:59 is day: on until 21:59:59, bins 19:45 (1 s) .. 21:45
    assert bins_present(20 * H - 1) == hours(19.75, 9)
    # 20:00:00 is night: on until 04:00, bins 20:00 .. 03:45
    assert bins_present(20 * H) == hours(20, 32)


def test_hold_is_that_of_the_event_even_when_day_comes():
    # 06:30 is still night (the window closes at 07:00): on until 14:30
    assert bins_present(6.5 * H) == hours(6.5, 32)
    # 07:00 is day: on until 09:00
    assert bins_present(7 * H) == hours(7, 8)


def test_night_is_local_time():
    # Paris is UTC+1: 19:00 UTC is 20:00 local (night), 18:45 UTC is 19:45 local (day)
    assert bins_present(19 * H, paris) == hours(19, 32)
    assert bins_present(18.75 * H, paris) == hours(18.75, 8)
    # 06:00 UTC is 07:00 local: day
    assert bins_present(6 * H, paris) == hours(6, 8)


def test_a_later_event_replaces_the_hold():
    # night event at 03:00 (held to 11:00), then a day event at 08:00: on until 10:00
    st = PresenceState(900, 7200.0, 0.0, hold=NightHold(7200.0, 28800.0, 20, 7, utc))
    st.observe(1, D0 + 3 * H, X)
    st.observe(1, D0 + 8 * H, X)
    closed = st.advance(D0 + 3 * 86400)
    assert [(s - D0) / H for s, counts in closed if counts] == hours(3, 28)  # .. 09:45


def test_pipeline_and_options():
    p = build_parser()
    args = p.parse_args(["replay", "x.pcap", "--dry-run", "--timeout", "3600"])
    assert (args.timeout_day, args.timeout_night) == (3600.0, 28800.0)
    args = p.parse_args(["replay", "x.pcap", "--dry-run", "--timeout-night", "7200"])
    assert (args.timeout_day, args.timeout_night) == (7200.0, 7200.0)
    with pytest.raises(SystemExit):
        p.parse_args(["replay", "x.pcap", "--timeout-night", "1.5"])
    key = Pseudonymizer(b"n" * 32)
    pipe = EdgePipeline(EdgeConfig("c", 1), key, Counters())
    assert isinstance(pipe.presence.hold, NightHold) and pipe.presence.hold(D0 + 21 * H) == 28800
    same = EdgePipeline(EdgeConfig("c", 1, timeout_night=7200.0), key, Counters())
    assert same.presence.hold is None  # one hold for all: no rule
