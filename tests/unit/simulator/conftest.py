"""One generated `tiny` folder (seed 7) shared by the simulator tests of a session."""

from __future__ import annotations

import pytest

from simulator.generate import generate
from simulator.scenario import load

SEED = 7


@pytest.fixture(scope="session")
def tiny():
    """The validated built-in `tiny` scenario."""
    return load("tiny")


@pytest.fixture(scope="session")
def tiny_out(tmp_path_factory, tiny):
    """(folder, summary) of `simulator generate --scenario tiny --seed 7`."""
    out = tmp_path_factory.mktemp("tiny")
    return out, generate(tiny, out, SEED)
