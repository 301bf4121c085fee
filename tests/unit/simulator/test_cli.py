"""`simulator generate`: deterministic for a seed, one-line summary, exit code 2 with one
line for usage and scenario errors, and no raw identity outside the capture."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from simulator import population
from simulator.__main__ import main
from tests.unit.simulator.conftest import SEED
from wire.reference import read_cells
from wire.report import SCHEMA

FILES = ("s1.pcap", "cells.csv", "truth.json", "scenario.json")


def test_same_seed_same_bytes_other_seed_other_capture(tmp_path, tiny_out):
    out, _ = tiny_out
    assert main(["generate", "--scenario", "tiny", "--out", str(tmp_path / "a"),
                 "--seed", str(SEED)]) == 0
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (out / name).read_bytes(), name
    assert main(["generate", "--scenario", "tiny", "--out", str(tmp_path / "b"),
                 "--seed", str(SEED + 1)]) == 0
    assert (tmp_path / "b" / "s1.pcap").read_bytes() != (out / "s1.pcap").read_bytes()
    assert population.identities("tiny", SEED) == population.identities("tiny", SEED)
    assert population.identities("tiny", SEED) != population.identities("tiny", SEED + 1)


def test_summary_line_and_files(tmp_path, capsys):
    assert main(["generate", "--scenario", "tiny", "--out", str(tmp_path)]) == 0
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "12 people, 8 phones" in line and str(tmp_path) in line
    assert "messages (S1AP " in line and ", GTPv2-C " in line and ", Diameter " in line
    summary = json.loads((tmp_path / "scenario.json").read_text())
    assert (summary["seed"], summary["bins"], summary["phones"]) == (1, 12, 8)
    assert set(summary["by_link"]) == {"s1", "s11", "s6a"}
    assert sum(summary["by_link"].values()) == summary["messages"]
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["schema"] == SCHEMA and len(truth["cell_presence"]) == summary["presence_rows"]
    assert len(truth["cell_presence"]) >= 20
    cells = read_cells(str(tmp_path / "cells.csv"))
    assert len(cells) == 8 and {c.plmn for c in cells} == {"00101"}
    assert {(c.area, c.cell >> 8) for c in cells} == {(1, 4101), (1, 4102), (2, 4203)}
    known = {(c.area, c.cell) for c in cells}
    assert all((r["tac"], r["cell"]) in known for r in truth["cell_presence"])
    with open(tmp_path / "cells.csv", newline="") as f:
        assert next(csv.reader(f))[:9] == ["radio", "mcc", "net", "area", "cell", "unit", "lon",
                                           "lat", "range"]


def test_no_identity_outside_the_capture(tiny_out):
    out, _ = tiny_out
    ids = population.identities("tiny", SEED)
    assert ids.msisdns  # tiny has numbers (in the capture's S11 and S6a only)
    needles = [i.encode() for i in ids.imsis + ids.imeisvs + ids.msisdns]
    needles += [i[5:].encode() for i in ids.imsis]  # the MSIN alone
    for name in FILES[1:]:
        data = (out / name).read_bytes()
        assert not [n for n in needles if n in data], name


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True,
                          text=True, timeout=120)


def test_usage_and_scenario_errors_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nname = 'x'\n")
    for args, start in [((), "simulator: the following arguments are required: command"),
                        (("generate", "--out", str(tmp_path)),
                         "simulator generate: the following arguments are required: --scenario"),
                        (("generate", "--scenario", "tiny", "--out", str(tmp_path), "--seed",
                          "x"), "simulator generate: argument --seed: invalid int value: 'x'"),
                        (("generate", "--scenario", "nowhere", "--out", str(tmp_path)),
                         "simulator: nowhere: not a built-in scenario (demo, lyon-fete-des-lumieres, tiny)"),
                        (("generate", "--scenario", str(bad), "--out", str(tmp_path)),
                         "simulator: bad.toml: scenario.start: missing")]:
        proc = _cli(*args)
        assert proc.returncode == 2, args
        assert proc.stderr.startswith(start) and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stdout == ""
    assert not (tmp_path / "s1.pcap").exists()


def test_the_console_command_prints_one_line_only(tmp_path):
    proc = _cli("generate", "--scenario", "tiny", "--out", str(tmp_path / "o"), "--seed", "3")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("tiny (seed 3): ") and proc.stdout.count("\n") == 1
