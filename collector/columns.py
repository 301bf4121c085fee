"""Per-device numpy columns indexed by the presence state's slots.

The presence state owns the slot numbering (one dict pseudonym → slot); the analytics
keep their own typed columns beside it, grown in steps of 1/8 as slots appear (pages
numpy has not touched cost no memory), and reset to their initial values when a slot
is freed so a reused slot starts clean.
"""

from __future__ import annotations

import numpy as np


class Columns:
    """Named numpy arrays of one length, each with the value a fresh slot holds."""

    def __init__(self, spec: dict[str, tuple[type, int]]) -> None:
        self._spec = spec
        self.size = 0
        for name, (dtype, fill) in spec.items():
            setattr(self, name, np.full(0, fill, dtype=dtype))

    def ensure(self, n: int) -> None:
        """Make room for slots 0 .. n-1."""
        if n <= self.size:
            return
        size = max(n, self.size + (self.size >> 3), 1024)
        for name, (dtype, fill) in self._spec.items():
            old = getattr(self, name)
            new = np.full(size, fill, dtype=dtype) if fill else np.zeros(size, dtype=dtype)
            new[:self.size] = old
            setattr(self, name, new)
        self.size = size

    def reset(self, slots: np.ndarray) -> None:
        """Give `slots` their initial values (the devices left the state)."""
        for name, (_dtype, fill) in self._spec.items():
            getattr(self, name)[slots] = fill

    def state(self) -> dict:
        """The columns by name, for a snapshot (collector.snapshot)."""
        return {"size": self.size, **{name: getattr(self, name) for name in self._spec}}

    def restore(self, state: dict) -> None:
        """Take back a `state()`; a column it lacks (added since) starts at its fill value."""
        self.size = 0
        self.ensure(state["size"])
        self.size = state["size"]
        for name in self._spec:
            if name in state:
                getattr(self, name)[:] = state[name][:self.size]

    def nbytes(self) -> int:
        """Bytes per slot over every column."""
        return sum(np.dtype(dtype).itemsize for dtype, _fill in self._spec.values())
