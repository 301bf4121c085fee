"""The pycrate modules the decoders use, imported once and quietly.

`pycrate_mobile` logs "CryptoMobile Python module not found" at import: the
optional module does NAS ciphering, which a passive probe never does, and the
warning would land on stderr of `collector inspect`.  That one record is filtered
on the loggers that emit it; every other pycrate record passes.

pycrate is not thread-safe (decoded values live on shared objects and the APER
codec keeps a global offset stack): use the decoders from one thread per process.
"""

from __future__ import annotations

import logging

from pycrate_asn1rt.codecs import ASN1CodecPER


class _NoCryptoMobileWarning(logging.Filter):
    """Drop the import-time warning about the missing CryptoMobile module."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "CryptoMobile" not in record.getMessage()


for _name in ("pycrate_mobile.TS24301_EMM", "pycrate_mobile.TS24501_FGMM"):
    logging.getLogger(_name).addFilter(_NoCryptoMobileWarning())

from pycrate_asn1dir import S1AP  # noqa: E402
from pycrate_mobile import NASLTE, TS24301_EMM, TS24301_ESM  # noqa: E402

__all__ = ["S1AP", "NASLTE", "TS24301_EMM", "TS24301_ESM", "aper_decode"]


def aper_decode(obj, buf: bytes):
    """Decode `buf` with the pycrate ASN.1 object `obj`: (value, None) or (None, 'bad_asn1').

    Any exception raised by pycrate on bad bytes becomes the reason (malformed input
    is data, STYLE habit 6); the codec's offset stack, left unbalanced by an
    exception, is trimmed back so that it does not grow with every bad message.
    """
    depth = len(ASN1CodecPER._off)
    try:
        obj.from_aper(buf)
        return obj.get_val(), None
    except Exception:  # pycrate raises many types on bad bytes; none are our bugs
        del ASN1CodecPER._off[depth:]
        return None, "bad_asn1"
