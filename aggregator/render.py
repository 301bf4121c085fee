"""Render a report document (aggregator.report) as JSON, aligned tables or CSV.

All three are made from the same document, so they always agree.
- `table`: one titled table per section, a total line under cell_presence; a suppressed
  figure reads `suppressed`, a breakdown `IT 512.0, CH 390.0`;
- `csv`: one long table for every section, columns `CSV_COLUMNS`: `value` is devices
  (cell_presence, zone_devices) or people (presence, visitors); a breakdown (by_segment,
  by_country) is a row of its own with `breakdown` set; `end` = start + seconds for
  per-bin rows; empty cells where a column does not apply (or the figure is suppressed).
"""

from __future__ import annotations

import csv
import io
import json

from wire.report import iso, parse_iso

CSV_COLUMNS = ("section", "zone", "start", "end", "plmn", "tac", "cell", "breakdown",
               "value", "ci95_lo", "ci95_hi", "suppressed")
SECTIONS = ("cell_presence", "zone_devices", "presence", "visitors")
_TABLES = {  # section: (title, columns); columns right-aligned from the fourth on
    "cell_presence": ("devices per cell and bin (raw)", ("start", "plmn", "tac", "cell",
                                                         "devices")),
    "zone_devices": ("distinct devices per zone (raw, HLL)",
                     ("zone", "start", "end", "devices", "ci95", "by_segment")),
    "presence": ("people per zone and hour", ("start", "zone", "seconds", "people", "ci95")),
    "visitors": ("distinct people per zone over the period",
                 ("zone", "start", "end", "people", "ci95", "by_country")),
}
_RIGHT = frozenset(("tac", "cell", "devices", "seconds", "people"))


def render_json(doc: dict) -> str:
    """The report as indented JSON text with a final newline."""
    return json.dumps(doc, indent=2) + "\n"


def _num(x: object) -> str:
    return "" if x is None else (f"{x:.1f}" if isinstance(x, float) else str(x))


def _cell(row: dict, column: str) -> str:
    value = row.get(column)
    if column in ("people", "devices") and row.get("suppressed"):
        return "suppressed"
    if column == "ci95":
        return "" if value is None else f"[{_num(value[0])}, {_num(value[1])}]"
    if column in ("by_segment", "by_country"):
        return ", ".join(f"{k} {_num(v)}" for k, v in value.items())
    return _num(value)


def _table(columns: tuple[str, ...], rows: list[list[str]], footer: list[str] | None) -> list:
    every = [*rows, footer] if footer else rows
    widths = [max(len(c), *(len(line[i]) for line in every)) for i, c in enumerate(columns)]

    def line(values: list[str] | tuple[str, ...]) -> str:
        parts = [v.rjust(w) if c in _RIGHT else v.ljust(w)
                 for c, v, w in zip(columns, values, widths, strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(columns), rule, *(line(r) for r in rows)]
    return [*out, rule, line(footer)] if footer else out


def render_table(doc: dict) -> str:
    """Every section of the report as an aligned plain-text table under its title."""
    out: list[str] = []
    for section in SECTIONS:
        if section not in doc:
            continue
        title, columns = _TABLES[section]
        rows = doc[section]
        footer = None
        if section == "cell_presence":
            n = len(rows)
            hidden = " + suppressed" if any(r.get("suppressed") for r in rows) else ""
            footer = [f"total ({n} row{'' if n == 1 else 's'})", "", "", "",
                      f"{sum(r['devices'] or 0 for r in rows)}{hidden}"]
        if out:
            out.append("")
        out += [f"{section}: {title}",
                *_table(columns, [[_cell(r, c) for c in columns] for r in rows], footer)]
    return "\n".join(out) + "\n"


def _csv_rows(section: str, row: dict) -> list[dict]:
    base = {"section": section, "zone": row.get("zone", ""), "start": row["start"],
            "plmn": row.get("plmn", ""), "tac": row.get("tac", ""), "cell": row.get("cell", "")}
    base["end"] = row.get("end") or iso(parse_iso(row["start"]) + row["seconds"])
    value = row.get("people", row.get("devices"))
    ci = row.get("ci95")
    first = {**base, "value": _num(value), "ci95_lo": _num(ci[0]) if ci else "",
             "ci95_hi": _num(ci[1]) if ci else "",
             "suppressed": "" if "suppressed" not in row else str(row["suppressed"]).lower()}
    breakdown = row.get("by_country", row.get("by_segment", {}))
    return [first, *({**base, "breakdown": k, "value": _num(v)} for k, v in breakdown.items())]


def render_csv(doc: dict) -> str:
    """Every section of the report as one long CSV table (module docstring)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for section in SECTIONS:
        for row in doc.get(section, []):
            writer.writerows(_csv_rows(section, row))
    return buf.getvalue()


RENDERERS = {"json": render_json, "table": render_table, "csv": render_csv}
