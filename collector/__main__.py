"""Command line of the collector: `keygen`, `inspect`, `replay`, `live`.

Exit codes: 0 success; 1 the run completed but tallies were left
unacknowledged by the aggregator; 2 usage or input error (bad option, missing
or unreadable capture, not a capture file, unusable key file); 130 interrupted.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import socket
import sys
import time

from collector.snapshot import SnapshotError
from collector.sources.live import LiveError
from collector.sources.pcap import CaptureError, check_capture
from collector.spool import SpoolError
from wire.curve import CurveKeyError, make_keypair
from wire.pseudonym import KeyFileError, Pseudonymizer, load_key, new_key, write_key
from wire.reference import ReferenceError

log = logging.getLogger("collector")


class UsageError(Exception):
    """A command line that cannot be run as given."""


def _pseudonymizer(key_file: str | None) -> Pseudonymizer:
    if key_file is None:
        print("collector: no --key-file given: using a fresh in-memory key; pseudonyms "
              "will not match any other run", file=sys.stderr)
        return Pseudonymizer(new_key())
    return Pseudonymizer(load_key(key_file))


def _key_ring(args: argparse.Namespace):
    """The key ring of `--key-dir` (key epochs, collector.keyring)."""
    from collector.keyring import KeyRing

    if args.key_file:
        raise UsageError("--key-dir and --key-file: give one of them (a key ring holds "
                         "one key per epoch)")
    if not args.key_overlap_days >= 0:
        raise UsageError(f"--key-overlap-days: must be >= 0, got {args.key_overlap_days}")
    return KeyRing.load(args.key_dir, args.key_overlap_days * 86400.0)


def _cmd_keygen(args: argparse.Namespace) -> int:
    if args.curve:
        public, secret = make_keypair(args.out, args.name)
        print(f"collector: wrote {public} (put it in the aggregator's --allow folder) and "
              f"{secret} (mode 0600, --curve-secret)", file=sys.stderr)
        return 0
    try:
        write_key(args.out)
    except FileExistsError:
        raise KeyFileError(f"{args.out}: already exists; refusing to overwrite a key") from None
    except OSError as e:
        raise KeyFileError(f"{args.out}: cannot write key file: {e.strerror}") from None
    print(f"collector: wrote a new key to {args.out} (mode 0600)", file=sys.stderr)
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from collector.inspect import run_inspect

    for p in args.captures:
        check_capture(p)
    counters = run_inspect(args.captures, _pseudonymizer(args.key_file), sys.stdout)
    if counters.dropped.get(("capture", "truncated_capture")):
        print("collector: warning: capture truncated; read up to the cut", file=sys.stderr)
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from collector.app import replay

    for p in args.captures:
        check_capture(p)
    if args.workers > 1:
        from collector.workers import replay_parallel
        return _edge(args, args.captures, lambda cfg, pseudo, sender, state, _m:
                     replay_parallel(args.captures, cfg, pseudo, args.workers, sender,
                                     state=state))
    return _edge(args, args.captures, lambda cfg, pseudo, sender, state, _m: replay(
        args.captures, cfg, pseudo, sender, state=state))


def _cmd_live(args: argparse.Namespace) -> int:
    from collector.live import run_live

    if not 1 <= args.buffer_kib <= 1 << 21:
        raise UsageError(f"--buffer-kib: must be 1 to {1 << 21} KiB, got {args.buffer_kib}")
    if args.workers > 1:
        from collector.live_workers import run_live_parallel
        return _edge(args, [], lambda cfg, pseudo, sender, state, metrics: run_live_parallel(
            args.interface, cfg, pseudo, args.workers, sender, duration=args.duration,
            buffer_bytes=args.buffer_kib * 1024, metrics=metrics, state=state))
    return _edge(args, [], lambda cfg, pseudo, sender, state, metrics: run_live(
        args.interface, cfg, pseudo, sender, duration=args.duration, state=state,
        buffer_bytes=args.buffer_kib * 1024, metrics=metrics))


def _edge(args: argparse.Namespace, sources: list[str], run) -> int:
    """Run the edge pipeline (`run(cfg, pseudonymizer, sender, state, metrics) -> summary`),
    drain the sender, print the summary (and write `--metrics-file`); the exit code."""
    from collector.app import EdgeConfig
    from collector.summary import print_summary
    from collector.workers import WorkerFailed

    if not args.dry_run and not args.aggregator:
        raise UsageError(f"{args.cmd} needs --aggregator ENDPOINT or --dry-run")
    if args.state_reset and not args.state_dir:
        raise UsageError("--state-reset needs --state-dir")
    if not args.snapshot_interval > 0:
        raise UsageError(f"--snapshot-interval: must be > 0 seconds, got {args.snapshot_interval}")
    pseudo = _key_ring(args) if args.key_dir else _pseudonymizer(args.key_file)
    cfg = EdgeConfig(args.collector_id, new_epoch(), bin_seconds=args.bin_minutes * 60,
                     timeout=args.timeout_day, timeout_night=args.timeout_night,
                     **_analytics(args, pseudo))
    state = None
    if args.state_dir:
        from collector.snapshot import StateDir, config_of
        state = StateDir(args.state_dir, args.snapshot_interval, config_of(cfg, pseudo),
                         reset=args.state_reset)
        if args.spool is None:  # batches sent before a snapshot and not acked survive a kill
            args.spool = os.path.join(args.state_dir, "spool")
    metrics = _metrics(args)  # (its port taken: stop before anything is sent)
    sender = None
    if not args.dry_run:
        sender = _sender(args)
    if metrics is not None:
        metrics.sender = sender
    log.info("%s starting captures=%d collector=%s epoch=%d", args.cmd, len(sources),
             cfg.collector_id, cfg.epoch)
    _settle_gc()
    try:
        try:
            summary = run(cfg, pseudo, sender, state, metrics)
        except WorkerFailed as e:
            print(f"collector: error: {e}", file=sys.stderr)
            return 1
        if sender is not None:
            summary.acked, summary.unacked = sender.drain(args.drain_timeout)
            summary.ack_status = dict(sender.statuses)
    finally:
        if metrics is not None:
            metrics.close()
        if sender is not None:
            sender.close()
    print_summary(summary, sources, sys.stdout, dry_run=args.dry_run,
                  interface=getattr(args, "interface", None))
    if getattr(args, "metrics_file", None):
        _write_metrics(metrics, summary, args.metrics_file)
    return 1 if summary.unacked else 0


def new_epoch() -> int:
    """The sequence space of a run that starts without a saved one (wire.tally: batches are
    keyed by (collector, epoch, seq)): nanoseconds since 1970.  Two runs of a collector
    started within one second (a crash loop, a test) get two epochs; with seconds they
    shared one and the aggregator dropped the second run's batches as duplicates."""
    return time.time_ns()


# young collections every 100,000 container allocations instead of 700 (bench/README.md,
# issue 4): the per-message objects (frames, facts, events) die young without cycles, and the
# edge state and correlation tables that live long are walked by every older collection
GC_THRESHOLD = (100_000, 50, 100)


def _settle_gc() -> None:
    """Before the first message: what start-up built (modules, tables, the key) lives to
    the end, out of the cyclic collector's sight; young collections become rare."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def _metrics(args: argparse.Namespace):
    """The CollectorMetrics of `--metrics-listen` (serving from now on) or
    `--metrics-file`, or None."""
    listen, path = getattr(args, "metrics_listen", None), getattr(args, "metrics_file", None)
    if not listen and not path:
        return None
    from collector.metrics import CollectorMetrics, MetricsError

    if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise UsageError(f"--metrics-file {path}: no such folder")
    metrics = CollectorMetrics()
    if listen:
        try:
            metrics.serve(listen)
        except MetricsError as e:
            raise UsageError(str(e)) from None
        log.info("serving metrics url=http://%s/metrics", listen)
    return metrics


def _write_metrics(metrics, summary, path: str) -> None:
    """Write the run's final metrics to `--metrics-file`."""
    from collector.metrics import MetricsError

    metrics.watch(summary)
    try:
        metrics.write(path)
    except MetricsError as e:
        raise UsageError(str(e)) from None


def _analytics(args: argparse.Namespace, pseudo=None) -> dict:
    """The EdgeConfig fields of the analytics options, the reference files read once here
    so that a bad one stops the run before it starts (ReferenceError: file, line, value)."""
    from collector.edge import AnalyticsConfig
    from collector.m2m import BUILTIN_TACS, read_tacs
    from collector.profiles import load_profiles
    from collector.zones import ZoneMap

    ZoneMap.from_reference(args.reference)
    night = []
    for text in args.night.split("-", 1) if "-" in args.night else ("", ""):
        hh = text.split(":")[0]
        night.append(int(hh) if hh.isdigit() and int(hh) < 24 and text in (hh, hh + ":00")
                     else -1)
    if len(night) != 2 or -1 in night or night[0] == night[1]:
        raise UsageError(f"--night {args.night!r}: expected HH:00-HH:00 (e.g. 20:00-07:00)")
    analytics = AnalyticsConfig(
        timezone=args.timezone, night_start=night[0], night_end=night[1],
        home_window=args.home_nights, home_min_nights=args.home_min_nights,
        recurrence_days=args.recurrence_days,
        profiles=load_profiles(args.profiles, pseudo) if args.profiles else None)
    try:
        analytics.tz()
    except ValueError as e:
        raise UsageError(f"--timezone: {e}") from None
    if not 1 <= args.home_min_nights <= args.home_nights:
        raise UsageError("--home-min-nights must be from 1 to --home-nights")
    tacs = BUILTIN_TACS | (read_tacs(args.m2m_tacs) if args.m2m_tacs else frozenset())
    return {"reference": args.reference, "analytics": analytics, "m2m_tacs": tacs}


def _bounded(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = lo - 1
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from {lo} to {hi}")
        return value
    return parse


def _sender(args: argparse.Namespace):
    """The BatchSender of `--aggregator`, with its spool and CurveZMQ keys if given."""
    from collector.sender import BatchSender
    from collector.spool import Spool
    from wire.curve import load_public, load_secret

    if (args.curve_secret is None) != (args.server_key is None):
        raise UsageError("--curve-secret and --server-key go together (CurveZMQ needs this "
                         "collector's secret key and the aggregator's public key)")
    curve = None
    if args.curve_secret is not None:
        curve = (*load_secret(args.curve_secret), load_public(args.server_key))
    spool = Spool(args.spool, args.spool_max_mb << 20) if args.spool else None
    sender = BatchSender(args.aggregator, ack_timeout=args.ack_timeout, spool=spool, curve=curve)
    if (n := sender.resend_spooled()):
        log.info("re-sending batches left in the spool batches=%d spool=%s", n, args.spool)
    return sender


def _seconds(text: str) -> float:
    """A hold time: whole seconds from 60 to 7 days (kept as float32 per device)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 60 <= value <= 7 * 86400:
        raise argparse.ArgumentTypeError(f"{text!r} is not whole seconds from 60 to 604800")
    return float(value)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 64")
    return value


def _default_id() -> str:
    host = "".join(c if c.isalnum() or c in "._-" else "-" for c in socket.gethostname())
    return (host or "collector")[:64]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `collector`."""
    p = argparse.ArgumentParser(prog="collector", description=__doc__.splitlines()[0])
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keygen", help="write a new pseudonymisation key file (mode 0600), "
                       "or with --curve a CurveZMQ key pair")
    k.add_argument("--out", required=True, help="key file to create (--curve: a folder)")
    k.add_argument("--curve", action="store_true",
                   help="write OUT/NAME.key and OUT/NAME.key_secret for the aggregator link")
    k.add_argument("--name", default=_default_id(), help="--curve: file name stem (host name)")
    k.set_defaults(func=_cmd_keygen)
    i = sub.add_parser("inspect", help="print one JSON line per decoded signalling message")
    i.add_argument("captures", nargs="+", metavar="CAPTURE")
    i.add_argument("--key-file", help="pseudonymisation key file (64 hex characters, mode 0600)")
    i.set_defaults(func=_cmd_inspect)
    r = sub.add_parser("replay", help="run the edge pipeline over captures and send tallies")
    r.add_argument("captures", nargs="+", metavar="CAPTURE")
    r.add_argument("--metrics-file", metavar="PATH",
                   help="at the end, write the run's Prometheus metrics to PATH in the "
                        "node_exporter textfile format (atomically; name it *.prom)")
    _edge_options(r)
    r.set_defaults(func=_cmd_replay)
    v = sub.add_parser("live", help="run the edge pipeline on a network interface until stopped")
    v.add_argument("--interface", required=True, help="interface to capture from (AF_PACKET)")
    v.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    v.add_argument("--buffer-kib", type=int, default=32768, metavar="KIB",
                   help="socket receive buffer per capture socket (default 32768 KiB, as "
                        "tcpdump -B); frames the kernel drops when it is full are counted "
                        "capture/kernel_drop")
    v.add_argument("--metrics-listen", metavar="HOST:PORT",
                   help="serve Prometheus metrics over HTTP at HOST:PORT/metrics "
                        "(e.g. 127.0.0.1:9464)")
    _edge_options(v)
    v.set_defaults(func=_cmd_live)
    return p


def _edge_options(r: argparse.ArgumentParser) -> None:
    r.add_argument("--key-file", help="pseudonymisation key file (64 hex characters, mode 0600)")
    r.add_argument("--key-dir", metavar="DIR", help="key epochs instead of --key-file: "
                   "DIR/YYYY-MM-DD.key, each the key from that UTC day on (collector keygen "
                   "--out DIR/2027-01-01.key); the previous key is held --key-overlap-days "
                   "to carry devices over, then overwritten and deleted")
    r.add_argument("--key-overlap-days", type=float, default=7.0, metavar="DAYS",
                   help="days both keys are held after an epoch starts (default 7)")
    r.add_argument("--aggregator", metavar="ENDPOINT", help="aggregator ZeroMQ endpoint")
    r.add_argument("--dry-run", action="store_true", help="run everything but the send")
    r.add_argument("--collector-id", default=_default_id(), help="name of this collector")
    r.add_argument("--workers", type=_positive, default=1, metavar="N",
                   help="decoding processes (frames split by address pair / flow; same counts)")
    r.add_argument("--bin-minutes", type=int, default=15, choices=[5, 10, 15, 20, 30, 60])
    r.add_argument("--reference", metavar="DIR", help="reference folder: DIR/cells.csv maps "
                   "cells to zones (without it each cell is its own zone, cell-PLMN-CELLID)")
    r.add_argument("--timezone", default="UTC", help="local time zone of nights, 04:00 and "
                   "days (IANA name, e.g. Europe/Paris; default UTC)")
    r.add_argument("--night", default="20:00-07:00", metavar="HH:00-HH:00",
                   help="night window of home detection, local time (default 20:00-07:00)")
    r.add_argument("--home-nights", type=_bounded(1, 32), default=30, metavar="N",
                   help="rolling window of nights of home detection (default 30, at most 32)")
    r.add_argument("--home-min-nights", type=_bounded(1, 32), default=5, metavar="N",
                   help="observed nights needed before a home is decided (default 5; 1 for "
                   "short simulations)")
    r.add_argument("--recurrence-days", type=_bounded(1, 31), default=28, metavar="N",
                   help="days of history of recurrence classes (default 28, at most 31)")
    r.add_argument("--m2m-tacs", metavar="FILE", help="IMEI TACs of M2M modules (one "
                   "8-digit TAC a line), added to the built-in list; a device whose IMEI "
                   "or IMEISV (NAS identity, GTPv2 MEI, S6a IMEI) has one is not counted")
    r.add_argument("--profiles", metavar="FILE", help="subscriber profiles (CSV imsi,age_band,"
                   "gender): residents are tallied by age band; the IMSIs are hashed with "
                   "the key as the file is read and never kept")
    r.add_argument("--spool", metavar="DIR", help="keep unacknowledged batches here (on disk) "
                   "and re-send them after an outage or a restart")
    r.add_argument("--spool-max-mb", type=int, default=256, metavar="MB",
                   help="spool size cap; beyond it the oldest batches are dropped and counted")
    r.add_argument("--curve-secret", metavar="FILE",
                   help="CurveZMQ: this collector's secret key file (collector keygen --curve)")
    r.add_argument("--server-key", metavar="FILE",
                   help="CurveZMQ: the aggregator's public key file")
    r.add_argument("--timeout-day", "--timeout", type=_seconds, default=7200, metavar="SECONDS",
                   help="presence held after the last event by day (default 7200)")
    r.add_argument("--timeout-night", type=_seconds, default=28800, metavar="SECONDS",
                   help="... after an event in the night window (--night; default 28800)")
    r.add_argument("--state-dir", metavar="DIR", help="keep the collector state here (mode "
                   "0600 snapshot): restored at start, written every --snapshot-interval and "
                   "on SIGTERM/SIGINT; the spool defaults to DIR/spool")
    r.add_argument("--snapshot-interval", type=float, default=300.0, metavar="SECONDS",
                   help="seconds between snapshots (capture time for replay, wall time live)")
    r.add_argument("--state-reset", action="store_true",
                   help="start fresh: remove the snapshot of --state-dir first")
    r.add_argument("--ack-timeout", type=float, default=5.0, help="seconds before a re-send")
    r.add_argument("--drain-timeout", type=float, default=30.0,
                   help="seconds to wait for the last acknowledgements")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `collector` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (CaptureError, CurveKeyError, KeyFileError, LiveError, ReferenceError, SnapshotError,
            SpoolError, UsageError) as e:
        print(f"collector: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
