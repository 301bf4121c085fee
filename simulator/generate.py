"""Run a scenario and write its folder: s1.pcap, cells.csv, truth.json, scenario.json.

`generate(scenario, out, seed)` is what `simulator generate` runs; tests
call it directly.  No raw identity is written anywhere but inside the
capture (scenario.json holds counts only).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from simulator import mobility, population, signalling, truth
from simulator.pcap import Host, PcapWriter, SCTPAssociation
from simulator.population import rng
from simulator.procedures import Message
from simulator.scenario import Scenario
from wire.reference import Cell, write_cells
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

    def line(self) -> str:
        """The one-line summary printed by the command."""
        return (f"{self.scenario} (seed {self.seed}): {iso(self.start)} to {iso(self.end)}, "
                f"{self.people} people, {self.phones} phones, {self.enbs} eNBs, {self.cells} cells,"
                f" {self.messages} S1AP messages, {self.presence_rows} cell-presence rows")

    def document(self) -> dict:
        """scenario.json."""
        return {"scenario": self.scenario, "seed": self.seed, "start": iso(self.start),
                "end": iso(self.end), "bin_seconds": self.bin_seconds,
                "bins": math.ceil((self.end - self.start) / self.bin_seconds),
                "people": self.people, "phones": self.phones, "enbs": self.enbs,
                "cells": self.cells, "messages": self.messages,
                "presence_rows": self.presence_rows, "by_message": self.by_message}


def generate(scn: Scenario, out: Path, seed: int) -> Summary:
    """Simulate `scn` with `seed` and write the folder `out` (created if needed)."""
    people = population.build(scn, seed)
    _tracks, phones = mobility.plan(scn, people, seed)
    messages = signalling.simulate(scn, phones, seed)
    doc = truth.document(scn, phones)
    out.mkdir(parents=True, exist_ok=True)
    write_capture(str(out / "s1.pcap"), scn, messages, seed)
    write_cells(str(out / "cells.csv"), reference_cells(scn), created=scn.start)
    (out / "truth.json").write_text(json.dumps(doc, indent=1) + "\n")
    summary = Summary(scn.name, seed, scn.start, scn.end, scn.bin_seconds, len(people),
                      len(phones), len(scn.enbs), len(scn.cells), len(messages),
                      len(doc["cell_presence"]),
                      dict(sorted(Counter(m.name for m in messages).items())))
    (out / "scenario.json").write_text(json.dumps(summary.document(), indent=1) + "\n")
    return summary


def reference_cells(scn: Scenario) -> list[Cell]:
    """cells.csv rows: LTE, PLMN, TAC, ECI, a position near the site, the zone."""
    rows = []
    for c in scn.cells:
        az = math.radians(c.azimuth)
        lon = c.lon + _OFFSET_DEG * math.sin(az) / math.cos(math.radians(c.lat))
        lat = c.lat + _OFFSET_DEG * math.cos(az)
        rows.append(Cell("LTE", scn.network.mcc, scn.network.mnc, c.tac, c.eci, lon, lat,
                         1000, c.zone))
    return rows


def _mac(ip: str) -> bytes:
    """A locally administered MAC derived from the IPv4 address."""
    return b"\x02\x00" + bytes(int(x) for x in ip.split("."))


def write_capture(path: str, scn: Scenario, messages: list[Message], seed: int) -> int:
    """s1.pcap: one SCTP association per eNB with the MME; returns the number of frames."""
    r = rng(seed, "sctp")
    mme = Host(_mac(scn.network.mme_ip), scn.network.mme_ip)
    assocs = {e.id: SCTPAssociation(Host(_mac(e.ip), e.ip), mme,
                                    enb_tag=r.getrandbits(32) | 1, mme_tag=r.getrandbits(32) | 1,
                                    enb_tsn=r.getrandbits(32), mme_tsn=r.getrandbits(32))
              for e in scn.enbs}
    with PcapWriter(path) as w:
        for m in messages:
            w.write(m.t_us, assocs[m.enb].frame(m.uplink, m.stream, m.payload))
        return w.frames
