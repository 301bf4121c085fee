"""Counters of the collector: messages by protocol and drops by (stage, reason).

Reasons come from a closed set (STYLE habit 5), so a dashboard can list them
all; an unknown reason is a bug and raises.  collector.metrics exposes these counts
to Prometheus, read at scrape time (`Counters.copy`), so counting stays a dict add.
"""

from __future__ import annotations

from collections import Counter

STAGES = ("capture", "framing", "decode", "state", "sending")
REASONS = (
    # capture
    "truncated_capture", "bad_record",
    # capture, live: frames the kernel dropped, its socket buffer full (PACKET_STATISTICS)
    "kernel_drop",
    # framing
    "unsupported_linktype", "truncated", "not_ip", "bad_ip", "fragment", "not_signalling",
    "bad_sctp", "bad_chunk",
    # decode
    "bad_asn1", "bad_nas", "unsupported", "ciphered", "concealed", "no_identity",
    # state
    "late", "unattributed",
    # sending
    "unacknowledged",
    # decode: a malformed TLV information element (GTPv2-C, TS 29.274 §8)
    "bad_ie",
    # framing: IP fragments (RFC 791, RFC 8200 §4.5) and TCP streams (RFC 9293)
    "fragment_timeout", "fragment_overflow", "fragment_overlap", "bad_fragment",
    "bad_tcp", "bad_stream", "stream_gap", "stream_overflow",
    # decode: a malformed Diameter header or AVP (RFC 6733 §3, §4.1)
    "bad_diameter", "bad_avp",
)


class Counters:
    """Messages decoded by protocol and drops by stage and reason."""

    __slots__ = ("messages", "dropped", "frames")

    def __init__(self) -> None:
        self.messages: Counter[str] = Counter()
        self.dropped: Counter[tuple[str, str]] = Counter()
        self.frames = 0

    def merge(self, other: Counters) -> None:
        """Add the counts of another process's Counters (multi-worker replay)."""
        self.messages.update(other.messages)
        self.dropped.update(other.dropped)
        self.frames += other.frames

    def copy(self) -> Counters:
        """A copy for a reader in another thread or process (a metrics scrape, a live
        worker's periodic report): `dict(counter)` is one C call, so the pipeline, which
        counts on meanwhile, never changes a Counter while it is being copied."""
        out = Counters()
        out.messages.update(dict(self.messages))
        out.dropped.update(dict(self.dropped))
        out.frames = self.frames
        return out

    def drop(self, stage: str, reason: str, n: int = 1) -> None:
        """Count `n` items dropped at `stage` for `reason`."""
        if stage not in STAGES or reason not in REASONS:
            raise ValueError(f"unknown drop stage/reason {stage}/{reason}")
        self.dropped[(stage, reason)] += n
