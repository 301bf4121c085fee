"""Link layers down to the network layer: where the IP packet starts in a frame.

Linktypes (tcpdump.org/linktypes.html): NULL/LOOP (0, 108), Ethernet (1) with
802.1Q / 802.1ad / QinQ tags, raw IP (101, 12, 14), IPv4 (228), IPv6 (229),
Linux cooked SLL (113) and SLL2 (276).
"""

from __future__ import annotations

ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
_VLAN_TPIDS = (0x8100, 0x88A8, 0x9100, 0x9200)
_BSD_AF_INET6 = (10, 24, 28, 30)  # AF_INET6 on Linux, BSDs, macOS


def ip_offset(linktype: int, frame: bytes) -> tuple[int, int] | str:
    """(offset of the IP header, IP version) in `frame`, or a drop reason."""
    if linktype == 1:  # Ethernet
        if len(frame) < 14:
            return "truncated"
        etype, off = (frame[12] << 8) | frame[13], 14
        while etype in _VLAN_TPIDS:
            if len(frame) < off + 4:
                return "truncated"
            etype, off = (frame[off + 2] << 8) | frame[off + 3], off + 4
        return _by_ethertype(etype, off)
    if linktype == 113:  # Linux cooked v1: 16-byte header, protocol at 14
        if len(frame) < 16:
            return "truncated"
        return _by_ethertype((frame[14] << 8) | frame[15], 16)
    if linktype == 276:  # Linux cooked v2: 20-byte header, protocol at 0
        if len(frame) < 20:
            return "truncated"
        return _by_ethertype((frame[0] << 8) | frame[1], 20)
    if linktype in (0, 108):  # BSD loopback: 4-byte address family, host or network order
        if len(frame) < 5:
            return "truncated"
        return _by_version(frame, 4)
    if linktype in (101, 12, 14, 228, 229):  # raw IP
        if not frame:
            return "truncated"
        return _by_version(frame, 0)
    return "unsupported_linktype"


def _by_ethertype(etype: int, off: int) -> tuple[int, int] | str:
    if etype == ETH_IPV4:
        return off, 4
    if etype == ETH_IPV6:
        return off, 6
    return "not_ip"


def _by_version(frame: bytes, off: int) -> tuple[int, int] | str:
    version = frame[off] >> 4
    if version in (4, 6):
        return off, version
    return "not_ip"
