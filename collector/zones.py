"""Zones of cells: the unit of stays, home, overnight, recurrence, flows and residents.

With `--reference DIR`, DIR/cells.csv (wire.reference.read_cells) gives each cell's zone
by (plmn, cell identity); the TAC is not part of the key (a cell keeps its zone when its
tracking area is re-planned).  A cell absent from the file, or every cell when no reference
is given, is a zone of its own: `cell-<plmn>-<cell>` (e.g. `cell-00101-1049857`), a valid
zone id of the tally contract.

A zone is interned per (plmn, zone id): its index is what the per-device arrays hold, and
`plmn(i)` / `name(i)` give the row fields back.  Zone indices of the presence state's cells
are kept in a numpy array grown as cells appear (`of_cells`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wire.reference import ReferenceError, read_cells
from wire.tally import ZONE_RE


class ZoneMap:
    """Cell → zone, zones interned as small integers."""

    __slots__ = ("_by_cell", "_keys", "_ids", "_cell_zone")

    def __init__(self, by_cell: dict[tuple[str, int], str] | None = None) -> None:
        self._by_cell = by_cell or {}                # (plmn, cell) -> zone id
        self._keys: list[tuple[str, str]] = []       # zone index -> (plmn, zone id)
        self._ids: dict[tuple[str, str], int] = {}
        self._cell_zone = np.zeros(0, dtype=np.int32)  # presence cell index -> zone index

    @classmethod
    def from_reference(cls, folder: str | None) -> ZoneMap:
        """The zones of DIR/cells.csv, or cell-per-zone when `folder` is None."""
        if folder is None:
            return cls()
        path = str(Path(folder) / "cells.csv")
        by_cell: dict[tuple[str, int], str] = {}
        for n, c in enumerate(read_cells(path), start=2):
            if not ZONE_RE.match(c.zone):
                raise ReferenceError(f"{path}:{n}: zone: must be a zone id "
                                     f"([a-z0-9][a-z0-9-]*, at most 64), got {c.zone!r}")
            old = by_cell.setdefault((c.plmn, c.cell), c.zone)
            if old != c.zone:
                raise ReferenceError(f"{path}:{n}: cell: {c.plmn}/{c.cell} is already in zone "
                                     f"{old!r}, got zone {c.zone!r}")
        return cls(by_cell)

    def __len__(self) -> int:
        return len(self._keys)

    def zone_of(self, cell: tuple) -> int:
        """Zone index of a presence cell key (plmn, tac, cell)."""
        plmn, _tac, eci = cell
        zone = self._by_cell.get((plmn, eci)) or f"cell-{plmn}-{eci}"
        key = (plmn, zone)
        idx = self._ids.get(key)
        if idx is None:
            idx = self._ids[key] = len(self._keys)
            self._keys.append(key)
        return idx

    def of_cells(self, cells: list, cell_index: np.ndarray) -> np.ndarray:
        """Zone index of each presence cell index in `cell_index` (cells: the presence
        state's interned cell keys)."""
        have = len(self._cell_zone)
        if have < len(cells):
            more = np.fromiter((self.zone_of(c) for c in cells[have:]), dtype=np.int32,
                               count=len(cells) - have)
            self._cell_zone = np.concatenate([self._cell_zone, more])
        return self._cell_zone[cell_index]

    def plmn(self, idx: int) -> str:
        """PLMN of zone `idx`."""
        return self._keys[idx][0]

    def name(self, idx: int) -> str:
        """Zone id of zone `idx`."""
        return self._keys[idx][1]
