"""Accuracy of the report against the simulator's truth: simulate → collect → aggregate →
compare (issue 7, "Must show").

    .venv/bin/python bench/accuracy.py                         # tiny, seed 1
    .venv/bin/python bench/accuracy.py --scenario demo --market-share 1.3 --off 0.7
    .venv/bin/python bench/accuracy.py --scenario lyon-fete-des-lumieres --scale 0.02 --days 1

The replay reads the simulator's `subscribers.csv` as `--profiles` (age bands: raking);
the report has the `--raw` sections and the truth's visitors periods.  Prints the
operator's device-bins seen against the truth's (what the collector lost), the MAPE of
zone-hour presence (zone-hours of >= --min-people true people, and of all zone-hours),
the error of unique visitors per zone and period, the top foreign countries
of the whole run side by side, and the share of 95 % intervals that hold the truth.
`--market-share F`, `--off F`, `--ownership F` multiply the scenario's operator market
shares, phones-off shares and phone ownership (by age band, which residents and visitors
from other regions both follow) by F (0.7 / 1.3 for ±30 %), in a copy of the
scenario written to the work folder; the aggregator is not told.  Its `[foreign]` table is
the scenario's nominal capture shares (an operator knows its roaming partners' traffic).
The collector is given the operator's list of M2M module TACs (`--m2m-tacs`, the
scenario's `[operator] m2m_tacs`; `--no-m2m-tacs`: not).  `--replay` replays the --work
folder's simulation again (after a collector or aggregator change); `--breakdown` splits
the presence error by zone and local period into the collector's device error and the
weights' (`accuracy_breakdown.py`) and lists the visitors per zone.
Figures are compared before the publication rules (k = 0) so that the estimator is measured, not
the publication rule.  On `tiny` (12 people) figures are poor by construction: weights of
1.5 from a census of 12, single digits per zone-hour.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.estimate import Basis  # noqa: E402
from aggregator.extrapolate import ForeignFactors  # noqa: E402
from aggregator.report import ReportOptions, build_report  # noqa: E402
from aggregator.store import Store  # noqa: E402
from bench.accuracy_breakdown import breakdown  # noqa: E402
from simulator.city import M2M_TACS  # noqa: E402
from simulator.demo import free_port, wait_listening  # noqa: E402
from wire.compare import compare  # noqa: E402
from wire.reference import read_cells, read_census  # noqa: E402
from wire.report import iso, parse_iso  # noqa: E402

OWNERSHIP = {"0-14": 0.45, "15-29": 0.98, "30-44": 0.97, "45-59": 0.95, "60-74": 0.85,
             "75+": 0.6}  # the simulator's defaults of [operator] ownership
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


# --- a scenario copy with changed operator parameters ---------------------------------

def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _toml_key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def _is_tables(v: object) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dump_toml(doc: dict, prefix: str = "") -> str:
    """TOML text of a document read by tomllib (tables, arrays of tables, values)."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in doc.items()
             if not isinstance(v, dict) and not _is_tables(v)]
    for k, v in doc.items():
        name = f"{prefix}{_toml_key(k)}"
        if isinstance(v, dict):
            lines += ["", f"[{name}]", dump_toml(v, name + ".")]
        elif _is_tables(v):
            for item in v:
                lines += ["", f"[[{name}]]", dump_toml(item, name + ".")]
    return "\n".join(lines)


def _scale(x: float, f: float) -> float:
    return min(1.0, max(0.0, x * f))


def perturb(doc: dict, market: float, off: float, ownership: float) -> list[str]:
    """Multiply the operator's parameters in a scenario document in place; what changed."""
    done = []
    if "population" in doc and market != 1.0:  # tiny's flat population
        pop = doc["population"]
        pop["operator_phones"] = max(1, min(pop["people"], round(pop["operator_phones"] * market)))
        done.append(f"operator_phones → {pop['operator_phones']}")
    op = doc.setdefault("operator", {}) if "zones" in doc and "population" not in doc else None
    if op is None:
        flat = off != 1.0 or ownership != 1.0
        return done + (["(flat population: only the market share changes)"] if flat else [])
    if market != 1.0:
        nominal = op.get("market_share", 0.35)  # visitors' default share: the unscaled one
        op["market_share"] = _scale(nominal, market)
        for z in doc.get("zones", []):
            if "market_share" in z:
                z["market_share"] = _scale(z["market_share"], market)
        for v in doc.get("visitors", {}).get("domestic", []):
            v["operator_share"] = _scale(v.get("operator_share", nominal), market)
        done.append(f"market shares ×{market}")
    if off != 1.0:
        op["off_share"] = _scale(op.get("off_share", 0.02), off)
        op["night_off_share"] = _scale(op.get("night_off_share", 0.1), off)
        done.append(f"phones off ×{off}")
    if ownership != 1.0:  # by age band: residents and visitors from other regions alike
        op["ownership"] = {b: _scale(op.get("ownership", OWNERSHIP).get(b, p), ownership)
                           for b, p in OWNERSHIP.items()}
        done.append(f"ownership ×{ownership}")
    return done


def scenario_file(name: str) -> Path:
    path = Path(name)
    return path if path.suffix == ".toml" else ROOT / "simulator" / "scenarios" / f"{name}.toml"


def foreign_table(doc: dict) -> dict[str, ForeignFactors]:
    """The scenario's nominal capture shares, as an operator would configure them."""
    return {v["country"]: ForeignFactors(v.get("capture_share", 0.3), v.get("carry_share", 0.95))
            for v in doc.get("visitors", {}).get("foreign", [])}


# --- run the pipeline -----------------------------------------------------------------

def sh(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{proc.stderr.decode()[-2000:]}")
    return proc


def timezone_of(doc: dict) -> str:
    h = int(doc.get("scenario", {}).get("utc_offset_hours", 0))
    return "UTC" if h == 0 else f"Etc/GMT{'-' if h > 0 else '+'}{abs(h)}"


def m2m_tacs_file(work: Path, doc: dict) -> Path:
    """The operator's list of IoT module TACs (the scenario's `[operator] m2m_tacs`, else the
    simulator's defaults) as `collector --m2m-tacs` reads it: an operator knows the module
    types of its M2M contracts, as it knows its subscribers' profiles."""
    tacs = doc.get("operator", {}).get("m2m_tacs", list(M2M_TACS))
    path = work / "m2m_tacs.txt"
    path.write_text("".join(f"{t}\n" for t in tacs))
    return path


def pipeline(work: Path, scenario: Path, seed: int, tz: str, scale: float = 1.0,
             days: int | None = None, m2m_tacs: Path | None = None,
             simulate: bool = True, workers: int = 1) -> dict[str, float]:
    """simulate (at `scale`, over `days` local days; unless `simulate` is False: the
    folder's earlier simulation), then serve + replay, each over `workers` processes;
    seconds per stage."""
    seconds = {}
    t = time.monotonic()
    if simulate:
        sh("simulator", "generate", "--scenario", str(scenario), "--out", str(work / "sim"),
           "--seed", str(seed), "--scale", repr(scale), "--quiet", "--workers", str(workers),
           *(("--days", str(days)) if days else ()))
        seconds["simulate"] = time.monotonic() - t
    (work / "agg.duckdb").unlink(missing_ok=True)
    (work / "key").unlink(missing_ok=True)
    sh("collector", "keygen", "--out", str(work / "key"))
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    agg = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "--listen", endpoint,
                            "--db", str(work / "agg.duckdb")], cwd=ROOT,
                           stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, agg)
        profiles = work / "sim" / "subscribers.csv"  # the operator's profiles (contract B)
        t = time.monotonic()
        sh("collector", "replay", str(work / "sim" / "s1.pcap"), "--key-file",
           str(work / "key"), "--aggregator", endpoint, "--reference", str(work / "sim"),
           "--timezone", tz, "--home-min-nights", "1", "--drain-timeout", "60",
           *(("--workers", str(workers)) if workers > 1 else ()),
           *(("--m2m-tacs", str(m2m_tacs)) if m2m_tacs else ()),
           *(("--profiles", str(profiles)) if profiles.is_file() else ()))
        seconds["replay"] = time.monotonic() - t
    finally:
        agg.terminate()
        agg.wait(60)
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="tiny", help="built-in name or TOML path")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0, metavar="F",
                    help="simulator --scale: every count of a city scenario × F (default 1)")
    ap.add_argument("--days", type=int, metavar="D",
                    help="simulator --days: D local days from the scenario's first")
    ap.add_argument("--market-share", type=float, default=1.0, metavar="F")
    ap.add_argument("--off", type=float, default=1.0, metavar="F", help="phones-off shares × F")
    ap.add_argument("--ownership", type=float, default=1.0, metavar="F")
    ap.add_argument("--min-people", type=float, default=1000.0)
    ap.add_argument("--work", help="work folder (default: a temporary one, removed)")
    ap.add_argument("--reuse", action="store_true",
                    help="report again from the --work folder of an earlier run")
    ap.add_argument("--workers", type=int, default=1, metavar="N",
                    help="simulate and replay over N processes (the replay's counts are "
                         "those of one; the simulated capture is another, as deterministic)")
    ap.add_argument("--warm-up-days", type=int, default=0, metavar="N",
                    help="compare only the figures from the (N+1)-th local day on: the "
                         "collector runs for N days first, as a probe in service would have "
                         "(M2M modules recognised by behaviour, homes from earlier nights)")
    ap.add_argument("--replay", action="store_true",
                    help="replay and report again the --work folder's earlier simulation")
    ap.add_argument("--no-m2m-tacs", action="store_true",
                    help="do not give the collector the operator's M2M module TACs")
    ap.add_argument("--breakdown", action="store_true",
                    help="presence error by zone and local period, split into the "
                         "collector's device error and the weights' (accuracy_breakdown.py)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="accuracy-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        source = scenario_file(args.scenario)
        doc = tomllib.loads(source.read_text())
        changes = perturb(doc, args.market_share, args.off, args.ownership)
        scenario = source
        if changes:
            scenario = work / f"{source.stem}-perturbed.toml"
            scenario.write_text(dump_toml(doc) + "\n")
        tacs = None if args.no_m2m_tacs else m2m_tacs_file(work, doc)
        seconds = ({} if args.reuse and args.work else
                   pipeline(work, scenario, args.seed, timezone_of(doc), args.scale,
                            args.days, tacs, simulate=not (args.replay and args.work),
                            workers=args.workers))
        truth = json.loads((work / "sim" / "truth.json").read_text())
        ref = work / "sim"
        bands = (read_census(str(ref / "census.csv")) if (ref / "census.csv").is_file()
                 else None)
        census = {z: sum(b.values()) for z, b in bands.items()} if bands else None
        periods = tuple(sorted({(parse_iso(r["start"]), parse_iso(r["end"]))
                                for r in truth.get("visitors", [])}))
        options = ReportOptions(read_cells(str(ref / "cells.csv")),
                                Basis(census, foreign_table(doc), census_bands=bands), k=0,
                                periods=periods or None, raw=True)
        with Store(work / "agg.duckdb"):
            pass  # a store of an older schema (--reuse) is upgraded by a writer first
        with Store(work / "agg.duckdb", read_only=True) as store:
            report = build_report(store, options)
        size = (f" scale {args.scale:g}" if args.scale != 1.0 else "") + (
            f" {args.days} day(s)" if args.days else "")
        print(f"scenario   {args.scenario}{size} seed {args.seed}; "
              f"{', '.join(changes) or 'default parameters'}; "
              + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
        if census is None:
            print("note       no census.csv: every device counts as one person")
        since = None
        if args.warm_up_days:
            first = min(parse_iso(r["start"]) for r in truth["presence"])
            offset = int(doc.get("scenario", {}).get("utc_offset_hours", 0)) * 3600
            since = first - (first + offset) % 86400 + args.warm_up_days * 86400
            print(f"warm-up    {args.warm_up_days} day(s): figures from "
                  f"{iso(since)} on")
        for line in compare(report, truth, args.min_people, since):
            print(line)
        if args.breakdown:
            zone_of = {(c.plmn, c.cell): c.zone for c in options.cells if c.zone}
            offset = int(doc.get("scenario", {}).get("utc_offset_hours", 0)) * 3600
            for line in breakdown(report, truth, zone_of, offset, scenario, args.seed,
                                  args.scale, args.days):
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
