"""IPv4 (RFC 791) and IPv6 (RFC 8200) headers: addresses, upper protocol, payload.

A fragment is not an error: `parse_ip` returns it as a `Fragment`, which
`collector.framing.fragments` puts back together with the others of its datagram.
"""

from __future__ import annotations

from typing import NamedTuple

_IPV6_SKIPPABLE = (0, 43, 60)  # hop-by-hop, routing, destination options (RFC 8200 §4.3-4.6)
_IPV6_FRAGMENT = 44             # RFC 8200 §4.5


class Fragment(NamedTuple):
    """One fragment of an IP datagram.

    `key` names the datagram: (4, source, destination, protocol, identification)
    for IPv4 (RFC 791 §3.2), (6, source, destination, identification) for IPv6
    (RFC 8200 §4.5).  `offset` is in bytes; `proto` is the IPv4 protocol or the
    Next Header of the IPv6 Fragment header; `data` is the fragment's payload.
    """

    key: tuple
    offset: int
    more: bool
    src: bytes
    dst: bytes
    proto: int
    data: bytes


Packet = tuple[bytes, bytes, int, bytes]  # (source, destination, protocol, payload)


def parse_ip(frame: bytes, off: int, version: int) -> Packet | Fragment | str:
    """The IP packet at `off`: (source, destination, protocol, payload), a Fragment, or a reason."""
    if version != 4:
        return _ipv6(frame, off)
    if len(frame) < off + 20:  # IPv4 inline: the common case of every frame
        return "truncated"
    ihl = (frame[off] & 0x0F) * 4
    total = (frame[off + 2] << 8) | frame[off + 3]
    if ihl < 20 or total < ihl:
        return "bad_ip"
    if len(frame) < off + total:
        return "truncated"
    src, dst, proto = frame[off + 12:off + 16], frame[off + 16:off + 20], frame[off + 9]
    payload = frame[off + ihl:off + total]
    flags = (frame[off + 6] << 8) | frame[off + 7]
    if flags & 0x3FFF:  # MF flag or a non-zero fragment offset (8-byte units)
        ident = (frame[off + 4] << 8) | frame[off + 5]
        return Fragment((4, src, dst, proto, ident), (flags & 0x1FFF) * 8, bool(flags & 0x2000),
                        src, dst, proto, payload)
    return src, dst, proto, payload


def _ipv6(frame: bytes, off: int) -> Packet | Fragment | str:
    if len(frame) < off + 40:
        return "truncated"
    plen = (frame[off + 4] << 8) | frame[off + 5]
    nxt, src, dst = frame[off + 6], frame[off + 8:off + 24], frame[off + 24:off + 40]
    end = off + 40 + plen
    if len(frame) < end:
        return "truncated"
    walked = skip_ipv6_extensions(nxt, frame, off + 40, end)
    if isinstance(walked, str):
        return walked
    nxt, p = walked
    if nxt != _IPV6_FRAGMENT:
        return src, dst, nxt, frame[p:end]
    if end < p + 8:
        return "truncated"
    offset_flags = (frame[p + 2] << 8) | frame[p + 3]
    data = frame[p + 8:end]
    if offset_flags & 0xFFF9 == 0:  # atomic fragment (RFC 6946 §4): offset 0, M clear
        walked = skip_ipv6_extensions(frame[p], data, 0, len(data))
        if isinstance(walked, str):
            return walked
        return src, dst, walked[0], data[walked[1]:]
    ident = int.from_bytes(frame[p + 4:p + 8], "big")
    return Fragment((6, src, dst, ident), offset_flags & 0xFFF8, bool(offset_flags & 1),
                    src, dst, frame[p], data)


def skip_ipv6_extensions(nxt: int, buf: bytes, p: int, end: int) -> tuple[int, int] | str:
    """(upper protocol or Fragment header, its offset) after the extension headers at `p`.

    Hop-by-hop, Routing and Destination Options headers are skipped (RFC 8200
    §4.1 order); the walk stops at a Fragment header, an upper-layer header or
    any other Next Header value.
    """
    while nxt in _IPV6_SKIPPABLE:
        if end < p + 8:
            return "truncated"
        nxt, p = buf[p], p + (buf[p + 1] + 1) * 8
    if p > end:
        return "bad_ip"
    return nxt, p
