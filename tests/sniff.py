"""A loopback sniffer for tests: every byte that crosses a TCP port on `lo`,
read with an AF_PACKET socket (root only), so privacy tests scan the wire itself."""

from __future__ import annotations

import socket
import threading

ETH_P_ALL = 0x0003


class LoopbackSniffer:
    """Records the TCP payload bytes of every frame on `lo` to or from `port`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.frames: list[bytes] = []
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                frame, _addr = self._sock.recvfrom(262144)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
                continue
            ihl = (frame[14] & 0x0F) * 4
            tcp = 14 + ihl
            sport, dport = int.from_bytes(frame[tcp:tcp + 2]), int.from_bytes(frame[tcp + 2:tcp + 4])
            if self.port in (sport, dport):
                self.frames.append(frame[tcp + (frame[tcp + 12] >> 4) * 4:])

    def stop(self) -> bytes:
        """Stop sniffing and return all payload bytes seen, concatenated."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        return b"".join(self.frames)
