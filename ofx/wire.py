"""
The OFX/1 wire codec, with no I/O.

One message is one line. A request line is the standard base64 (padded) of a
PyNaCl C{SecretBox} message -- a 24-byte nonce followed by the
XSalsa20-Poly1305 ciphertext -- of the UTF-8 JSON request. An answer line is
the standard base64 of the Brotli-compressed UTF-8 JSON answer. The box key is
derived once per process from the shared C{[ofx] key} with Argon2id (see
L{derive_key}); deriving it costs about 60 ms and 64 MiB, which is why it must
never happen per message.

Request JSON is an object with C{cmd} (an integer, or a string of up to six
digits: C{1} and C{"000001"} are the same), C{authcode} and C{params}. Key
names are case-insensitive at every level, so the decoder folds every object
key to lower case while parsing. See C{docs/protocol.md} for the full contract
and known-answer vectors.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

import attr
import brotli
from nacl.exceptions import CryptoError
from nacl.pwhash import argon2id
from nacl.secret import SecretBox

from ofx.errors import OFXError, bad_request

SALT = b"OFX-OCTKEYPASS-1"
OPSLIMIT = 2
MEMLIMIT = 67108864
DEFAULT_QUALITY = 2
_MIN_SEALED = SecretBox.NONCE_SIZE + SecretBox.MACBYTES


def derive_key(secret: str) -> bytes:
    """
    Derive the 32-byte box key from the shared secret.

    Argon2id13 (libsodium C{crypto_pwhash}) over the UTF-8 secret, salt
    C{OFX-OCTKEYPASS-1}, opslimit 2, memlimit 64 MiB. Call it once per
    process: it is deliberately slow.
    """
    return argon2id.kdf(
        SecretBox.KEY_SIZE,
        secret.encode("utf-8"),
        SALT,
        opslimit=OPSLIMIT,
        memlimit=MEMLIMIT,
    )


def key_fingerprint(box_key: bytes) -> str:
    """
    A short public name for a box key: lets an operator check that two
    processes share a key without ever showing it.
    """
    import hashlib

    return hashlib.blake2b(box_key, digest_size=6, person=b"ofx-key-fp").hexdigest()


def _lower_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {key.lower(): value for key, value in pairs}


_decode_json = json.JSONDecoder(object_pairs_hook=_lower_keys).decode
_encode_json = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False
).encode


@attr.frozen
class Request:
    """
    A decoded request: the command code, the authcode as sent (or C{None})
    and the params as sent (or C{None}), every object key in lower case.
    """

    cmd: int
    authcode: Any
    params: Any


def parse_cmd(value: Any) -> int:
    """
    Read a command code: an integer 0..999999 or a string of one to six
    ASCII digits.
    """
    if type(value) is int and 0 <= value <= 999999:
        return value
    if type(value) is str and 0 < len(value) <= 6 and value.isascii() and value.isdigit():
        return int(value)
    raise bad_request(
        f"cmd must be an integer or a six-digit string, not {json.dumps(value)[:40]}"
    )


def compress(text: str, quality: int = DEFAULT_QUALITY) -> bytes:
    """The answer side of the line format: base64 of Brotli of UTF-8."""
    return binascii.b2a_base64(brotli.compress(text.encode("utf-8"), quality=quality), newline=False)


def extract(line: bytes | str) -> str:
    """Undo L{compress}: a received answer line back to its JSON text."""
    if isinstance(line, str):
        line = line.encode("ascii")
    return brotli.decompress(binascii.a2b_base64(line.strip())).decode("utf-8")


def seal(box: SecretBox, text: str) -> bytes:
    """The request side of the line format: base64 of SecretBox of UTF-8."""
    return binascii.b2a_base64(box.encrypt(text.encode("utf-8")), newline=False)


def unseal(box: SecretBox, line: bytes) -> str:
    """
    Undo L{seal}, raising L{OFXError} 400 that says which step failed.
    """
    line = line.strip()
    if not line:
        raise bad_request("empty line: expected a base64 sealed request")
    try:
        sealed = binascii.a2b_base64(line, strict_mode=True)
    except (binascii.Error, ValueError):
        raise bad_request("line is not standard padded base64") from None
    if len(sealed) < _MIN_SEALED:
        raise bad_request(
            f"line decodes to {len(sealed)} bytes, shorter than a sealed box ({_MIN_SEALED})"
        )
    try:
        plain = box.decrypt(sealed)
    except CryptoError:
        raise bad_request("cannot decrypt the line: wrong key or damaged message") from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("decrypted request is not UTF-8") from None


class Codec:
    """
    Both directions of OFX/1 for one box key.

    The server uses L{decode_request} and L{encode_answer}; a client uses
    L{encode_request} and L{decode_answer}.
    """

    def __init__(self, box_key: bytes, quality: int = DEFAULT_QUALITY) -> None:
        self._box = SecretBox(box_key)
        self._quality = quality

    def decode_request(self, line: bytes) -> Request:
        """
        Turn a request line (without its line ending) into a L{Request}, or
        raise L{OFXError} 400 naming what was wrong.
        """
        text = unseal(self._box, line)
        try:
            message = _decode_json(text)
        except (ValueError, RecursionError) as e:
            raise bad_request(f"request is not JSON: {str(e)[:80]}") from None
        if type(message) is not dict:
            raise bad_request(f"request is a JSON {type(message).__name__}, not an object")
        if "cmd" not in message:
            raise bad_request("request has no cmd")
        return Request(
            parse_cmd(message["cmd"]), message.get("authcode"), message.get("params")
        )

    def encode_answer(self, answer: Any) -> bytes:
        """An answer (a JSON-able value) as a line, without its line ending."""
        return binascii.b2a_base64(
            brotli.compress(_encode_json(answer).encode("utf-8"), quality=self._quality),
            newline=False,
        )

    def encode_error(self, error: OFXError) -> bytes:
        return self.encode_answer(error.as_answer())

    def encode_request(self, request: Any) -> bytes:
        """A request (a JSON-able value) as a sealed line, without its line ending."""
        return seal(self._box, _encode_json(request))

    def decode_answer(self, line: bytes) -> Any:
        """An answer line back to its JSON value (keys as the server sent them)."""
        return json.loads(extract(line))
