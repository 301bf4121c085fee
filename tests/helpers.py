"""Helpers shared by the integration tests: run the real programs, read identities
from the tshark ground truth, and encode them the ways they could leak."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from simulator.demo import free_port  # noqa: F401  (the tests' one copy, re-exported)

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "tests" / "golden" / "captures"


def capture_paths() -> list[Path]:
    """Every golden capture (pcap or pcapng) shipped with the tests."""
    return sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))


def run(program: str, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    """Run `python -m program args` and capture its output as bytes."""
    proc = subprocess.run([sys.executable, "-m", program, *args], capture_output=True,
                          cwd=ROOT, timeout=600, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{program} {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stderr.decode(errors='replace')}")
    return proc


class Aggregator:
    """`aggregator serve` as a subprocess on a free loopback port."""

    def __init__(self, db: Path, port: int | None = None, *extra: str,
                 options: tuple[str, ...] = ()) -> None:
        """`extra`: options of `serve`; `options`: of `aggregator` itself (before `serve`)."""
        self.port = port or free_port()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", *options, "serve", "--listen", self.endpoint,
             "--db", str(db), *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"aggregator exited: {self.proc.stderr.read().decode()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("aggregator did not start listening")

    def stop(self) -> tuple[bytes, bytes]:
        """SIGTERM, wait, and return (stdout, stderr); asserts a clean exit."""
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err.decode(errors="replace")
        return out, err


def tsv_identities(proto: str | None = None) -> tuple[set[str], set[str]]:
    """(IMSIs/SUPIs, MSISDNs) that tshark found in the golden captures (in the rows of
    one protocol, tshark's name, if given)."""
    imsis, msisdns = set(), set()
    for tsv in CAPTURES.glob("*.pcap*.tsv"):
        with open(tsv, newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if proto not in (None, row["proto"]):
                    continue
                for col in ("imsi", "assoc_imsi"):
                    imsis.update(v for v in row[col].split(";") if v)
                msisdns.update(v for v in row["msisdn"].split(";") if v)
                for suci in filter(None, row["suci"].split(";")):
                    parts = suci.split("-")  # suci-0-mcc-mnc-routing-scheme-pki-msin
                    if len(parts) == 8 and parts[5] == "0":
                        imsis.add(parts[2] + parts[3] + parts[7])
    return imsis, msisdns


def tbcd(digits: str) -> bytes:
    """TBCD of a digit string (TS 29.002): swapped nibbles, F filler."""
    d = digits + ("F" if len(digits) % 2 else "")
    return bytes.fromhex("".join(d[i + 1] + d[i] for i in range(0, len(d), 2)))


def nas_identity(digits: str, kind: int = 1) -> bytes:
    """A mobile identity IE value as NAS writes it (TS 24.008 §10.5.1.4): first digit
    beside the odd/even flag and the type, then TBCD of the rest."""
    odd = len(digits) % 2
    return bytes([(int(digits[0]) << 4) | (odd << 3) | kind]) + tbcd(digits[1:])


def tsv_equipment() -> set[str]:
    """IMEIs / IMEISVs (14 digits or more) tshark found in the golden captures."""
    with open(CAPTURES / "equipment.tsv", newline="") as f:
        return {r["value"] for r in csv.DictReader(f, delimiter="\t")
                if r["value"].isdigit() and len(r["value"]) >= 14}


def needles(identities: set[str], kind: int = 1) -> dict[bytes, str]:
    """Byte strings whose presence would reveal an identity: ASCII, TBCD (with its F
    filler, as GTPv2, Diameter and MAP carry it) and the NAS mobile identity of
    type `kind` (1 IMSI, 2 IMEI, 3 IMEISV)."""
    out = {}
    for ident in identities:
        out[ident.encode()] = f"{ident[:5]}… ascii"
        out[tbcd(ident)] = f"{ident[:5]}… tbcd"
        out[nas_identity(ident, kind)] = f"{ident[:5]}… nas"
    return out


def scan(blobs: dict[str, bytes], needle_map: dict[bytes, str]) -> list[str]:
    """Where each needle occurs in the named blobs (empty list: nothing leaked)."""
    return [f"{name}: {what}" for name, blob in blobs.items()
            for needle, what in needle_map.items() if needle in blob]


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file under a folder, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def is_root() -> bool:
    """True when raw sockets can be opened (needed to sniff loopback)."""
    return os.geteuid() == 0


def kill_aggregator(agg: Aggregator) -> None:
    """SIGKILL an `Aggregator` (no clean shutdown: what a crash or an OOM kill does)."""
    agg.proc.kill()
    agg.proc.communicate(timeout=30)


def wait_for_line(stream, needle: bytes, timeout: float = 60.0) -> bytes:
    """Read `stream` (a subprocess pipe) line by line until one holds `needle`; the line.
    Raises AssertionError after `timeout` seconds or at end of stream."""
    import threading
    found: list[bytes] = []
    done = threading.Event()

    def reader() -> None:
        for line in iter(stream.readline, b""):
            if needle in line:
                found.append(line)
                break
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    if not done.wait(timeout) or not found:
        raise AssertionError(f"no line with {needle!r} within {timeout} s")
    return found[0]


class LoggingAggregator(Aggregator):
    """`aggregator --log-level LEVEL serve` (per-batch lines at debug) on a free port."""

    def __init__(self, db: Path, port: int | None = None, level: str = "debug") -> None:
        super().__init__(db, port, options=("--log-level", level))


def pipeline_run(capture: str, cfg, pseudonymizer) -> tuple:
    """(the EdgePipeline after finish(), its tally batches) of one capture replayed in this
    process (a test may then read the per-device state by slot)."""
    from collector.app import EdgePipeline
    from collector.order import keyed_messages
    from collector.telemetry import Counters

    counters = Counters()
    pipe = EdgePipeline(cfg, pseudonymizer, counters)
    batches = []
    for _key, ts, frame, msg in keyed_messages([capture], counters):
        batches += pipe.feed(frame, ts, msg)
    batches += pipe.finish()
    return pipe, batches


def ask_raw(endpoint: str, payload: bytes) -> dict:
    """Send one raw message to an aggregator on a DEALER socket; its decoded ack."""
    import zmq

    from wire.tally import decode_ack

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 10_000)
    try:
        sock.connect(endpoint)
        sock.send(payload)
        return decode_ack(sock.recv())
    finally:
        sock.close(0)
