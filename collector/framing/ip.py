"""IPv4 (RFC 791) and IPv6 (RFC 8200) headers: addresses, upper protocol, payload.

Fragments are not reassembled yet: they are counted as `fragment` drops
(reassembly comes with the decoder-completeness issue).
"""

from __future__ import annotations

_IPV6_SKIPPABLE = (0, 43, 60)  # hop-by-hop, routing, destination options
_IPV6_FRAGMENT = 44


def parse_ip(frame: bytes, off: int, version: int) -> tuple[bytes, bytes, int, bytes] | str:
    """(source, destination, protocol number, payload) of the IP packet at `off`, or a reason."""
    if version == 4:
        if len(frame) < off + 20:
            return "truncated"
        ihl = (frame[off] & 0x0F) * 4
        total = (frame[off + 2] << 8) | frame[off + 3]
        if ihl < 20 or total < ihl:
            return "bad_ip"
        if len(frame) < off + total:
            return "truncated"
        frag = ((frame[off + 6] << 8) | frame[off + 7])
        if frag & 0x3FFF:  # MF flag or a non-zero offset
            return "fragment"
        return (frame[off + 12:off + 16], frame[off + 16:off + 20], frame[off + 9],
                frame[off + ihl:off + total])
    if len(frame) < off + 40:
        return "truncated"
    plen = (frame[off + 4] << 8) | frame[off + 5]
    nxt, src, dst = frame[off + 6], frame[off + 8:off + 24], frame[off + 24:off + 40]
    end = off + 40 + plen
    if len(frame) < end:
        return "truncated"
    p = off + 40
    while nxt in _IPV6_SKIPPABLE:
        if end < p + 8:
            return "truncated"
        nxt, p = frame[p], p + (frame[p + 1] + 1) * 8
    if nxt == _IPV6_FRAGMENT:
        return "fragment"
    if p > end:
        return "bad_ip"
    return src, dst, nxt, frame[p:end]
