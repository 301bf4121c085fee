"""collector.profiles: the subscriber profile file (contract B, reader side): hashed at
load, looked up by pseudonym, errors naming file, line and column but never a value."""

from __future__ import annotations

import numpy as np
import pytest

from collector.profiles import GENDERS, Profiles, load_profiles
from wire.pseudonym import Pseudonymizer
from wire.reference import AGE_BANDS, ReferenceError

KEY = bytes(range(32))
IMSIS = ("001010000000001", "001010000000002", "001010000000003", "20801123456789")


@pytest.fixture
def pseudo() -> Pseudonymizer:
    return Pseudonymizer(KEY)


def write(tmp_path, text: str):
    path = tmp_path / "subscribers.csv"
    path.write_text(text)
    return str(path)


def test_load_hashes_and_looks_up_by_pseudonym(tmp_path, pseudo):
    path = write(tmp_path, "imsi,age_band,gender\n"
                 f"{IMSIS[0]},30-44,f\n{IMSIS[1]},75+,m\n{IMSIS[2]},,\n\n{IMSIS[3]},0-14,\n")
    profiles = load_profiles(path, pseudo)
    assert len(profiles) == 4 and profiles.nbytes() == 4 * 9
    keys = np.array([pseudo(i) for i in IMSIS] + [pseudo("001019999999999")], dtype=np.uint64)
    assert [AGE_BANDS[b] if b >= 0 else None for b in profiles.bands(keys)] == [
        "30-44", "75+", None, "0-14", None]
    assert [GENDERS[g] for g in profiles.genders(keys)] == ["f", "m", "", "", ""]
    # nothing of the IMSIs is kept: only the pseudonyms (and no key material)
    held = profiles.keys.tobytes() + profiles.codes.tobytes()
    assert not any(i.encode() in held for i in IMSIS)
    assert set(profiles.keys.tolist()) == {pseudo(i) for i in IMSIS}


def test_columns_in_any_order_and_extra_columns(tmp_path, pseudo):
    path = write(tmp_path, f"gender,note,imsi,age_band\nm,x,{IMSIS[0]},15-29\n")
    p = load_profiles(path, pseudo)
    assert p.bands(np.array([pseudo(IMSIS[0])], dtype=np.uint64)).tolist() == [1]


def test_empty_profiles_and_lookups(pseudo, tmp_path):
    p = load_profiles(write(tmp_path, "imsi,age_band,gender\n"), pseudo)
    assert len(p) == 0
    assert p.bands(np.array([1, 2], dtype=np.uint64)).tolist() == [-1, -1]
    assert p.bands(np.zeros(0, dtype=np.uint64)).tolist() == []


@pytest.mark.parametrize(("text", "where"), [
    ("imsi,age\n", ":1: missing column(s) age_band, gender"),
    (f"imsi,age_band,gender\n{IMSIS[0]},30-44,f\n{IMSIS[1][:-1]}x,30-44,f\n", ":3: imsi:"),
    (f"imsi,age_band,gender\n{IMSIS[0]},{IMSIS[1]},f\n", ":2: age_band:"),
    (f"imsi,age_band,gender\n{IMSIS[0]},30-44,{IMSIS[1]}\n", ":2: gender:"),
    (f"imsi,age_band,gender\n{IMSIS[0]},30-44\n", ":2: gender: missing"),
    (f"imsi,age_band,gender\n{IMSIS[1]},30-44,f\n{IMSIS[0]},,\n{IMSIS[1]},75+,m\n",
     ":4: imsi: the same IMSI as line 2"),
])
def test_errors_name_file_line_column_never_a_value(tmp_path, pseudo, text, where):
    path = write(tmp_path, text)
    with pytest.raises(ReferenceError) as err:
        load_profiles(path, pseudo)
    msg = str(err.value)
    assert msg.startswith(path) and where in msg, msg
    for imsi in IMSIS:  # not the IMSI, nor a part of it
        assert imsi[5:] not in msg and imsi[:-1] not in msg


def test_unreadable_files(tmp_path, pseudo):
    with pytest.raises(ReferenceError, match="No such file"):
        load_profiles(str(tmp_path / "absent.csv"), pseudo)
    bad = tmp_path / "bin.csv"
    bad.write_bytes(b"imsi,age_band,gender\n\xff\xfe\x00")
    with pytest.raises(ReferenceError, match="not a CSV text file"):
        load_profiles(str(bad), pseudo)


def test_profiles_sorted_whatever_the_order():
    p = Profiles(np.array([5, 1, 3], dtype=np.uint64), np.array([1, 2, 3], dtype=np.uint8))
    assert p.keys.tolist() == [1, 3, 5]
    assert p.bands(np.array([3, 5, 1, 4, 6], dtype=np.uint64)).tolist() == [2, 0, 1, -1, -1]


def test_command_line_refuses_a_bad_file_naming_line_and_column(tmp_path, capsys):
    from collector.__main__ import main
    from tests.helpers import capture_paths

    path = write(tmp_path, f"imsi,age_band,gender\n{IMSIS[0]},30-44,f\n{IMSIS[1]},{IMSIS[2]},f\n")
    code = main(["replay", str(capture_paths()[0]), "--dry-run", "--profiles", path])
    err = capsys.readouterr().err
    assert code == 2 and f"{path}:3: age_band:" in err, err
    assert not any(i[5:] in err for i in IMSIS)


def test_a_key_ring_hashes_with_every_held_key_and_drops_destroyed_ones(tmp_path):
    from collector.keyring import KeyRing

    keys = [(0, KEY), (86400, bytes(range(1, 33)))]
    ring = KeyRing(keys, overlap=3600.0)
    path = write(tmp_path, f"imsi,age_band,gender\n{IMSIS[0]},30-44,f\n{IMSIS[1]},75+,m\n")
    profiles = load_profiles(path, ring)
    assert len(profiles) == 4 and profiles.nbytes() == 4 * 11
    old, new = (Pseudonymizer(k) for _, k in keys)
    both = np.array([old(IMSIS[0]), new(IMSIS[0]), old(IMSIS[1]), new(IMSIS[1])],
                    dtype=np.uint64)
    assert [AGE_BANDS[b] for b in profiles.bands(both)] == ["30-44", "30-44", "75+", "75+"]
    profiles.drop(0, np.array([old(IMSIS[1])], dtype=np.uint64))  # IMSI 1 still tracked
    assert [AGE_BANDS[b] if b >= 0 else None for b in profiles.bands(both)] == [
        None, "30-44", "75+", "75+"]
    profiles.drop(0, np.array([], dtype=np.uint64))
    assert len(profiles) == 2 and profiles.bands(both)[2] == -1
    one = load_profiles(path, old)
    one.drop(0, np.array([], dtype=np.uint64))  # one key: nothing to drop
    assert len(one) == 2
