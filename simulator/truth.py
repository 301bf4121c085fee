"""The truth document (DESIGN.md, "Report and truth") from the phones' true timelines.

`cell_presence` rule, the same the collector applies to signalling: a phone
is on from its power-on until its power-off (or the end of the scenario);
within a bin (aligned to multiples of `bin_seconds` since the epoch) its
on-time is split over the cells it was in, and it is present in the cell
with the most on-time, ties going to the cell entered first in the bin.
A phone with no on-time in a bin is not present.  M2M modules are not people and
are left out of both operator sections (the collector leaves them out too, once it
recognises them).

`zone_devices`: the distinct phones present (by that rule, in at least one bin)
in a zone's cells over the whole scenario, by segment: "domestic" for the operator's
subscribers, the ISO country of a roamer's home MCC (as the collector names it).

The sections about persons (presence, visitors, residents, overnight) are computed
by `truth_people` from everyone's whereabouts.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator import truth_people
from simulator.mobility import PhoneTimeline, Step
from simulator.scenario import CellSpec, Scenario
from wire.report import cell_presence_row, new_report, zone_devices_row


def on_time(steps: Iterable[Step], end: int, bin_seconds: int
            ) -> dict[int, dict[CellSpec, int]]:
    """{bin start: {cell: seconds on}} of one phone; cells in the order entered in each bin."""
    out: dict[int, dict[CellSpec, int]] = {}
    steps = list(steps)
    for step, nxt in zip(steps, steps[1:] + [None], strict=True):
        stop = min(end, nxt.t if nxt is not None else end)
        t = step.t
        if step.cell is None:
            continue
        while t < stop:
            start = t - t % bin_seconds
            until = min(stop, start + bin_seconds)
            cells = out.setdefault(start, {})
            cells[step.cell] = cells.get(step.cell, 0) + (until - t)
            t = until
    return out


def present_cell(cells: dict[CellSpec, int]) -> CellSpec | None:
    """The cell with the most on-time; the first entered wins a tie (dicts keep order)."""
    best = None
    for cell, seconds in cells.items():
        if seconds > 0 and (best is None or seconds > cells[best]):
            best = cell
    return best


def presence(timelines: Iterable[PhoneTimeline], end: int, bin_seconds: int
             ) -> dict[tuple[int, CellSpec], int]:
    """{(bin start, cell): phones present} over all phones."""
    counts: dict[tuple[int, CellSpec], int] = {}
    for tl in timelines:
        for start, cells in on_time(tl.steps, end, bin_seconds).items():
            cell = present_cell(cells)
            if cell is not None:
                counts[(start, cell)] = counts.get((start, cell), 0) + 1
    return counts


def segment(scn: Scenario, imsi_mcc: str) -> str:
    """The collector's segment of a device: "domestic" or the roamer's ISO country."""
    if imsi_mcc == scn.network.mcc or scn.city is None:
        return "domestic"
    return next(v.country for v in scn.city.visitors if v.mcc == imsi_mcc)


def zone_devices(scn: Scenario, timelines: Iterable[PhoneTimeline]) -> dict[str, dict[str, int]]:
    """{zone: {segment: distinct phones present there in at least one bin}}."""
    counts: dict[str, dict[str, int]] = {}
    for tl in timelines:
        seg = segment(scn, tl.person.phone.imsi[:3])
        zones = {cell.zone for cell in map(present_cell, on_time(tl.steps, scn.end,
                                                                 scn.bin_seconds).values())
                 if cell is not None}
        for zone in zones:
            by = counts.setdefault(zone, {})
            by[seg] = by.get(seg, 0) + 1
    return counts


def document(scn: Scenario, timelines: Iterable[PhoneTimeline],
             where: truth_people.Whereabouts | None = None,
             windows: list[tuple[int, int]] = ()) -> dict:
    """truth.json: the report/truth schema of `wire.report`; with `where`, the sections
    about persons too (`windows`: the event windows of `visitors`)."""
    timelines = [tl for tl in timelines if not tl.person.m2m]
    plmn = scn.network.plmn
    rows = [cell_presence_row(plmn, cell.tac, cell.eci, start, scn.bin_seconds, n)
            for (start, cell), n in presence(timelines, scn.end, scn.bin_seconds).items()]
    zones = [zone_devices_row(zone, scn.start, scn.end, sum(by.values()), by)
             for zone, by in zone_devices(scn, timelines).items()]
    people = truth_people.sections(scn, where, list(windows)) if where is not None else {}
    return new_report(rows, zones, **people)
