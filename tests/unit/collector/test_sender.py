"""Unit tests of collector.sender.BatchSender against real and scripted ROUTERs."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import pytest
import zmq

from aggregator.store import Store
from aggregator.testing import running_aggregator
from collector.sender import BatchSender
from wire.tally import PresenceRow, TallyBatch, decode_batch, encode_ack

T0 = int(dt.datetime(2026, 12, 8, 19, 0, tzinfo=dt.UTC).timestamp())


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll `condition` until true or `timeout` s have passed; its last value."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def batch(seq: int, devices: int = 3, collector: str = "mme-1") -> TallyBatch:
    return TallyBatch(collector, 1, seq, 900, (PresenceRow(T0, "00101", 1, 10, devices),))


class ScriptedRouter:
    """A ROUTER on a thread answering each batch with `script(batch, copy)` → list of acks.

    `copy` is how many times this key was received before (0 for the first).
    """

    def __init__(self, endpoint: str, script: Callable[[TallyBatch, int], list[bytes]]):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(endpoint)
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.script, self.seen = script, {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            if not self.sock.poll(20):
                continue
            ident, payload = self.sock.recv_multipart()
            b, _ = decode_batch(payload)
            copy = self.seen.get(b.key, 0)
            self.seen[b.key] = copy + 1
            for ack in self.script(b, copy):
                self.sock.send_multipart([ident, ack])

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close(0)
        self.ctx.term()


@pytest.fixture
def scripted():
    routers = []

    def make(script, endpoint="tcp://127.0.0.1:*"):
        routers.append(ScriptedRouter(endpoint, script))
        return routers[-1]

    yield make
    for router in routers:
        router.close()


def test_acks_from_a_real_aggregator(tmp_path):
    with running_aggregator(tmp_path / "a.duckdb") as rx, \
            BatchSender(rx.endpoint, ack_timeout=2.0) as sender:
        for seq in range(5):
            sender.send(batch(seq))
        assert sender.drain(timeout=5.0) == (5, 0)
        sender.send(batch(2))  # the same key again, after its ack
        sender.send(batch(9, devices=0))  # invalid row: rejected, never re-sent
        acked, unacked = sender.drain(timeout=5.0)
    assert (acked, unacked) == (7, 0)
    assert sender.statuses == {"stored": 5, "duplicate": 1, "rejected": 1}
    assert sender.rejected == {"bad_row": 1}
    assert sender.resent == 0
    with Store(tmp_path / "a.duckdb", read_only=True) as store:
        assert store.counts() == (5, 5)


def test_window_of_one_waits_for_each_ack(tmp_path):
    with running_aggregator(tmp_path / "a.duckdb") as rx, \
            BatchSender(rx.endpoint, ack_timeout=2.0, window=1) as sender:
        for seq in range(4):
            sender.send(batch(seq))
            assert sender.pending <= 1
        assert sender.drain(timeout=5.0) == (4, 0)


def test_lost_batch_is_resent(scripted):
    # The first copy of every batch is "lost"; the re-send is stored.
    router = scripted(lambda b, copy: [encode_ack(b.key, "stored")] if copy else [])
    with BatchSender(router.endpoint, ack_timeout=0.15) as sender:
        for seq in range(3):
            sender.send(batch(seq))
        assert sender.drain(timeout=3.0) == (3, 0)
    assert sender.statuses == {"stored": 3}
    # at least one re-send each (a slow machine may need a second one)
    assert sender.resent >= 3
    assert set(router.seen) == {("mme-1", 1, 0), ("mme-1", 1, 1), ("mme-1", 1, 2)}
    assert min(router.seen.values()) >= 2


def test_second_answer_is_a_stray_ack(scripted):
    router = scripted(lambda b, copy: [encode_ack(b.key, "stored"),
                                       encode_ack(b.key, "duplicate"), b"junk"])
    with BatchSender(router.endpoint, ack_timeout=1.0) as sender:
        sender.send(batch(1))
        assert sender.drain(timeout=3.0) == (1, 0)
        time.sleep(0.1)
        sender.drain(timeout=0.1)  # reads the late extra replies
    assert sender.statuses == {"stored": 1}
    assert (sender.stray_acks, sender.bad_acks) == (1, 1)


def test_gives_up_after_retries(scripted):
    router = scripted(lambda b, copy: [])  # never answers
    with BatchSender(router.endpoint, ack_timeout=0.1, retries=2) as sender:
        sender.send(batch(1))
        start = time.monotonic()
        assert sender.drain(timeout=10.0) == (0, 1)
        elapsed = time.monotonic() - start
        assert len(sender.unacked_payloads()) == 1
    # first send + 2 retries, never more
    assert wait_for(lambda: router.seen == {("mme-1", 1, 1): 3}), router.seen
    assert 0.25 <= elapsed < 1.0  # 3 ack timeouts, far less than the drain timeout


def test_aggregator_down_drain_returns_within_timeout(tmp_path):
    down = "ipc://" + str(tmp_path / "nobody.sock")
    with BatchSender(down, ack_timeout=1.0, retries=3) as sender:
        for seq in range(3):
            sender.send(batch(seq))
        start = time.monotonic()
        assert sender.drain(timeout=0.3) == (0, 3)
        assert 0.25 <= time.monotonic() - start < 0.8


def test_aggregator_down_full_window_does_not_hang(tmp_path):
    down = "ipc://" + str(tmp_path / "nobody.sock")
    with BatchSender(down, ack_timeout=0.1, window=2, retries=1) as sender:
        start = time.monotonic()
        for seq in range(5):
            sender.send(batch(seq))
        elapsed = time.monotonic() - start
        assert sender.drain(timeout=1.0) == (0, 5)
    # the 3rd and 5th sends each wait for a full window to be given up (2 x 0.1 s)
    assert 0.35 <= elapsed < 1.5


def test_aggregator_started_late(tmp_path):
    endpoint = "ipc://" + str(tmp_path / "late.sock")
    with BatchSender(endpoint, ack_timeout=0.5) as sender:
        sender.send(batch(1))
        sender.send(batch(2))
        time.sleep(0.2)
        with running_aggregator(tmp_path / "a.duckdb", endpoint):
            acked, unacked = sender.drain(timeout=5.0)
    assert (acked, unacked) == (2, 0)
    assert sender.statuses["stored"] == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ack_timeout": 0}, "ack_timeout: must be > 0"),
    ({"window": 0}, "window: must be >= 1"),
    ({"retries": -1}, "retries: must be >= 0"),
    ({"endpoint": "localhost:5555"}, "endpoint: invalid ZeroMQ endpoint 'localhost:5555'"),
])
def test_bad_settings_name_the_item(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchSender(**{"endpoint": "tcp://127.0.0.1:5555", **kwargs})
