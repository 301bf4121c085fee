"""Subscriber profiles: age band and gender from an operator file (contract B, reader side).

`collector replay|live --profiles FILE` reads a CSV file with the header
`imsi,age_band,gender` (more columns are ignored): `age_band` one of the census bands
(`wire.reference.AGE_BANDS`) or empty (unknown), `gender` `f`, `m` or empty (unknown).
The file is an operator INPUT holding raw IMSIs, like a capture: each IMSI is hashed with
the collector's key as its row is read (the pseudonym function of DESIGN.md) and only
{pseudonym: profile code} is kept; the file is never copied, logged or echoed, and an
error names the file, the line and the column, never a value read from it.

Kept compactly, as two numpy arrays sorted by pseudonym (`uint64` keys, `uint8` codes:
band index + 1 in the low 3 bits, 0 unknown; gender in bits 3-4, 0 unknown, 1 f, 2 m):
9 bytes per subscriber (10 million subscribers: 90 MB), looked up for many devices at
once with a binary search (`bands`).  Loading holds 13 bytes a row more while it runs.

With key epochs (`--key-dir`, collector.keyring.KeyRing) a device's pseudonym may be
under any key the ring holds (carried to the new key or not yet), so each row is hashed
with every held key and kept once per key, tagged with the key's epoch (2 bytes more a
row and key); when the ring destroys a key, `drop` forgets the pseudonyms made with it
(but those of devices still tracked under them).
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Callable

import numpy as np

from wire.reference import AGE_BANDS, ReferenceError

COLUMNS = ("imsi", "age_band", "gender")
GENDERS = ("", "f", "m")
_BAND = {band: i + 1 for i, band in enumerate(AGE_BANDS)} | {"": 0}
_GENDER = {g: i for i, g in enumerate(GENDERS)}


class Profiles:
    """{pseudonym: (age band, gender)} of the operator's subscribers, as sorted arrays."""

    __slots__ = ("keys", "codes", "epochs")

    def __init__(self, keys: np.ndarray, codes: np.ndarray,
                 epochs: np.ndarray | None = None) -> None:
        """`keys` (uint64 pseudonyms) and their `codes` (uint8), in any order; `epochs`
        (uint16): the key ring epoch each pseudonym was made under (None: one key)."""
        order = np.argsort(keys, kind="stable")
        self.keys, self.codes = keys[order], codes[order]
        self.epochs = None if epochs is None else epochs[order]

    def __len__(self) -> int:
        return len(self.keys)

    def codes_of(self, pseudonyms: np.ndarray) -> np.ndarray:
        """The profile code of each pseudonym (uint64 array); 0 for those without one."""
        if not len(self.keys) or not len(pseudonyms):
            return np.zeros(len(pseudonyms), dtype=np.uint8)
        at = np.searchsorted(self.keys, pseudonyms)
        at[at == len(self.keys)] = 0
        return np.where(self.keys[at] == pseudonyms, self.codes[at], 0).astype(np.uint8)

    def bands(self, pseudonyms: np.ndarray) -> np.ndarray:
        """Age band of each pseudonym as an index into AGE_BANDS, -1 when unknown."""
        return (self.codes_of(pseudonyms) & 7).astype(np.int64) - 1

    def genders(self, pseudonyms: np.ndarray) -> np.ndarray:
        """Gender of each pseudonym as an index into GENDERS (0: unknown)."""
        return (self.codes_of(pseudonyms) >> 3).astype(np.int64)

    def nbytes(self) -> int:
        """Bytes held."""
        return self.keys.nbytes + self.codes.nbytes + (
            0 if self.epochs is None else self.epochs.nbytes)

    def drop(self, epoch: int, tracked: np.ndarray) -> None:
        """Forget the pseudonyms made with the key of ring epoch `epoch` (destroyed), but
        those of `tracked` devices (uint64): a device not carried over keeps its old
        pseudonym, and its profile, until its state expires."""
        if self.epochs is None:
            return
        keep = (self.epochs != epoch) | np.isin(self.keys, tracked)
        self.keys, self.codes, self.epochs = self.keys[keep], self.codes[keep], self.epochs[keep]


def load_profiles(path: str, pseudonymize: Callable[[str], int]) -> Profiles:
    """Read a profile file, hashing each IMSI with `pseudonymize` as it is read (a key
    ring: with each key it holds, collector.keyring.KeyRing.held).

    Raises ReferenceError naming the file, the line and the column of the first bad row
    (never the value of an IMSI, nor any other value of the file)."""
    held = getattr(pseudonymize, "held", None)
    hashes = [(0, pseudonymize)] if held is None else held()
    keys, codes, lines, epochs = array("Q"), array("B"), array("I"), array("H")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise ReferenceError(f"{path}:1: missing column(s) {', '.join(missing)} "
                                     f"(header: {','.join(COLUMNS)})")
            at = [header.index(c) for c in COLUMNS]
            for n, row in enumerate(reader, start=2):
                if not row:
                    continue
                imsi = _imsi(path, n, row, at[0])
                code = _code(path, n, row, at[1], at[2])
                for epoch, hash_of in hashes:
                    keys.append(hash_of(imsi))
                    codes.append(code)
                    lines.append(n)
                    epochs.append(epoch)
    except OSError as e:
        raise ReferenceError(f"{path}: {e.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise ReferenceError(f"{path}: not a CSV text file ({e.__class__.__name__})") from None
    _check_unique(path, keys, lines)
    return Profiles(np.frombuffer(keys, dtype=np.uint64), np.frombuffer(codes, dtype=np.uint8),
                    None if held is None else np.frombuffer(epochs, dtype=np.uint16))


def _field(path: str, n: int, row: list[str], i: int, column: str) -> str:
    if i >= len(row):
        raise ReferenceError(f"{path}:{n}: {column}: missing (short row)")
    return row[i].strip()


def _imsi(path: str, n: int, row: list[str], i: int) -> str:
    imsi = _field(path, n, row, i, "imsi")
    if not (imsi.isascii() and imsi.isdigit() and 6 <= len(imsi) <= 15):
        raise ReferenceError(f"{path}:{n}: imsi: must be 6 to 15 digits (value not shown)")
    return imsi


def _code(path: str, n: int, row: list[str], i_band: int, i_gender: int) -> int:
    band = _BAND.get(_field(path, n, row, i_band, "age_band"))
    if band is None:
        raise ReferenceError(f"{path}:{n}: age_band: must be empty or one of "
                             f"{', '.join(AGE_BANDS)} (value not shown)")
    gender = _GENDER.get(_field(path, n, row, i_gender, "gender").lower())
    if gender is None:
        raise ReferenceError(f"{path}:{n}: gender: must be f, m or empty (value not shown)")
    return band | gender << 3


def _check_unique(path: str, keys: array, lines: array) -> None:
    """A repeated IMSI is an error naming both lines (its pseudonym repeats)."""
    k = np.frombuffer(keys, dtype=np.uint64)
    order = np.argsort(k, kind="stable")
    same = np.flatnonzero(k[order][1:] == k[order][:-1])
    if len(same):
        ln = np.frombuffer(lines, dtype=np.uint32)
        first, again = sorted((int(ln[order[same[0]]]), int(ln[order[same[0] + 1]])))
        raise ReferenceError(f"{path}:{again}: imsi: the same IMSI as line {first}")
