"""The collector's disk spool: tally batches not yet acknowledged, one file each.

A batch is written here (atomically: temporary file, fsync, rename) before it is
first sent and removed when the aggregator acknowledges it (stored, duplicate or
rejected).  What is left — an outage, a crash, a stop before the last acks — is sent
again by the next run (`load`), in key order; the aggregator drops duplicates, so a
batch sent twice is counted once.  The spool is capped in bytes: when a new batch
does not fit, the oldest batches are dropped and counted as `overflow` (heplify
counts overflow and outage apart; an outage is `pending`, not a loss).  Batches hold
tallies only, never an identity or a pseudonym.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("collector.spool")
SUFFIX = ".batch"


class SpoolError(Exception):
    """A spool folder that cannot be used; the message names it."""


class Spool:
    """Batches by key `(collector, epoch, seq)` in `folder`, at most `max_bytes` in all."""

    __slots__ = ("folder", "max_bytes", "overflow", "_sizes")

    def __init__(self, folder: str, max_bytes: int = 256 << 20) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.overflow = 0
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            for tmp in self.folder.glob("*.tmp"):  # a write a crash interrupted
                tmp.unlink()
            self._sizes = {p.name: p.stat().st_size for p in self.folder.glob("*" + SUFFIX)}
        except OSError as e:
            raise SpoolError(f"{folder}: cannot use spool folder: {e.strerror}") from None

    @staticmethod
    def _name(key: tuple[str, int, int]) -> str:
        collector, epoch, seq = key
        return f"{collector}.{epoch:012d}.{seq:010d}{SUFFIX}"

    def __len__(self) -> int:
        return len(self._sizes)

    @property
    def size(self) -> int:
        """Bytes held."""
        return sum(self._sizes.values())

    def put(self, key: tuple[str, int, int], data: bytes) -> None:
        """Keep one batch (durably) until `remove`; drop the oldest if over the cap."""
        name = self._name(key)
        while self._sizes and self.size + len(data) > self.max_bytes:
            oldest = min(self._sizes)
            self._unlink(oldest)
            self.overflow += 1
            log.warning("spool full, oldest batch dropped file=%s max_bytes=%d", oldest,
                        self.max_bytes)
        tmp = self.folder / (name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / name)
        self._sizes[name] = len(data)

    def remove(self, key: tuple[str, int, int]) -> None:
        """Forget an acknowledged batch."""
        name = self._name(key)
        if name in self._sizes:
            self._unlink(name)

    def load(self) -> list[bytes]:
        """Every batch held, oldest key first (to send again)."""
        out = []
        for name in sorted(self._sizes):
            try:
                out.append((self.folder / name).read_bytes())
            except OSError:
                self._sizes.pop(name, None)
        return out

    def _unlink(self, name: str) -> None:
        self._sizes.pop(name, None)
        (self.folder / name).unlink(missing_ok=True)
