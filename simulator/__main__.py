"""Command line: `simulator generate --scenario NAME|FILE --out DIR [--seed N] [--scale F]
[--days D] [--workers N]` and `simulator play (--capture FILE|DIR ... | --scenario NAME|FILE [--seed N])
--interface IF [--speed F]`.

Exit codes: 0 done, 2 usage or scenario error (one line on stderr, no
traceback), 1 the output folder could not be written or the interface not opened.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from simulator.scenario import ScenarioError, load, resize


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors on one line with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="simulator", description="Synthetic city → MME capture (S1AP, S11 "
                "GTPv2-C, S6a Diameter), reference data and the truth to compare the chain's "
                "report with.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    g = sub.add_parser("generate", help="run a scenario and write its folder")
    g.add_argument("--scenario", required=True,
                   help="built-in scenario name (tiny) or path to a scenario TOML file")
    g.add_argument("--out", required=True, type=Path, help="output folder (created)")
    g.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    g.add_argument("--scale", type=_number_in("(0, 100]"), default=1.0,
                   help="multiply every count of a city scenario (census, visitors, attendance, "
                        "M2M devices) by F (default 1)")
    g.add_argument("--days", type=int, choices=range(1, 32), metavar="D",
                   help="simulate D local days from the scenario's first (default: its hours)")
    g.add_argument("--quiet", action="store_true",
                   help="no progress bar (there is none anyway when stderr is not a terminal)")
    g.add_argument("--workers", type=_workers, default=1, metavar="N",
                   help="split the phones' signalling over N processes (default 1; the "
                        "capture differs with N, as with the seed, and the operator's truth "
                        "follows it; the truth about persons does not)")
    g.add_argument("--no-templates", action="store_true",
                   help="encode every message with pycrate (slow; for comparisons)")
    y = sub.add_parser("play", help="stream a capture into a network interface, paced by its "
                       "timestamps (root or CAP_NET_RAW)")
    src = y.add_mutually_exclusive_group(required=True)
    src.add_argument("--capture", action="append", type=Path, metavar="FILE|DIR",
                     help="a pcap/pcapng file, or a generated folder (its *.pcap); repeatable")
    src.add_argument("--scenario", help="generate this scenario first (into a temporary folder)")
    y.add_argument("--seed", type=int, default=1, help="with --scenario: random seed (default 1)")
    y.add_argument("--interface", required=True, help="network interface to send on")
    y.add_argument("--speed", type=_number_in("[0, 1e6]"), default=1.0,
                   help="capture seconds per wall-clock second: 1 real time (default), 60 an "
                        "hour a minute, 0 as fast as possible")
    return p


def _workers(text: str) -> int:
    """An argparse type: a number of processes, 1 to 64."""
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 64, got {text!r}")
    return int(text)


def _number_in(span: str):
    """An argparse type: a float in `span`, "[low, high]" or "(low, high]"."""
    low, high = (float(x) for x in span[1:-1].split(","))
    low_open = span.startswith("(")

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = float("nan")
        if not (low < v <= high if low_open else low <= v <= high):
            raise argparse.ArgumentTypeError(f"must be a number in {span}, got {text!r}")
        return v

    return parse


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `simulator` console script."""
    args = _parser().parse_args(argv)
    if args.command == "play":
        return _play(args)
    try:
        scn = resize(load(args.scenario), args.scale, args.days)
    except ScenarioError as e:
        print(f"simulator: {e}", file=sys.stderr)
        return 2
    # the simulator writes plain NAS: pycrate's warning that NAS ciphering is unavailable is noise
    logging.getLogger("pycrate_mobile").setLevel(logging.ERROR)
    if args.no_templates:
        os.environ["CELLCENSUS_TEMPLATES"] = "off"
    from simulator.generate import generate  # pycrate is imported only once the input is valid
    from simulator.progress import bar

    try:
        summary = generate(scn, args.out, args.seed, bar(args.quiet), workers=args.workers)
    except OSError as e:
        print(f"simulator: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"{summary.line()} → {args.out}")
    return 0


def _play(args: argparse.Namespace) -> int:
    from simulator.play import frames, open_interface, play

    with tempfile.TemporaryDirectory(prefix="simulator-play-") as tmp:
        if args.scenario is not None:
            try:
                scn = load(args.scenario)
            except ScenarioError as e:
                print(f"simulator: {e}", file=sys.stderr)
                return 2
            logging.getLogger("pycrate_mobile").setLevel(logging.ERROR)
            from simulator.generate import generate
            print(f"{generate(scn, Path(tmp), args.seed).line()}", file=sys.stderr)
            paths = sorted(Path(tmp).glob("*.pcap"))
        else:
            paths = []
            for p in args.capture:
                found = sorted(p.glob("*.pcap")) if p.is_dir() else [p]
                if not found or not all(f.is_file() for f in found):
                    print(f"simulator: play: no capture at {p}", file=sys.stderr)
                    return 2
                paths += found
        try:
            sock = open_interface(args.interface)
        except OSError as e:
            print(f"simulator: play: cannot open interface {args.interface}: "
                  f"{e.strerror or e}", file=sys.stderr)
            return 1
        with sock:
            stats = play(frames(map(str, paths)), sock.send, args.speed)
    print(stats.line(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
