"""
Client passwords: Argon2id hashes (libsodium C{crypto_pwhash_str}).

Hashing and checking cost about 60 ms and 64 MiB on purpose, so servers run
them in a thread (see L{ofx.login.LoginService}).
"""

from __future__ import annotations

from nacl.exceptions import InvalidkeyError
from nacl.pwhash import argon2id

# A real hash of a random string, checked when a user does not exist so a
# wrong name costs as long as a wrong password and reveals nothing.
_DUMMY = argon2id.str(b"ofx-no-such-user")


def hash_password(password: str) -> str:
    return argon2id.str(password.encode("utf-8")).decode("ascii")


def check_password(password_hash: str | None, password: str) -> bool:
    """True when C{password} matches; a missing hash still costs a check."""
    encoded = password_hash.encode("ascii") if password_hash else _DUMMY
    try:
        return bool(argon2id.verify(encoded, password.encode("utf-8"))) and password_hash is not None
    except InvalidkeyError:
        return False
