"""Command line: `simulator generate --scenario tiny --out DIR [--seed N]`.

Exit codes: 0 done, 2 usage or scenario error (one line on stderr, no
traceback), 1 the output folder could not be written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from simulator.scenario import ScenarioError, load


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
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `simulator` console script."""
    args = _parser().parse_args(argv)
    try:
        scn = load(args.scenario)
    except ScenarioError as e:
        print(f"simulator: {e}", file=sys.stderr)
        return 2
    # the simulator writes plain NAS: pycrate's warning that NAS ciphering is unavailable is noise
    logging.getLogger("pycrate_mobile").setLevel(logging.ERROR)
    from simulator.generate import generate  # pycrate is imported only once the input is valid

    try:
        summary = generate(scn, args.out, args.seed)
    except OSError as e:
        print(f"simulator: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"{summary.line()} → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
