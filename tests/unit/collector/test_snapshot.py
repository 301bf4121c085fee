"""Collector state snapshots (collector/snapshot.py): every part round-trips, a pipeline
restored mid-stream emits the batches of an uninterrupted one byte for byte (real golden
captures, many cut points), bad files are refused with their name, the file is 0600, and
state older than the windows is purged rather than kept."""

from __future__ import annotations

import datetime as dt
import os
from array import array
from pathlib import Path

import numpy as np
import pytest

from collector.app import EdgeConfig, EdgePipeline
from collector.edge import AnalyticsConfig, EdgeAnalytics
from collector.identity import BoundedTable, Correlator, Subscriber
from collector.order import keyed_messages
from collector.presence import PresenceState
from collector.snapshot import (
    FILE_NAME,
    SnapshotError,
    StateDir,
    captures_identity,
    config_of,
    decode,
    encode,
    load,
    save,
)
from collector.tally import PresenceTally
from collector.telemetry import Counters
from collector.zones import ZoneMap
from tests.helpers import capture_paths
from wire.pseudonym import Pseudonymizer, write_key
from wire.tally import PresenceRow, ResidentRow, encode_batch

D0 = int(dt.datetime(2026, 12, 7, tzinfo=dt.UTC).timestamp())
X, Y = ("00101", 1, 10), ("00101", 1, 11)
KEY = Pseudonymizer(b"s" * 32)


def again(state):
    """`state` through the file encoding and back."""
    return decode("mem", encode({"version": 1, "state": state}))["state"]


def test_values_round_trip_with_their_types():
    value = {"t": (1, (b"\x00ab", 2), None), 7: np.arange(5, dtype=np.uint32),
             (1, 2): [1.5, float("inf"), -float("inf")], "big": (1 << 64) - 1,
             "v6": (1 << 127) + 5, "neg": -(1 << 70),
             "a": array("d", [0.25, 2.0]),
             "row": ResidentRow(D0, "00101", "parc", 3), "nested": {1: {2: 3.5}}}
    got = again(value)
    assert got["t"] == value["t"] and type(got["t"][1]) is tuple
    assert got[7].dtype == np.uint32 and got[7].tolist() == [0, 1, 2, 3, 4]
    assert got[(1, 2)] == (1.5, float("inf"), -float("inf"))  # every sequence: a tuple
    assert got["a"] == value["a"] and got["a"].typecode == "d"
    assert got["row"] == value["row"] and got["big"] == value["big"]
    assert got["v6"] == value["v6"] and got["neg"] == value["neg"]
    assert got["nested"] == {1: {2: 3.5}}


def _presence() -> PresenceState:
    st = PresenceState(900, 7200.0, 60.0)
    st.observe(1, D0 + 10, X, 208)
    st.observe(2, D0 + 20, X, 1, 3)
    st.observe(1, D0 + 500, Y)          # device 1 moves within a bin: overflow
    st.observe(3, D0 + 600, Y)
    st.observe(3, D0 + 700, None)       # detach: its slot is freed when the bin closes
    st.advance(D0 + 1000)
    return st


def test_presence_round_trip_goes_on_identically():
    a, b = _presence(), PresenceState(900, 7200.0, 60.0)
    b.restore(again(a.state()))
    assert len(b) == len(a) and b._free == a._free and b._overflow == a._overflow
    for st in (a, b):
        st.observe(4, D0 + 1100, Y)
        st.observe(1, D0 + 1200, X)
    assert [a.advance(D0 + 9000), a.flush()] == [b.advance(D0 + 9000), b.flush()]


def test_tally_round_trip_keeps_sketches_rows_and_seq():
    a, b = PresenceTally("c", 5, 900), PresenceTally("c", 5, 900)
    cells = [X, Y]
    keys = np.array([11, 12, (1 << 64) - 3], dtype=np.uint64)
    a.close_bin(D0, cells, np.array([0, 0, 1]), keys, np.array([1, 1, 208], dtype=np.uint16))
    a.push()
    a.close_bin(D0 + 900, cells, np.array([1, 0]), keys[:2], np.array([1, 1], dtype=np.uint16))
    a._rows.append(PresenceRow(D0, "00101", 1, 10, 2, "domestic"))
    b.restore(again(a.state()))
    assert b.seq == a.seq == 1
    for t in (a, b):
        t.close_bin(D0 + 1800, cells, np.array([0]), keys[2:], np.array([208], dtype=np.uint16))
    assert [encode_batch(x) for x in a.push(final=True)] == \
        [encode_batch(x) for x in b.push(final=True)]


def test_correlation_tables_round_trip_in_lru_order():
    a = Correlator(max_entries=3)
    a.ue_learn(("assoc", 1), 7, 9, Subscriber(1, "001"), 10.0)
    a.tmsi_learn(1, 0xABC, Subscriber(2, None), 11.0)
    a.session_learn(99, Subscriber(3, "208"), 12.0)
    a.tunnel_learn(b"\x0a\x00\x00\x02", 0x10, Subscriber(4, "001"), 13.0)
    b = Correlator(max_entries=3)
    b.restore(again(a.state()))
    assert b.state() == a.state()
    assert all(type(v) is Subscriber for _k, _t, v in b.state()["_tmsi"][0])
    for c in (a, b):  # the least recently used goes first in both
        assert c.ue_lookup(("assoc", 1), 7, None, 20.0) == Subscriber(1, "001")
        c.tmsi_learn(1, 0xDEF, Subscriber(5, None), 21.0)
        c.tmsi_learn(1, 0xDE0, Subscriber(6, None), 22.0)
    assert b.state() == a.state()
    t = BoundedTable(2, 5.0)
    t.put("k", 1, 0.0)
    u = BoundedTable(2, 5.0)
    u.restore(again(t.state()))
    assert u.get("k", 4.0) == 1 and u.get("k", 20.0) is None


def _cfg(**kw) -> EdgeConfig:
    return EdgeConfig("c", 1, analytics=AnalyticsConfig(home_min_nights=1), **kw)


def _batches(cuts: set[int]) -> list[bytes]:
    out, pipe = [], EdgePipeline(_cfg(), KEY, Counters())
    for i, (_k, ts, frame, msg) in enumerate(keyed_messages(list(map(str, capture_paths())),
                                                            Counters())):
        if i in cuts:
            state = again(pipe.state())
            pipe = EdgePipeline(_cfg(), KEY, Counters())
            pipe.restore(state)
        out += [encode_batch(b) for b in pipe.feed(frame, ts, msg)]
    return out + [encode_batch(b) for b in pipe.finish()]


def test_pipeline_restored_mid_stream_emits_the_same_bytes():
    whole = _batches(set())
    assert len(whole) > 3
    assert _batches(set(range(1, 4000, 97))) == whole


def test_file_is_0600_atomic_and_corruption_is_named(tmp_path):
    path = str(tmp_path / FILE_NAME)
    pipe = EdgePipeline(_cfg(), KEY, Counters())
    os.umask(0o022)
    save(pipe, path, {"kind": "replay", "index": 3})
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == [FILE_NAME]
    state, position, _config = load(path)
    assert position["index"] == 3 and set(state) >= {"presence", "edge", "tally", "correlator"}
    data = Path(path).read_bytes()
    for bad in (data[:len(data) // 2], data[:-1] + bytes([data[-1] ^ 1]), b"PK\x03\x04junk",
                b"", encode({"version": 99})):
        with open(path, "wb") as f:
            f.write(bad)
        with pytest.raises(SnapshotError, match=rf"^{path}: .*--state-reset"):
            load(path)


def test_state_dir_refuses_other_settings_captures_and_finished_runs(tmp_path):
    caps = list(map(str, capture_paths()))
    cfg = _cfg()
    folder = str(tmp_path / "state")
    sd = StateDir(folder, 300, config_of(cfg, KEY))
    assert os.stat(folder).st_mode & 0o777 == 0o700
    pipe = EdgePipeline(cfg, KEY, Counters())
    assert sd.restore(pipe, "replay", captures_identity(caps)) is None  # nothing yet
    sd.save(pipe, {"kind": "replay", "captures": captures_identity(caps), "index": 5})
    got = StateDir(folder, 300, config_of(cfg, KEY)).restore(
        EdgePipeline(cfg, KEY, Counters()), "replay", captures_identity(caps))
    assert got["index"] == 5 and got["epoch"] == 1
    cases = [(config_of(_cfg(bin_seconds=600), KEY), caps, "another bin_seconds"),
             (config_of(cfg, Pseudonymizer(b"t" * 32)), caps, "another pseudonymisation key"),
             (config_of(cfg, KEY), caps[:1], "other captures")]
    for config, paths, message in cases:
        with pytest.raises(SnapshotError, match=message):
            StateDir(folder, 300, config).restore(EdgePipeline(cfg, KEY, Counters()),
                                                  "replay", captures_identity(paths))
    with pytest.raises(SnapshotError, match="not a live run"):
        StateDir(folder, 300, config_of(cfg, KEY)).restore(pipe, "live")
    sd.save(pipe, {"kind": "replay", "captures": captures_identity(caps), "finished": True})
    with pytest.raises(SnapshotError, match="replayed to the end"):
        sd.restore(pipe, "replay", captures_identity(caps))
    StateDir(folder, 300, config_of(cfg, KEY), reset=True)
    assert not os.path.exists(os.path.join(folder, FILE_NAME))


def test_state_older_than_the_windows_is_purged():
    # device 1 is seen once; device 2 keeps the clock going, one event a day.  Retention
    # is (max(home nights 3, recurrence days 2) + 1) days after device 1's last bin.
    presence = PresenceState(900, 7200.0, 0.0)
    tally = PresenceTally("c", 1, 900)
    edge = EdgeAnalytics(presence, tally, ZoneMap(),
                         AnalyticsConfig(home_window=3, home_min_nights=1, recurrence_days=2))
    presence.observe(1, D0, X, 1)
    presence.observe(1, D0 + 100, None)
    held = []
    for day in range(1, 7):
        presence.observe(2, D0 + day * 86400, Y, 1)
        presence.advance(D0 + day * 86400)
        tally.push()
        held.append(1 in presence._slot)
    # device 1's last bin ends at D0 + 900: kept while D0 + 900 + 4 days > now
    assert held == [True, True, True, True, False, False]
    assert edge.retention == 4 * 86400
    state = again(presence.state())
    assert 1 not in state["_key"].tolist() or state["_used"][state["_key"].tolist().index(1)] == 0
    table = BoundedTable(10, 86400.0)
    table.put("old", 1, 0.0)
    table.put("new", 2, 86401.0)  # a put past the ttl purges the expired front
    assert len(table) == 1 and [k for k, _t, _v in table.state()[0]] == ["new"]


class _FakeCapture:
    """LiveCapture's poll/close over given frames (one poll gives them all)."""

    frames: list = []

    def __init__(self, interface: str, **_options) -> None:
        self._frames = list(self.frames)
        self.interface, self.dropped = interface, 0

    def poll(self, _timeout: float) -> list:
        out, self._frames = self._frames, []
        return out

    def kernel_drops(self) -> int:
        return 0

    def close(self) -> None:
        pass


def _live(monkeypatch, frames, state) -> list:
    """Batches of `collector live` over `frames`, the clock at the last frame's time."""
    import collector.live as live

    _FakeCapture.frames = frames
    monkeypatch.setattr(live, "LiveCapture", _FakeCapture)
    monkeypatch.setattr(live.time, "time", lambda: frames[-1][1])
    sent = []

    class Sender:
        def send(self, batch):
            sent.append(batch)

    summary = live.run_live("fake0", _cfg(), KEY, Sender(), duration=0.05, state=state)
    assert summary.stopped  # a stop with a state dir: snapshot, no finish
    return sent


def test_live_goes_on_from_its_snapshot_under_a_new_epoch(tmp_path, monkeypatch):
    from collector.sources.pcap import read_capture

    # a real attach capture, its frames spread 30 s apart so that bins close on the way
    path = next(p for p in capture_paths() if p.name.endswith("testattach.pcapng"))
    frames = [(n, D0 + 30.0 * i, link, data) for i, (n, _ts, link, data)
              in enumerate(read_capture(str(path), Counters()))]
    half = len(frames) // 2

    def rows(batches):
        return sorted(repr((k, r)) for b in batches for k in ("presence", "sketches", "stays")
                      for r in getattr(b, k))

    def state_dir(name):
        return StateDir(str(tmp_path / name), 300, config_of(_cfg(), KEY))

    whole = _live(monkeypatch, frames, state_dir("one"))
    first = _live(monkeypatch, frames[:half], state_dir("two"))
    sd = state_dir("two")
    second = _live(monkeypatch, frames[half:], sd)
    assert rows(first + second) == rows(whole) and rows(whole)
    assert [b.seq for b in first + second] == list(range(len(first + second)))
    _state, position, _config = load(sd.path)
    assert position["kind"] == "live" and position["interface"] == "fake0"


def test_command_line_errors_name_the_file(tmp_path, capsys):
    from collector.__main__ import main

    cap = str(next(p for p in capture_paths() if p.name.endswith("testattach.pcapng")))
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / FILE_NAME).write_bytes(b"garbage")
    assert main(["replay", cap, "--dry-run", "--state-dir", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / FILE_NAME}: not a collector state snapshot" in err
    assert "Traceback" not in err
    assert main(["replay", cap, "--dry-run", "--state-reset"]) == 2
    assert "--state-reset needs --state-dir" in capsys.readouterr().err
    # without --key-file the key is fresh each run: the snapshot is refused as another key's
    assert main(["replay", cap, "--dry-run", "--state-dir", str(folder), "--state-reset"]) == 0
    assert main(["replay", cap, "--dry-run", "--state-dir", str(folder)]) == 2
    assert "made with another pseudonymisation key" in capsys.readouterr().err
    key = str(tmp_path / "k")
    write_key(key)
    args = ["replay", cap, "--dry-run", "--key-file", key, "--state-dir", str(folder)]
    assert main([*args, "--state-reset"]) == 0
    assert main(args) == 2
    assert "replayed to the end already" in capsys.readouterr().err


def test_key_ring_state_is_restored_and_other_keys_refused(tmp_path):
    from collector.keyring import KeyRing

    def ring(second: bytes = b"b" * 32) -> KeyRing:
        return KeyRing([(0, b"a" * 32), (D0, second)], overlap=86400.0)

    cfg, folder = _cfg(), str(tmp_path / "state")
    rotating = ring()
    assert config_of(cfg, rotating)["key"] == "key-ring"
    pipe = EdgePipeline(cfg, rotating, Counters())
    pipe.feed_facts(1, D0 + 60.0, "s1ap", None, b"", None, (3, ((1, 2), (3, 4))))
    pipe.presence.moved[7] = 8
    assert rotating.overlapping and rotating.carried == 2
    StateDir(folder, 300, config_of(cfg, rotating)).save(pipe, {"kind": "live"})
    again = ring()
    restored = EdgePipeline(cfg, again, Counters())
    StateDir(folder, 300, config_of(cfg, again)).restore(restored, "live")
    assert again.check() == rotating.check() and again.carried == 2
    assert restored.presence.moved == {7: 8}
    other = ring(b"c" * 32)
    with pytest.raises(SnapshotError, match="other keys"):
        StateDir(folder, 300, config_of(cfg, other)).restore(
            EdgePipeline(cfg, other, Counters()), "live")
    with pytest.raises(SnapshotError, match="another pseudonymisation key"):
        StateDir(folder, 300, config_of(cfg, KEY)).restore(
            EdgePipeline(cfg, KEY, Counters()), "live")
