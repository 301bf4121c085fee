"""Compiled builds of the collector's per-message modules (issue 4: speed).

The modules of `[tool.cellcensus] compiled` in pyproject.toml are plain Python and stay
the only copy of their logic: Cython compiles the same source into extension modules,
which Python imports instead of the `.py` beside them (extension modules come first on
the import path).  A `.pxd` beside a module declares C types for its hot loops and
classes; C integers only where values stay small (octet arithmetic with shifts of a few
bits: a C `int` overflows where Python's does not, which the tests of the compiled build
against the pure one, and the decoders' unit tests, would show).  Without Cython (or
with CELLCENSUS_PURE=1 at build time) the install has no extension modules and the `.py`
files run as they are: slower, the same counts.
`pip install -e .` builds them in place, `make` rebuilds what changed
(`setup.py build_ext --inplace`), and tests/conftest.py refuses a compiled module older
than its source.  Everything else about the distribution is in pyproject.toml.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent

# annotations are documentation here, never C types or checks (an `int` annotation must
# still take a numpy integer, a `dict` one a Counter); C types are in the .pxd files only
DIRECTIVES = {"language_level": 3, "annotation_typing": False, "binding": True,
              "embedsignature": True}


def compiled_modules() -> list[str]:
    """The source files to compile, as pyproject.toml lists them."""
    with open(HERE / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["cellcensus"]["compiled"]


def _extensions() -> list:
    if os.environ.get("CELLCENSUS_PURE"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:  # no Cython: the pure-Python install
        return []
    extensions = cythonize(compiled_modules(), compiler_directives=DIRECTIVES, quiet=True,
                           nthreads=os.cpu_count() or 1)
    for ext in extensions:  # (after Python's -O3 -g: no debug info, half the build time)
        ext.extra_compile_args = ["-O2", "-g0"]
    return extensions


# build_ext in parallel also under pip, which does not pass -j
setup(ext_modules=_extensions(), options={"build_ext": {"parallel": os.cpu_count() or 1}})
