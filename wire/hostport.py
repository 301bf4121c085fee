"""`HOST:PORT` as the metrics options take it (one parser for the collector and the
aggregator)."""

from __future__ import annotations


def parse_host_port(text: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 in brackets: `[::1]:9464`) as (host, port); ValueError saying what
    was expected if not."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("expected HOST:PORT with a port from 1 to 65535")
    return host, int(port)
