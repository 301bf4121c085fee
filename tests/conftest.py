"""Shared test set-up: quiet scapy, paths of the golden captures."""

from __future__ import annotations

import logging
from pathlib import Path

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "tests" / "golden" / "captures"
