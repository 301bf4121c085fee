"""CurveZMQ keys of the collector → aggregator link (DESIGN.md, "Transport").

Key files are ZeroMQ certificates as pyzmq's `zmq.auth` writes and reads them
(ZPL text): `NAME.key` holds the public key, `NAME.key_secret` both keys, mode 0600.
The aggregator holds its secret file and a folder of the public files of the
collectors it accepts (the allow list); a collector holds its secret file and the
aggregator's public file.  A secret file readable by group or others is refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import zmq
import zmq.auth


class CurveKeyError(Exception):
    """A key file that cannot be used; the message names it."""


def make_keypair(folder: str, name: str) -> tuple[Path, Path]:
    """Write NAME.key (public) and NAME.key_secret (mode 0600) into `folder`; refuse to
    overwrite.  Returns their paths."""
    if not zmq.has("curve"):
        raise CurveKeyError("this libzmq has no CURVE support")
    out = Path(folder)
    public, secret = out / f"{name}.key", out / f"{name}.key_secret"
    for p in (public, secret):
        if p.exists():
            raise CurveKeyError(f"{p}: already exists (not overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    old = os.umask(0o077)
    try:
        zmq.auth.create_certificates(str(out), name)
    finally:
        os.umask(old)
    os.chmod(secret, 0o600)
    os.chmod(public, 0o644)
    return public, secret


def load_secret(path: str) -> tuple[bytes, bytes]:
    """(public, secret) of a secret key file; refused if group or others can read it."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise CurveKeyError(f"{path}: cannot read key file: {e.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CurveKeyError(f"{path}: secret key file is accessible by group or others "
                            f"(mode {stat.S_IMODE(mode):04o}); run chmod 600 {path}")
    public, secret = _load(path)
    if not secret:
        raise CurveKeyError(f"{path}: not a secret key file (no secret-key)")
    return public, secret


def load_public(path: str) -> bytes:
    """The public key of a key file (public or secret)."""
    return _load(path)[0]


def _load(path: str) -> tuple[bytes, bytes | None]:
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as e:
        raise CurveKeyError(f"{path}: not a ZeroMQ certificate: {e}") from None
    if not public or len(public) != 40:
        raise CurveKeyError(f"{path}: not a ZeroMQ certificate (no public-key)")
    return public, secret


def allow_list(folder: str) -> int:
    """The number of public key files in an allow-list folder (error if none or missing)."""
    p = Path(folder)
    if not p.is_dir():
        raise CurveKeyError(f"{folder}: allow list must be a folder of public key files")
    n = len(list(p.glob("*.key")))
    if n == 0:
        raise CurveKeyError(f"{folder}: allow list holds no public key file (*.key)")
    return n
