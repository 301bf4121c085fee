"""The progress of `simulator generate`: phases in order, signalling by simulated hour, and
nothing on stderr when it is not a terminal or with --quiet."""

from __future__ import annotations

from simulator import progress, signalling
from simulator.generate import generate


class Recorder(progress.Progress):
    def __init__(self) -> None:
        self.phases: list[list] = []

    def phase(self, name, total=None):
        self.phases.append([name, total, 0])

    def advance(self, steps=1):
        self.phases[-1][2] += steps


def test_phases_and_hours(tmp_path, tiny):
    rec = Recorder()
    summary = generate(tiny, tmp_path, 7, rec)
    names = [p[0] for p in rec.phases]
    assert names == ["agents", "truth", "signalling (hours)", "operator truth",
                     "reference files"]
    by = {p[0]: p for p in rec.phases}
    hours = signalling.hours(tiny)
    assert hours == 3 and by["signalling (hours)"][1] == hours
    assert by["signalling (hours)"][2] in (hours - 1, hours)  # the last hour ends the run
    assert summary.messages > 100
    assert by["agents"][2] == by["agents"][1]


def test_no_bar_without_a_terminal_or_when_quiet(monkeypatch):
    assert type(progress.bar(quiet=True)) is progress.Progress
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert type(progress.bar()) is progress.Progress


def test_the_stream_is_the_sorted_run_an_hour_at_a_time(tiny):
    """`signalling.stream` yields consecutive time-sorted chunks: no message of a later chunk
    is earlier than one of an earlier chunk, so writing them one after the other gives the
    capture of the whole sorted list."""
    from simulator import mobility, population

    people = population.build(tiny, 7)
    _tracks, timelines = mobility.plan(tiny, people, 7)
    chunks = [c for c in signalling.stream(tiny, timelines, 7) if c]
    assert len(chunks) >= 3  # three simulated hours
    flat = [m for c in chunks for m in c]
    assert all(a.t_us <= b.t_us for a, b in zip(flat, flat[1:], strict=False))
    assert len(flat) == len(signalling.simulate(tiny, timelines, 7))
