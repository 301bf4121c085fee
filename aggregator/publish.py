"""Publication rules: no figure from fewer than k raw devices, directly or by difference.

A *figure* is a dict with `people` (extrapolated), optionally `ci95` ([lo, hi]),
`raw_devices` (the devices counted before any expansion) and labels, every other key
(`zone`, `start`, `country`, ...; str, int, float or None).  Breakdowns nested in a figure
(a `by_country` dict) must be flattened into figures of their own first.

1. Primary: a figure with `raw_devices < k` (default 20, before expansion) is suppressed:
   `people` and `ci95` become None and `suppressed` True.
2. Secondary (FlowKit issue 5258, its labelled-aggregates rule): an *aggregate* is a total
   and its parts, which add up (total = Σ parts).  By default they are read from the labels:
   a figure whose label d is None is the total over d of the figures with the same other
   labels and d set (zone total ← its by-country parts; grand total ← zone totals).  Others
   (a day and its hours) can be given as `aggregates`: (total index, part indices).  When
   exactly one member of an aggregate with devices is suppressed, its smallest published part
   (fewest raw devices) is suppressed too (the total if no part is left): no single equation
   gives it back.  Then a linear audit: a suppressed figure that a combination of equations
   still determines (two tables joined by one suppressed figure) hides the smallest published
   member of one of its aggregates.  *Nested* distinct counts (`nested`: a zone's visitors
   of an event day within those of the whole period) do not add up, but outer − inner counts
   the devices seen only outside the inner period: when that is 1 to k − 1, the inner figure
   is suppressed.  All are repeated until nothing changes.  A figure
   of 0 raw devices is suppressed but not protected (a zero singles nobody out).
3. Optional differential privacy (`LaplaceNoise`): every published figure gets Laplace noise
   of scale `contributions / epsilon` raw devices (× its weight `people / raw_devices`),
   where `contributions` is the most figures of the release one device counts in (its L1
   sensitivity), so the release as a whole is ε-differentially private for the counts; the
   interval is shifted by the noise and widened by its 95 % half-width `scale × ln 20`.
   Which figures are suppressed still depends on the exact raw counts (the k rule comes
   first, as in the design), so that pattern is outside the ε guarantee.

`raw_devices` is never in the output (it would give back what was suppressed).
"""

from __future__ import annotations

import math
import numbers
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

VALUE_KEYS = frozenset({"people", "ci95", "raw_devices", "suppressed"})
Aggregate = tuple[int, tuple[int, ...]]  # (index of the total, indices of its parts)


@dataclass(frozen=True, slots=True)
class LaplaceNoise:
    """Differential-privacy noise for one release: budget `epsilon` for the whole release,
    `contributions` the most figures one device counts in, `seed` for a reproducible run."""

    epsilon: float
    contributions: int = 1
    seed: int | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.epsilon, numbers.Real) and 0 < self.epsilon < math.inf):
            raise ValueError(f"noise.epsilon: {self.epsilon!r} is not a number > 0")
        if not (isinstance(self.contributions, int) and self.contributions >= 1):
            raise ValueError(f"noise.contributions: {self.contributions!r} is not an int >= 1")


def _labels(i: int, figure: dict) -> tuple[tuple[str, object], ...]:
    for key in ("people", "raw_devices"):
        if key not in figure:
            raise ValueError(f"figure {i}: no {key!r}")
    raw, people = figure["raw_devices"], figure["people"]
    if not (isinstance(raw, numbers.Integral) and not isinstance(raw, bool) and raw >= 0):
        raise ValueError(f"figure {i}: raw_devices {raw!r} is not a count (an integer >= 0)")
    if not (isinstance(people, numbers.Real) and not isinstance(people, bool)
            and math.isfinite(people) and people >= 0):
        raise ValueError(f"figure {i}: people {people!r} is not a number >= 0")
    items = []
    for key, value in figure.items():
        if key in VALUE_KEYS:
            continue
        if not (value is None or isinstance(value, str | int | float)):
            raise ValueError(f"figure {i}: label {key!r} holds a {type(value).__name__};"
                             " flatten breakdowns into figures of their own")
        items.append((key, value))
    return tuple(sorted(items, key=lambda kv: kv[0]))


def labelled_aggregates(figures: Sequence[dict]) -> list[Aggregate]:
    """The aggregates read from labels: a figure with label d None is the total over d of
    the figures with d set and every other label equal."""
    labels = [_labels(i, f) for i, f in enumerate(figures)]
    parts: dict[tuple, list[int]] = defaultdict(list)
    for i, items in enumerate(labels):
        for d, value in items:
            if value is not None:
                parts[(d, tuple(kv for kv in items if kv[0] != d))].append(i)
    out = []
    for i, items in enumerate(labels):
        for d, value in items:
            found = parts.get((d, tuple(kv for kv in items if kv[0] != d)))
            if value is None and found:
                out.append((i, tuple(found)))
    return out


def suppress(figures: Sequence[dict], k: int = 20,
             aggregates: Iterable[Aggregate] | None = None,
             noise: LaplaceNoise | None = None,
             nested: Iterable[tuple[int, int]] = ()) -> list[dict]:
    """The figures as they may be published, in the same order (module docstring);
    `nested`: (outer, inner) index pairs of distinct counts where inner's set is part of
    outer's (a zone's visitors of an event day within those of the whole period)."""
    if not (isinstance(k, int) and not isinstance(k, bool) and k >= 1):
        raise ValueError(f"k: {k!r} is not an integer >= 1")
    for i, f in enumerate(figures):
        _labels(i, f)
    groups = labelled_aggregates(figures) if aggregates is None else list(aggregates)
    for total, members in groups:
        for j in (total, *members):
            if not 0 <= j < len(figures):
                raise ValueError(f"aggregates: figure index {j} out of range")
    raw = [f["raw_devices"] for f in figures]
    hidden = [n < k for n in raw]
    pairs = list(nested)
    for pair in pairs:
        for j in pair:
            if not 0 <= j < len(figures):
                raise ValueError(f"nested: figure index {j} out of range")
    changed = True
    while changed:
        changed = _hide_nested(pairs, raw, hidden, k)
        for total, members in groups:
            if sum(1 for j in (total, *members) if hidden[j] and raw[j] > 0) == 1:
                changed |= _hide_smallest(total, members, figures, hidden)
        if not changed:
            changed = _cover_exposed(figures, hidden, groups)
    rng = np.random.default_rng(noise.seed) if noise is not None else None
    return [_published(f, h, noise, rng) for f, h in zip(figures, hidden, strict=True)]


def _hide_nested(pairs: list[tuple[int, int]], raw: list[int], hidden: list[bool],
                 k: int) -> bool:
    """Suppress the inner figure of a published nested pair whose difference (the devices
    of outer not in inner) is 1 to k - 1 devices; True when one was."""
    changed = False
    for outer, inner in pairs:
        if not hidden[outer] and not hidden[inner] and 0 < raw[outer] - raw[inner] < k:
            hidden[inner] = changed = True
    return changed


def _cover_exposed(figures: Sequence[dict], hidden: list[bool],
                   groups: list[Aggregate]) -> bool:
    """For each suppressed figure (with devices) that the equations still determine,
    suppress one more member of one of its aggregates; False when there is none."""
    changed = False
    for j in sorted(exposed(hidden, groups)):
        if figures[j]["raw_devices"] == 0:
            continue  # a zero singles nobody out
        for total, parts in groups:
            if (j == total or j in parts) and _hide_smallest(total, parts, figures, hidden):
                changed = True
                break
    return changed


def _hide_smallest(total: int, parts: Sequence[int], figures: Sequence[dict],
                   hidden: list[bool]) -> bool:
    """Suppress the published part with fewest raw devices (then fewest people), or the
    total when every part is suppressed; False when nothing was left to suppress."""
    shown = sorted((j for j in parts if not hidden[j]),
                   key=lambda j: (figures[j]["raw_devices"], figures[j]["people"], j))
    pick = shown[0] if shown else (None if hidden[total] else total)
    if pick is None:
        return False
    hidden[pick] = True
    return True


def exposed(hidden: Sequence[bool], aggregates: Iterable[Aggregate]) -> set[int]:
    """Suppressed figures whose value the published ones determine through the aggregates'
    equations (total - Σ parts = 0): j is determined when e_j lies in the row space of the
    equations restricted to the suppressed figures, i.e. every null-space vector is 0 at j.
    Solved per connected block of equations (one SVD each)."""
    blocks: dict[int, list[list[int]]] = defaultdict(list)
    parent: dict[int, int] = {}

    def root(j: int) -> int:
        while parent.setdefault(j, j) != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    equations = []
    for total, parts in aggregates:
        eq = [(j, s) for j, s in ((total, 1.0), *((p, -1.0) for p in parts)) if hidden[j]]
        if eq:
            equations.append(eq)
            for j, _ in eq[1:]:
                parent[root(j)] = root(eq[0][0])
    for eq in equations:
        blocks[root(eq[0][0])].append(eq)
    out: set[int] = set()
    for eqs in blocks.values():
        column = {j: c for c, j in enumerate(sorted({j for eq in eqs for j, _ in eq}))}
        matrix = np.zeros((len(eqs), len(column)))
        for r, eq in enumerate(eqs):
            for j, sign in eq:
                matrix[r, column[j]] += sign
        _, s, vt = np.linalg.svd(matrix, full_matrices=True)
        null = vt[int((s > 1e-9 * max(s[0], 1.0)).sum()):]
        out.update(j for j, c in column.items() if np.abs(null[:, c]).max(initial=0.0) < 1e-9)
    return out


def _published(figure: dict, hidden: bool, noise: LaplaceNoise | None,
               rng: np.random.Generator | None) -> dict:
    out = {key: value for key, value in figure.items() if key != "raw_devices"}
    out["suppressed"] = hidden
    if hidden:
        out["people"] = None
        if "ci95" in figure:
            out["ci95"] = None
        return out
    if noise is not None and rng is not None:
        per_device = figure["people"] / figure["raw_devices"]
        scale = noise.contributions / noise.epsilon * per_device
        shift, half = float(rng.laplace(0.0, scale)), scale * math.log(20.0)
        out["people"] = max(0.0, figure["people"] + shift)
        if figure.get("ci95") is not None:
            lo, hi = figure["ci95"]
            out["ci95"] = [max(0.0, lo + shift - half), hi + shift + half]
    return out
