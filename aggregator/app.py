"""The aggregator commands: `serve` runs the receiver until a signal, `report` prints.

Both take a validated config (aggregator.config) and return an exit
status (see aggregator.__main__); operator-facing failures are one line on
stderr, never a traceback.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import TextIO

import zmq

from aggregator.config import ExportConfig, ReportConfig, ServeConfig
from aggregator.export import export_parquet
from aggregator.receiver import Receiver
from aggregator.render import RENDERERS
from aggregator.report import build_report
from aggregator.store import Store, StoreError

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

log = logging.getLogger("aggregator")


def _fail(command: str, message: str) -> int:
    """Print a one-line runtime error and return EXIT_RUNTIME."""
    print(f"aggregator {command}: {message}", file=sys.stderr)
    return EXIT_RUNTIME


def serve(config: ServeConfig, metrics: tuple[str, int] | None = None) -> int:
    """Receive, store and acknowledge batches until SIGTERM/SIGINT; the exit status.
    `metrics`: (host, port) where to serve the Prometheus metrics (aggregator.metrics)."""
    try:
        store = Store(config.db)
    except StoreError as exc:
        return _fail("serve", str(exc))
    receiver = Receiver(config.listen, store, curve=config.curve,
                        allow=str(config.allow) if config.allow else None)
    try:
        receiver.bind()
    except zmq.ZMQError as exc:
        receiver.close()
        store.close()
        return _fail("serve", f"cannot listen on {config.listen}: {exc.strerror}")
    exporter = None
    if metrics is not None:
        from aggregator.metrics import ReceiverMetrics
        exporter = ReceiverMetrics(receiver.stats)
        try:
            exporter.serve(*metrics)
        except OSError as exc:
            receiver.close()
            store.close()
            return _fail("serve", f"cannot serve metrics on {metrics[0]}:{metrics[1]}: "
                                  f"{exc.strerror or exc}")
        log.info("serving metrics url=http://%s:%d/metrics", *metrics)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    batches, rows = store.counts()
    log.info("serving endpoint=%s db=%s batches_in_db=%d rows_in_db=%d",
             receiver.endpoint, config.db, batches, rows)
    try:
        fatal = receiver.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if exporter is not None:
            exporter.close()
        receiver.close()
        store.close()
    log.info("stopped %s", receiver.stats.summary())
    if fatal is not None:
        return _fail("serve", fatal)
    return EXIT_OK


def report(config: ReportConfig, out: TextIO | None = None) -> int:
    """Print the report of the store in the configured format; the exit status."""
    try:
        with Store(config.db, read_only=True) as store:
            doc = build_report(store, config.options)
    except StoreError as exc:
        return _fail("report", str(exc))
    (out or sys.stdout).write(RENDERERS[config.format](doc))
    return EXIT_OK


def export(config: ExportConfig) -> int:
    """Write the store as Parquet partitioned by day; the exit status."""
    try:
        with Store(config.db, read_only=True) as store:
            counts = export_parquet(store, config.out)
    except StoreError as exc:
        return _fail("export", str(exc))
    log.info("exported out=%s %s", config.out,
             " ".join(f"{table}={rows}" for table, rows in counts.items()))
    return EXIT_OK
