"""The aggregator's front door: a ZeroMQ ROUTER that validates, stores and acknowledges.

Each collector's DEALER sends one frame per batch (ROUTER prepends the
routing id). A batch is checked with `wire.tally.decode_batch`; an invalid
one is answered `rejected` with its reason and counted, never raised
(FlowKit's "reject at the door"). A valid one is written to the store in
one transaction and only then answered `stored`; a batch whose key is
already stored is answered `duplicate`. A store failure is not the
collector's fault: the batch is not acknowledged, so the collector re-sends
it later.

With `curve` (the aggregator's key pair) and `allow` (a folder of collector
public keys), the ROUTER is a CurveZMQ server: the link is encrypted and a ZAP
handler (pyzmq's authenticator) admits only the listed keys; a refused
collector is logged with its public key and counted (`refused`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field

import duckdb
import msgpack
import zmq
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85

from aggregator.store import Store
from wire.tally import MAX_BATCH_BYTES, REJECT_REASONS, decode_batch, encode_ack

# Reasons a message is rejected: the wire decoder's, plus one for a message
# that is not exactly [routing id, payload] (a REQ socket, a multipart send).
REASONS = ("bad_frames", *REJECT_REASONS)
NO_KEY = ("", 0, 0)
# the row kinds of a batch (wire.tally.TallyBatch's tuples), as the metrics count them
ROW_KINDS = ("presence", "sketches", "stays", "overnight", "recurrence", "flows", "residents")
_POLL_MS = 100
_LINGER_MS = 1000

log = logging.getLogger("aggregator.receiver")


@dataclass(slots=True)
class ReceiverStats:
    """What the receiver did with the messages it got (aggregator.metrics reads it)."""

    received: int = 0
    stored: int = 0
    duplicate: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    store_errors: int = 0
    refused: int = 0
    rows: Counter[str] = field(default_factory=Counter)  # rows stored, by ROW_KINDS
    collectors: set[str] = field(default_factory=set)    # names of valid batches' senders

    def summary(self) -> str:
        """key=value text for the stop log line, rejects listed by reason."""
        by_reason = ",".join(f"{r}:{n}" for r, n in sorted(self.rejected.items())) or "none"
        return (f"stored={self.stored} duplicate={self.duplicate}"
                f" rejected={sum(self.rejected.values())} rejected_by_reason={by_reason}"
                f" store_errors={self.store_errors} refused={self.refused}")


def best_effort_key(payload: bytes) -> tuple[str, int, int]:
    """The (collector, epoch, seq) of a rejected payload when readable, else NO_KEY.

    Lets a collector match a rejection to the batch it sent.
    """
    if len(payload) > MAX_BATCH_BYTES:
        return NO_KEY
    try:
        obj = msgpack.unpackb(payload, raw=False)
    except Exception:  # garbage: msgpack raises several unrelated types
        return NO_KEY
    if not isinstance(obj, dict):
        return NO_KEY
    collector, epoch, seq = obj.get("collector"), obj.get("epoch"), obj.get("seq")
    if isinstance(collector, str) and len(collector) <= 64 and all(
            type(v) is int and 0 <= v < 2**63 for v in (epoch, seq)):
        return (collector, epoch, seq)
    return NO_KEY


class Receiver:
    """ROUTER socket bound to `endpoint`, feeding `store`.

    `bind()` opens the socket (the resolved endpoint, e.g. with a `*` port,
    is then in `endpoint`), `run(stop)` serves until `stop` is set, `close()`
    releases the socket. The message being handled when `stop` is set is
    finished and acknowledged first.
    """

    __slots__ = ("endpoint", "store", "stats", "_ctx", "_own_ctx", "_sock", "_fatal", "_curve",
                 "_allow", "_gate")

    def __init__(self, endpoint: str, store: Store, context: zmq.Context | None = None,
                 curve: tuple[bytes, bytes] | None = None, allow: str | None = None) -> None:
        self.endpoint = endpoint
        self._curve, self._allow, self._gate = curve, allow, None
        self.store = store
        self.stats = ReceiverStats()
        self._own_ctx = context is None
        self._ctx = zmq.Context() if context is None else context
        self._sock: zmq.Socket | None = None
        self._fatal: str | None = None

    def bind(self) -> None:
        """Create and bind the ROUTER; raises zmq.ZMQError if the endpoint is unusable."""
        sock = self._ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, _LINGER_MS)
        # Oversized messages up to 4x the limit get a "too_large" reply;
        # beyond that libzmq drops the connection before buffering them.
        sock.setsockopt(zmq.MAXMSGSIZE, 4 * MAX_BATCH_BYTES)
        if self._curve is not None:
            self._gate = _Gate(self._ctx, self.stats)
            self._gate.start()
            self._gate.configure_curve(domain="*", location=self._allow)
            sock.curve_publickey, sock.curve_secretkey = self._curve
            sock.curve_server = True
        try:
            sock.bind(self.endpoint)
        except zmq.ZMQError:
            sock.close(0)
            raise
        self.endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self._sock = sock

    def run(self, stop: threading.Event) -> str | None:
        """Serve until `stop` is set; None on a clean stop, else the fatal error text."""
        if self._sock is None:
            self.bind()
        sock = self._sock
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        while not stop.is_set() and self._fatal is None:
            if not poller.poll(_POLL_MS):
                continue
            frames = sock.recv_multipart(copy=True)
            reply = self.handle(frames)
            if reply is not None:
                sock.send_multipart([frames[0], reply])
        return self._fatal

    def handle(self, frames: list[bytes]) -> bytes | None:
        """The ack for one ROUTER message, or None when none must be sent."""
        self.stats.received += 1
        if len(frames) != 2:
            return self._reject(NO_KEY, "bad_frames")
        payload = frames[1]
        batch, reason = decode_batch(payload)
        if batch is None:
            return self._reject(best_effort_key(payload), reason)
        try:
            status = self.store.put(batch)
        except duckdb.Error as exc:
            return self._store_failed(exc)
        stats = self.stats
        stats.collectors.add(batch.collector)
        if status == "stored":
            stats.stored += 1
            for kind in ROW_KINDS:
                stats.rows[kind] += len(getattr(batch, kind))
        else:
            stats.duplicate += 1
        log.debug("batch %s collector=%s epoch=%d seq=%d rows=%d",
                  status, batch.collector, batch.epoch, batch.seq, len(batch.presence))
        return encode_ack(batch.key, status)

    def _reject(self, key: tuple[str, int, int], reason: str) -> bytes:
        self.stats.rejected[reason] += 1
        log.debug("batch rejected reason=%s collector=%s", reason, key[0] or "-")
        return encode_ack(key, "rejected", reason)

    def _store_failed(self, exc: duckdb.Error) -> None:
        """Count a store failure; a dead database (FatalException) stops the receiver."""
        self.stats.store_errors += 1
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if self.stats.store_errors == 1 or isinstance(exc, duckdb.FatalException):
            log.error("batch not stored, left unacknowledged for a re-send error=%s", text)
        if isinstance(exc, duckdb.FatalException):
            self._fatal = f"database failed: {text}"
        return None

    def close(self) -> None:
        """Close the socket (queued acks get up to one second to leave); idempotent."""
        if self._sock is not None:
            self._sock.close(_LINGER_MS)
            self._sock = None
        if self._gate is not None:
            self._gate.stop()
            self._gate = None
        if self._own_ctx and not self._ctx.closed:
            self._ctx.term()


class _Gate(ThreadAuthenticator):
    """pyzmq's ZAP authenticator, logging each refused collector at WARNING."""

    def __init__(self, context: zmq.Context, stats: ReceiverStats) -> None:
        super().__init__(context, log=logging.getLogger("aggregator.auth"))
        self._stats = stats

    async def _authenticate_curve(self, domain: str, client_key: bytes) -> tuple[bool, bytes]:
        allowed, reason = await super()._authenticate_curve(domain, client_key)
        if not allowed:
            self._stats.refused += 1
            log.warning("collector refused reason=%s public_key=%s",
                        reason.decode(errors="replace"), z85.encode(client_key).decode())
        return allowed, reason
