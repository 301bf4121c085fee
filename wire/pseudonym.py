"""The pseudonym function (DESIGN.md, "Pseudonymisation").

pseudonym = blake2b(imsi_ascii_digits, key=KEY, digest_size=8), read as an
unsigned 64-bit big-endian integer, written as 16 lowercase hex characters
where text is needed.  KEY is 32 bytes kept as 64 hex characters in a key
file of mode 0600.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import stat

KEY_BYTES = 32


class KeyFileError(Exception):
    """A key file that cannot be used; the message names the file, never the key."""


class Pseudonymizer:
    """Keyed hash of identity digits; one object per process, built at start-up."""

    __slots__ = ("_base",)
    next_change = math.inf   # one key for all time (collector.keyring.KeyRing rotates)
    overlapping = False      # never a previous key held

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"pseudonym key must be {KEY_BYTES} bytes, got {len(key)}")
        self._base = hashlib.blake2b(key=key, digest_size=8)

    def __call__(self, digits: str) -> int:
        """Return the pseudonym (uint64) of an IMSI/SUPI given as ASCII digits."""
        h = self._base.copy()
        h.update(digits.encode("ascii"))
        return int.from_bytes(h.digest(), "big")

    def advance(self, t: float) -> None:
        """Nothing to do: a single key has no epochs (the KeyRing interface)."""

    def __repr__(self) -> str:  # never show key material
        return "Pseudonymizer(<key>)"


def as_hex(pseudonym: int) -> str:
    """Text form of a pseudonym: 16 lowercase hex characters."""
    return f"{pseudonym:016x}"


def as_signed64(pseudonym: int) -> int:
    """The pseudonym read as two's complement int64 (the sketch item, DESIGN.md)."""
    return pseudonym - (1 << 64) if pseudonym >= (1 << 63) else pseudonym


def new_key() -> bytes:
    """A fresh random key."""
    return secrets.token_bytes(KEY_BYTES)


def write_key(path: str, key: bytes | None = None) -> None:
    """Write a key file (64 hex characters, mode 0600); refuse to overwrite."""
    key = key if key is not None else new_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")


def load_key(path: str) -> bytes:
    """Read a key file; refuse one readable by group or others (error names the file)."""
    try:
        st = os.stat(path)
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read key file: {e.strerror}") from None
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: key file is not 64 hex characters") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path}: key file is accessible by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); run chmod 600 {path}"
        )
    if len(text) != 2 * KEY_BYTES:
        raise KeyFileError(f"{path}: key file must hold 64 hex characters")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"{path}: key file must hold 64 hex characters") from None
