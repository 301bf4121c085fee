"""The compiled build (setup.py, issue 4) is the Python source compiled: every module
pyproject.toml lists is imported from its extension module, and a replay with them gives
byte for byte the tallies, counts and summary of the same replay on the `.py` files
(CELLCENSUS_PURE=1), on the real captures and on a simulated city."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES

import pytest

from tests.conftest import ROOT, compiled_sources
from tests.helpers import capture_paths, run

PURE = bool(os.environ.get("CELLCENSUS_PURE"))

# in a fresh interpreter: replay, keep the batches, print one digest of everything
_OUTCOME = """
import hashlib, sys
import collector.app as app
from collector.app import EdgeConfig, replay
from wire.pseudonym import Pseudonymizer
from wire.tally import encode_batch

class Keep:
    def __init__(self):
        self.blobs = []
    def send(self, batch):
        self.blobs.append(encode_batch(batch))

sink = Keep()
s = replay(sys.argv[1:], EdgeConfig("compiled", 1, bin_seconds=300), Pseudonymizer(bytes(32)),
           sink)
h = hashlib.sha256()
for blob in sink.blobs:
    h.update(blob)
print(app.__file__)
print(sorted(s.counters.messages.items()), sorted(s.counters.dropped.items()), s.counters.frames)
print(sorted(s.events.items()), s.devices, s.rows, s.sketches, s.batches, len(sink.blobs))
print(h.hexdigest())
"""


def compiled_modules() -> list[str]:
    return [f.removesuffix(".py").replace("/", ".") for f in compiled_sources()]


@pytest.mark.skipif(PURE, reason="CELLCENSUS_PURE: the .py files are imported")
def test_every_listed_module_is_imported_compiled() -> None:
    for name in compiled_modules():
        path = importlib.import_module(name).__file__
        assert path.endswith(tuple(EXTENSION_SUFFIXES)), f"{name} imported from {path}"


def _outcome(paths: list[str], pure: bool) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "CELLCENSUS_PURE"}
    if pure:
        env["CELLCENSUS_PURE"] = "1"
    out = subprocess.run([sys.executable, "-c", _OUTCOME, *paths], check=True, cwd=ROOT,
                         env=env, capture_output=True, text=True).stdout.splitlines()
    assert out[0].endswith(".py") == (pure or PURE), out[0]  # which build ran
    return out[1:]


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("city")
    run("simulator", "generate", "--scenario", "tiny", "--out", str(out), "--seed", "5")
    return str(next(p for p in out.iterdir() if p.suffix in (".pcap", ".pcapng")))


@pytest.mark.skipif(PURE, reason="CELLCENSUS_PURE: nothing compiled to compare")
def test_compiled_replay_equals_the_pure_one_on_the_real_captures() -> None:
    paths = [str(p) for p in capture_paths()]
    compiled = _outcome(paths, pure=False)
    assert "'s1ap'" in compiled[0] and "'ngap'" in compiled[0]
    assert compiled == _outcome(paths, pure=True)


@pytest.mark.skipif(PURE, reason="CELLCENSUS_PURE: nothing compiled to compare")
def test_compiled_replay_equals_the_pure_one_on_a_simulated_city(city: str) -> None:
    compiled = _outcome([city], pure=False)
    assert int(compiled[1].split()[-4]) > 20  # presence rows
    assert compiled == _outcome([city], pure=True)
    cli = run("collector", "replay", city, "--dry-run").stdout
    assert run("collector", "replay", city, "--dry-run", env={**os.environ, "CELLCENSUS_PURE":
                                                               "1"}).stdout == cli
