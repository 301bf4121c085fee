"""Key epochs: the active key by capture time, the overlap that carries history, the
destruction of old keys (DESIGN.md, "Pseudonymisation")."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from collector.keyring import KeyRing, epoch_start, new_epoch_key
from wire.pseudonym import KeyFileError, load_key

DAY = 86400
IMSI = "208150123456789"


def blake(key: bytes, digits: str) -> int:
    """The DESIGN.md pseudonym function written out (the oracle)."""
    return int.from_bytes(hashlib.blake2b(digits.encode(), key=key, digest_size=8).digest(), "big")


@pytest.fixture
def ring_dir(tmp_path):
    folder = tmp_path / "keys"
    for day in ("2026-11-01", "2026-12-01", "2027-01-01"):
        new_epoch_key(str(folder), day)
    return folder


def keys_of(folder) -> dict[str, bytes]:
    return {p.name[:10]: load_key(str(p)) for p in sorted(folder.iterdir())}


def test_epoch_start_is_utc_midnight():
    assert epoch_start("2026-12-01") == 1796083200
    with pytest.raises(ValueError):
        epoch_start("2026-13-01")


def test_active_key_follows_capture_time(ring_dir):
    keys = keys_of(ring_dir)
    ring = KeyRing.load(str(ring_dir), overlap=2 * DAY)
    ring.advance(epoch_start("2026-11-15"))
    assert ring(IMSI) == blake(keys["2026-11-01"], IMSI)
    ring.advance(epoch_start("2026-12-01") + 10)
    assert ring(IMSI) == blake(keys["2026-12-01"], IMSI)
    assert ring.epoch == epoch_start("2026-12-01")


def test_overlap_carries_old_to_new_then_destroys_old_key(ring_dir):
    keys = keys_of(ring_dir)
    ring = KeyRing.load(str(ring_dir), overlap=2 * DAY)
    pairs = []
    ring.carry = lambda old, new: pairs.append((old, new))
    ring.advance(epoch_start("2026-11-20"))
    ring(IMSI)
    assert pairs == []                       # nothing before 2026-11-01 to carry from
    start = epoch_start("2026-12-01")
    ring.advance(start + DAY)
    assert ring(IMSI) == blake(keys["2026-12-01"], IMSI)
    assert pairs == [(blake(keys["2026-11-01"], IMSI), blake(keys["2026-12-01"], IMSI))]
    assert (ring_dir / "2026-11-01.key").exists()
    assert ring.next_change == start + 2 * DAY
    ring.advance(start + 2 * DAY)
    ring(IMSI)
    assert len(pairs) == 1                   # overlap over: no more carrying
    assert not (ring_dir / "2026-11-01.key").exists()
    assert ring.destroyed == 1
    assert ring.next_change == epoch_start("2027-01-01")


def test_jump_over_epochs_destroys_all_but_the_previous(ring_dir):
    ring = KeyRing.load(str(ring_dir), overlap=3 * DAY)
    ring.advance(epoch_start("2027-01-01") + DAY)
    assert sorted(p.name for p in ring_dir.iterdir()) == ["2026-12-01.key", "2027-01-01.key"]
    ring.advance(epoch_start("2027-01-01") + 3 * DAY)
    assert sorted(p.name for p in ring_dir.iterdir()) == ["2027-01-01.key"]


def test_capture_before_first_epoch_is_an_error(ring_dir):
    ring = KeyRing.load(str(ring_dir))
    with pytest.raises(KeyFileError, match="no key epoch"):
        ring.advance(epoch_start("2026-10-31"))


def test_key_files_are_0600_and_never_overwritten(ring_dir):
    for p in ring_dir.iterdir():
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        new_epoch_key(str(ring_dir), "2026-11-01")


def test_load_errors_name_the_file_never_the_key(tmp_path, ring_dir):
    bad = ring_dir / "2026-02-30.key"
    bad.write_text("00" * 32 + "\n")
    os.chmod(bad, 0o600)
    with pytest.raises(KeyFileError, match="2026-02-30.key: file name is not a date"):
        KeyRing.load(str(ring_dir))
    bad.unlink()
    loose = ring_dir / "2026-11-01.key"
    secret = loose.read_text().strip()
    os.chmod(loose, 0o644)
    with pytest.raises(KeyFileError) as err:
        KeyRing.load(str(ring_dir))
    assert "group or others" in str(err.value) and secret not in str(err.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(KeyFileError, match="no YYYY-MM-DD.key"):
        KeyRing.load(str(empty))
    os.chmod(loose, 0o600)
    assert secret not in repr(KeyRing.load(str(ring_dir)))


def test_check_and_phase_follow_the_keys_in_use(ring_dir):
    keys = keys_of(ring_dir)
    ring = KeyRing.load(str(ring_dir), overlap=2 * DAY)
    assert ring.check() is None and ring.phase == -1
    ring.advance(epoch_start("2026-11-20"))
    assert ring.check() == (epoch_start("2026-11-01"), blake(keys["2026-11-01"], ""), None)
    assert ring.phase == 0 and ring.advanced_at == epoch_start("2026-11-20")
    t = epoch_start("2026-12-01") + DAY
    ring.advance(t)
    assert ring.check() == (epoch_start("2026-12-01"), blake(keys["2026-12-01"], ""),
                            blake(keys["2026-11-01"], ""))
    assert ring.phase == 3 and ring.carried == 0  # `check` carries nothing
    again = KeyRing.load(str(ring_dir), overlap=2 * DAY)  # a restart: same folder, same time
    again.advance(ring.advanced_at)
    assert again.check() == ring.check()
    ring.advance(t + DAY)  # the overlap ends: the old key goes
    again = KeyRing.load(str(ring_dir), overlap=2 * DAY)
    again.advance(ring.advanced_at)
    assert again.check() == ring.check() and ring.check()[2] is None


def test_worker_copy_follows_the_epochs_but_touches_no_file(ring_dir):
    keys = keys_of(ring_dir)
    ring = KeyRing.load(str(ring_dir), overlap=2 * DAY)
    ring.carry, ring.carried = print, 5
    ring.advance(epoch_start("2026-11-20"))
    copy = ring.for_worker()
    assert (copy.carry, copy.carried, copy.phase) == (None, 0, ring.phase)
    copy.advance(epoch_start("2027-01-01") + 5 * DAY)  # past everything: files stay
    assert len(list(ring_dir.iterdir())) == 3 and copy.destroyed == 2
    assert copy(IMSI) == blake(keys["2027-01-01"], IMSI)
    assert ring(IMSI) == blake(keys["2026-11-01"], IMSI)  # the original is where it was


def test_held_keys_and_the_destroy_hook(ring_dir):
    keys = keys_of(ring_dir)
    ring = KeyRing.load(str(ring_dir), overlap=DAY)
    gone = []
    ring.on_destroy = gone.append
    assert [(j, p(IMSI)) for j, p in ring.held()] == [
        (j, blake(k, IMSI)) for j, k in enumerate(keys.values())]
    ring.advance(epoch_start("2027-01-01") + DAY)
    assert sorted(gone) == [0, 1] and [j for j, _ in ring.held()] == [2]
