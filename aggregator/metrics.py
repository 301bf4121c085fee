"""Prometheus metrics of `aggregator serve`, read from the receiver's counts at scrape time.

`ReceiverMetrics` is a prometheus-client custom collector on its own registry (never
the global one) over `receiver.ReceiverStats`: batches received, stored, duplicate and
rejected by reason, rows stored by kind, store errors, refused collectors, and how many
collectors have sent a valid batch.  `--metrics-listen HOST:PORT` serves them at
/metrics from a daemon thread; the receiver does no work of its own for them.

Labels come from closed sets only (reason, kind); a collector's name is never a label,
only the count of names seen.
"""

from __future__ import annotations

from collections import Counter

from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from aggregator.config import ConfigError
from aggregator.receiver import REASONS, ROW_KINDS, ReceiverStats
from wire.hostport import parse_host_port

PREFIX = "cellcensus_aggregator_"
OTHER = "other"


def check_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` as (host, port); ConfigError if not."""
    try:
        return parse_host_port(text)
    except ValueError as e:
        raise ConfigError(f"--metrics-listen: invalid address {text!r}: {e} "
                          "(e.g. 127.0.0.1:9465)") from None


def _by(name: str, doc: str, label: str, counts: Counter) -> CounterMetricFamily:
    family = CounterMetricFamily(PREFIX + name, doc, labels=[label])
    for value, n in sorted(counts.items()):
        family.add_metric([value], n)
    return family


class ReceiverMetrics(Collector):
    """The metrics of one `serve` run, over the receiver's `stats`."""

    def __init__(self, stats: ReceiverStats) -> None:
        self.stats = stats
        self._server = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics at host:port from a daemon thread; OSError if it cannot bind."""
        self._server, _thread = start_http_server(port, host, registry=self.registry)

    def close(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def collect(self):
        """The metric families of this scrape (prometheus-client's Collector interface)."""
        s = self.stats
        rejected = Counter()
        for reason, n in dict(s.rejected).items():
            rejected[reason if reason in REASONS else OTHER] += n
        rows = Counter({kind: 0 for kind in ROW_KINDS})
        rows.update(dict(s.rows))
        yield CounterMetricFamily(PREFIX + "batches_received", "Messages received from "
                                  "collectors (each one batch or a rejected message).",
                                  value=s.received)
        yield CounterMetricFamily(PREFIX + "batches_stored", "Batches stored and "
                                  "acknowledged.", value=s.stored)
        yield CounterMetricFamily(PREFIX + "batches_duplicate", "Batches already stored "
                                  "(a re-send), acknowledged as duplicate.", value=s.duplicate)
        yield _by("batches_rejected", "Messages rejected at the door, by reason.", "reason",
                  rejected)
        yield _by("rows_stored", "Tally rows stored, by kind.", "kind", rows)
        yield CounterMetricFamily(PREFIX + "store_errors", "Batches not stored (a database "
                                  "error), left for the collector to re-send.",
                                  value=s.store_errors)
        yield CounterMetricFamily(PREFIX + "collectors_refused", "CurveZMQ handshakes "
                                  "refused (key not in the allow list).", value=s.refused)
        yield GaugeMetricFamily(PREFIX + "collectors_seen", "Distinct collectors that sent "
                                "a valid batch since start.", value=len(s.collectors))
