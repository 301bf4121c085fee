"""Helpers for tests and demos: an in-process aggregator on a background thread.

    with running_aggregator(tmp_path / "agg.duckdb") as receiver:
        sender = BatchSender(receiver.endpoint, ack_timeout=0.5)
        ...
    # here the receiver is stopped and the database closed

The database can be read once the block has exited (DuckDB allows only one
open connection configuration per file and process).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aggregator.receiver import Receiver
from aggregator.store import Store


@contextmanager
def running_aggregator(db: str | Path, endpoint: str = "tcp://127.0.0.1:*"
                       ) -> Iterator[Receiver]:
    """A Receiver serving `db` on `endpoint` (a `*` port is resolved in `.endpoint`)."""
    store = Store(db)
    receiver = Receiver(endpoint, store)
    stop = threading.Event()
    try:
        receiver.bind()
        thread = threading.Thread(target=receiver.run, args=(stop,), name="aggregator",
                                  daemon=True)
        thread.start()
        try:
            yield receiver
        finally:
            stop.set()
            thread.join(timeout=10)
    finally:
        receiver.close()
        store.close()
