"""One generated `tiny` folder (seed 7) shared by the simulator tests of a session."""

from __future__ import annotations

from dataclasses import replace

import pytest

from simulator.generate import generate
from simulator.scenario import Scenario, load, resize

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


def nr_demo(scale: float, nr_share: float = 0.4) -> Scenario:
    """One day of `demo` at `scale` with `nr_share` of the persons camping on its NR cells
    (the built-in demo keeps them on LTE, see its [operator] nr_share)."""
    scn = resize(load("demo"), scale, 1)
    op = replace(scn.city.operator, nr_share=nr_share)
    return replace(scn, city=replace(scn.city, operator=op))
