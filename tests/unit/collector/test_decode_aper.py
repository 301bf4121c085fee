"""APER framing of *AP PDUs and protocol IE containers (collector/decode/aper.py)."""

from __future__ import annotations

from collector.decode.aper import read_open, split_ies, split_pdu

# testsimple frame 66 (nextepc 2018): InitialUEMessage whose ENB-UE-S1AP-ID value is
# padded to 3 octets inside its open type; tshark decodes it, pycrate's PDU decode fails
PADDED_INITIAL_UE = bytes.fromhex(
    "000c404900000600080003000200001a001615172ba435db040745090bf600f110000201020003e6"
    "004300060000f1102b67006440080000f1109d67aa500086400130006000060040020003e6")


def test_read_open_short_and_long_forms() -> None:
    assert read_open(b"\x03abcde", 0) == (b"abc", 4)
    long = bytes([0x81, 0x00]) + b"x" * 256
    assert read_open(long, 0) == (b"x" * 256, 258)
    assert read_open(b"\x05ab", 0) is None
    assert read_open(b"\x81", 0) is None
    assert read_open(b"", 0) is None


def test_read_open_fragments() -> None:
    frag = bytes([0xC1]) + b"a" * 16384 + b"\x02bc"
    assert read_open(frag, 0) == (b"a" * 16384 + b"bc", len(frag))
    assert read_open(bytes([0xC1]) + b"a" * 100, 0) is None
    assert read_open(bytes([0xC5]) + b"a" * 16384, 0) is None


def test_split_pdu_and_ies_of_padded_message() -> None:
    choice, code, body = split_pdu(PADDED_INITIAL_UE)
    assert (choice, code) == (0, 12)
    ies = split_ies(body)
    assert [i for i, _ in ies] == [8, 26, 67, 100, 134, 96]
    assert dict(ies)[8] == b"\x00\x02\x00"
    assert dict(ies)[67] == bytes.fromhex("0000f1102b67")


def test_split_reasons() -> None:
    assert split_pdu(b"\x00\x0c") == "bad_asn1"
    assert split_pdu(b"\x80\x0c\x40\x00") == "unsupported"
    assert split_pdu(PADDED_INITIAL_UE[:-1]) == "bad_asn1"
    _c, _p, body = split_pdu(PADDED_INITIAL_UE)
    assert split_ies(body[:2]) == "bad_asn1"
    assert split_ies(body[:20]) == "bad_asn1"
    assert split_ies(b"\x00\x00\x00") == []
