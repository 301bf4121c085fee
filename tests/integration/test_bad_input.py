"""Bad input gives a clear one-line error or a counted drop, never a traceback;
exit codes as documented in collector/__main__.py and the README."""

from __future__ import annotations

from tests.helpers import capture_paths, run


def _one_line_error(proc, code: int, *words: str) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln and "in-memory key" not in ln]
    assert len(lines) == 1 and all(w in lines[0] for w in words), err


def test_missing_file(tmp_path):
    p = run("collector", "inspect", str(tmp_path / "nope.pcap"), check=False)
    _one_line_error(p, 2, "nope.pcap", "No such file")
    p = run("collector", "replay", str(tmp_path / "nope.pcap"), "--dry-run", check=False)
    _one_line_error(p, 2, "nope.pcap")


def test_not_a_capture(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("this is not a capture\n" * 10)
    p = run("collector", "replay", str(junk), "--dry-run", check=False)
    _one_line_error(p, 2, "notes.txt", "not a pcap or pcapng file")


def test_truncated_capture_is_read_to_the_cut_and_counted(tmp_path):
    src = next(p for p in capture_paths() if "testattach" in p.name).read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(src[: len(src) // 2 + 7])
    p = run("collector", "replay", str(cut), "--dry-run", check=False)
    assert p.returncode == 0 and b"Traceback" not in p.stderr
    assert b"capture/truncated_capture 1" in p.stdout
    assert b"s1ap" in p.stdout


def test_bad_key_file(tmp_path):
    key = tmp_path / "k"
    key.write_text("00" * 32)
    key.chmod(0o644)
    cap = str(capture_paths()[0])
    p = run("collector", "inspect", cap, "--key-file", str(key), check=False)
    _one_line_error(p, 2, str(key), "chmod 600")
    key.chmod(0o600)
    key.write_text("zz")
    p = run("collector", "inspect", cap, "--key-file", str(key), check=False)
    _one_line_error(p, 2, "64 hex characters")


def test_keygen_writes_0600_and_refuses_overwrite(tmp_path):
    key = tmp_path / "k"
    run("collector", "keygen", "--out", str(key))
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text().strip()) == 64
    p = run("collector", "keygen", "--out", str(key), check=False)
    _one_line_error(p, 2, "already exists")


def test_replay_without_destination_is_a_usage_error(tmp_path):
    p = run("collector", "replay", str(capture_paths()[0]), check=False)
    assert p.returncode == 2 and b"Traceback" not in p.stderr


def test_garbage_in_sctp_chunks_is_counted_by_reason(tmp_path):
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether
    from scapy.layers.sctp import SCTP, SCTPChunkData
    from scapy.utils import wrpcap

    def frame(payload: bytes) -> bytes:
        return bytes(Ether(dst="02:00:00:00:00:02") / IP() / SCTP(sport=1, dport=36412)
                     / SCTPChunkData(proto_id=18, data=payload, beginning=1, ending=1))

    broken = bytearray(frame(b"\x00\x0c\x40\x05hello"))
    broken[14 + 20 + 12 + 2:14 + 20 + 12 + 4] = b"\x7f\xff"  # chunk longer than its packet
    cap = tmp_path / "garbage.pcap"
    wrpcap(str(cap), [Ether(frame(b"\xde\xad\xbe\xef" * 8)), Ether(bytes(broken)),
                      Ether(frame(b"\x00"))])
    p = run("collector", "replay", str(cap), "--dry-run", check=False)
    assert p.returncode == 0 and b"Traceback" not in p.stderr
    out = p.stdout.decode()
    # 0xde… selects an extension PDU type (unsupported); a lone 0x00 is cut short (bad_asn1)
    for reason in ("framing/bad_chunk 1", "decode/unsupported 1", "decode/bad_asn1 1"):
        assert reason in out, out
