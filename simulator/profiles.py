"""`DIR/subscribers.csv`: the operator's own subscriber profiles (contract B, writer side).

Header `imsi,age_band,gender`; one row per SIM of the operator's home PLMN held by a person
(every one of them, including phones never switched on during the run; roamers and M2M
modules are not the operator's subscribers with a person behind them and are left out);
`age_band` as census.csv, `gender` `f` or `m`, drawn 50/50 per person from the seed.  It is
an operator input holding raw IMSIs, like the capture: never among the reference files,
written with mode 0600.  Rows are sorted by IMSI (nothing of the device order shows).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from simulator.city import AGE_PYRAMID, split
from simulator.population import Person, rng
from wire.reference import AGE_BANDS

HEADER = "imsi,age_band,gender\n"
FILE = "subscribers.csv"


def gender(seed: int, person: int) -> str:
    """A person's gender, 'f' or 'm' with equal odds, from the seed alone."""
    return "f" if rng(seed, "gender", person).random() < 0.5 else "m"


def from_population(people: Iterable[Person], seed: int) -> list[tuple[str, str, str]]:
    """(imsi, age band, gender) of the phones of a population-model scenario: each home
    zone's people get the bands of its census (`split` of AGE_PYRAMID), shuffled."""
    people = list(people)
    by_zone: dict[str, list[Person]] = {}
    for p in people:
        by_zone.setdefault(p.home_zone, []).append(p)
    out = []
    for zone, members in by_zone.items():
        bands = [b for b, n in zip(AGE_BANDS, split(len(members), AGE_PYRAMID), strict=True)
                 for _ in range(n)]
        rng(seed, "population-bands", zone).shuffle(bands)
        out += [(p.phone.imsi, band, gender(seed, p.index))
                for p, band in zip(members, bands, strict=True) if p.phone is not None]
    return out


def write(path: str, rows: Iterable[tuple[str, str, str]]) -> int:
    """Write subscribers.csv (mode 0600, replaced whole); returns the number of rows."""
    rows = sorted(rows)
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as f:
        f.write(HEADER)
        f.writelines(f"{imsi},{band},{g}\n" for imsi, band, g in rows)
    os.replace(tmp, path)
    return len(rows)
