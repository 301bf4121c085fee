"""Command line of the aggregator.

    aggregator serve --listen ENDPOINT --db FILE
        Receive tally batches from collectors on a ZeroMQ ROUTER bound to
        ENDPOINT (tcp://HOST:PORT, tcp://HOST:* or ipc://PATH), store them in
        the DuckDB file FILE (created if needed) and acknowledge each one.
        Stops cleanly on SIGTERM or SIGINT: the batch in hand is finished,
        the database closed, and a summary logged.

    aggregator report --db FILE [--format table|json]
        Print devices present per cell and bin, summed over collectors:
        `json` is the report document of wire.report, `table` an aligned
        table with a total line. The file must not be held by a running
        `serve` (DuckDB allows one writer and no other process): that is
        reported as a one-line error.

Exit status:
    0  success (serve: stopped by SIGTERM/SIGINT)
    1  runtime error: database locked, unreadable or failed, endpoint in
       use or not bindable
    2  usage or configuration error: bad option or option value
       (`--listen: invalid endpoint ...`, `--db: no such database file ...`)

Logs go to stderr, one line per event; per-batch lines only at DEBUG.
"""

from __future__ import annotations

import argparse
import logging
import sys

from aggregator import app
from aggregator.config import FORMATS, ConfigError, report_config, serve_config

LOG_LEVELS = ("debug", "info", "warning", "error")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with the `serve` and `report` subcommands."""
    parser = argparse.ArgumentParser(
        prog="aggregator", description="cellcensus aggregator: receive, store and report tallies")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                        help="log verbosity on stderr (default: info)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="receive and store batches from collectors")
    serve.add_argument("--listen", required=True, metavar="ENDPOINT",
                       help="ZeroMQ endpoint to bind, e.g. tcp://0.0.0.0:5555")
    serve.add_argument("--db", required=True, metavar="FILE", help="DuckDB database file")
    rep = sub.add_parser("report", help="print devices present per cell and bin")
    rep.add_argument("--db", required=True, metavar="FILE", help="DuckDB database file")
    rep.add_argument("--format", choices=FORMATS, default="table",
                     help="output format (default: table)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (usage errors exit 2 from argparse)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        if args.command == "serve":
            config = serve_config(args.listen, args.db)
        else:
            config = report_config(args.db, args.format)
    except ConfigError as exc:
        print(f"aggregator {args.command}: {exc}", file=sys.stderr)
        return app.EXIT_USAGE
    if args.command == "serve":
        return app.serve(config)
    return app.report(config)


if __name__ == "__main__":
    sys.exit(main())
