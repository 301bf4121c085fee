"""M2M devices (meters, trackers, alarm panels): not people, so not counted.

Three ways to recognise one:

- its IMEI's TAC (type allocation code, the first 8 digits; the rest of the IMEI is never
  kept) is in a list of M2M module TACs: the built-in `BUILTIN_TACS` plus `--m2m-tacs
  FILE` (one 8-digit TAC a line, `#` comments).  Needs the decoders to hand the TAC on
  (`SignallingEvent.imei_tac`); a device so flagged is never counted;
- it asks for power saving mode: an attach or tracking area update request with an
  active time T3324 (TS 24.301 §5.3.11; `SignallingEvent.psm`), which battery-powered
  LTE-M / NB-IoT modules send and handsets do not.  Seen in the plain initial NAS
  message of every attach and TAU, so from a module's first TAU of the day on: never
  counted either (a watch or tablet asking for PSM would be left out with them);
- behaviour: over one whole local day it was present in at least 90 % of the day's bins,
  always in the same cell, and sent nothing but tracking area updates (no service
  request, attach, PDN connectivity...: `ACTIVE_NAS`).  Recognised when that day closes,
  it is no longer counted from then on (it was counted that first day).

Flagged devices are counted apart (`M2MCounts`) and left out of presence, sketches and
every zone tally.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from collector.columns import Columns
from wire.reference import ReferenceError

ACTIVE = 1       # presence flag bit: a message showing use (ACTIVE_NAS) today
BY_TAC = 2       # presence flag bit: an IMEI TAC of the M2M list
BY_PSM = 4       # presence flag bit: a power saving mode request
ACTIVE_NAS = frozenset({
    "ServiceRequest", "ExtServiceRequest", "CPServiceRequest", "AttachRequest",
    "PDNConnectivityRequest", "BearerResourceAllocRequest", "BearerResourceModifRequest",
    "PDUSessionEstablishmentRequest",
})
# Placeholder TACs for simulations and tests (not a list of real module TACs, which we do
# not ship): a deployment lists its operator's module TACs with --m2m-tacs.
BUILTIN_TACS = frozenset({"00101001", "00101002", "00101003"})
DAY_SHARE = 0.9

_COLUMNS = {
    "cell": (np.int32, -1),     # the one cell of today, or -2 once it moved
    "bins": (np.uint16, 0),     # bins present today
    "m2m": (np.uint8, 0),       # 0 a person, 1 M2M by behaviour, 2 by TAC, 3 by PSM request
}


def read_tacs(path: str) -> frozenset[str]:
    """TACs of an --m2m-tacs file; errors name the file, the line and the value."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise ReferenceError(f"{path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ReferenceError(f"{path}: not a text file") from None
    out = set()
    for n, line in enumerate(lines, start=1):
        tac = line.split("#", 1)[0].strip()
        if not tac:
            continue
        if len(tac) != 8 or not tac.isdigit():
            raise ReferenceError(f"{path}:{n}: TAC: must be 8 digits, got {tac[:20]!r}")
        out.add(tac)
    return frozenset(out)


class M2MTracker:
    """Per-slot day behaviour and the M2M flag."""

    def __init__(self) -> None:
        self.cols = Columns(_COLUMNS)
        self.by_tac = 0
        self.by_behaviour = 0
        self.by_psm = 0

    def bin(self, slots: np.ndarray, cells: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """One closed bin with the devices at `slots` present in `cells` (presence cell
        indices) with their presence flags: the mask of those counted (not M2M)."""
        c = self.cols
        tac = ((flags & BY_TAC) != 0) & (c.m2m[slots] == 0)
        self.by_tac += int(tac.sum())
        c.m2m[slots[tac]] = 2
        psm = ((flags & BY_PSM) != 0) & (c.m2m[slots] == 0)
        self.by_psm += int(psm.sum())
        c.m2m[slots[psm]] = 3
        c.bins[slots] = np.minimum(c.bins[slots].astype(np.int64) + 1, 65535)
        first = c.cell[slots] == -1
        c.cell[slots[first]] = cells[first]
        c.cell[slots[~first & (c.cell[slots] != cells)]] = -2
        return c.m2m[slots] == 0

    def close_day(self, day_bins: int, flags: np.ndarray, n: int) -> None:
        """A local day of `day_bins` bins closed: flag the devices that behaved as M2M all
        day; `flags`: the presence flag bytes (ACTIVE is cleared for the next day)."""
        c = self.cols
        idle = (flags[:n] & ACTIVE) == 0
        m2m = (c.m2m[:n] == 0) & idle & (c.cell[:n] >= 0) & (
            c.bins[:n] >= DAY_SHARE * day_bins)
        self.by_behaviour += int(m2m.sum())
        c.m2m[:n][m2m] = 1
        c.cell[:n], c.bins[:n] = -1, 0
        flags[:n] &= ~np.uint8(ACTIVE)
