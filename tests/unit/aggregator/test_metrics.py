"""Unit tests of aggregator.metrics: a scrape shows what the receiver counted.

A real Receiver and Store take good, duplicate and bad batches; the registry's text
(parsed back with prometheus_client's own parser) must equal the receiver's stats and
the rows of the batches sent, with reasons and kinds from the closed sets only."""

from __future__ import annotations

import datetime as dt
import urllib.request

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from aggregator.config import ConfigError
from aggregator.metrics import ReceiverMetrics, check_listen
from aggregator.receiver import REASONS, ROW_KINDS, Receiver
from aggregator.store import Store
from tests.helpers import free_port
from wire.tally import DWELL_CLASSES, PresenceRow, StayRow, TallyBatch, encode_batch

T0 = int(dt.datetime(2026, 12, 8, 19, 0, tzinfo=dt.UTC).timestamp())
P = "cellcensus_aggregator_"


def samples(text: bytes) -> dict[tuple, float]:
    """{(sample name, sorted label items): value} of an exposition text."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode())
            for s in family.samples}


def labelled(scrape: dict, name: str) -> dict[str, float]:
    return {dict(items).popitem()[1]: v for (n, items), v in scrape.items() if n == name}


def batches() -> list[TallyBatch]:
    stays = (StayRow(T0, "00101", "a", "domestic", DWELL_CLASSES[1], 4),)
    return [TallyBatch("mme-1", 7, 1, 900, (PresenceRow(T0, "00101", 1, 10, 3),
                                            PresenceRow(T0, "00101", 1, 11, 5)), stays=stays),
            TallyBatch("mme-1", 7, 2, 900, (PresenceRow(T0 + 900, "00101", 1, 10, 2),)),
            TallyBatch("amf-1", 3, 1, 900, (PresenceRow(T0, "00101", 1, 12, 1),))]


@pytest.fixture
def receiver(tmp_path):
    store = Store(tmp_path / "agg.duckdb")
    rx = Receiver("tcp://127.0.0.1:*", store)
    yield rx
    rx.close()
    store.close()


def test_scrape_equals_the_receiver_stats(receiver):
    sent = batches()
    for b in [*sent, sent[0]]:  # the last one a re-send: a duplicate
        receiver.handle([b"id", encode_batch(b)])
    receiver.handle([b"id", b"\xc1 not msgpack"])
    receiver.handle([b"id", b"\x81\xa1v\x01"])  # a map, not a batch
    receiver.handle([b"id", b"two", b"payloads"])
    scrape = samples(generate_latest(ReceiverMetrics(receiver.stats).registry))
    st = receiver.stats
    assert (st.stored, st.duplicate, sum(st.rejected.values())) == (3, 1, 3)
    assert scrape[(P + "batches_received_total", ())] == 7 == st.received
    assert scrape[(P + "batches_stored_total", ())] == 3
    assert scrape[(P + "batches_duplicate_total", ())] == 1
    assert labelled(scrape, P + "batches_rejected_total") == dict(st.rejected)
    assert labelled(scrape, P + "batches_rejected_total")["bad_frames"] == 1
    rows = labelled(scrape, P + "rows_stored_total")
    assert rows == {**dict.fromkeys(ROW_KINDS, 0), "presence": 4, "stays": 1}
    assert scrape[(P + "collectors_seen", ())] == 2
    assert scrape[(P + "store_errors_total", ())] == 0
    assert scrape[(P + "collectors_refused_total", ())] == 0


def test_labels_come_from_closed_sets(receiver):
    receiver.stats.rejected["something a peer made up"] = 1
    receiver.handle([b"id", encode_batch(batches()[2])])
    text = generate_latest(ReceiverMetrics(receiver.stats).registry)
    assert b"made up" not in text and b"amf-1" not in text  # names are counted, not shown
    for (_name, items), _v in samples(text).items():
        for label, value in items:
            assert value in {"reason": {*REASONS, "other"}, "kind": set(ROW_KINDS)}[label]


def test_http_endpoint(receiver):
    receiver.handle([b"id", encode_batch(batches()[0])])
    metrics = ReceiverMetrics(receiver.stats)
    port = free_port()
    metrics.serve("127.0.0.1", port)
    try:
        with pytest.raises(OSError):
            ReceiverMetrics(receiver.stats).serve("127.0.0.1", port)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    finally:
        metrics.close()
    assert samples(body)[(P + "batches_stored_total", ())] == 1


@pytest.mark.parametrize("text", ["9465", ":9465", "h:", "h:0", "h:65536", "h:p"])
def test_listen_address_is_checked(text):
    with pytest.raises(ConfigError, match="--metrics-listen"):
        check_listen(text)
    assert check_listen("[::1]:9465") == ("::1", 9465)
