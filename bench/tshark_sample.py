"""tshark over samples of a capture too big to dissect whole (issue 5: "tshark decodes
every generated frame without a malformed-packet warning ... bench on bigger").

    .venv/bin/python bench/tshark_sample.py CAPTURE [--samples 4] [--frames 500000]

Cuts `--samples` runs of `--frames` consecutive records at evenly spread byte offsets of a
classic pcap (each start found by walking record headers from a guessed offset until four
consecutive headers are consistent: lengths equal, within the snap length, timestamps
non-decreasing inside the capture's span), writes each as a pcap of its own and runs
`tshark -T fields` over it with CRC32c and UDP checksum validation on, printing per sample
the frames, protocols and every frame with expert info or a malformed mark (none is the
pass).
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

_HEADER = struct.Struct("<IIII")


def _first(f, size: int, offset: int, span: tuple[int, int], snap: int) -> int | None:
    """The offset of the first record at or after `offset` whose next four headers agree."""
    f.seek(offset)
    data = f.read(1 << 22)
    for k in range(len(data) - 16):
        pos, ok, last = k, 0, span[0]
        while ok < 4 and pos + 16 <= len(data):
            sec, usec, incl, orig = _HEADER.unpack_from(data, pos)
            if not (incl == orig and 0 < incl <= snap and usec < 1_000_000
                    and last <= sec <= span[1]):
                break
            ok, last, pos = ok + 1, sec, pos + 16 + incl
        if ok == 4:
            return offset + k
    return None


def cut(capture: Path, offset: int, frames: int, out: Path) -> int:
    """Write `frames` records from the first record found at or after `offset`; returns the
    records written."""
    size = capture.stat().st_size
    with capture.open("rb") as f:
        glob = f.read(24)
        snap = struct.unpack_from("<I", glob, 16)[0]
        first_sec = _HEADER.unpack(f.read(16))[0]
        start = _first(f, size, offset, (first_sec, first_sec + 40 * 86400), snap)
        if start is None:
            raise SystemExit(f"{capture}: no record boundary found after offset {offset}")
        f.seek(start)
        n = 0
        with out.open("wb") as w:
            w.write(glob)
            while n < frames:
                head = f.read(16)
                if len(head) < 16:
                    break
                incl = _HEADER.unpack(head)[2]
                w.write(head + f.read(incl))
                n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("capture", type=Path)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--frames", type=int, default=500_000)
    args = p.parse_args(argv)
    tshark = shutil.which("tshark")
    if tshark is None:
        print("tshark is not installed", file=sys.stderr)
        return 2
    size, bad_total = args.capture.stat().st_size, 0
    with tempfile.TemporaryDirectory(prefix="tshark-sample-") as tmp:
        for i in range(args.samples):
            offset = 24 + (size - 24) * i // args.samples
            part = Path(tmp) / f"part{i}.pcap"
            n = cut(args.capture, offset, args.frames, part)
            rows = subprocess.run(
                [tshark, "-r", str(part), "-o", "sctp.checksum:CRC-32C",
                 "-o", "udp.check_checksum:TRUE", "-T", "fields", "-e", "frame.time_epoch",
                 "-e", "frame.protocols", "-e", "_ws.expert.severity", "-e", "_ws.malformed"],
                capture_output=True, text=True, check=True).stdout.splitlines()
            cols = [r.split("\t") for r in rows]
            bad = [r for r in cols if any(r[2:])]
            bad_total += len(bad)
            protos = Counter(c[1].split(":", 4)[-1] for c in cols)
            print(f"sample {i + 1} at byte {offset:,}: {n:,} frames from "
                  f"{cols[0][0][:10] if cols else '-'} (epoch s), {len(bad)} with expert info "
                  f"or malformed; " + ", ".join(f"{k} {v:,}" for k, v in protos.most_common(5)),
                  flush=True)
            for r in bad[:5]:
                print("   ", "\t".join(r))
    print(f"frames with expert info or malformed: {bad_total}")
    return 1 if bad_total else 0


if __name__ == "__main__":
    sys.exit(main())
