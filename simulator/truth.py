"""The truth document (DESIGN.md, "Report and truth"): what the operator's network can see
of its subscribers' phones, and (`truth_people`) where everyone really was.

The operator sections, `cell_presence` and `zone_devices`, are what the collector's tallies
must equal: they follow each phone's network-visible steps (`visible`: the cell the network
last saw it in, from the message that showed it, to the microsecond), not its true position
(an idle phone reselects cells silently within its tracking area).  Rule, the one the
collector applies to signalling: a phone is on from its first visible step until a
switch-off (a step to None) or the end of the scenario; within a bin (aligned to multiples
of `bin_seconds` since the epoch) its on-time is split over the cells it was seen in, and
it is present in the cell with the most on-time, ties going to the cell entered first in
the bin.  On-time is counted in whole microseconds, the capture's resolution: the collector's
float seconds put every instant in the same bin (a bin boundary is a whole second, and
seconds plus microseconds never round across one).  A phone with no on-time in a bin is not
present.  M2M modules are not people and are left out of both operator sections (the
collector leaves them out too, once it recognises them).

`zone_devices`: the distinct phones present (by that rule, in at least one bin)
in a zone's cells over the whole scenario, by segment: "domestic" for the operator's
subscribers, the ISO country of a roamer's home MCC (as the collector names it).

The sections about persons (presence, visitors, residents, overnight) are computed
by `truth_people` from everyone's true whereabouts.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.mobility import PhoneTimeline
from simulator.scenario import CellSpec, Scenario
from simulator.visible import Steps
from wire.report import cell_presence_row, new_report, zone_devices_row

US = 1_000_000


def on_time(steps: Steps, end: int, bin_seconds: int) -> dict[int, dict[CellSpec, int]]:
    """{bin start (s): {cell: µs on}} of one phone from its (µs, cell or None) steps up to
    `end` (s); cells in the order entered in each bin."""
    out: dict[int, dict[CellSpec, int]] = {}
    size, end_us = bin_seconds * US, end * US
    for (t, cell), nxt in zip(steps, [*steps[1:], None], strict=False):
        stop = min(end_us, nxt[0] if nxt is not None else end_us)
        if cell is None:
            continue
        while t < stop:
            start = t - t % size
            until = min(stop, start + size)
            cells = out.setdefault(start // US, {})
            cells[cell] = cells.get(cell, 0) + (until - t)
            t = until
    return out


def present_cell(cells: dict[CellSpec, int]) -> CellSpec | None:
    """The cell with the most on-time; the first entered wins a tie (dicts keep order)."""
    best = None
    for cell, seconds in cells.items():
        if seconds > 0 and (best is None or seconds > cells[best]):
            best = cell
    return best


def present_bins(steps: Steps, end: int, bin_seconds: int) -> dict[int, CellSpec]:
    """{bin start: cell} of the bins where one phone is present (`on_time`)."""
    out = {}
    for start, cells in on_time(steps, end, bin_seconds).items():
        cell = present_cell(cells)
        if cell is not None:
            out[start] = cell
    return out


def presence(phones: Iterable[Steps], end: int, bin_seconds: int
             ) -> dict[tuple[int, CellSpec], int]:
    """{(bin start, cell): phones present} over the phones' visible steps."""
    counts: dict[tuple[int, CellSpec], int] = {}
    for steps in phones:
        for key in present_bins(steps, end, bin_seconds).items():
            counts[key] = counts.get(key, 0) + 1
    return counts


def segment(scn: Scenario, imsi_mcc: str) -> str:
    """The collector's segment of a device: "domestic" or the roamer's ISO country."""
    if imsi_mcc == scn.network.mcc or scn.city is None:
        return "domestic"
    return next(v.country for v in scn.city.visitors if v.mcc == imsi_mcc)


def document(scn: Scenario, timelines: Iterable[PhoneTimeline], visible: Iterable[Steps],
             people: dict | None = None) -> dict:
    """truth.json: the report/truth schema of `wire.report`; `visible`: the network-visible
    steps of each of `timelines` (`VisibleSteps.per_phone`: one phone at a time), M2M
    modules left out; `people`: the sections about persons (`truth_people.sections`)."""
    counts: dict[tuple[int, CellSpec], int] = {}
    zones: dict[str, dict[str, int]] = {}  # zone -> segment -> phones present there once
    for tl, steps in zip(timelines, visible, strict=True):
        if tl.person.m2m:
            continue
        bins = present_bins(steps, scn.end, scn.bin_seconds)
        for key in bins.items():
            counts[key] = counts.get(key, 0) + 1
        seg = segment(scn, tl.person.phone.imsi[:3])
        for zone in {cell.zone for cell in bins.values()}:
            by = zones.setdefault(zone, {})
            by[seg] = by.get(seg, 0) + 1
    plmn = scn.network.plmn
    rows = [cell_presence_row(plmn, cell.tac, cell.eci, start, scn.bin_seconds, n)
            for (start, cell), n in counts.items()]
    zone_rows = [zone_devices_row(zone, scn.start, scn.end, sum(by.values()), by)
                 for zone, by in zones.items()]
    return new_report(rows, zone_rows, **(people or {}))
