"""Garbage collection for a generation run, which builds millions of small objects that live
to the end (agents, phone timelines) and then makes and drops messages by the million.

CPython's cyclic collector runs a young collection every 700 container allocations and a
full one whenever the survivors grow by a quarter: each full collection walks every live
object, timelines included.  On `lyon-fete-des-lumieres` that was about 40 % of the CPU of
the timelines, the truth and the signalling (bench/README.md).  None of these objects form
cycles that need collecting promptly, so a run collects young objects every 50,000
allocations, and once the timelines are built they are frozen (`gc.freeze`: moved out of
the collector's sight, and left untouched by forked workers, whose pages then stay shared).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLD = (50_000, 20, 100)


@contextmanager
def bulk() -> Iterator[None]:
    """Fewer collections while the block runs; everything frozen in it is unfrozen after."""
    old, frozen = gc.get_threshold(), gc.get_freeze_count()
    gc.set_threshold(*THRESHOLD)
    try:
        yield
    finally:
        if not frozen:
            gc.unfreeze()
        gc.set_threshold(*old)


def settle() -> None:
    """The objects alive now live to the end of the run: out of the collector's sight."""
    gc.freeze()
