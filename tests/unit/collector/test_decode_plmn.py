"""PLMN, TBCD, TAC and cell identity decoding (collector/decode/plmn.py)."""

from __future__ import annotations

from collector.decode.plmn import (
    decode_cell_identity,
    decode_plmn,
    decode_tac,
    decode_tbcd,
    imsi_digits_ok,
)


def test_plmn_two_digit_mnc() -> None:
    assert decode_plmn(b"\x00\xf1\x10") == "00101"
    assert decode_plmn(b"\x09\xf1\x07") == "90170"


def test_plmn_three_digit_mnc_reads_as_nas() -> None:
    # 310-410 as TS 24.008 codes it; tshark's S1AP view of these octets says 310-041
    assert decode_plmn(b"\x13\x00\x14") == "310410"
    assert decode_plmn(b"\x04\x96\x99") == "406999"


def test_plmn_rejects_bad_octets() -> None:
    assert decode_plmn(b"\x00\xf1") is None
    assert decode_plmn(b"\xa0\xf1\x10") is None
    assert decode_plmn(b"\x00\xf1\x1f") is None


def test_tbcd_imsi() -> None:
    assert decode_tbcd(bytes.fromhex("00011032547698f0")) == "001001234567890"
    assert decode_tbcd(bytes.fromhex("0010")) == "0001"
    assert decode_tbcd(bytes.fromhex("f010")) is None  # filler inside
    assert decode_tbcd(bytes.fromhex("0a")) is None
    assert decode_tbcd(b"") is None


def test_imsi_digits_ok() -> None:
    assert imsi_digits_ok("001010123456789")
    assert not imsi_digits_ok("12345")
    assert not imsi_digits_ok("0010101234567890")
    assert not imsi_digits_ok("00101012345678a")


def test_tac_and_cell() -> None:
    assert decode_tac(b"\x30\x39") == 12345
    assert decode_tac(b"\x00\x00\x01") is None
    assert decode_cell_identity((0x1234501, 28)) == 0x1234501
    assert decode_cell_identity((0x1234501, 36)) is None
