"""
C{python -m ofx COMMAND ...}: the operator's command line.

Each command is a module with C{main(argv) -> int}; this file only routes.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "users": ("ofx.users_cli", "add, disable, enable, reset, delete and list client accounts"),
    "sdk": ("ofx.sdk", "fetch the XTP SDK libraries and headers from the package index"),
    "admin-password": ("ofx.web.password_cli", "print the Argon2id hash of a new console password"),
    "admin-token": ("ofx.web.token_cli", "print an API token for scripts using the console's API"),
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        lines = [f"  {name:15} {help}" for name, (_, help) in COMMANDS.items()]
        print("usage: python -m ofx COMMAND [...]\n\ncommands:\n" + "\n".join(lines), file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
