"""cellcensus collector: capture → decode → pseudonymise → edge state → tallies → ZeroMQ.

Its per-message modules are compiled by Cython where the install could (setup.py): the
extension module beside a `.py` file is what Python imports.  With CELLCENSUS_PURE=1 in
the environment the `.py` files are imported instead (the reference that the compiled
build is tested against, bench/throughput.py's "pure" row).
"""

import os as _os

if _os.environ.get("CELLCENSUS_PURE"):
    import sys as _sys
    from importlib.machinery import SOURCE_SUFFIXES, FileFinder, SourceFileLoader

    class _SourceFirst:
        """Finds the collector's modules among source files only."""

        @staticmethod
        def find_spec(name, path, target=None):
            if not name.startswith("collector.") or not path:
                return None
            for entry in path:
                spec = FileFinder(entry, (SourceFileLoader, SOURCE_SUFFIXES)).find_spec(
                    name, target)
                if spec is not None:
                    return spec
            return None

    _sys.meta_path.insert(0, _SourceFirst)
