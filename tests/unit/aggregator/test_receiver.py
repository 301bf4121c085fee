"""Unit tests of aggregator.receiver with a real DEALER over TCP and IPC."""

from __future__ import annotations

import datetime as dt
import threading

import datasketches
import duckdb
import msgpack
import pytest
import zmq

from aggregator.receiver import Receiver, ReceiverStats, best_effort_key
from aggregator.store import CellPresence, Store
from aggregator.testing import running_aggregator
from wire.tally import MAX_BATCH_BYTES, PresenceRow, TallyBatch, decode_ack, encode_batch

T0 = int(dt.datetime(2026, 12, 8, 19, 0, tzinfo=dt.UTC).timestamp())
DAY = T0 - T0 % 86400
V3 = {"v": 3, "presence": []}  # a version 3 batch with only the rows a case adds
RECV_MS = 5000


def batch(seq: int, rows: list[tuple], collector: str = "mme-1") -> TallyBatch:
    return TallyBatch(collector, 7, seq, 900, tuple(PresenceRow(*r) for r in rows))


def raw_batch(**changes) -> bytes:
    """A version-1 batch map built by hand, with `changes` applied."""
    doc = {"v": 1, "kind": "tally", "collector": "mme-1", "epoch": 7, "seq": 1,
           "bin_seconds": 900, "presence": [[T0, "00101", 1, 10, 3]]}
    doc.update(changes)
    return msgpack.packb(doc)


def _hll(lg_k: int = 12) -> bytes:
    sketch = datasketches.hll_sketch(lg_k, datasketches.tgt_hll_type.HLL_4)
    sketch.update(12345)
    return sketch.serialize_compact()


@pytest.fixture
def dealer():
    ctx = zmq.Context()
    socks = []

    def connect(endpoint: str) -> zmq.Socket:
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, RECV_MS)
        sock.connect(endpoint)
        socks.append(sock)
        return sock

    yield connect
    for sock in socks:
        sock.close(0)
    ctx.term()


def ask(sock: zmq.Socket, *frames: bytes) -> dict:
    sock.send_multipart(list(frames))
    ack = decode_ack(sock.recv())
    assert ack is not None
    return ack


def test_valid_batch_stored_then_duplicate(tmp_path, dealer):
    b = batch(1, [(T0, "00101", 1, 10, 3), (T0, "00101", 1, 11, 2)])
    with running_aggregator(tmp_path / "a.duckdb") as rx:
        sock = dealer(rx.endpoint)
        first = ask(sock, encode_batch(b))
        again = ask(sock, encode_batch(b))
        stats = rx.stats
    assert (first["status"], first["reason"]) == ("stored", None)
    assert (first["collector"], first["epoch"], first["seq"]) == ("mme-1", 7, 1)
    assert again["status"] == "duplicate"
    assert (stats.stored, stats.duplicate) == (1, 1)
    with Store(tmp_path / "a.duckdb", read_only=True) as store:
        assert store.cell_presence() == [CellPresence(T0, 900, "00101", 1, 10, 3),
                                         CellPresence(T0, 900, "00101", 1, 11, 2)]


def test_rejects_with_reason_and_keeps_serving(tmp_path, dealer):
    cases = [
        (b"\xc1garbage\xff", "not_msgpack"),
        (msgpack.packb([1, 2, 3]), "not_a_map"),
        (raw_batch(v=6), "bad_version"),
        (raw_batch(v=True), "bad_version"),
        (raw_batch(kind="ack"), "bad_kind"),
        (raw_batch(collector="bad name!"), "bad_field"),
        (raw_batch(presence=[[T0, "00101", 1, 10, 0]]), "bad_row"),  # zero devices
        (raw_batch(presence=[[T0 + 1, "00101", 1, 10, 3]]), "bad_row"),  # not on a bin edge
        (raw_batch(v=2, presence=[[T0, "00101", 1, 10, 3]]), "bad_row"),  # v2: no segment
        (raw_batch(v=2, presence=[[T0, "00101", 1, 10, "Italy", 3]]), "bad_row"),
        (raw_batch(v=2, sketches=[[T0, "00101", 1, 10, "domestic", b"\x00" * 8]]), "bad_row"),
        (raw_batch(v=2, sketches=[[T0 + 900, "00101", 1, 10, "domestic", _hll()]]),
         "bad_row"),  # not on an hour edge
        (raw_batch(v=2, sketches=[[T0, "00101", 1, 10, "domestic", _hll(lg_k=10)]]),
         "bad_row"),  # not lgK 12
        # version 3 zone tallies
        (raw_batch(**V3, stays=[[T0, "00101", "park", "domestic", "5h", 1]]), "bad_row"),
        (raw_batch(**V3, stays=[[T0, "00101", "Park", "domestic", "lt30m", 1]]), "bad_row"),
        (raw_batch(**V3, overnight=[[T0, "00101", "park", "IT", 1]]), "bad_row"),  # not a day
        (raw_batch(**V3, recurrence=[[DAY, "00101", "park", "IT", "often", 1]]), "bad_row"),
        (raw_batch(**V3, flows=[[T0, "00101", "park", "park", "IT", 1]]), "bad_row"),
        (raw_batch(**V3, residents=[[DAY, "00101", "park", 0]]), "bad_row"),
        (raw_batch(**V3, residents=[[DAY, "00101", "park"]]), "bad_row"),
        (raw_batch(v=3, presence=[[T0, "00101", 1, 10, "home:Park", 3]]), "bad_row"),
        # version 5: presence and sketch rows with an age band
        (raw_batch(v=5, presence=[[T0, "00101", 1, 10, "domestic", "30-45", 3]]), "bad_row"),
        (raw_batch(v=5, presence=[[T0, "00101", 1, 10, "domestic", 3]]), "bad_row"),
        (raw_batch(v=5, sketches=[[T0, "00101", 1, 10, "domestic", None, _hll()]]),
         "bad_row"),
        (raw_batch(**V3, flows={}), "bad_field"),
    ]
    with running_aggregator(tmp_path / "a.duckdb", "ipc://" + str(tmp_path / "agg.sock")) as rx:
        sock = dealer(rx.endpoint)
        got = [ask(sock, payload) for payload, _ in cases]
        after = ask(sock, encode_batch(batch(2, [(T0, "00101", 1, 10, 3)])))
        stats = rx.stats
    assert [(a["status"], a["reason"]) for a in got] == [("rejected", r) for _, r in cases]
    assert after["status"] == "stored"
    assert stats.rejected == {"not_msgpack": 1, "not_a_map": 1, "bad_version": 2,
                              "bad_kind": 1, "bad_field": 2, "bad_row": 18}
    assert stats.stored == 1
    with Store(tmp_path / "a.duckdb", read_only=True) as store:
        assert store.counts() == (1, 1)


def test_reject_carries_the_key_when_readable(tmp_path, dealer):
    with running_aggregator(tmp_path / "a.duckdb") as rx:
        sock = dealer(rx.endpoint)
        readable = ask(sock, raw_batch(seq=42, v=9))
        garbage = ask(sock, b"\xc1")
    assert (readable["collector"], readable["epoch"], readable["seq"]) == ("mme-1", 7, 42)
    assert (garbage["collector"], garbage["epoch"], garbage["seq"]) == ("", 0, 0)


def test_multipart_message_rejected(tmp_path, dealer):
    with running_aggregator(tmp_path / "a.duckdb") as rx:
        sock = dealer(rx.endpoint)
        ack = ask(sock, b"", encode_batch(batch(1, [(T0, "00101", 1, 10, 3)])))
        stats = rx.stats
    assert (ack["status"], ack["reason"]) == ("rejected", "bad_frames")
    assert stats.rejected == {"bad_frames": 1} and stats.stored == 0


def test_two_collectors_answered_separately(tmp_path, dealer):
    with running_aggregator(tmp_path / "a.duckdb") as rx:
        one, two = dealer(rx.endpoint), dealer(rx.endpoint)
        one.send(encode_batch(batch(1, [(T0, "00101", 1, 10, 3)], collector="mme-1")))
        two.send(encode_batch(batch(1, [(T0, "00101", 1, 10, 4)], collector="mme-2")))
        assert decode_ack(one.recv())["collector"] == "mme-1"
        assert decode_ack(two.recv())["collector"] == "mme-2"
    with Store(tmp_path / "a.duckdb", read_only=True) as store:
        assert store.cell_presence() == [CellPresence(T0, 900, "00101", 1, 10, 7)]


def test_best_effort_key():
    assert best_effort_key(raw_batch(seq=5)) == ("mme-1", 7, 5)
    assert best_effort_key(raw_batch(seq=-1)) == ("", 0, 0)
    assert best_effort_key(msgpack.packb({"collector": ["x"], "epoch": 1, "seq": 1})) == ("", 0, 0)
    assert best_effort_key(b"") == ("", 0, 0)


def test_stats_summary_lists_reasons():
    stats = ReceiverStats(stored=3, duplicate=1)
    stats.rejected.update({"bad_row": 2, "not_msgpack": 1})
    assert stats.summary() == ("stored=3 duplicate=1 rejected=3"
                               " rejected_by_reason=bad_row:2,not_msgpack:1 store_errors=0"
                               " refused=0")


def test_too_large_rejected(tmp_path, dealer):
    with running_aggregator(tmp_path / "a.duckdb") as rx:
        ack = ask(dealer(rx.endpoint), b"\x00" * (MAX_BATCH_BYTES + 1))
    assert (ack["status"], ack["reason"]) == ("rejected", "too_large")


class BrokenStore:
    """A store whose every put fails with `exc`."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def put(self, batch):
        raise self.exc


def test_store_failure_leaves_batch_unacked():
    rx = Receiver("tcp://127.0.0.1:*", BrokenStore(duckdb.IOException("disk full")))
    reply = rx.handle([b"id", encode_batch(batch(1, [(T0, "00101", 1, 10, 3)]))])
    rx.close()
    assert reply is None
    assert (rx.stats.store_errors, rx.stats.stored) == (1, 0)


def test_dead_database_stops_the_receiver(dealer):
    rx = Receiver("tcp://127.0.0.1:*", BrokenStore(duckdb.FatalException("invalidated")))
    rx.bind()
    sock = dealer(rx.endpoint)
    sock.send(encode_batch(batch(1, [(T0, "00101", 1, 10, 3)])))
    fatal = rx.run(threading.Event())  # returns by itself, without a stop
    rx.close()
    assert fatal == "database failed: invalidated"
    with pytest.raises(zmq.Again):
        sock.recv(zmq.NOBLOCK)  # no ack was sent


def test_version_3_zone_tallies_are_stored(tmp_path, dealer):
    good = raw_batch(**V3, stays=[[T0, "00101", "park", "home:park", "lt30m", 2]],
                     residents=[[DAY, "00101", "park", 40]],
                     flows=[[T0, "00101", "park", "gare", "IT", 1]])
    with running_aggregator(tmp_path / "a.duckdb", "ipc://" + str(tmp_path / "agg.sock")) as rx:
        ack = ask(dealer(rx.endpoint), good)
    assert (ack["status"], ack["reason"]) == ("stored", None)
    with Store(tmp_path / "a.duckdb", read_only=True) as store:
        assert store.residents() == {"park": 40}
        assert store.stays() == [(T0, "00101", "park", "home:park", "lt30m", 2)]
        assert store.flows() == [(T0, "00101", "park", "gare", "IT", 1)]


def test_version_4_residents_by_age_band_validated_and_stored(tmp_path, dealer):
    v4 = {"v": 4, "presence": []}
    good = raw_batch(**v4, residents=[[DAY, "00101", "park", "30-44", 40],
                                      [DAY, "00101", "park", "", 2]])
    bad = [raw_batch(**v4, seq=2, residents=[[DAY, "00101", "park", band, 1]])
           for band in ("30-45", "unknown", 30, None)]
    short = raw_batch(**v4, seq=3, residents=[[DAY, "00101", "park", 40]])  # a v3 row in v4
    with running_aggregator(tmp_path / "a.duckdb", "ipc://" + str(tmp_path / "agg.sock")) as rx:
        sock = dealer(rx.endpoint)
        assert ask(sock, good)["status"] == "stored"
        for payload in (*bad, short):
            ack = ask(sock, payload)
            assert (ack["status"], ack["reason"]) == ("rejected", "bad_row")
    with Store(tmp_path / "a.duckdb", read_only=True) as store:
        assert store.residents_by_band() == {"park": {"30-44": 40, "": 2}}
        assert store.residents() == {"park": 42}


def test_version_5_presence_and_sketches_by_age_band_stored(tmp_path, dealer):
    v5 = {"v": 5, "presence": [[T0, "00101", 1, 10, "home:park", "30-44", 3],
                               [T0, "00101", 1, 10, "home:park", "", 2],
                               [T0, "00101", 1, 10, "domestic", "75+", 1]],
          "sketches": [[T0, "00101", 1, 10, "home:park", "30-44", _hll()],
                       [T0, "00101", 1, 10, "home:park", "", _hll()]]}
    v4 = {"v": 4, "seq": 2, "presence": [[T0, "00101", 1, 11, "domestic", 4]]}
    with running_aggregator(tmp_path / "a.duckdb", "ipc://" + str(tmp_path / "agg.sock")) as rx:
        sock = dealer(rx.endpoint)
        assert ask(sock, raw_batch(**v5))["status"] == "stored"
        assert ask(sock, raw_batch(**v4))["status"] == "stored"
    with Store(tmp_path / "a.duckdb", read_only=True) as store:
        assert store.presence_by_segment(bands=True) == [
            (T0, 900, "00101", 10, "domestic", "75+", 1),
            (T0, 900, "00101", 10, "home:park", "", 2),
            (T0, 900, "00101", 10, "home:park", "30-44", 3),
            (T0, 900, "00101", 11, "domestic", "", 4)]
        assert store.presence_by_segment() == [(T0, 900, "00101", 10, "domestic", 1),
                                               (T0, 900, "00101", 10, "home:park", 5),
                                               (T0, 900, "00101", 11, "domestic", 4)]
        assert [r[4:6] for r in store.sketches(bands=True)] == [("home:park", ""),
                                                                ("home:park", "30-44")]
        assert [r[4] for r in store.sketches()] == ["home:park", "home:park"]
