"""
C{python -m ofx admin-token --config F [--days N]}: print an API token for
scripts calling the console's API (C{Authorization: Bearer TOKEN}, see
docs/admin-api.md). A token is valid for N days (default 90) and until the
operator's password (C{[admin] password_hash}) or C{[ofx] key} changes.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import IO

from ofx.config import ConfigError, read_config
from ofx.web.auth import make_token, token_key


def main(argv: list[str], stdout: IO[str] = sys.stdout, now: float | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ofx admin-token", description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--config", "-c", default="etc/ofx.ini", help="the OFX configuration file")
    parser.add_argument("--days", type=float, default=90.0, help="days the token is valid (default 90)")
    args = parser.parse_args(argv)
    try:
        config = read_config(args.config)
    except ConfigError as e:
        print(f"ofx admin-token: {e}", file=sys.stderr)
        return 1
    if config.admin is None:
        print(f"ofx admin-token: {args.config}: [admin]: missing (the console is not configured)", file=sys.stderr)
        return 1
    if not 0 < args.days <= 3660:
        print("ofx admin-token: --days must be between 0 and 3660", file=sys.stderr)
        return 2
    key = token_key(config.key, config.admin.password_hash)
    stdout.write(make_token(key, (time.time() if now is None else now) + args.days * 86400) + "\n")
    return 0
