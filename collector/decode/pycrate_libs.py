"""The pycrate modules the decoders use, imported once and quietly.

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

for _name in ("pycrate_mobile", "pycrate_asn1rt", "pycrate_core"):
    logging.getLogger(_name).setLevel(logging.ERROR)

from pycrate_asn1dir import S1AP  # noqa: E402
from pycrate_asn1rt.codecs import ASN1CodecPER  # noqa: E402
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
