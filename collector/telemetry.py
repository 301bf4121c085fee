"""Counters of the collector: messages by protocol and drops by (stage, reason).

Reasons come from a closed set (STYLE habit 5), so a dashboard can list them
all; an unknown reason is a bug and raises.
"""

from __future__ import annotations

from collections import Counter

STAGES = ("capture", "framing", "decode", "state", "sending")
REASONS = (
    # capture
    "truncated_capture", "bad_record",
    # framing
    "unsupported_linktype", "truncated", "not_ip", "bad_ip", "fragment", "not_signalling",
    "bad_sctp", "bad_chunk",
    # decode
    "bad_asn1", "bad_nas", "unsupported", "ciphered", "concealed", "no_identity",
    # state
    "late", "unattributed",
    # sending
    "unacknowledged",
)


class Counters:
    """Messages decoded by protocol and drops by stage and reason."""

    __slots__ = ("messages", "dropped", "frames")

    def __init__(self) -> None:
        self.messages: Counter[str] = Counter()
        self.dropped: Counter[tuple[str, str]] = Counter()
        self.frames = 0

    def drop(self, stage: str, reason: str, n: int = 1) -> None:
        """Count `n` items dropped at `stage` for `reason`."""
        if stage not in STAGES or reason not in REASONS:
            raise ValueError(f"unknown drop stage/reason {stage}/{reason}")
        self.dropped[(stage, reason)] += n
