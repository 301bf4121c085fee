"""Shared test set-up: quiet scapy, paths of the golden captures, and a refusal to test
compiled modules older than their source (setup.py: Python imports the extension module
beside a `.py` file, so a stale one would be tested instead of the code in the tree)."""

from __future__ import annotations

import logging
import tomllib
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "tests" / "golden" / "captures"


def compiled_sources() -> list[str]:
    """The source files of the compiled build, as pyproject.toml lists them (setup.py)."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["cellcensus"]["compiled"]


def stale_compiled() -> list[str]:
    """Listed modules whose extension module is older than their .py or .pxd file."""
    stale = []
    for src in compiled_sources():
        py = ROOT / src
        built = [py.with_suffix(s) for s in EXTENSION_SUFFIXES if py.with_suffix(s).exists()]
        inputs = [p for p in (py, py.with_suffix(".pxd")) if p.exists()]
        if built and max(p.stat().st_mtime for p in inputs) > built[0].stat().st_mtime:
            stale.append(src)
    return stale


def pytest_sessionstart(session: pytest.Session) -> None:
    stale = stale_compiled()
    if stale:
        raise pytest.UsageError(f"compiled modules older than their source: {', '.join(stale)}"
                                " (run `make build`, or `make test`)")
