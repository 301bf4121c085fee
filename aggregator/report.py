"""Build the aggregator's report from the store, and render it as JSON or a table.

The JSON document is the contract shared with the simulator's truth
(`wire.report`, DESIGN.md "Report and truth"); the table is for people and
is rendered from that same document, so both formats always agree.
For now the report holds `cell_presence`: devices of the operator present
per cell and bin, summed over collectors, before any extrapolation.
"""

from __future__ import annotations

import json

from aggregator.store import Store
from aggregator.uniques import unique_by_group
from wire.reference import Cell
from wire.report import cell_presence_row, new_report, zone_devices_row
from wire.tally import SKETCH_SECONDS

TABLE_COLUMNS = ("start", "plmn", "tac", "cell", "devices")
_RIGHT = frozenset(("tac", "cell", "devices"))


def build_report(store: Store, start: int | None = None, end: int | None = None,
                 cells: list[Cell] | None = None) -> dict:
    """The report document of everything in `store` (bins in [start, end) when given);
    with the reference `cells`, also the distinct devices per zone over the period."""
    presence = store.cell_presence(start, end)
    rows = [cell_presence_row(p.plmn, p.tac, p.cell, p.start, p.seconds, p.devices)
            for p in presence]
    if cells is None:
        return new_report(rows)
    sketches = store.sketches(start, end)
    zones = []
    if sketches:
        lo = start if start is not None else min(s[0] for s in sketches)
        hi = end if end is not None else max(s[0] for s in sketches) + SKETCH_SECONDS
        group_of = {(c.plmn, c.cell): c.zone for c in cells if c.zone}
        zones = [zone_devices_row(zone, lo, hi, u.devices, u.by_segment, u.ci95)
                 for zone, u in unique_by_group(sketches, group_of).items()]
    return new_report(rows, zones)


def render_json(doc: dict) -> str:
    """The report as indented JSON text with a final newline."""
    return json.dumps(doc, indent=2) + "\n"


def render_table(doc: dict) -> str:
    """The report's cell presence as an aligned plain-text table with a total line."""
    rows = doc["cell_presence"]
    cells = [[str(r[c]) for c in TABLE_COLUMNS] for r in rows]
    total = sum(r["devices"] for r in rows)
    footer = [f"total ({len(rows)} row{'' if len(rows) == 1 else 's'})", "", "", "", str(total)]
    widths = [max(len(c), *(len(line[i]) for line in [*cells, footer]))
              for i, c in enumerate(TABLE_COLUMNS)]

    def line(values: list[str] | tuple[str, ...]) -> str:
        parts = [v.rjust(w) if c in _RIGHT else v.ljust(w)
                 for c, v, w in zip(TABLE_COLUMNS, values, widths, strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(TABLE_COLUMNS), rule, *(line(c) for c in cells), rule, line(footer)]
    return "\n".join(out) + "\n"


RENDERERS = {"json": render_json, "table": render_table}
