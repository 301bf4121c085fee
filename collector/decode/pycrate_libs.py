"""The pycrate modules the decoders use, imported on first use and quietly.

pycrate is the reference path and the fallback of the hand-written readers: a
replay they cover entirely never needs it, and importing it costs a third of a
second of start-up (S1AP's compiled ASN.1, the NAS and MAP modules).  So the
names below (`S1AP`, `NASLTE`, `TS24301_EMM`, `TS24301_ESM`, `TS29274_GTPC`) are
module attributes resolved on first access (PEP 562): `from
collector.decode.pycrate_libs import S1AP` imports pycrate then, and only then (and
after this module has quietened pycrate's loggers).

pycrate logs at WARNING level for things that are not ours to report: at import,
"CryptoMobile Python module not found" (that optional module ciphers NAS, which a
passive probe never does), and then one line per malformed IE of every bad packet
(`TS24007`: "uncorrect decoding for IE").  Bad input is counted by reason instead
(STYLE habits 5, 6 and 12: nothing per packet above DEBUG), so pycrate's loggers
are held at ERROR; lower them in a logging config to debug pycrate itself.

pycrate is not thread-safe (decoded values live on shared objects and the APER
codec keeps a global offset stack): use the decoders from one thread per process.
"""

from __future__ import annotations

import logging
from importlib import import_module
from types import ModuleType

for _name in ("pycrate_mobile", "pycrate_asn1rt", "pycrate_core", "pycrate_diameter"):
    logging.getLogger(_name).setLevel(logging.ERROR)

# the lazy attributes: name -> pycrate module
_LAZY = {
    "S1AP": "pycrate_asn1dir.S1AP",
    "NASLTE": "pycrate_mobile.NASLTE",
    "TS24301_EMM": "pycrate_mobile.TS24301_EMM",
    "TS24301_ESM": "pycrate_mobile.TS24301_ESM",
    "TS29274_GTPC": "pycrate_mobile.TS29274_GTPC",
}

__all__ = ["aper_decode", *_LAZY]  # (the lazy names: see __getattr__)


def __getattr__(name: str) -> ModuleType:
    """`S1AP`, `NASLTE`, ...: the pycrate module, imported on first access.

    The module is then bound as a plain attribute (like a top-level import would
    have), so later accesses do not come back here.
    """
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = import_module(module)
    return value


def aper_decode(obj, buf: bytes):
    """Decode `buf` with the pycrate ASN.1 object `obj`: (value, None) or (None, 'bad_asn1').

    Any exception raised by pycrate on bad bytes becomes the reason (malformed input
    is data, STYLE habit 6); the codec's offset stack, left unbalanced by an
    exception, is trimmed back so that it does not grow with every bad message.
    """
    from pycrate_asn1rt.codecs import ASN1CodecPER  # loaded already: `obj` is pycrate's

    depth = len(ASN1CodecPER._off)
    try:
        obj.from_aper(buf)
        return obj.get_val(), None
    except Exception:  # pycrate raises many types on bad bytes; none are our bugs
        del ASN1CodecPER._off[depth:]
        return None, "bad_asn1"
