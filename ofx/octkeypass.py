"""
The manual's OCTKEYPASS library: the four functions its sample program calls.

Section 九 of the interface manual shows a client that builds the request
JSON, calls C{octkeypass.encrypt(config.superkey, cstr)}, sends the result
with CRLF, reads one line back and prints C{octkeypass.extract(line)}. These
functions keep that program working with its import line changed to
C{from ofx import octkeypass} (and, on Python 3, its C{print}s made calls and
the line encoded before C{sendall}: a socket takes bytes).

Everything here is a thin layer over L{ofx.wire}, which owns the format. The
only thing added is a cache of box keys by secret: the manual's program passes
the secret on every call, and deriving the key (Argon2id) costs about 60 ms
and 64 MiB, so it must happen once per secret per process, not per message.
"""

from __future__ import annotations

import functools

from nacl.secret import SecretBox

from ofx import wire

__all__ = ["compress", "decrypt", "encrypt", "extract"]


@functools.lru_cache(maxsize=8)
def _box(key: str) -> SecretBox:
    """The SecretBox for a shared secret, derived once and then remembered."""
    return SecretBox(wire.derive_key(key))


def encrypt(key: str, text: str) -> str:
    """
    Seal a request's JSON text into the line a client sends (without CRLF).

    C{key} is the shared secret as configured on the gateway (C{[ofx] key}),
    not a derived key: that is what the manual's users hold.
    """
    return wire.seal(_box(key), text).decode("ascii")


def decrypt(key: str, line: str | bytes) -> str:
    """
    Open a request line back into its JSON text: what the gateway does, here
    for tools and tests that check what a client sent.

    Raises L{ofx.errors.OFXError} (400) naming the step that failed, exactly
    as the gateway would answer it.
    """
    if isinstance(line, str):
        line = line.encode("ascii", "replace")
    return wire.unseal(_box(key), line)


def compress(text: str) -> str:
    """
    Encode an answer's JSON text as the gateway sends it (without CRLF): for
    test servers and tools that need to speak the answer side.
    """
    return wire.compress(text).decode("ascii")


def extract(line: str | bytes) -> str:
    """
    Decode an answer line as read from the socket into its JSON text.

    The trailing CRLF (or LF) that C{readline()} keeps is ignored.
    """
    return wire.extract(line)
