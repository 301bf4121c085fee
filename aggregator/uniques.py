"""Unique devices over any cells and hours: unions of the collectors' HLL sketches.

Each stored sketch counts the pseudonyms present in one cell, hour and segment
(`wire.tally`); a union over the sketches of a zone's cells and a period's hours
(and over collectors: one device seen by two collectors counts once) estimates
the distinct devices present there, with DataSketches' bounds at two standard
errors (≈ 95 %).  Sketches are deserialised here, never decoded elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import datasketches

from wire.tally import SKETCH_LG_K

_HLL_4 = datasketches.tgt_hll_type.HLL_4


@dataclass
class Unique:
    """Estimated distinct devices of one group, with a 95 % interval, and by segment."""

    devices: float
    ci95: tuple[float, float]
    by_segment: dict[str, float] = field(default_factory=dict)


class _Union:
    __slots__ = ("all", "segments")

    def __init__(self) -> None:
        self.all = datasketches.hll_union(SKETCH_LG_K)
        self.segments: dict[str, datasketches.hll_union] = {}

    def add(self, segment: str, sketch: datasketches.hll_sketch) -> None:
        self.all.update(sketch)
        seg = self.segments.get(segment)
        if seg is None:
            seg = self.segments[segment] = datasketches.hll_union(SKETCH_LG_K)
        seg.update(sketch)

    def result(self) -> Unique:
        r = self.all.get_result(_HLL_4)
        return Unique(r.get_estimate(), (r.get_lower_bound(2), r.get_upper_bound(2)),
                      {s: u.get_result(_HLL_4).get_estimate()
                       for s, u in sorted(self.segments.items())})


def unique_by_group(rows: Iterable[tuple[int, str, int, int, str, bytes]],
                    group_of: dict[tuple[str, int], str]) -> dict[str, Unique]:
    """{group: Unique} of sketch rows (hour, plmn, tac, cell, segment, bytes); `group_of`
    maps (plmn, cell) to a group (a zone); rows of cells in no group are left out."""
    unions: dict[str, _Union] = {}
    for _hour, plmn, _tac, cell, segment, blob in rows:
        group = group_of.get((plmn, cell))
        if group is None:
            continue
        u = unions.get(group)
        if u is None:
            u = unions[group] = _Union()
        u.add(segment, datasketches.hll_sketch.deserialize(blob))
    return {g: u.result() for g, u in sorted(unions.items())}
