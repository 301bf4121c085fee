"""Run a scenario and write its folder: s1.pcap, truth.json, scenario.json and the
reference folder the aggregator may use (cells.csv, zones.geojson, census.csv; never the
operator's market shares, off rates or ownership).

s1.pcap holds every link the MME terminates, frames in time order: S1-MME (S1AP over
SCTP, one association per eNB), S11 (GTPv2-C over UDP to the S-GW) and S6a (Diameter
over SCTP to the HSS, one association), the last two when `core_signalling` is on.

`generate(scenario, out, seed)` is what `simulator generate` runs; tests
call it directly.  No raw identity is written anywhere but inside the
capture (scenario.json holds counts only).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from simulator import (
    agents,
    gcmode,
    mobility,
    phones,
    population,
    profiles,
    schedule,
    signalling,
    truth,
)
from simulator import truth_people as people_truth
from simulator.city import AGE_PYRAMID, split
from simulator.pcap import (
    DIAMETER_PORT,
    GTPC_PORT,
    NGAP_PORT,
    S1AP_PORT,
    Host,
    PcapWriter,
    SCTPAssociation,
    UDPFlow,
)
from simulator.pcap_batch import write_messages
from simulator.population import rng
from simulator.procedures import Message
from simulator.progress import Progress
from simulator.scenario import Scenario
from simulator.visible import VisibleSteps
from wire.reference import AGE_BANDS, Cell, Zone, write_cells, write_census, write_zones
from wire.report import iso

_OFFSET_DEG = 0.0012  # a cell's position: this far from its site towards its azimuth


@dataclass(frozen=True, slots=True)
class Summary:
    """What one run produced (printed on one line, written as scenario.json)."""

    scenario: str
    seed: int
    start: int
    end: int
    bin_seconds: int
    people: int
    phones: int
    enbs: int
    cells: int
    messages: int
    presence_rows: int
    by_message: dict[str, int]
    by_link: dict[str, int]

    def protocols(self) -> str:
        """'S1AP n, GTPv2-C n, Diameter n' (the links that have messages)."""
        names = (("s1", "S1AP"), ("ng", "NGAP"), ("s11", "GTPv2-C"), ("s6a", "Diameter"))
        return ", ".join(f"{name} {self.by_link[link]}" for link, name in names
                         if self.by_link.get(link))

    def line(self) -> str:
        """The one-line summary printed by the command."""
        return (f"{self.scenario} (seed {self.seed}): {iso(self.start)} to {iso(self.end)}, "
                f"{self.people} people, {self.phones} phones, {self.enbs} eNBs, {self.cells} cells,"
                f" {self.messages} messages ({self.protocols()}), {self.presence_rows} "
                f"cell-presence rows")

    def document(self) -> dict:
        """scenario.json."""
        return {"scenario": self.scenario, "seed": self.seed, "start": iso(self.start),
                "end": iso(self.end), "bin_seconds": self.bin_seconds,
                "bins": math.ceil((self.end - self.start) / self.bin_seconds),
                "people": self.people, "phones": self.phones, "enbs": self.enbs,
                "cells": self.cells, "messages": self.messages,
                "presence_rows": self.presence_rows, "by_link": self.by_link,
                "by_message": self.by_message}


def generate(scn: Scenario, out: Path, seed: int, progress: Progress | None = None,
             workers: int = 1) -> Summary:
    """Simulate `scn` with `seed` and write the folder `out` (created if needed); `progress`
    is told of each phase (agents, truth about persons, signalling and capture by simulated
    hour, the operator's truth, reference files).  Messages are written ten simulated
    minutes at a time as they are made (`signalling.stream`, its phones split over
    `workers` processes); the truth's operator sections follow what the network saw of
    each phone in that run (`visible`)."""
    with gcmode.bulk():
        return _generate(scn, out, seed, progress, workers)


def _generate(scn: Scenario, out: Path, seed: int, progress: Progress | None, workers: int
              ) -> Summary:
    progress = progress if progress is not None else Progress()
    subscribers: list[tuple[str, str, str]] = []
    if scn.city is None:
        progress.phase("agents", 2)
        people = population.build(scn, seed)
        subscribers = profiles.from_population(people, seed)
        progress.advance()
        tracks, timelines = mobility.plan(scn, people, seed)
        progress.advance()
        progress.phase("truth")
        where, windows = people_truth.from_tracks(scn, tracks), []
        census = {z.id: split(sum(p.home_zone == z.id for p in people), AGE_PYRAMID)
                  for z in scn.zones}
    else:
        progress.phase("agents", 3)
        crowd = agents.build(scn, seed)
        progress.advance()
        sched = schedule.plan(scn, crowd, seed)
        progress.advance()
        _devices, timelines = phones.build(scn, sched, seed, subscribers)
        progress.advance()
        progress.phase("truth")
        where, windows = people_truth.from_schedule(sched), event_windows(scn)
        census = scn.city.census
    gcmode.settle()
    people_n, sections = where.n, people_truth.sections(scn, where, windows)
    del where  # (the persons' truth is made: their whereabouts are not needed any more)
    out.mkdir(parents=True, exist_ok=True)
    progress.phase("signalling (hours)", signalling.hours(scn))
    names: Counter = Counter()
    links: Counter = Counter()

    def counted(chunks: Iterable[list[Message]]) -> Iterator[list[Message]]:
        for chunk in chunks:
            names.update(m.name for m in chunk)
            links.update(m.link for m in chunk)
            yield chunk

    seen = VisibleSteps()
    frames = write_capture(str(out / "s1.pcap"), scn,
                           counted(signalling.stream(scn, timelines, seed, progress=progress,
                                                     workers=workers, seen=seen)),
                           seed)
    progress.phase("operator truth")
    doc = truth.document(scn, timelines, seen.per_phone(scn, len(timelines)), sections)
    del seen
    progress.phase("reference files")
    write_cells(str(out / "cells.csv"), reference_cells(scn), created=scn.start)
    write_zones(str(out / "zones.geojson"), reference_zones(scn))
    write_census(str(out / "census.csv"), {z: dict(zip(AGE_BANDS, bands, strict=True))
                                           for z, bands in census.items()})
    profiles.write(str(out / profiles.FILE), subscribers)
    (out / "truth.json").write_text(json.dumps(doc, indent=1) + "\n")
    phones_n = len(timelines)
    summary = Summary(scn.name, seed, scn.start, scn.end, scn.bin_seconds, people_n,
                      phones_n, len(scn.enbs), len(scn.cells), frames,
                      len(doc["cell_presence"]), dict(sorted(names.items())),
                      dict(sorted(links.items())))
    (out / "scenario.json").write_text(json.dumps(summary.document(), indent=1) + "\n")
    progress.close()
    return summary


def event_windows(scn: Scenario) -> list[tuple[int, int]]:
    """[start, end) of every event day (local hours), in scenario order."""
    out = []
    for ev in scn.city.events if scn.city else ():
        for d in ev.days:
            midnight = scn.first_midnight + (d - 1) * 86400
            out.append((midnight + round(ev.hours[0] * 3600), midnight + round(ev.hours[1] * 3600)))
    return out


def reference_zones(scn: Scenario) -> list[Zone]:
    """zones.geojson: each zone's polygon, or a square of `zone_side_m` around its position."""
    side = scn.city.daily.zone_side_m if scn.city else 600
    out = []
    for z in scn.zones:
        ring = z.polygon
        if ring is None:
            dlat = side / 2 / 111_320
            dlon = dlat / math.cos(math.radians(z.lat))
            ring = tuple((z.lon + x * dlon, z.lat + y * dlat)
                         for x, y in ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)))
        out.append(Zone(z.id, z.name, ring))
    return out


def reference_cells(scn: Scenario) -> list[Cell]:
    """cells.csv rows: LTE, PLMN, TAC, ECI, a position near the site, the zone."""
    rows = []
    for c in scn.cells:
        az = math.radians(c.azimuth)
        lon = c.lon + _OFFSET_DEG * math.sin(az) / math.cos(math.radians(c.lat))
        lat = c.lat + _OFFSET_DEG * math.cos(az)
        rows.append(Cell("NR" if c.rat == "nr" else "LTE", scn.network.mcc, scn.network.mnc, c.tac, c.eci, lon, lat,
                         1000, c.zone))
    return rows


def _mac(ip: str) -> bytes:
    """A locally administered MAC derived from the IPv4 address."""
    return b"\x02\x00" + bytes(int(x) for x in ip.split("."))


def write_capture(path: str, scn: Scenario, chunks: Iterable[list[Message]], seed: int
                  ) -> int:
    """s1.pcap: one SCTP association per eNB (gNB: NGAP) with the MME, S11 over UDP, S6a over
    one SCTP association, from consecutive time-sorted lists of messages (`chunks`, e.g.
    `signalling.stream`); returns the number of frames."""
    r = rng(seed, "sctp")
    net = scn.network
    mme = Host(_mac(net.mme_ip), net.mme_ip)
    port = {"lte": S1AP_PORT, "nr": NGAP_PORT}
    assocs = {e.id: SCTPAssociation(Host(_mac(e.ip), e.ip, port[e.rat]),
                                    Host(mme.mac, mme.ip, port[e.rat]),
                                    enb_tag=r.getrandbits(32) | 1, mme_tag=r.getrandbits(32) | 1,
                                    enb_tsn=r.getrandbits(32), mme_tsn=r.getrandbits(32))
              for e in scn.enbs}
    r = rng(seed, "core-links")  # apart, so that the S1 associations do not depend on it
    s6a = SCTPAssociation(Host(_mac(net.hss_ip), net.hss_ip, DIAMETER_PORT),
                          Host(mme.mac, mme.ip, DIAMETER_PORT),
                          enb_tag=r.getrandbits(32) | 1, mme_tag=r.getrandbits(32) | 1,
                          enb_tsn=r.getrandbits(32), mme_tsn=r.getrandbits(32))
    s11 = UDPFlow(Host(_mac(net.sgw_ip), net.sgw_ip, GTPC_PORT), Host(mme.mac, mme.ip, GTPC_PORT),
                  r.getrandbits(16))
    with PcapWriter(path) as w:
        for chunk in chunks:
            write_messages(w, chunk, assocs, s11, s6a)
        return w.frames
