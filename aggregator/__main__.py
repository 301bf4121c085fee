"""Command line of the aggregator.

    aggregator serve --listen ENDPOINT --db FILE [--curve-secret FILE --allow DIR]
                     [--reference DIR] [--config FILE] [--metrics-listen HOST:PORT]
        Receive tally batches from collectors on a ZeroMQ ROUTER bound to
        ENDPOINT (tcp://HOST:PORT, tcp://HOST:* or ipc://PATH), store them in
        the DuckDB file FILE (created if needed) and acknowledge each one.
        Stops cleanly on SIGTERM or SIGINT: the batch in hand is finished,
        the database closed, and a summary logged.

        With --curve-secret and --allow the link is CurveZMQ: only collectors
        whose public key file is in DIR are accepted; others are refused and
        logged (a WARNING line with their public key).  --reference and --config are
        checked at start-up and kept for the reports to come (not used by serve yet).
        --metrics-listen serves Prometheus metrics at http://HOST:PORT/metrics
        (batches received, stored, duplicate, rejected by reason; rows stored).

    aggregator keygen --out DIR [--name NAME]
        Write a CurveZMQ key pair: DIR/NAME.key (public) and DIR/NAME.key_secret.

    aggregator report --db FILE [--reference DIR] [--config FILE] [--zone Z ...]
                      [--from T] [--to T] [--period START/END ...] [--periods FILE]
                      [--k K] [--epsilon E] [--raw] [--format table|json|csv]
        Print the published figures in persons (needs --reference: cells.csv with
        zones, census.csv): people per zone and hour and distinct people per zone
        over [--from, --to) (or each --period / the periods of --periods FILE) with
        by_country, each with a 95 % interval, suppressed under K raw devices
        (default 20) and by difference, with Laplace noise of budget E if given
        (README, "Report").  --raw adds the operator's raw counts: devices per cell
        and bin summed over collectors, and distinct devices per zone (with
        --reference), k-suppressed as well.
        --config: TOML file with the [foreign] capture_share / carry_rate table.
        `json` is the report document of wire.report, `table` aligned tables,
        `csv` one long table of every section. The file must not be held by a
        running `serve` (DuckDB allows one writer and no other process): that
        is reported as a one-line error.

    aggregator export --db FILE --out DIR
        Write every table as Parquet under DIR, partitioned by day (README, "Report").

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
from aggregator.config import FORMATS, ConfigError, export_config, report_config, serve_config
from aggregator.report import DEFAULT_K
from wire.curve import CurveKeyError, make_keypair

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
    serve.add_argument("--curve-secret", metavar="FILE",
                       help="CurveZMQ: this aggregator's secret key file (aggregator keygen)")
    serve.add_argument("--allow", metavar="DIR",
                       help="CurveZMQ: folder of the public key files of accepted collectors")
    serve.add_argument("--reference", metavar="DIR", help="reference folder (checked, kept)")
    serve.add_argument("--config", metavar="FILE", help="aggregator config file (TOML)")
    serve.add_argument("--metrics-listen", metavar="HOST:PORT",
                       help="serve Prometheus metrics at http://HOST:PORT/metrics "
                            "(e.g. 127.0.0.1:9465)")
    kg = sub.add_parser("keygen", help="write a CurveZMQ key pair (NAME.key, NAME.key_secret)")
    kg.add_argument("--out", required=True, metavar="DIR", help="folder for the key files")
    kg.add_argument("--name", default="aggregator", help="file name stem (default: aggregator)")
    rep = sub.add_parser("report", help="print people per zone (and raw counts)")
    rep.add_argument("--db", required=True, metavar="FILE", help="DuckDB database file")
    rep.add_argument("--format", choices=FORMATS, default="table",
                     help="output format (default: table)")
    rep.add_argument("--reference", metavar="DIR",
                     help="reference folder (cells.csv with zones, census.csv): adds the"
                          " zone sections, extrapolated to persons")
    rep.add_argument("--config", metavar="FILE",
                     help="aggregator config file (TOML, [foreign] factors per country)")
    rep.add_argument("--zone", action="append", metavar="Z", help="only this zone (repeatable)")
    rep.add_argument("--from", dest="start", metavar="T", help="from this hour (ISO 8601, UTC)")
    rep.add_argument("--to", dest="end", metavar="T", help="up to this hour, excluded")
    rep.add_argument("--k", type=int, default=DEFAULT_K,
                     help=f"suppress figures from fewer raw devices (default {DEFAULT_K})")
    rep.add_argument("--epsilon", type=float, metavar="E",
                     help="differential privacy: Laplace noise with this budget for the report")
    rep.add_argument("--raw", action="store_true",
                     help="add the operator's raw device counts (cell_presence, zone_devices),"
                          " k-suppressed too")
    rep.add_argument("--period", action="append", metavar="START/END",
                     help="a visitors period (ISO 8601 times on the hour; repeatable)")
    rep.add_argument("--periods", metavar="FILE",
                     help="visitors periods of a report/truth JSON document (its visitors"
                          " rows) or of a file of START/END lines")
    exp = sub.add_parser("export", help="write the store as Parquet partitioned by day")
    exp.add_argument("--db", required=True, metavar="FILE", help="DuckDB database file")
    exp.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (usage errors exit 2 from argparse)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "keygen":
        try:
            public, secret = make_keypair(args.out, args.name)
        except CurveKeyError as exc:
            print(f"aggregator keygen: {exc}", file=sys.stderr)
            return app.EXIT_USAGE
        print(f"wrote {public} (give to collectors: --server-key) and {secret} (mode 0600)",
              file=sys.stderr)
        return app.EXIT_OK
    metrics = None
    try:
        if args.command == "serve":
            config = serve_config(args.listen, args.db, args.curve_secret, args.allow,
                                  args.reference, args.config)
            if args.metrics_listen is not None:
                from aggregator.metrics import check_listen
                metrics = check_listen(args.metrics_listen)
        elif args.command == "export":
            config = export_config(args.db, args.out)
        else:
            config = report_config(args.db, args.format, args.reference, zones=args.zone,
                                   start=args.start, end=args.end, k=args.k,
                                   epsilon=args.epsilon, settings=args.config,
                                   raw=args.raw, periods=args.period,
                                   periods_file=args.periods)
    except ConfigError as exc:
        print(f"aggregator {args.command}: {exc}", file=sys.stderr)
        return app.EXIT_USAGE
    if args.command == "serve":
        return app.serve(config, metrics)
    if args.command == "export":
        return app.export(config)
    return app.report(config)


if __name__ == "__main__":
    sys.exit(main())
