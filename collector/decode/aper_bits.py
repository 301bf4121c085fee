"""A cursor over ALIGNED PER bits (X.691), for the hand-written *AP IE readers.

X.691 in the few rules the readers need: a SEQUENCE opens with its extension
bit and one bit per OPTIONAL field (§19); a constrained whole number of range
up to 255 is a bit-field, of range 256 one aligned octet (§11.5.7); an INTEGER
of range over 64K is an octet count then the octets, aligned (§11.5.7.4);
strings over two octets or 16 bits start on an octet boundary (§16, §17); an
unconstrained length is one or two aligned octets (§11.9.3.6-7).

Anything a reader does not read with certainty raises `Doubt`; the caller then
decodes that value with pycrate.
"""

from __future__ import annotations


class Doubt(Exception):
    """The fast reader cannot vouch for this value: use pycrate."""


class Bits:
    """A cursor over the bits of one APER encoding (X.691 ALIGNED variant)."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def bits(self, n: int) -> int:
        """The next `n` bits as an unsigned int."""
        stop = self.pos + n
        first, last = self.pos >> 3, (stop + 7) >> 3
        if last > len(self.buf):
            raise Doubt
        self.pos = stop
        return (int.from_bytes(self.buf[first:last], "big") >> (8 * last - stop)) & ((1 << n) - 1)

    def zero(self) -> None:
        """An extension bit or OPTIONAL flag we only read when it is 0."""
        if self.bits(1):
            raise Doubt

    def align(self) -> None:
        """Skip the padding up to the next octet boundary."""
        self.pos = (self.pos + 7) & ~7

    def octets(self, n: int) -> bytes:
        """`n` octets starting at the next octet boundary."""
        start = (self.pos + 7) >> 3
        stop = start + n
        if stop > len(self.buf):
            raise Doubt
        self.pos = 8 * stop
        return self.buf[start:stop]

    def length(self) -> int:
        """An unconstrained length determinant (§11.9.3.6-7); fragments (§11.9.3.8) are doubt."""
        first = self.octets(1)[0]
        if first < 0x80:
            return first
        if first < 0xC0:
            return ((first & 0x3F) << 8) | self.octets(1)[0]
        raise Doubt

    def uint(self, count_bits: int, max_octets: int, upper: int) -> int:
        """A constrained INTEGER of range > 64K: octet count in `count_bits`, then the octets."""
        n = self.bits(count_bits) + 1
        if n > max_octets:
            raise Doubt
        value = int.from_bytes(self.octets(n), "big")
        if value > upper:
            raise Doubt
        return value

    def end(self) -> None:
        """Only padding may follow: the value fills its open type exactly."""
        if (self.pos + 7) >> 3 != len(self.buf):
            raise Doubt
