"""Per-bin tallies turned into versioned batches (Telegraf's aggregator contract:
`add` / `push` / `reset`, never called concurrently).

`close_bin` is the presence state's `on_close` hook: it receives, for one closed
bin, the cell and home MCC of every device present, and keeps

- presence rows: devices per (cell, segment, age band); a device's segment is "domestic"
  when the MCC of its subscription is the cell's, the ISO 3166 alpha-2 country of
  that MCC for a roamer (pycrate's MCC table, generated into `collector.mcc_table`),
  "unknown" when its MCC is not known; its age band that of its subscriber profile
  (collector.profiles, given by the edge analytics), "" without one;
- sketches: one Apache DataSketches HLL (lgK 12, HLL_4) per (hour, cell, segment, band)
  of the pseudonyms present there in any bin of the hour (the item: the pseudonym
  as a signed 64-bit integer, DESIGN.md), handed out once the hour's last bin closed;
- the zone tallies of the edge analytics (collector.edge: stays, overnight, recurrence,
  flows, residents), added as rows (`add`) and sent with the next push.

The segment of a device is given as a code: -1 domestic, -2 - z a domestic device whose
home is zone z (`home:<zone id>`, zone ids from `zones`), else its home MCC (0: unknown);
its age band as an index into wire.reference.AGE_BANDS, -1 for "".

Size budget of the sketches, per collector and day: one per cell, hour and segment
seen; a sketch of n devices serialises to about 8 + 4n bytes while sparse and to at
most 2,100 bytes once dense (a few hundred devices), so 1,000 busy cells with one
dense domestic sketch and a few sparse foreign ones per hour send about
1,000 × 24 × (2.1 + 3 × 0.2) KB ≈ 65 MB a day; quiet cells and hours far less.  With
profiles the age bands split each segment's sketch in up to seven: as long as they stay
sparse the bytes are the same (4 a device), a cell-hour of thousands of one segment's
devices sends up to seven dense ones (14.7 KB instead of 2.1).
"""

from __future__ import annotations

import datasketches
import numpy as np

from collector.mcc_table import MCC_COUNTRIES
from wire.tally import (
    MAX_BATCH_BYTES,
    MAX_ROWS,
    RESIDENT_BANDS,
    SKETCH_LG_K,
    SKETCH_SECONDS,
    FlowRow,
    OvernightRow,
    PresenceRow,
    RecurrenceRow,
    ResidentRow,
    SketchRow,
    StayRow,
    TallyBatch,
)

DOMESTIC, UNKNOWN = "domestic", "unknown"
_BATCH_BYTES = MAX_BATCH_BYTES // 2  # sketch bytes per batch, well under the limit
_HLL_4 = datasketches.tgt_hll_type.HLL_4
ZONE_KINDS = {StayRow: "stays", OvernightRow: "overnight", RecurrenceRow: "recurrence",
              FlowRow: "flows", ResidentRow: "residents"}


# ITU-T E.212 gives 310-316 to the United States; pycrate's table lists Guam first for
# 310 and 311 (Guam's operators share them), which would label US roamers "GU"
_MCC_OVERRIDES = {m: "US" for m in range(310, 317)}


def country_of_mcc(mcc: int) -> str:
    """ISO 3166 alpha-2 country of a home MCC, or "unknown" (test and shared MCCs)."""
    if mcc in _MCC_OVERRIDES:
        return _MCC_OVERRIDES[mcc]
    return MCC_COUNTRIES.get(mcc, UNKNOWN)


class PresenceTally:
    """Collects closed presence bins and hands them out as numbered batches."""

    __slots__ = ("collector", "epoch", "bin_seconds", "seq", "_rows", "_hours", "_closed_until",
                 "_cell_mcc", "_segments", "zones", "_zone_rows")

    def __init__(self, collector: str, epoch: int, bin_seconds: int, seq: int = 0) -> None:
        self.collector, self.epoch, self.bin_seconds, self.seq = collector, epoch, bin_seconds, seq
        self._rows: list[PresenceRow] = []
        # hour start -> (cell key, segment) -> HLL of the devices present there that hour
        self._hours: dict[int, dict[tuple, datasketches.hll_sketch]] = {}
        self._closed_until = 0          # end of the last bin closed
        self._cell_mcc: list[int] = []  # cell index -> the MCC of the cell's PLMN
        self._segments: dict[int, str] = {0: UNKNOWN}  # segment code -> segment
        self.zones = None  # zone index -> name (collector.zones.ZoneMap), for home segments
        self._zone_rows: list = []  # StayRow, OvernightRow, ... waiting for a push

    def segment_codes(self, cells: list, cell_index: np.ndarray, mccs: np.ndarray) -> np.ndarray:
        """Segment code per device: -1 domestic (home MCC = the cell's), else its home MCC."""
        while len(self._cell_mcc) < len(cells):
            plmn = cells[len(self._cell_mcc)][0]
            self._cell_mcc.append(int(plmn[:3]) if plmn and plmn[:3].isdigit() else -1)
        cell_mcc = np.asarray(self._cell_mcc, dtype=np.int64)[cell_index]
        return np.where(mccs.astype(np.int64) == cell_mcc, -1, mccs.astype(np.int64))

    def add(self, rows: list) -> None:
        """Zone tally rows to send with the next push; residents rows of a day replace
        those of the same day not pushed yet (a later state of that day)."""
        days = {r.day_start for r in rows if type(r) is ResidentRow}
        if days:
            self._zone_rows = [r for r in self._zone_rows
                               if type(r) is not ResidentRow or r.day_start not in days]
        self._zone_rows.extend(rows)

    def close_bin(self, start: int, cells: list, cell_index: np.ndarray, pseudonyms: np.ndarray,
                  mccs: np.ndarray, slots: np.ndarray | None = None,
                  codes: np.ndarray | None = None, bands: np.ndarray | None = None) -> None:
        """The devices present in one closed bin: cell index, pseudonym, home MCC of each
        (and their presence slots, unused here); `codes`: their segment codes when the
        edge analytics gave them (else from the MCCs); `bands`: their age band indexes
        (-1: none; None: no profiles, all "")."""
        self._closed_until = max(self._closed_until, start + self.bin_seconds)
        if not len(cell_index):
            return
        code = self.segment_codes(cells, cell_index, mccs) if codes is None else codes
        band = (np.full(len(cell_index), -1, dtype=np.int64) if bands is None
                else bands.astype(np.int64))
        keys, counts = np.unique(np.stack([cell_index.astype(np.int64),
                                           code.astype(np.int64), band]), axis=1,
                                 return_counts=True)
        self._rows.extend(sorted(
            (PresenceRow(start, *cells[cid], n, self.segment(c), RESIDENT_BANDS[b + 1])
             for (cid, c, b), n in zip(keys.T.tolist(), counts.tolist(), strict=True)),
            key=lambda r: (r.plmn, r.tac, r.cell, r.segment, r.age_band)))
        hour = start - start % SKETCH_SECONDS
        sketches = self._hours.setdefault(hour, {})
        for cid, c, b, item in zip(cell_index.tolist(), code.tolist(), band.tolist(),
                                   pseudonyms.view(np.int64).tolist(), strict=True):
            key = (cells[cid], c, b)
            sketch = sketches.get(key)
            if sketch is None:
                sketch = sketches[key] = datasketches.hll_sketch(SKETCH_LG_K, _HLL_4)
            sketch.update(item)

    def segment(self, code: int) -> str:
        """The segment name of a segment code."""
        if code == -1:
            return DOMESTIC
        seg = self._segments.get(code)
        if seg is None:
            seg = self._segments[code] = (
                f"home:{self.zones.name(-2 - code)}" if code <= -2 else country_of_mcc(code))
        return seg

    def push(self, final: bool = False) -> list[TallyBatch]:
        """The rows added since the last push and the sketches of the hours complete (all of
        them when `final`), as batches within the row and size limits."""
        sketch_rows = []
        for hour in sorted(self._hours):
            if not final and hour + SKETCH_SECONDS > self._closed_until:
                continue
            for ((plmn, tac, cell), code, band), sketch in sorted(
                    self._hours.pop(hour).items(), key=lambda kv: kv[0]):
                sketch_rows.append(SketchRow(hour, plmn, tac, cell, self.segment(code),
                                             sketch.serialize_compact(),
                                             RESIDENT_BANDS[band + 1]))
        out: list[TallyBatch] = []
        # residents first: a day's row set stays whole in one batch (the aggregator takes a
        # collector's latest batch of residents of a day as that day's state)
        residents = [r for r in self._zone_rows if type(r) is ResidentRow]
        others = [r for r in self._zone_rows if type(r) is not ResidentRow]
        rows = [*residents, *self._rows, *sketch_rows, *others]
        i = 0
        while i < len(rows):
            first, size = i, 0
            while i < len(rows) and i - first < MAX_ROWS:
                row = rows[i]
                if type(row) is SketchRow:
                    if i > first and size + len(row.sketch) > _BATCH_BYTES:
                        break
                    size += len(row.sketch)
                i += 1
            out.append(self._batch(rows[first:i]))
            self.seq += 1
        self._rows, self._zone_rows = [], []
        return out

    def _batch(self, rows: list) -> TallyBatch:
        kinds: dict[str, list] = {"presence": [], "sketches": [], **{
            k: [] for k in ZONE_KINDS.values()}}
        for row in rows:
            t = type(row)
            kinds["presence" if t is PresenceRow else "sketches" if t is SketchRow
                  else ZONE_KINDS[t]].append(row)
        return TallyBatch(self.collector, self.epoch, self.seq, self.bin_seconds,
                          **{k: tuple(v) for k, v in kinds.items()})

    def state(self) -> dict:
        """Sequence number, rows not pushed and the open hours' sketches (updatable
        serialisation), for a snapshot (collector.snapshot)."""
        return {"seq": self.seq, "rows": list(self._rows), "zone_rows": list(self._zone_rows),
                "closed_until": self._closed_until,
                "hours": [[hour, [[cell, code, band, sketch.serialize_updatable()]
                                  for (cell, code, band), sketch in sketches.items()]]
                          for hour, sketches in self._hours.items()]}

    def restore(self, state: dict) -> None:
        """Take back a `state()` (one saved before the age bands: its sketches band -1)."""
        self.seq, self._closed_until = state["seq"], state["closed_until"]
        self._rows, self._zone_rows = list(state["rows"]), list(state["zone_rows"])
        self._hours = {hour: {(tuple(item[0]), item[1], item[2] if len(item) == 4 else -1):
                              datasketches.hll_sketch.deserialize(item[-1])
                              for item in sketches}
                       for hour, sketches in state["hours"]}

    def reset(self) -> None:
        """Forget rows and sketches not pushed."""
        self._rows = []
        self._hours = {}
        self._zone_rows = []
