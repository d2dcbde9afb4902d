"""
C{python -m ofx admin-password}: print the Argon2id hash of a new operator
password, for C{[admin] password_hash}. The password is read from the
terminal (asked twice, never echoed) or from standard input's first line,
and is never printed.
"""

from __future__ import annotations

import sys
from typing import IO

from ofx.passwords import hash_password
from ofx.users_cli import read_password


def main(argv: list[str], stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout) -> int:
    if argv:
        print("usage: python -m ofx admin-password  (reads the password; prints the hash)", file=sys.stderr)
        return 2
    try:
        password = read_password(stdin)
    except ValueError as e:
        print(f"ofx admin-password: {e}", file=sys.stderr)
        return 1
    stdout.write(hash_password(password) + "\n")
    return 0
