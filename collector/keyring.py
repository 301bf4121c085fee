"""Key epochs and rotation (DESIGN.md, "Pseudonymisation").

A key ring is a folder of key files named by the UTC day their epoch starts,
`YYYY-MM-DD.key` (64 hex characters, mode 0600, as `--key-file`).  At capture time
t the *active* key is the one with the latest start at or before t; pseudonyms are
made with it.  For `overlap` seconds after an epoch starts the previous key is still
held: every identity decoded then is hashed with both keys and the pair (old, new)
is handed to `carry`, which moves the device's history from the old pseudonym to the
new one.  When the overlap ends the old key is destroyed: dropped from memory and its
file overwritten and unlinked.  A device not seen with its identity during the overlap
keeps its old pseudonym until its state expires; it is never linked again.

`advance(t)` is called with capture time before pseudonymising the messages of time
t, whenever t reaches `next_change` (one float comparison per message); the call of
the ring reads no clock.  The ring's state is a function of the latest time it was
advanced to (`advanced_at`): a snapshot keeps that time and a restart advances a ring
loaded from the same folder to it (`check` tells whether it then holds the same keys).
`for_worker` is a copy for a decoding process: it follows the same epochs by the times of
its own messages, destroys no file (the ordering process does) and reports its `phase`.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Callable

from wire.pseudonym import KeyFileError, Pseudonymizer, load_key, write_key

_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.key$")
DEFAULT_OVERLAP = 7 * 86400.0


def epoch_start(day: str) -> int:
    """UTC seconds of a `YYYY-MM-DD` epoch start (ValueError if not a date)."""
    d = dt.date.fromisoformat(day)
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp())


def new_epoch_key(folder: str, day: str) -> str:
    """Write a fresh key for the epoch starting on `day` into `folder`; its path."""
    epoch_start(day)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, f"{day}.key")
    try:
        write_key(path)
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists; refusing to overwrite a key") from None
    return path


def _destroy(path: str) -> None:
    """Overwrite a key file with zeros, flush it and unlink it."""
    try:
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.write(b"\0" * size)
            f.flush()
            os.fsync(f.fileno())
        os.unlink(path)
    except FileNotFoundError:
        pass


class KeyRing:
    """Pseudonymizer over key epochs; callable like `Pseudonymizer`."""

    __slots__ = ("_epochs", "_paths", "_overlap", "_index", "_active", "_previous",
                 "_prev_until", "_gone", "carry", "carried", "next_change", "advanced_at",
                 "phase", "on_destroy")

    def __init__(self, keys: list[tuple[int, bytes]], overlap: float = DEFAULT_OVERLAP,
                 paths: list[str | None] | None = None) -> None:
        if not keys:
            raise KeyFileError("key ring holds no key")
        if not overlap >= 0:
            raise ValueError(f"overlap must be >= 0 seconds, got {overlap}")
        order = sorted(range(len(keys)), key=lambda i: keys[i][0])
        self._epochs: list[tuple[int, Pseudonymizer | None]] = [
            (keys[i][0], Pseudonymizer(keys[i][1])) for i in order]
        self._paths = [paths[i] for i in order] if paths is not None else [None] * len(keys)
        self._overlap = overlap
        self._index = -1                           # active epoch, -1 before the first advance
        self._active: Pseudonymizer | None = None
        self._previous: Pseudonymizer | None = None
        self._prev_until = 0.0
        self._gone: set[int] = set()               # epochs whose key was destroyed
        # carry(old pseudonym, new pseudonym): set by the pipeline (moves a device's state)
        self.carry: Callable[[int, int], None] | None = None
        self.carried = 0                           # identities hashed with both keys
        # capture time at which `advance` has something to do (cheap test per message)
        self.next_change = -math.inf
        self.advanced_at = -math.inf               # the latest `advance` (what a snapshot keeps)
        self.phase = -1                            # 2 × active epoch + 1 while overlapping
        # on_destroy(epoch index): set by whoever keeps data per key (subscriber profiles)
        self.on_destroy: Callable[[int], None] | None = None

    @classmethod
    def load(cls, folder: str, overlap: float = DEFAULT_OVERLAP) -> KeyRing:
        """The ring of `folder`'s `YYYY-MM-DD.key` files (errors name the file)."""
        try:
            names = sorted(os.listdir(folder))
        except OSError as e:
            raise KeyFileError(f"{folder}: cannot read key folder: {e.strerror}") from None
        keys, paths = [], []
        for name in names:
            m = _NAME.match(name)
            if m is None:
                continue
            path = os.path.join(folder, name)
            try:
                start = epoch_start(m.group(1))
            except ValueError:
                raise KeyFileError(f"{path}: file name is not a date YYYY-MM-DD.key") from None
            keys.append((start, load_key(path)))
            paths.append(path)
        if not keys:
            raise KeyFileError(f"{folder}: no YYYY-MM-DD.key file in the key folder "
                               "(collector keygen --key-dir FOLDER --start DAY makes one)")
        return cls(keys, overlap, paths)

    @property
    def destroyed(self) -> int:
        """Keys destroyed so far."""
        return len(self._gone)

    @property
    def overlapping(self) -> bool:
        """True while the previous epoch's key is held."""
        return self._previous is not None

    @property
    def epoch(self) -> int:
        """Start (UTC seconds) of the active epoch."""
        return self._epochs[self._index][0]

    def advance(self, t: float) -> None:
        """Make the epoch of capture time `t` active: the key before it is held while `t` is
        within `overlap` of the active epoch's start, older keys are destroyed."""
        epochs, i = self._epochs, self._index
        while i + 1 < len(epochs) and epochs[i + 1][0] <= t:
            i += 1
        if i < 0:
            raise KeyFileError(f"no key epoch starts at or before capture time {t:.0f}")
        if i != self._index:
            self._index, self._active = i, epochs[i][1]
            self._prev_until = epochs[i][0] + self._overlap
            for j in range(i - 1):
                self._destroy(j)
            self._previous = epochs[i - 1][1] if i > 0 else None
        if self._previous is not None and t >= self._prev_until:
            self._destroy(i - 1)
        nxt = epochs[i + 1][0] if i + 1 < len(epochs) else math.inf
        self.next_change = min(nxt, self._prev_until) if self._previous is not None else nxt
        self.advanced_at = t
        self.phase = 2 * i + (self._previous is not None)

    def _destroy(self, j: int) -> None:
        if j in self._gone:
            return
        self._gone.add(j)
        if self._index == j + 1:
            self._previous = None
        self._epochs[j] = (self._epochs[j][0], None)
        if self._paths[j] is not None:
            _destroy(self._paths[j])
        if self.on_destroy is not None:
            self.on_destroy(j)

    def held(self) -> list[tuple[int, Pseudonymizer]]:
        """(epoch index, pseudonym function) of every key not destroyed yet."""
        return [(j, p) for j, (_start, p) in enumerate(self._epochs) if p is not None]

    def check(self) -> tuple | None:
        """What identifies the keys in use without showing them: the active epoch's start
        and the pseudonyms of the empty identity under the active and the previous key
        (None before the first `advance`; a snapshot compares it after a restart)."""
        if self._active is None:
            return None
        prev = self._previous
        return (self.epoch, self._active(""), None if prev is None else prev(""))

    def for_worker(self) -> KeyRing:
        """A copy for a decoding process, where this ring is now (a restored run: at the
        snapshot's time, so that messages before it need no destroyed key), that touches
        no file (the ordering process destroys them at their place in the merged order)
        and calls no hook."""
        ring = KeyRing.__new__(KeyRing)
        for name in self.__slots__:
            setattr(ring, name, getattr(self, name))
        ring._epochs, ring._paths, ring._gone = list(self._epochs), [None] * len(self._paths), \
            set(self._gone)
        ring.carry = ring.on_destroy = None
        ring.carried = 0
        return ring

    def __call__(self, digits: str) -> int:
        new = self._active(digits)  # type: ignore[misc]  (advance() is called first)
        prev = self._previous
        if prev is not None:
            self.carried += 1
            if self.carry is not None:
                self.carry(prev(digits), new)
        return new

    def __repr__(self) -> str:  # never show key material
        return f"KeyRing(<{len(self._epochs)} keys>)"
