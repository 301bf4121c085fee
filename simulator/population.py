"""The people of a scenario and the operator's phones among them.

Every person exists in the truth's population; only the `operator_phones`
first ones carry the operator's SIM and produce signalling.  IMSIs and
IMEISVs are written nowhere but in the capture: tests that scan outputs
for them get them from `identities(scenario, seed)`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulator.scenario import Scenario, load

# Type allocation codes (first 8 IMEI digits) of a few common handsets.
_COUNTRY_CODE = "33"  # E.164 country code of the MSISDNs (a French operator)
_TACS = ("35209900", "35391110", "35875411", "86891404", "35466011", "01332700")


@dataclass(frozen=True, slots=True)
class Phone:
    """The operator's SIM in a handset.

    `reports_imeisv`: the MME asks this phone for its IMEISV at its first attach.
    `msisdn`: the E.164 number of the subscription (digits, country code first), None
    for a data-only SIM.  `psm`: an IoT module, which asks for power saving mode (an
    active time T3324 and an extended periodic timer T3412) in its attach and tracking
    area update requests (TS 24.301 §5.3.11, TS 23.682 §4.5.4); handsets do not.
    """

    imsi: str
    imeisv: str
    reports_imeisv: bool
    msisdn: str | None = None
    psm: bool = False


@dataclass(frozen=True, slots=True)
class Person:
    """One inhabitant or visitor; `phone` is None without the operator's SIM.  `m2m`: not a
    person but an M2M module (meter, tracker) with the operator's SIM."""

    index: int
    home_zone: str
    phone: Phone | None
    m2m: bool = False


@dataclass(frozen=True, slots=True)
class Identities:
    """The raw identities a capture of (scenario, seed) holds, for privacy scans."""

    imsis: tuple[str, ...]
    imeisvs: tuple[str, ...]
    msisdns: tuple[str, ...] = ()


def rng(seed: int, *purpose: object) -> random.Random:
    """A generator for one purpose; string seeding is stable across runs and versions."""
    return random.Random("/".join(str(p) for p in (seed, *purpose)))


def build(scenario: Scenario, seed: int) -> tuple[Person, ...]:
    """The scenario's people, deterministic for `seed`."""
    r = rng(seed, "population")
    plmn = scenario.network.plmn
    msin_digits = 15 - len(plmn)
    imsis: set[str] = set()
    phones = scenario.population.operator_phones
    reporting = set(r.sample(range(phones), round(scenario.population.imeisv_share * phones)))
    numbers = _msisdns(scenario, seed)
    people = []
    for i in range(scenario.population.people):
        home = r.choice(scenario.zones).id
        phone = None
        if i < scenario.population.operator_phones:
            imsi = plmn + f"{r.randrange(10 ** msin_digits):0{msin_digits}d}"
            while imsi in imsis:
                imsi = plmn + f"{r.randrange(10 ** msin_digits):0{msin_digits}d}"
            imsis.add(imsi)
            imeisv = r.choice(_TACS) + f"{r.randrange(10 ** 6):06d}" + f"{r.randrange(1, 99):02d}"
            phone = Phone(imsi, imeisv, i in reporting, numbers.get(i))
        people.append(Person(i, home, phone))
    return tuple(people)


def _msisdns(scenario: Scenario, seed: int) -> dict[int, str]:
    """{phone index: MSISDN} of the phones with a number (a generator of their own, so that
    the other identities of a seed do not depend on them)."""
    r = rng(seed, "msisdn")
    phones = scenario.population.operator_phones
    owners = r.sample(range(phones), round(scenario.population.msisdn_share * phones))
    numbers: dict[int, str] = {}
    taken: set[str] = set()
    for i in sorted(owners):
        n = _COUNTRY_CODE + f"{r.randrange(6 * 10 ** 8, 8 * 10 ** 8):09d}"  # mobile numbers
        while n in taken:
            n = _COUNTRY_CODE + f"{r.randrange(6 * 10 ** 8, 8 * 10 ** 8):09d}"
        taken.add(n)
        numbers[i] = n
    return numbers


def identities(scenario: Scenario | str, seed: int) -> Identities:
    """IMSIs of all phones, IMEISVs of the phones that send one and MSISDNs, for
    (scenario, seed)."""
    scn = load(scenario) if isinstance(scenario, str) else scenario
    if scn.city is None:
        phones = [p.phone for p in build(scn, seed) if p.phone is not None]
    else:
        from simulator import agents, schedule
        from simulator import phones as devices

        sched = schedule.plan(scn, agents.build(scn, seed), seed)
        phones = [tl.person.phone for tl in devices.build(scn, sched, seed)[1]]
    return Identities(tuple(p.imsi for p in phones),
                      tuple(p.imeisv for p in phones if p.reports_imeisv),
                      tuple(p.msisdn for p in phones if p.msisdn is not None))
