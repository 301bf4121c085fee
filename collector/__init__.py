"""cellcensus collector: capture → decode → pseudonymise → edge state → tallies → ZeroMQ."""
