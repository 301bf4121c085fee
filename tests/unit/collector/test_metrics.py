"""Unit tests of collector.metrics: what a scrape shows is what the run counted.

The golden captures are replayed in this process; the registry's text
(prometheus_client.generate_latest, parsed back with prometheus_client's own parser)
must give the run's Counters, summary and sender counts exactly, with label values
from the closed sets only."""

from __future__ import annotations

import time
import urllib.request

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from aggregator.testing import running_aggregator
from collector.app import EdgeConfig, ReplaySummary, replay
from collector.metrics import CollectorMetrics, MetricsError, parse_listen
from collector.sender import BatchSender
from collector.spool import Spool
from collector.telemetry import REASONS, STAGES, Counters
from tests.helpers import capture_paths, free_port
from wire.pseudonym import Pseudonymizer, new_key
from wire.tally import ACK_STATUSES, PresenceRow, TallyBatch

P = "cellcensus_collector_"


def samples(text: bytes) -> dict[tuple, float]:
    """{(sample name, sorted label items): value} of an exposition text."""
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def by_label(scrape: dict, name: str, *labels: str) -> dict:
    """{label values: value} of one sample name (one label: the bare value)."""
    out = {}
    for (n, items), v in scrape.items():
        if n == name:
            d = dict(items)
            key = tuple(d[k] for k in labels)
            out[key[0] if len(key) == 1 else key] = v
    return out


@pytest.fixture(scope="module")
def golden_run():
    """The summary of a replay of every golden capture (dry run)."""
    cfg = EdgeConfig("metrics-test", 1)
    return replay([str(p) for p in capture_paths()], cfg, Pseudonymizer(new_key()))


def test_scrape_equals_the_counters_of_a_replay(golden_run):
    s = golden_run
    metrics = CollectorMetrics()
    metrics.watch(s)
    scrape = samples(generate_latest(metrics.registry))
    c = s.counters
    assert c.frames > 1000 and len(c.messages) == 4 and len(c.dropped) >= 3  # a real run
    assert scrape[(P + "frames_total", ())] == c.frames
    assert by_label(scrape, P + "messages_total", "protocol") == dict(c.messages)
    assert by_label(scrape, P + "dropped_total", "stage", "reason") == dict(c.dropped)
    assert by_label(scrape, P + "events_total", "protocol") == dict(s.events)
    assert scrape[(P + "batches_total", ())] == s.batches > 0
    assert scrape[(P + "presence_rows_total", ())] == s.rows > 0
    assert scrape[(P + "devices_seen", ())] == s.devices > 0
    assert not any(name.startswith(P + "batches_acknowledged") for name, _ in scrape)


def test_closed_labels_only():
    counters = Counters()
    counters.messages.update({"s1ap": 3, "rogue-proto": 2})
    counters.dropped[("decode", "bad_asn1")] = 4
    counters.dropped[("decode", "001010123456789")] = 1  # never a label, whatever it is
    sender = BatchSender("tcp://127.0.0.1:1")
    try:
        sender.statuses.update({"stored": 2, "rejected": 2})
        sender.rejected.update({"bad_row": 1, "made up by a peer": 1})
        metrics = CollectorMetrics(sender)
        metrics.watch(ReplaySummary(counters))
        text = generate_latest(metrics.registry)
    finally:
        sender.close()
    assert b"rogue" not in text and b"001010" not in text and b"made up" not in text
    scrape = samples(text)
    assert by_label(scrape, P + "messages_total", "protocol") == {
        "s1ap": 3, "ngap": 0, "gtpv2": 0, "diameter": 0, "other": 2}
    assert by_label(scrape, P + "dropped_total", "stage", "reason") == {
        ("decode", "bad_asn1"): 4, ("decode", "other"): 1}
    assert by_label(scrape, P + "batches_rejected_total", "reason") == {"bad_row": 1, "other": 1}
    allowed = {"protocol": {"s1ap", "ngap", "gtpv2", "diameter", "other"},
               "stage": {*STAGES, "other"}, "reason": {*REASONS, "bad_row", "other"},
               "status": set(ACK_STATUSES)}
    for (_name, items), _v in scrape.items():
        for label, value in items:
            assert value in allowed[label], (label, value)


def test_workers_reports_are_added_until_merged():
    parent, worker = Counters(), Counters()
    parent.messages["gtpv2"] = 5
    worker.frames, worker.dropped[("framing", "not_ip")] = 40, 3
    metrics = CollectorMetrics()
    reported = {0: worker}
    metrics.watch(ReplaySummary(parent), None, reported)
    scrape = samples(generate_latest(metrics.registry))
    assert scrape[(P + "frames_total", ())] == 40
    assert by_label(scrape, P + "dropped_total", "stage", "reason") == {("framing", "not_ip"): 3}
    assert by_label(scrape, P + "messages_total", "protocol")["gtpv2"] == 5
    reported.clear()  # what run_live_parallel does when it merges the final counters
    parent.merge(worker)
    assert samples(generate_latest(metrics.registry))[(P + "frames_total", ())] == 40


def _batch(seq: int) -> TallyBatch:
    return TallyBatch("metrics-test", 1, seq, 900, (PresenceRow(1764338400, "00101", 1, 10, 3),))


def test_sender_and_spool_counts(tmp_path):
    with running_aggregator(tmp_path / "agg.duckdb") as rx:
        spool = Spool(str(tmp_path / "spool"))
        with BatchSender(rx.endpoint, ack_timeout=2.0, spool=spool) as sender:
            for seq in (1, 2, 1):
                sender.send(_batch(seq))
                assert sender.drain(10.0)[1] == 0
            scrape = samples(generate_latest(CollectorMetrics(sender).registry))
    assert by_label(scrape, P + "batches_acknowledged_total", "status") == {
        "stored": 2, "duplicate": 1, "rejected": 0} == {**dict.fromkeys(ACK_STATUSES, 0),
                                                         **sender.statuses}
    assert scrape[(P + "batches_pending", ())] == 0
    assert scrape[(P + "batches_given_up", ())] == 0
    assert scrape[(P + "spool_batches", ())] == 0 == len(spool)
    # an outage: nobody answers, the batch is given up and stays in the spool
    spool = Spool(str(tmp_path / "spool2"))
    with BatchSender(f"tcp://127.0.0.1:{free_port()}", ack_timeout=0.05, retries=1,
                     spool=spool) as sender:
        sender.send(_batch(7))
        sender.drain(1.0)
        scrape = samples(generate_latest(CollectorMetrics(sender).registry))
    assert scrape[(P + "batches_given_up", ())] == 1
    assert scrape[(P + "batches_resent_total", ())] == sender.resent == 1
    assert scrape[(P + "spool_batches", ())] == 1
    assert scrape[(P + "spool_bytes", ())] == spool.size > 0
    assert scrape[(P + "spool_overflow_total", ())] == 0


def test_textfile_is_written_whole(tmp_path, golden_run):
    metrics = CollectorMetrics()
    metrics.watch(golden_run)
    path = tmp_path / "collector.prom"
    metrics.write(str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["collector.prom"]  # no temporary left
    assert samples(path.read_bytes())[(P + "frames_total", ())] == golden_run.counters.frames
    with pytest.raises(MetricsError, match="cannot write"):
        metrics.write(str(tmp_path / "missing" / "x.prom"))


def test_http_endpoint_serves_the_registry(golden_run):
    metrics = CollectorMetrics()
    metrics.watch(golden_run)
    port = free_port()
    metrics.serve(f"127.0.0.1:{port}")
    try:
        with pytest.raises(MetricsError, match="cannot listen"):
            CollectorMetrics().serve(f"127.0.0.1:{port}")
        for _ in range(50):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
    finally:
        metrics.close()
    assert samples(body) == samples(generate_latest(metrics.registry))


@pytest.mark.parametrize("text", ["9464", ":9464", "host:", "host:0", "host:70000", "h:x"])
def test_listen_address_is_checked(text):
    with pytest.raises(MetricsError, match="--metrics-listen"):
        parse_listen(text)


def test_listen_address_forms():
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:9464") == ("::1", 9464)
    assert parse_listen("localhost:1") == ("localhost", 1)
