"""The contracts that cross a boundary between cellcensus programs.

One copy of each: the pseudonym function (`wire.pseudonym`), the versioned
tally messages and acknowledgements (`wire.tally`), the reference-data files
(`wire.reference`) and the report/truth schema (`wire.report`).  This package
imports nothing from pycrate or packet code, so the aggregator can use it alone.
"""
