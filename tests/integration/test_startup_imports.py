"""A replay the hand-written readers cover entirely never imports pycrate (issue 4).

pycrate is the reference and the fallback of every fast reader; importing it cost
~0.4 s of the collector's start-up (S1AP's compiled ASN.1, the EPS NAS modules, the
MAP ASN.1 that GTPv2-C's module pulls, the Diameter dictionaries, the MCC table).
The decoders now take names and numbers from generated tables (collector/tables.py)
and import pycrate on the first value it must decode.  These captures hold S1AP,
S11 GTPv2-C and S6a/Gx/Gy Diameter whose every value the fast path reads ("pycrate
s1ap 0/N" in the summary), so `collector replay` must end with no pycrate module
loaded; one with fallbacks loads it, and still counts what it read.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import CAPTURES, ROOT
from wire.pseudonym import write_key

# run the real command line in a fresh interpreter, then list the pycrate modules loaded
_SCRIPT = """
import sys
from collector.__main__ import main
code = main(sys.argv[1:])
print("pycrate modules:", *sorted(m for m in sys.modules if m.startswith("pycrate")))
sys.exit(code)
"""


def _replay(capture: str, key: str) -> tuple[str, list[str]]:
    """(stdout, pycrate modules loaded at the end) of `collector replay --dry-run`."""
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, "replay", str(CAPTURES / capture), "--dry-run",
         "--key-file", key], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("pycrate modules:")
    return proc.stdout, last.split()[2:]


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("key") / "k")
    write_key(path)
    return path


@pytest.mark.parametrize("capture", [
    "open5gs_open5gs__testattach.pcapng",  # S1AP, S11, S6a
    "open5gs_open5gs__srsenb.pcapng",
    "magma_magma__gx_gy_combined_04_210505_133027-1.pcapng",  # S1AP, Gx, Gy
])
def test_fast_path_replay_imports_no_pycrate(capture: str, key: str) -> None:
    out, modules = _replay(capture, key)
    assert "pycrate       s1ap 0/" in out  # nothing fell back to pycrate
    assert modules == []


def test_a_fallback_imports_pycrate_when_needed(key: str) -> None:
    # open5gs testsimple: 29 S1AP values the hand-written readers leave to pycrate
    out, modules = _replay("open5gs_open5gs__testsimple.pcapng", key)
    assert "pycrate       s1ap 29/1079" in out
    assert "pycrate_asn1dir.S1AP" in modules
