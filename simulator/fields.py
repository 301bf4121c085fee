"""Typed reading of one TOML table, with errors that name the file, the key and the value.

`Fields(table, "tiny.toml", "enbs[1]")` hands out checked values
(`.integer("tac", 1, 65535)`) and, once everything was read, `.done()`
rejects keys nobody asked for (a typo must not be silently ignored).
"""

from __future__ import annotations

from typing import Any


class ScenarioError(Exception):
    """A scenario that cannot be used; the message names file, key and value."""


class Fields:
    """Reads the keys of one TOML table; every error names `file: path.key`."""

    __slots__ = ("_table", "_file", "_path", "_seen")

    def __init__(self, table: Any, file: str, path: str = "") -> None:
        self._file, self._path = file, path
        if not isinstance(table, dict):
            raise ScenarioError(f"{file}: {path or 'top level'}: must be a table, got {table!r}")
        self._table, self._seen = table, set()

    def where(self, key: str) -> str:
        """`file: path.key` for error messages."""
        return f"{self._file}: {self._path + '.' if self._path else ''}{key}"

    def fail(self, key: str, why: str, value: Any) -> ScenarioError:
        """The error for a bad value of `key` (raise it)."""
        return ScenarioError(f"{self.where(key)}: {why}, got {value!r}")

    def _get(self, key: str, default: Any) -> Any:
        self._seen.add(key)
        if key in self._table:
            return self._table[key]
        if default is None:
            raise ScenarioError(f"{self.where(key)}: missing")
        return default

    @property
    def file(self) -> str:
        """The file name errors start with."""
        return self._file

    def path_of(self, key: str) -> str:
        """The dotted path of `key` in this table (for a sub-table's `Fields`)."""
        return self._path + "." + key if self._path else key

    def raw_or(self, key: str, default: Any) -> Any:
        """The value of an optional key (or `default`), unchecked (the caller checks it)."""
        self._seen.add(key)
        return self._table.get(key, default)

    def has(self, key: str) -> bool:
        """Whether the table holds `key` (without marking it read)."""
        return key in self._table

    def raw(self, key: str) -> Any:
        """The value of a required key, unchecked (the caller checks it)."""
        return self._get(key, None)

    def integer(self, key: str, lo: int, hi: int, default: int | None = None) -> int:
        """An integer in [lo, hi]."""
        v = self._get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise self.fail(key, f"must be an integer in {lo}..{hi}", v)
        return v

    def number(self, key: str, lo: float, hi: float, default: float | None = None) -> float:
        """A number (int or float) in [lo, hi]."""
        v = self._get(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise self.fail(key, f"must be a number in {lo}..{hi}", v)
        return float(v)

    def flag(self, key: str, default: bool) -> bool:
        """A boolean (true or false)."""
        v = self._get(key, default)
        if not isinstance(v, bool):
            raise self.fail(key, "must be true or false", v)
        return v

    def text(self, key: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str:
        """A non-empty string, one of `choices` when given."""
        v = self._get(key, default)
        if not isinstance(v, str) or not v:
            raise self.fail(key, "must be a non-empty string", v)
        if choices and v not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}", v)
        return v

    def span(self, key: str, lo: int, hi: int, default: list | None = None) -> tuple[int, int]:
        """A [min, max] pair of integers with lo <= min <= max <= hi."""
        v = self._get(key, default)
        if (not isinstance(v, list) or len(v) != 2
                or any(isinstance(x, bool) or not isinstance(x, int) for x in v)
                or not lo <= v[0] <= v[1] <= hi):
            raise self.fail(key, f"must be [min, max] integers with {lo} <= min <= max <= {hi}", v)
        return v[0], v[1]

    def table(self, key: str) -> Fields:
        """A sub-table."""
        return Fields(self._get(key, None), self._file, self._path + "." + key if self._path
                      else key)

    def tables(self, key: str) -> list[Fields]:
        """A non-empty array of tables (`[[key]]`)."""
        v = self._get(key, None)
        if not isinstance(v, list) or not v:
            raise self.fail(key, "must be a non-empty array of tables", v)
        prefix = self._path + "." + key if self._path else key
        return [Fields(item, self._file, f"{prefix}[{i}]") for i, item in enumerate(v)]

    def done(self) -> None:
        """Reject keys that were not read."""
        extra = sorted(set(self._table) - self._seen)
        if extra:
            raise ScenarioError(f"{self.where(extra[0])}: unknown key")
