"""cellcensus aggregator: receive tallies over ZeroMQ, store them (DuckDB), report."""
