"""Full-size simulator bench: `lyon-fete-des-lumieres`, one festival day (5 December, the
first of the four evenings), at a given scale.

    .venv/bin/python bench/lyon.py [--scale 1] [--seed 1] [--out DIR] [--workers N]

Runs the phases of `simulator generate` one after the other and prints, per phase, its
wall-clock time and CPU time (this process), then the messages (by link, the most
frequent), the capture's size, messages per second over the whole run and over
signalling + capture (the encoding part, interleaved: the capture is written an hour of
messages at a time), and the peak resident memory.  The output folder is a temporary one
removed at the end unless `--out` is given.  One run only: at scale 1 it takes a long
time (the lead runs it on a quiet machine); at small scales repeat it and quote medians.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator import agents, gcmode, phones, profiles, schedule, signalling, truth  # noqa: E402
from simulator import truth_people as people_truth  # noqa: E402
from simulator.generate import event_windows, write_capture  # noqa: E402
from simulator.scenario import load, resize  # noqa: E402
from simulator.visible import VisibleSteps  # noqa: E402


class Clock:
    """Wall and CPU seconds of each phase, printed as they end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.rows.append((name, wall - self._wall, cpu - self._cpu))
        print(f"  {name:<22} {wall - self._wall:9.1f} s wall {cpu - self._cpu:9.1f} s CPU",
              flush=True)
        self._wall, self._cpu = wall, cpu

    def wall(self, *names: str) -> float:
        return sum(w for n, w, _ in self.rows if not names or n in names)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, help="keep the generated folder here")
    p.add_argument("--workers", type=int, default=1,
                   help="split the signalling over N processes (simulator generate --workers)")
    p.add_argument("--sessions", metavar="AWAKE,EVENT,NIGHT",
                   help="data sessions per hour instead of the scenario's (e.g. 0.5,0.5,0: "
                        "the rates before they depended on the hour and the activity)")
    args = p.parse_args(argv)
    logging.getLogger("pycrate_mobile").setLevel(logging.ERROR)
    scn = resize(load("lyon-fete-des-lumieres"), args.scale, 1)
    if args.sessions:
        day, event, night = (float(x) for x in args.sessions.split(","))
        scn = replace(scn, behaviour=replace(
            scn.behaviour, data_sessions_per_hour=day, event_sessions_per_hour=event,
            night_sessions_per_hour=night))
    b = scn.behaviour
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-lyon-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"lyon-fete-des-lumieres, scale {args.scale:g}, 1 day, seed {args.seed}, "
          f"{args.workers} worker(s); data "
          f"sessions per hour awake {b.data_sessions_per_hour:g}, at events "
          f"{b.event_sessions_per_hour}, asleep {b.night_sessions_per_hour:g}", flush=True)
    try:
        with gcmode.bulk():
            _run(args, scn, out)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    return 0


def _run(args: argparse.Namespace, scn, out: Path) -> None:
    """The phases of `simulator generate`, timed (as `generate.generate` runs them)."""
    c = Clock()
    crowd = agents.build(scn, args.seed)
    c.lap("agents")
    sched = schedule.plan(scn, crowd, args.seed)
    c.lap("schedules")
    subs: list = []
    _devices, timelines = phones.build(scn, sched, args.seed, subs)
    c.lap("phones (timelines)")
    gcmode.settle()
    sections = people_truth.sections(scn, people_truth.from_schedule(sched),
                                     event_windows(scn))
    c.lap("truth")
    names, links, writing = Counter(), Counter(), [0.0, 0.0]

    def timed(chunks):  # the capture's share of the interleaved run, timed apart
        for chunk in chunks:
            names.update(m.name.split("/")[-1] for m in chunk)
            links.update(m.link for m in chunk)
            wall, cpu = time.perf_counter(), time.process_time()
            yield chunk
            writing[0] += time.perf_counter() - wall
            writing[1] += time.process_time() - cpu

    seen = VisibleSteps()
    frames = write_capture(str(out / "s1.pcap"), scn, timed(signalling.stream(
        scn, timelines, args.seed, workers=args.workers, seen=seen)), args.seed)
    c.lap("signalling + capture")
    print(f"    of which capture     {writing[0]:9.1f} s wall {writing[1]:9.1f} s CPU")
    doc = truth.document(scn, timelines, seen.per_phone(scn, len(timelines)), sections)
    c.lap("operator truth")
    profiles.write(str(out / profiles.FILE), subs)
    c.lap("subscribers.csv")
    size = (out / "s1.pcap").stat().st_size
    print(f"people {len(crowd):,}, operator devices {len(timelines):,}, "
          f"presence rows {len(doc['cell_presence']):,}")
    print(f"messages per operator device and day {frames / len(timelines):,.0f}")
    print(f"messages {frames:,} (" + ", ".join(
        f"{k} {v:,}" for k, v in sorted(links.items())) + f"), capture {size / 1e6:,.1f} MB")
    print("most said: " + ", ".join(f"{n} {k:,}" for n, k in names.most_common(6)))
    total, enc = c.wall(), c.wall("signalling + capture")
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"total {total:,.1f} s wall: {frames / total:,.0f} msgs/s overall, "
          f"{frames / enc:,.0f} msgs/s signalling + capture; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:,.1f} GB"
          + (f", largest worker {kids.ru_maxrss / 1e6:,.1f} GB, workers' CPU "
             f"{kids.ru_utime + kids.ru_stime:,.1f} s" if args.workers > 1 else ""))


if __name__ == "__main__":
    sys.exit(main())
