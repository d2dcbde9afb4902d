"""
C{python -m ofx users}: manage client accounts in the gateway's store.

Passwords are read from the terminal (asked twice) or, when standard input is
not a terminal, from its first line; they are hashed at once and never
printed. A running server notices changes within C{[login] recheck} seconds:
disabling or deleting a user revokes their authcodes.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import IO

from ofx.config import ConfigError, parse_gateway, read_config
from ofx.passwords import hash_password
from ofx.store.db import StoreError, open_database
from ofx.store.users import NoSuchUser, UserExists, UserStore
from ofx.tap import DATABASE


def read_password(stdin: IO[str], ask: Callable[[str], str] = getpass.getpass) -> str:
    """A new password from the terminal (asked twice) or from stdin's first line."""
    if stdin.isatty():
        first = ask("Password: ")
        if first != ask("Again: "):
            raise ValueError("the two passwords differ")
        password = first
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password:
        raise ValueError("the password must not be empty")
    return password


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ofx users", description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--config", "-c", default="etc/ofx.ini", help="the OFX configuration file")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a user (password from the terminal or stdin)")
    add.add_argument("name")
    add.add_argument("--gateway", help="'quote-host:port, trade-host:port' of this user's gateway")
    for action, help in (
        ("disable", "refuse the user's logins and revoke their authcodes"),
        ("enable", "allow the user to log in again"),
        ("reset", "set a new password"),
        ("delete", "remove the user"),
    ):
        sub.add_parser(action, help=help).add_argument("name")
    gateway = sub.add_parser("set-gateway", help="route the user to another gateway ('' for this one)")
    gateway.add_argument("name")
    gateway.add_argument("gateway")
    sub.add_parser("list", help="list users")
    return parser


def main(argv: list[str], stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout) -> int:
    args = _parser().parse_args(argv)
    try:
        config = read_config(args.config)
        users = UserStore(open_database(os.path.join(config.data, DATABASE)))
        if args.action == "add":
            if args.gateway:
                parse_gateway(args.gateway)
            users.add(args.name, hash_password(read_password(stdin)), time.time(), args.gateway or None)
        elif args.action in ("disable", "enable"):
            users.set_disabled(args.name, args.action == "disable")
        elif args.action == "reset":
            users.set_password(args.name, hash_password(read_password(stdin)))
        elif args.action == "delete":
            users.delete(args.name)
        elif args.action == "set-gateway":
            if args.gateway:
                parse_gateway(args.gateway)
            users.set_gateway(args.name, args.gateway or None)
        elif args.action == "list":
            for user in users.all():
                last = datetime.fromtimestamp(user.last_login).isoformat(" ", "seconds") if user.last_login else "never"
                state = "disabled" if user.disabled else "enabled"
                stdout.write(f"{user.name}\t{state}\tlast login {last}\t{user.gateway or 'this gateway'}\n")
            return 0
    except (ConfigError, StoreError, ValueError) as e:
        print(f"ofx users: {e}", file=sys.stderr)
        return 1
    except UserExists as e:
        print(f"ofx users: user {e} already exists", file=sys.stderr)
        return 1
    except NoSuchUser as e:
        print(f"ofx users: no user {e}", file=sys.stderr)
        return 1
    stdout.write(f"{args.action}: {args.name}\n")
    return 0
