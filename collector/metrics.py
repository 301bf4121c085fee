"""Prometheus metrics of the collector, read from its live counts at scrape time.

`CollectorMetrics` is a prometheus-client custom collector on its own registry (never
the global one): each scrape copies the run's `telemetry.Counters`, the summary's
batch counts, the sender's acknowledgement counts and the spool's size, so the
pipeline does no work of its own for metrics.  `collector live --metrics-listen
HOST:PORT` serves them over HTTP (/metrics); `collector replay --metrics-file PATH`
writes them once at the end, in the node_exporter textfile format.

Privacy: every label value comes from a closed set (protocol, stage, reason, status,
table); anything else is counted under `other`.  No pseudonym, identity, cell or key
id is ever a label or a value.
"""

from __future__ import annotations

from collections import Counter

from prometheus_client import start_http_server, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from collector.decode.registry import DECODERS
from collector.telemetry import REASONS, STAGES, Counters
from wire.hostport import parse_host_port
from wire.tally import ACK_STATUSES, REJECT_REASONS

PREFIX = "cellcensus_collector_"
PROTOCOLS = tuple(DECODERS)
# an aggregator's reject reasons: the wire's, plus the receiver's own for a bad message
ACK_REASONS = ("bad_frames", *REJECT_REASONS)
OTHER = "other"


class MetricsError(Exception):
    """A metrics option that cannot be used (bad HOST:PORT, port taken, file unwritable)."""


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` as (host, port); MetricsError if not."""
    try:
        return parse_host_port(text)
    except ValueError as e:
        raise MetricsError(f"--metrics-listen {text!r}: {e} (e.g. 127.0.0.1:9464)") from None


def _closed(value: str, allowed) -> str:
    return value if value in allowed else OTHER


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(PREFIX + name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, value=value)


def _by(name: str, doc: str, labels: list[str], counts: Counter) -> CounterMetricFamily:
    family = CounterMetricFamily(PREFIX + name, doc, labels=labels)
    for key, n in sorted(counts.items()):
        family.add_metric(list(key) if isinstance(key, tuple) else [key], n)
    return family


class CollectorMetrics(Collector):
    """The metrics of one collector run.  `sender` (collector.sender.BatchSender or
    None) is known at start; `watch` gives the run's summary and pipeline once built."""

    def __init__(self, sender=None) -> None:
        self.sender = sender
        self._summary = self._pipe = self._workers = None
        self._server = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def watch(self, summary, pipe=None, workers: dict | None = None) -> None:
        """Read `summary` (collector.app.ReplaySummary: its Counters and batch counts)
        and `pipe` (EdgePipeline: tracked devices) at each scrape; `workers`: live worker
        index -> that worker's latest Counters copy, added until they are merged."""
        self._summary, self._pipe, self._workers = summary, pipe, workers

    def serve(self, listen: str) -> None:
        """Serve /metrics at `listen` (HOST:PORT) from a daemon thread."""
        host, port = parse_listen(listen)
        try:
            self._server, _thread = start_http_server(port, host, registry=self.registry)
        except OSError as e:
            raise MetricsError(f"--metrics-listen {listen}: cannot listen: "
                               f"{e.strerror or e}") from None

    def close(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def write(self, path: str) -> None:
        """Write the metrics to `path` atomically (a temporary file beside it, renamed)."""
        try:
            write_to_textfile(path, self.registry)
        except OSError as e:
            raise MetricsError(f"--metrics-file {path}: cannot write: "
                               f"{e.strerror or e}") from None

    def counts(self) -> Counters:
        """The run's counters now, live workers' latest reports added."""
        total = Counters()
        if self._summary is not None:
            total.merge(self._summary.counters.copy())
        for part in list((self._workers or {}).values()):
            total.merge(part)
        return total

    def collect(self):
        """The metric families of this scrape (prometheus-client's Collector interface)."""
        c = self.counts()
        messages = Counter({p: 0 for p in PROTOCOLS})
        for proto, n in c.messages.items():
            messages[_closed(proto, PROTOCOLS)] += n
        dropped = Counter()
        for (stage, reason), n in c.dropped.items():
            dropped[(_closed(stage, STAGES), _closed(reason, REASONS))] += n
        yield _counter("frames", "Frames read from the captures or the interface.", c.frames)
        yield _by("messages", "Signalling messages decoded, by protocol.", ["protocol"],
                  messages)
        yield _by("dropped", "Items dropped, by pipeline stage and reason.",
                  ["stage", "reason"], dropped)
        yield from self._pipeline()
        if self.sender is not None:
            yield from self._link(self.sender)

    def _pipeline(self):
        s, pipe = self._summary, self._pipe
        if s is None:
            return
        events = Counter({p: 0 for p in PROTOCOLS})
        for proto, n in dict(pipe.events if pipe is not None else s.events).items():
            events[_closed(proto, PROTOCOLS)] += n
        yield _by("events", "Signalling events (identity or location), by protocol.",
                  ["protocol"], events)
        yield _counter("batches", "Tally batches made (bins closed).", s.batches)
        yield _counter("presence_rows", "Presence rows in the tally batches made.", s.rows)
        if pipe is not None:
            yield _gauge("devices_tracked", "Devices held in the presence state now.",
                         len(pipe.presence))
        seen = round(pipe.devices.get_estimate()) if pipe is not None else s.devices
        yield _gauge("devices_seen", "Distinct devices seen in this run (HLL estimate).", seen)

    def _link(self, sender):
        statuses = Counter({st: 0 for st in ACK_STATUSES})
        for status, n in dict(sender.statuses).items():
            statuses[_closed(status, ACK_STATUSES)] += n
        rejected = Counter()
        for reason, n in dict(sender.rejected).items():
            rejected[_closed(reason, ACK_REASONS)] += n
        yield _by("batches_acknowledged", "Batches the aggregator acknowledged, by status.",
                  ["status"], statuses)
        yield _by("batches_rejected", "Batches the aggregator rejected, by reason.",
                  ["reason"], rejected)
        yield _counter("batches_resent", "Batches sent again after an acknowledgement "
                       "timeout.", sender.resent)
        yield _counter("batches_restored", "Batches sent again from the spool at start.",
                       sender.restored)
        pending = sender.pending
        yield _gauge("batches_pending", "Batches sent and waiting for their "
                     "acknowledgement.", pending)
        yield _gauge("batches_given_up", "Batches left unacknowledged after every re-send "
                     "(an aggregator outage); kept in the spool if there is one.",
                     sender.unacked - pending)
        yield _counter("acks_stray", "Acknowledgements of batches no longer pending.",
                       sender.stray_acks)
        yield _counter("acks_bad", "Unreadable replies from the aggregator.", sender.bad_acks)
        spool = sender.spool
        if spool is not None:
            yield _gauge("spool_batches", "Batches held in the disk spool.", len(spool))
            yield _gauge("spool_bytes", "Bytes held in the disk spool.", spool.size)
            yield _gauge("spool_max_bytes", "Cap of the disk spool in bytes.", spool.max_bytes)
            yield _counter("spool_overflow", "Batches dropped from a full spool (oldest "
                           "first).", spool.overflow)
