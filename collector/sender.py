"""The collector's link to the aggregator: a ZeroMQ DEALER with acknowledgements.

`BatchSender.send` puts a tally batch on the wire and keeps it *pending*
until the aggregator acknowledges it (stored, duplicate or rejected; see
wire.tally). At most `window` batches are pending; a further `send` first
waits for acknowledgements. A batch not acknowledged within `ack_timeout`
seconds is sent again, at most `retries` times; the aggregator drops
duplicates by key, so a re-send is always safe. A batch still
unacknowledged `ack_timeout` after its last re-send is *given up*: it leaves
the window (so an aggregator that is down never blocks the collector for
more than about (retries + 1) * ack_timeout) and is counted as unacked.
`drain(timeout)` waits for the pending batches and returns
(acked, unacked).

With a `spool` (collector.spool), every batch is on disk before it is sent
and leaves it when acknowledged: a batch given up, or pending at `close()`,
stays there and the next sender with that spool sends it again first
(`resend_spooled`). With `curve` (this collector's public and secret key and
the aggregator's public key) the link is CurveZMQ; an aggregator that does
not know the key never answers, and the batches stay in the spool.
A BatchSender is used by one thread.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter

import zmq

from wire.tally import TallyBatch, decode_ack, decode_batch, encode_batch

log = logging.getLogger("collector.sender")


def _ack_key(ack: dict | None) -> tuple[str, int, int] | None:
    """The batch key an ack answers, or None when its fields are not a key."""
    if ack is None:
        return None
    key = (ack.get("collector"), ack.get("epoch"), ack.get("seq"))
    if isinstance(key[0], str) and type(key[1]) is int and type(key[2]) is int:
        return key
    return None


class _Pending:
    """One batch on the wire: its bytes, when it was last sent, how often."""

    __slots__ = ("data", "sent_at", "attempts")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sent_at = 0.0
        self.attempts = 0


class BatchSender:
    """DEALER connected to the aggregator at `endpoint`.

    Counters for the collector's summary: `statuses` (Counter by status:
    'stored', 'duplicate', 'rejected'), `rejected` (Counter by reason),
    `resent` (re-sends after an ack timeout), `stray_acks` (acks of batches
    no longer pending, e.g. the second answer to a re-send), `bad_acks`
    (unreadable replies).
    """

    __slots__ = ("endpoint", "ack_timeout", "window", "retries", "statuses", "rejected", "resent",
                 "stray_acks", "bad_acks", "spool", "restored", "_pending", "_failed", "_ctx",
                 "_own_ctx", "_sock", "_poller")

    def __init__(self, endpoint: str, ack_timeout: float = 5.0, window: int = 64,
                 retries: int = 3, context: zmq.Context | None = None, spool=None,
                 curve: tuple[bytes, bytes, bytes] | None = None) -> None:
        if not ack_timeout > 0:
            raise ValueError(f"ack_timeout: must be > 0 seconds, got {ack_timeout!r}")
        if window < 1:
            raise ValueError(f"window: must be >= 1 batch, got {window!r}")
        if retries < 0:
            raise ValueError(f"retries: must be >= 0, got {retries!r}")
        self.endpoint, self.ack_timeout, self.window, self.retries = (
            endpoint, ack_timeout, window, retries)
        self.statuses: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.resent = self.stray_acks = self.bad_acks = self.restored = 0
        self._pending: dict[tuple[str, int, int], _Pending] = {}
        self._failed: dict[tuple[str, int, int], bytes] = {}
        self._own_ctx = context is None
        self._ctx = zmq.Context() if context is None else context
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)  # close never waits for an absent aggregator
        self.spool = spool
        if curve is not None:
            self._sock.curve_publickey, self._sock.curve_secretkey, self._sock.curve_serverkey = \
                curve
        try:
            self._sock.connect(endpoint)
        except zmq.ZMQError as exc:
            self.close()
            raise ValueError(f"endpoint: invalid ZeroMQ endpoint {endpoint!r}: {exc}") from None
        self._poller = zmq.Poller()
        self._poller.register(self._sock, zmq.POLLIN)

    @property
    def pending(self) -> int:
        """Batches sent and waiting for their acknowledgement."""
        return len(self._pending)

    @property
    def unacked(self) -> int:
        """Batches not acknowledged: pending plus given up."""
        return len(self._pending) + len(self._failed)

    def send(self, batch: TallyBatch) -> None:
        """Send `batch` and keep it pending until acked; waits first while the window is full."""
        data = encode_batch(batch)
        if self.spool is not None:
            self.spool.put(batch.key, data)
        self._send(batch.key, data)

    def resend_spooled(self) -> int:
        """Send again what the spool holds from earlier runs (oldest first); how many."""
        if self.spool is None:
            return 0
        n = 0
        for data in self.spool.load():
            batch, _reason = decode_batch(data)
            if batch is None:  # cannot happen for what we wrote; never block on it
                continue
            self._send(batch.key, data)
            n += 1
        self.restored += n
        return n

    def _send(self, key: tuple[str, int, int], data: bytes) -> None:
        self._read_acks()
        while key not in self._pending and len(self._pending) >= self.window:
            self._step(math.inf)  # bounded: overdue batches are given up
        entry = _Pending(data)
        self._failed.pop(key, None)
        self._pending[key] = entry
        self._transmit(entry, time.monotonic())

    def drain(self, timeout: float) -> tuple[int, int]:
        """Wait up to `timeout` s for all pending acks, re-sending late ones; (acked, unacked).

        Returns early once nothing is pending (every batch acked or given
        up). Counts cover the sender's whole life.
        """
        deadline = time.monotonic() + timeout
        self._read_acks()
        while self._pending and time.monotonic() < deadline:
            self._step(deadline)
        acked, unacked = sum(self.statuses.values()), self.unacked
        if unacked:
            log.warning("batches left unacknowledged unacked=%d acked=%d endpoint=%s",
                        unacked, acked, self.endpoint)
        return acked, unacked

    def unacked_payloads(self) -> list[bytes]:
        """Encoded batches not acknowledged (given up, then pending), for a future spool."""
        return [*self._failed.values(), *(e.data for e in self._pending.values())]

    def close(self) -> None:
        """Close the socket at once (unacked batches are dropped); idempotent."""
        if not self._sock.closed:
            self._sock.close(0)
        if self._own_ctx and not self._ctx.closed:
            self._ctx.term()

    def __enter__(self) -> BatchSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _step(self, deadline: float) -> None:
        """Re-send or give up overdue batches, then wait for acks until the next due time."""
        now = time.monotonic()
        wake = min(deadline, self._service_overdue(now))
        if not self._pending:
            return
        wait_ms = max(0, math.ceil((wake - now) * 1000))
        if self._poller.poll(wait_ms):
            self._read_acks()

    def _service_overdue(self, now: float) -> float:
        """Re-send batches whose ack is late, give up exhausted ones; the next due time."""
        next_due = math.inf
        for key, entry in list(self._pending.items()):
            due = entry.sent_at + self.ack_timeout
            if due > now:
                next_due = min(next_due, due)
            elif entry.attempts > self.retries:
                del self._pending[key]
                self._failed[key] = entry.data
            else:
                self.resent += 1
                log.debug("batch re-sent seq=%d attempt=%d", key[2], entry.attempts + 1)
                self._transmit(entry, now)
                next_due = min(next_due, now + self.ack_timeout)
        return next_due

    def _transmit(self, entry: _Pending, now: float) -> None:
        """One send attempt; a full queue (zmq.Again) counts as an attempt to retry later."""
        entry.sent_at, entry.attempts = now, entry.attempts + 1
        try:
            self._sock.send(entry.data, zmq.NOBLOCK)
        except zmq.Again:
            log.debug("send queue full, batch will be re-sent")

    def _read_acks(self) -> None:
        """Take every acknowledgement already received, without waiting."""
        while True:
            try:
                data = self._sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            ack = decode_ack(data)
            key = _ack_key(ack)
            if ack is None or key is None:
                self.bad_acks += 1
                continue
            if self._pending.pop(key, None) is None and self._failed.pop(key, None) is None:
                self.stray_acks += 1
                continue
            if self.spool is not None:
                self.spool.remove(key)
            self.statuses[ack["status"]] += 1
            if ack["status"] == "rejected":
                self.rejected[ack.get("reason") or "unknown"] += 1
