"""Splitting one run's phones over processes (`simulator generate --workers N`).

Phone i goes to shard i mod N; each shard is a run of its own (its own agenda, random
streams and MME state) in its own process, and the parent merges their messages by time
and frames them.  Identifiers a real MME allocates once for all its UEs (MME-UE-S1AP-IDs,
eNB-UE-S1AP-IDs, M-TMSIs, GTPv2-C sequence numbers, TEIDs, Diameter hop-by-hop and
end-to-end ids) stay unique across shards: shard k of a run of stride s only allocates
values congruent to k modulo s.  The parent's own messages (the Diameter watchdog) take
the last residue, so the stride is N + 1 when N > 1; with one shard the stride is 1 and
every allocation is what a single run always made.
"""

from __future__ import annotations

from typing import NamedTuple


class Shard(NamedTuple):
    """Residue `k` of `stride`: the identifiers this run allocates."""

    k: int = 0
    stride: int = 1

    def first(self, x: int, mod: int) -> int:
        """The allocation a single run would start at `x` (below `mod`), moved to this
        shard's residue (wrapping to the residue itself)."""
        v = x - x % self.stride + self.k
        return v if v < mod else self.k

    def after(self, v: int, mod: int) -> int:
        """The next allocation after `v`, wrapping below `mod` (`(v + 1) % mod` for one
        shard)."""
        v += self.stride
        return v if v < mod else self.k


ONE = Shard()


def plan(workers: int) -> list[Shard]:
    """The shards of a run over `workers` processes (the parent's residue not included)."""
    if workers < 1:
        raise ValueError(f"workers: must be at least 1, got {workers}")
    stride = 1 if workers == 1 else workers + 1
    return [Shard(k, stride) for k in range(workers)]


def parent(workers: int) -> Shard:
    """The residue of the parent's own messages (the watchdog) in a run over `workers`."""
    return ONE if workers == 1 else Shard(workers, workers + 1)
