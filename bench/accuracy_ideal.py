"""What the estimator's model gives when the collector sees every device perfectly (issue 7):
the report's weights applied to the simulator's agents, against the true people.

    .venv/bin/python bench/accuracy_ideal.py --scenario lyon-fete-des-lumieres --scale 0.05

Residents' devices weigh census(h) / devices of home h, domestic visitors' the national
ratio Σ census / Σ residents' devices, foreign visitors' their group's people per device.
Nothing is observed through a capture: whatever error is left is the model's (who carries
the operator's phones against who moves), not the collector's nor the code's.  A
diagnostic on the truth side, as accuracy_breakdown.py: nothing here feeds the aggregator.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.accuracy import scenario_file  # noqa: E402
from simulator import agents, schedule  # noqa: E402
from simulator.agents import DOMESTIC, FOREIGN, RESIDENT  # noqa: E402
from simulator.scenario import load, resize  # noqa: E402


def ideal_weights(crowd) -> tuple[np.ndarray, float]:
    """Per person, the people one of their devices stands for; and the national ratio."""
    res = crowd.kind == RESIDENT
    dev = crowd.devices.astype(float)
    zones = int(crowd.home.max()) + 1
    census = np.bincount(crowd.home[res], minlength=zones).astype(float)
    found = np.bincount(crowd.home[res], weights=dev[res], minlength=zones)
    national = census.sum() / found.sum()
    home_w = np.divide(census, found, out=np.zeros(zones), where=found > 0)
    w = np.where(res, home_w[np.maximum(crowd.home, 0)], national)
    for c in range(len(crowd.countries)):
        group = (crowd.kind == FOREIGN) & (crowd.country == c)
        w[group] = group.sum() / max(dev[group].sum(), 1.0)
    return w, national


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="lyon-fete-des-lumieres")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--min-people", type=float, default=1000.0)
    args = ap.parse_args(argv)
    scn = resize(load(str(scenario_file(args.scenario))), args.scale, 1)
    crowd = agents.build(scn, args.seed)
    sched = schedule.plan(scn, crowd, args.seed)
    ids = [z.id for z in scn.zones]
    w, national = ideal_weights(crowd)
    dev = crowd.devices.astype(float)
    dom = crowd.kind == DOMESTIC
    print(f"national ratio {national:.3f} people per device; domestic visitors' "
          f"{dom.sum() / max(dev[dom].sum(), 1.0):.3f}")
    t0 = sched.days[0].midnight
    seen = np.zeros((len(ids), len(crowd)), bool)
    apes, by_zone = [], {z: [] for z in ids}
    for hour in range(24):
        true, est = np.zeros(len(ids)), np.zeros(len(ids))
        for q in range(4):  # the hour's quarter-hour midpoints
            z = sched.zone_at(t0 + hour * 3600 + 450 + 900 * q)
            on = z >= 0
            seen[z[on], np.flatnonzero(on)] = True
            true += np.bincount(z[on], minlength=len(ids)) / 4
            est += np.bincount(z[on], weights=(dev * w)[on], minlength=len(ids)) / 4
        for i, zone in enumerate(ids):
            by_zone[zone].append(100 * (est[i] / true[i] - 1) if true[i] else 0.0)
            if true[i] >= args.min_people:
                apes.append(abs(est[i] / true[i] - 1))
    print(f"presence   MAPE {100 * np.mean(apes):.1f} % over {len(apes)} zone-hours >= "
          f"{args.min_people:g}; error % by local hour 0-23:")
    for zone, errors in by_zone.items():
        print(f"  {zone:15} " + " ".join(f"{e:+3.0f}" for e in errors))
    print("visitors   of the day per zone: residents, visitors from other regions (error %)")
    res = crowd.kind == RESIDENT
    for i, zone in enumerate(ids):
        parts = [(seen[i] & m).sum() for m in (res, dom)]
        ests = [(dev * w)[seen[i] & m].sum() for m in (res, dom)]
        print(f"  {zone:15} " + "  ".join(f"{t:6d} {100 * (e / t - 1) if t else 0:+5.1f}"
                                          for t, e in zip(parts, ests, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
