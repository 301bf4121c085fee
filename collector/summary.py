"""The closing summary of `collector replay` (plain text, one fact per line)."""

from __future__ import annotations

from typing import TextIO


def _join(items) -> str:
    return ", ".join(f"{k} {v}" for k, v in items) or "none"


def print_summary(s, captures: list[str], out: TextIO, dry_run: bool = False,
                  interface: str | None = None) -> None:
    """Print messages by protocol, drops by reason, devices, batches sent and acknowledged."""
    c = s.counters
    drops = sorted(((f"{st}/{r}", n) for (st, r), n in c.dropped.items()), key=lambda x: -x[1])
    lines = [
        f"{'interface' if interface else 'captures':<14}{interface or len(captures)} "
        f"({c.frames} frames)",
        f"messages      {_join(sorted(c.messages.items()))}",
        f"events        {_join(sorted(s.events.items()))}",
        f"dropped       {_join(drops)}",
        f"devices       {s.devices}",
        f"tallies       {s.batches} batches, {s.rows} presence rows, {s.sketches} sketches"
        f" ({s.sketch_bytes / 1024:.0f} KiB)",
        f"zone tallies  {_join(sorted(s.zone_rows.items()))} (rows)",
        f"m2m           {s.m2m_tac + s.m2m_behaviour + s.m2m_psm} devices left out (TAC list "
        f"{s.m2m_tac}, power saving {s.m2m_psm}, behaviour {s.m2m_behaviour})",
    ]
    slow = [(p, f"{n}/{r} ({100 * n / r:.1f} %)") for p, (r, n) in sorted(s.fallbacks.items()) if r]
    if slow:
        lines.append(f"pycrate       {_join(slow)} of the values read by the fast path")
    if dry_run:
        lines.append("sent          nothing (--dry-run)")
    else:
        lines.append(f"sent          {s.batches} batches; acknowledged {s.acked} "
                     f"({_join(sorted(s.ack_status.items()))}); unacknowledged {s.unacked}")
    out.write("\n".join(lines) + "\n")
