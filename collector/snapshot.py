"""Collector state on disk: `save(pipeline, path, position)` / `load(path)`.

A snapshot holds everything the edge pipeline needs to go on as if it had never
stopped (presence arrays and overflow, the analytics' per-device columns, the zones
interned, the tally's open rows, sketches and sequence number, the correlation
tables, the counters) plus the position of the input (`position`, a dict: for a
replay the index of the next message in the merged stream and the identity of the
captures).  Restoring it and feeding the rest of the input gives the batches an
uninterrupted run gives, byte for byte.

Format: 8 bytes of magic, a 32-byte blake2b digest of the body, the body: one msgpack
map (`version`, `position`, `config`, `state`).  Values are plain msgpack types (every
sequence reads back as a tuple, hashable as the correlation tables' keys need; the
state's owners make lists again where they append) plus four extension types: numpy
arrays (dtype, shape, bytes), `array.array` (typecode, bytes), tally rows (class name
and fields by name) and integers beyond 64 bits.  No pickle: loading a file
never runs code.  The file holds pseudonyms (never an identity); it is written to a
temporary file in the same folder, fsynced, renamed, with mode 0600.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import tempfile
from array import array
from pathlib import Path

import msgpack
import numpy as np

from wire import tally as wire_tally

MAGIC = b"CCSTATE\n"
VERSION = 1
log = logging.getLogger("collector.state")
FILE_NAME = "collector.state"
_NDARRAY, _ARRAY, _ROW, _BIGINT = 1, 2, 4, 5
# tally rows waiting for a push
ROWS = {cls.__name__: cls for cls in (
    wire_tally.PresenceRow, wire_tally.SketchRow, wire_tally.StayRow,
    wire_tally.OvernightRow, wire_tally.RecurrenceRow, wire_tally.FlowRow,
    wire_tally.ResidentRow)}


class SnapshotError(Exception):
    """A snapshot that cannot be used; the message names the file."""


def _default(obj):
    if isinstance(obj, np.ndarray):
        return msgpack.ExtType(_NDARRAY, msgpack.packb(
            [obj.dtype.str, list(obj.shape), np.ascontiguousarray(obj).tobytes()]))
    if isinstance(obj, array):
        return msgpack.ExtType(_ARRAY, msgpack.packb([obj.typecode, obj.tobytes()]))
    name = type(obj).__name__
    if ROWS.get(name) is type(obj):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return msgpack.ExtType(_ROW, _pack([name, fields]))
    if type(obj) is int:  # beyond 64 bits (an IPv6 address as a number in a bearer key)
        return msgpack.ExtType(_BIGINT, obj.to_bytes(obj.bit_length() // 8 + 1, "big",
                                                     signed=True))
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    raise TypeError(f"cannot put a {type(obj).__name__} in a snapshot")


def _ext(code: int, data: bytes):
    if code == _NDARRAY:
        dtype, shape, raw = msgpack.unpackb(data)
        return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()
    if code == _ARRAY:
        typecode, raw = msgpack.unpackb(data)
        out = array(typecode)
        out.frombytes(raw)
        return out
    if code == _BIGINT:
        return int.from_bytes(data, "big", signed=True)
    if code == _ROW:
        name, fields = _unpack(data)
        return ROWS[name](**fields)
    raise ValueError(f"unknown extension type {code}")


def _pack(obj) -> bytes:
    return msgpack.packb(obj, default=_default, use_bin_type=True)


def _unpack(data: bytes):
    return msgpack.unpackb(data, ext_hook=_ext, strict_map_key=False, raw=False,
                           use_list=False)


def encode(doc: dict) -> bytes:
    """The file bytes of a snapshot document."""
    body = _pack(doc)
    return MAGIC + hashlib.blake2b(body, digest_size=32).digest() + body


def decode(path: str, data: bytes) -> dict:
    """The document of a snapshot file's bytes; SnapshotError names the file."""
    hint = "; remove it or start fresh with --state-reset"
    if not data.startswith(MAGIC):
        raise SnapshotError(f"{path}: not a collector state snapshot{hint}")
    digest, body = data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
    if hashlib.blake2b(body, digest_size=32).digest() != digest:
        raise SnapshotError(f"{path}: corrupt state snapshot (checksum mismatch){hint}")
    try:
        doc = _unpack(body)
    except (ValueError, TypeError, KeyError, msgpack.UnpackException) as e:
        raise SnapshotError(f"{path}: unreadable state snapshot ({type(e).__name__}){hint}") \
            from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        version = doc.get("version") if isinstance(doc, dict) else None
        raise SnapshotError(f"{path}: state snapshot version {version!r} is not the supported "
                            f"{VERSION}{hint}")
    return doc


def write_atomic(path: str, data: bytes) -> None:
    """Write `data` to `path`: temporary file in the same folder (mode 0600), fsync,
    rename, fsync of the folder."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def save(pipeline, path: str, position: dict, config: dict | None = None) -> int:
    """Snapshot `pipeline` (collector.app.EdgePipeline) with the input `position` and the
    `config` it must be restored under to `path`; the bytes written."""
    data = encode({"version": VERSION, "position": position, "config": config or {},
                   "state": pipeline.state()})
    write_atomic(path, data)
    return len(data)


def load(path: str) -> tuple[dict, dict, dict]:
    """(state, position, config) of a snapshot file; SnapshotError names the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise SnapshotError(f"{path}: cannot read state snapshot: {e.strerror}") from None
    doc = decode(path, data)
    return doc["state"], doc.get("position") or {}, doc.get("config") or {}


def _tuples(value):
    """`value` as it reads back from a snapshot (sequences as tuples)."""
    return tuple(map(_tuples, value)) if isinstance(value, (list, tuple)) else value


def captures_identity(paths: list[str]) -> list[list]:
    """The identity of a capture list: real path and size of each, in order."""
    return [[os.path.realpath(p), os.path.getsize(p)] for p in paths]


def config_of(cfg, pseudonymizer) -> dict:
    """What a snapshot must be restored under (collector.app.EdgeConfig and the key): a
    state made with other bins, windows, zones or key would be read wrongly.  One key is
    represented by the pseudonym of an empty identity (a keyed hash, not the key); a key
    ring (collector.keyring) only by "key-ring" here: its keys change with capture time,
    so the pipeline state holds the ring's `check` at snapshot time, compared once the
    restored ring is advanced to that time (`StateDir.restore`)."""
    # the analytics parameters (inputs such as subscriber profiles are not compared)
    a = {f.name: getattr(cfg.analytics, f.name) for f in dataclasses.fields(cfg.analytics)
         if f.compare}
    tacs = hashlib.blake2b("\n".join(sorted(cfg.m2m_tacs)).encode(), digest_size=8).hexdigest()
    return {"collector": cfg.collector_id, "bin_seconds": cfg.bin_seconds,
            "timeout": cfg.timeout, "timeout_night": cfg.timeout_night,
            "lateness": cfg.lateness, "analytics": a, "m2m_tacs": tacs,
            "reference": None if cfg.reference is None else os.path.realpath(cfg.reference),
            "key": "key-ring" if hasattr(pseudonymizer, "check") else pseudonymizer("")}


class StateDir:
    """`--state-dir DIR`: the snapshot file DIR/collector.state, restored at start and
    written every `interval` seconds (of capture time for a replay, wall time live)."""

    __slots__ = ("folder", "path", "interval", "config", "next_due", "written")

    def __init__(self, folder: str, interval: float, config: dict, reset: bool = False) -> None:
        self.folder, self.interval, self.config = folder, interval, config
        self.path = os.path.join(folder, FILE_NAME)
        self.next_due: float | None = None
        self.written = 0
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            for tmp in Path(folder).glob(".state-*.tmp"):  # a write a crash interrupted
                tmp.unlink()
            if reset:
                Path(self.path).unlink(missing_ok=True)
        except OSError as e:
            raise SnapshotError(f"{folder}: cannot use state folder: {e.strerror}") from None

    def restore(self, pipeline, kind: str, captures: list | None = None) -> dict | None:
        """Restore `pipeline` from the snapshot if there is one; its position (None: no
        snapshot, a fresh start).  SnapshotError names the file when it cannot be used."""
        if not os.path.exists(self.path):
            return None
        state, position, config = load(self.path)
        hint = "; use the same settings, or --state-reset to start fresh"
        for name, want in self.config.items():
            if config.get(name) != want:
                what = "pseudonymisation key" if name == "key" else name
                raise SnapshotError(f"{self.path}: the snapshot was made with another "
                                    f"{what}{hint}")
        if position.get("kind") != kind:
            raise SnapshotError(f"{self.path}: the snapshot is of a {position.get('kind')} "
                                f"run, not a {kind} run{hint}")
        if kind == "replay" and position.get("captures") != _tuples(captures):
            raise SnapshotError(f"{self.path}: the snapshot is of other captures (paths or "
                                "sizes differ); give the same captures, or --state-reset to "
                                "start fresh")
        if position.get("finished"):
            raise SnapshotError(f"{self.path}: these captures were replayed to the end "
                                "already; --state-reset to replay them again")
        try:
            pipeline.restore(state)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise SnapshotError(f"{self.path}: incompatible state snapshot "
                                f"({type(e).__name__}){hint}") from None
        if (state.get("keys") or {}).get("check") != pipeline.keys_check():
            raise SnapshotError(f"{self.path}: the snapshot was made with other keys than "
                                "--key-dir holds at its capture time (another key, or the "
                                "previous key destroyed since: stopped by SIGKILL after the "
                                f"overlap ended){hint}")
        if kind == "replay":  # batches made again after a kill: the same keys (duplicates)
            pipeline.tally.epoch = position["epoch"]
        return position

    def due(self, now: float) -> bool:
        """Whether a periodic snapshot is due at `now` (the first call starts the clock)."""
        if self.next_due is None:
            self.next_due = now + self.interval
        return now >= self.next_due

    def save(self, pipeline, position: dict, now: float | None = None) -> None:
        """Write the snapshot of `pipeline` at `position`; the next is due `interval` later."""
        position = {**position, "epoch": pipeline.tally.epoch}
        try:
            self.written = save(pipeline, self.path, position, self.config)
        except OSError as e:
            raise SnapshotError(f"{self.path}: cannot write state snapshot: "
                                f"{e.strerror}") from None
        if now is not None:
            self.next_due = now + self.interval
        log.debug("state saved bytes=%d messages=%s", self.written, position.get("index", "-"))
