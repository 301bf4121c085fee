"""Templated encoding: a message encoded once per *shape* with pycrate, then patched.

A message *kind* is a pycrate builder plus the *fields* that vary from one message to the
next (identities, S1AP UE ids, cells, TEIDs...).  A *shape* is what changes a kind's length
or layout: the byte width of an APER integer, the length of a NAS-PDU, the PLMN of a GUTI,
and the kind's constant arguments (causes, present optional IEs).  Per (kind, shape) the
first message is encoded with pycrate; every field is encoded again with a second probe
value and its bits are located where both probes' own representations sit, inside the bits
that changed.  Filling the template is then a join of constant segments and the fields'
bytes.  Before a template is used, its fill is compared with pycrate on random values; a
shape whose fields cannot be located unambiguously or whose fill differs is left to pycrate
(counted as `pycrate`), and so is everything when templates are off
(`CELLCENSUS_TEMPLATES=off`, or `Templates(enabled=False)`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

ENV = "CELLCENSUS_TEMPLATES"  # "off": pycrate for every message (tests compare both)
_CHECKS = 3                   # random fills compared with pycrate before a template is used


class Field:
    """One varying value of a message kind: its shape, width, probes and representation."""

    __slots__ = ()
    shaped = False     # whether the value's shape enters the template key
    plain_rep = True   # `rep` returns the value itself

    def shape(self, value: Any) -> Any:
        """What of `value` changes the encoding's layout (None: nothing)."""
        return None

    def shape_src(self, var: str) -> str:
        """`shape` as a Python expression on the variable `var` (compiled into `Kind.key`)."""
        return f"_shape{id(self)}({var})"

    def bits(self, shape: Any) -> int:
        """Width of the value's representation in the encoding."""
        raise NotImplementedError

    def probes(self, shape: Any) -> tuple[Any, Any]:
        """Two values of `shape` whose representations differ in (nearly) every bit."""
        raise NotImplementedError

    def sample(self, r: random.Random, shape: Any) -> Any:
        """A random value of `shape` (to check a template against pycrate)."""
        raise NotImplementedError

    def rep(self, value: Any) -> int | bytes:
        """The bits of `value` as they appear in the encoding (bytes when whole octets)."""
        return value


class Uint(Field):
    """An unsigned integer of a fixed number of bits (BIT STRING, fixed-range INTEGER,
    octets read as a big-endian number)."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def bits(self, shape: Any) -> int:
        return self.n

    def probes(self, shape: Any) -> tuple[int, int]:
        mask = (1 << self.n) - 1
        return int("5" * (self.n // 4 + 1), 16) & mask, int("a" * (self.n // 4 + 1), 16) & mask

    def sample(self, r: random.Random, shape: Any) -> int:
        return r.getrandbits(self.n)


class VarUint(Field):
    """An APER constrained INTEGER of a range above 64K: a length of 1..`most` octets, then
    the value in the fewest octets (X.691 §10.5.7.4); shaped by that octet count."""

    __slots__ = ("most",)
    shaped = True

    def __init__(self, most: int) -> None:
        self.most = most

    def shape(self, value: int) -> int:
        return (value.bit_length() + 7) // 8 or 1

    def shape_src(self, var: str) -> str:
        return f"(({var}).bit_length() + 7) // 8 or 1"

    def bits(self, shape: int) -> int:
        return 8 * shape

    def probes(self, shape: int) -> tuple[int, int]:
        return int("55" * shape, 16), int("aa" * shape, 16)

    def sample(self, r: random.Random, shape: int) -> int:
        return r.randrange(1 << 8 * (shape - 1) if shape > 1 else 0, 1 << 8 * shape)


class Octets(Field):
    """An octet string (a NAS-PDU inside S1AP, an address), shaped by its length."""

    __slots__ = ()
    shaped = True

    def shape(self, value: bytes) -> int:
        return len(value)

    def shape_src(self, var: str) -> str:
        return f"len({var})"

    def bits(self, shape: int) -> int:
        return 8 * shape

    def probes(self, shape: int) -> tuple[bytes, bytes]:
        return b"\x55" * shape, b"\xaa" * shape

    def sample(self, r: random.Random, shape: int) -> bytes:
        return r.randbytes(shape)


class Digits(Field):
    """The digits of a mobile identity (TS 24.008 §10.5.1.4, TS 24.301 §9.9.3.12): the first
    digit, the odd/even flag and identity type `kind`, then digit pairs low nibble first, an
    even count's last octet padded with F; shaped by the number of digits."""

    __slots__ = ("kind",)
    shaped = True
    plain_rep = False
    _A, _B = "27182818284590452353602874", "31415926535897932384626433"

    def __init__(self, kind: int) -> None:
        self.kind = kind

    def shape(self, value: str) -> int:
        return len(value)

    def shape_src(self, var: str) -> str:
        return f"len({var})"

    def bits(self, shape: int) -> int:
        return 4 * (shape + 1 + (shape - 1) % 2)

    def probes(self, shape: int) -> tuple[str, str]:
        return self._A[:shape], self._B[:shape]

    def sample(self, r: random.Random, shape: int) -> str:
        return "".join(r.choice("0123456789") for _ in range(shape))

    def rep(self, value: str) -> int:
        tail = value[1:] + ("F" if len(value) % 2 == 0 else "")
        flags = "%X" % ((len(value) % 2) << 3 | self.kind)
        return int(value[0] + flags + "".join(tail[i + 1] + tail[i]
                                              for i in range(0, len(tail), 2)), 16)


class Tbcd(Digits):
    """Digits in TBCD (TS 29.274 §8.3): two an octet, low nibble first, an odd count padded
    with F (an IMSI, MSISDN or MEI IE of GTPv2-C, an MSISDN AVP)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(0)

    def bits(self, shape: int) -> int:
        return 8 * ((shape + 1) // 2)

    def rep(self, value: str) -> bytes:
        digits = value + "F" if len(value) % 2 else value
        return bytes.fromhex("".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2)))


class Text(Field):
    """An ASCII string (a Diameter User-Name or Session-Id), shaped by its length."""

    __slots__ = ()
    shaped = True
    plain_rep = False

    def shape(self, value: str) -> int:
        return len(value)

    def shape_src(self, var: str) -> str:
        return f"len({var})"

    def bits(self, shape: int) -> int:
        return 8 * shape

    def probes(self, shape: int) -> tuple[str, str]:
        return "U" * shape, "*" * shape  # 0x55, 0x2A: every bit but the top one differs

    def sample(self, r: random.Random, shape: int) -> str:
        return "".join(r.choice("0123456789abcdefghijklmnopqrstuvwxyz.;") for _ in range(shape))

    def rep(self, value: str) -> bytes:
        return value.encode()


class Kind:
    """A message kind: `build(*consts, *values)` encodes it with pycrate; `fields` describe
    the values; `key(consts, values)` is its template key (compiled, see `_compile`)."""

    __slots__ = ("name", "build", "fields", "shaped", "key")

    def __init__(self, name: str, build: Callable[..., bytes], *fields: Field) -> None:
        self.name, self.build, self.fields = name, build, fields
        self.shaped = tuple(i for i, f in enumerate(fields) if f.shaped)
        env = {"kind": self} | {f"_shape{id(f)}": f.shape for f in fields}
        shapes = "".join(fields[i].shape_src(f"v[{i}]") + ", " for i in self.shaped)
        self.key = _compile(f"lambda consts, v: (kind, consts, {shapes})", env)


def _compile(source: str, env: dict) -> Callable:
    """A function from one generated expression.  Templates are filled hundreds of
    thousands of times a second: a generated `b"".join((segment, value.to_bytes(...), ...))`
    costs a third of a loop over the slots."""
    return eval(source, env)  # noqa: S307 - the source is built here from numbers and names


class Template:
    """Constant segments between field slots, in the order of the bytes.  A slot is
    (value index, shift, constant bits, octets), or (value index,) for a value inserted as
    its own bytes; `fill(values)` is compiled from them."""

    __slots__ = ("segs", "slots", "fill")

    def __init__(self, segs: tuple[bytes, ...], slots: tuple, fields: tuple[Field, ...]
                 ) -> None:
        self.segs, self.slots = segs, slots
        env: dict[str, Any] = {f"S{k}": seg for k, seg in enumerate(segs)}
        parts = ["S0"]
        for k, slot in enumerate(slots):
            i = slot[0]
            v = f"v[{i}]"
            if not fields[i].plain_rep:
                env[f"R{i}"] = fields[i].rep
                v = f"R{i}({v})"
            if len(slot) > 1:
                _, shift, const, n = slot
                v = f"({v} << {shift})" if shift else v
                v = f"({v} | {const})" if const else v
                v = f"{v}.to_bytes({n}, 'big')"
            parts += [v, f"S{k + 1}"]
        self.fill = _compile(f"lambda v: b''.join(({', '.join(parts)},))", env)


def _as_int(rep: int | bytes) -> int:
    return int.from_bytes(rep, "big") if isinstance(rep, bytes) else rep


def locate(kind: Kind, consts: tuple, shapes: list) -> Template | None:
    """The template of `kind` for one shape, or None when a field cannot be located."""
    fields = kind.fields
    a_vals = [f.probes(s)[0] for f, s in zip(fields, shapes, strict=True)]
    out_a = kind.build(*consts, *a_vals)
    total, ia = 8 * len(out_a), int.from_bytes(out_a, "big")
    spans = []  # (first octet, end octet, lowest bit from the end, width) per field
    for i, f in enumerate(fields):
        width, probe_b = f.bits(shapes[i]), f.probes(shapes[i])[1]
        out_b = kind.build(*consts, *a_vals[:i], probe_b, *a_vals[i + 1:])
        diff = ia ^ int.from_bytes(out_b, "big")
        if len(out_b) != len(out_a) or not diff:
            return None
        a, b, mask = _as_int(f.rep(a_vals[i])), _as_int(f.rep(probe_b)), (1 << width) - 1
        low, high = (diff & -diff).bit_length() - 1, diff.bit_length() - 1
        ib = ia ^ diff
        found = [e for e in range(max(0, high - width + 1), low + 1)
                 if (ia >> e) & mask == a and (ib >> e) & mask == b]
        if len(found) != 1:
            return None
        e = found[0]
        spans.append(((total - e - width) // 8, (total - e + 7) // 8, e, width, i))
    spans.sort()
    if any(spans[k][1] > spans[k + 1][0] for k in range(len(spans) - 1)):
        return None  # two fields share an octet
    segs, slots, pos = [], [], 0
    for first, end, e, width, i in spans:
        segs.append(out_a[pos:first])
        n, shift = end - first, e - (total - 8 * end)
        const = int.from_bytes(out_a[first:end], "big") & ~(((1 << width) - 1) << shift)
        raw = (shift == 0 and const == 0 and width == 8 * n
               and isinstance(fields[i].rep(a_vals[i]), bytes))
        slots.append((i,) if raw else (i, shift, const, n))
        pos = end
    segs.append(out_a[pos:])
    return Template(tuple(segs), tuple(slots), fields)


class Templates:
    """Templates by (kind, constants, shape), built on first use.  `counts`: messages filled
    from a template (`templated`), encoded by their kind's builder (`pycrate`: pycrate for
    S1AP and NAS, the hand-written builders for S11 and S6a), templates built, and shapes
    left to the builder (`untemplatable`)."""

    __slots__ = ("enabled", "counts", "_cache", "_fills", "_r")

    def __init__(self, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = os.environ.get(ENV, "on").lower() not in ("off", "0", "no", "false")
        self.enabled = enabled
        self.counts = {"templated": 0, "pycrate": 0, "templates": 0, "untemplatable": 0}
        self._cache: dict[tuple, Template | None] = {}
        self._fills: dict[tuple, Callable | None] = {}  # the same, their `fill`
        self._r = random.Random(0x7E3)  # only draws check values, never output

    def encode(self, kind: Kind, consts: tuple, values: tuple) -> bytes:
        """The bytes of one message of `kind`."""
        if self.enabled:
            key = kind.key(consts, values)
            fill = self._fills.get(key, False)
            if fill is False:
                t = self._cache[key] = self._make(kind, consts, values)
                fill = self._fills[key] = t.fill if t is not None else None
            if fill is not None:
                self.counts["templated"] += 1
                return fill(values)
        self.counts["pycrate"] += 1
        return kind.build(*consts, *values)

    def _make(self, kind: Kind, consts: tuple, values: tuple) -> Template | None:
        shapes = [f.shape(v) for f, v in zip(kind.fields, values, strict=True)]
        t = locate(kind, consts, shapes)
        for _ in range(_CHECKS if t is not None else 0):
            sample = tuple(f.sample(self._r, s) for f, s in zip(kind.fields, shapes, strict=True))
            if t.fill(sample) != kind.build(*consts, *sample):
                t = None
        self.counts["templates" if t is not None else "untemplatable"] += 1
        return t

    def cached(self) -> list[tuple[Kind, tuple, list]]:
        """(kind, constants, the shape of every field) of every template built (tests)."""
        out = []
        for (kind, consts, *key), t in self._cache.items():
            if t is not None:
                shapes: list = [None] * len(kind.fields)
                for i, s in zip(kind.shaped, key, strict=True):
                    shapes[i] = s
                out.append((kind, consts, shapes))
        return out
