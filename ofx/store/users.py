"""
Client accounts: who may log in, with what password hash, routed to which
gateway. Only hashes are stored (see L{ofx.passwords}); never a password.
"""

from __future__ import annotations

import sqlite3

import attr


@attr.frozen
class User:
    name: str
    password_hash: str = attr.field(repr=False)
    disabled: bool
    gateway: str | None
    created: float
    last_login: float | None


class UserExists(Exception):
    pass


class NoSuchUser(Exception):
    pass


class UserStore:
    """The C{users} table of the store."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def get(self, name: str) -> User | None:
        row = self._db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return None if row is None else _user(row)

    def all(self) -> list[User]:
        return [_user(r) for r in self._db.execute("SELECT * FROM users ORDER BY name")]

    def add(self, name: str, password_hash: str, now: float, gateway: str | None = None) -> None:
        try:
            self._db.execute(
                "INSERT INTO users (name, password_hash, gateway, created) VALUES (?, ?, ?, ?)",
                (name, password_hash, gateway, now),
            )
        except sqlite3.IntegrityError:
            raise UserExists(name) from None

    def set_disabled(self, name: str, disabled: bool) -> None:
        self._update("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name), name)

    def set_password(self, name: str, password_hash: str) -> None:
        self._update("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name), name)

    def set_gateway(self, name: str, gateway: str | None) -> None:
        self._update("UPDATE users SET gateway = ? WHERE name = ?", (gateway, name), name)

    def delete(self, name: str) -> None:
        self._update("DELETE FROM users WHERE name = ?", (name,), name)

    def record_login(self, name: str, when: float) -> None:
        self._db.execute("UPDATE users SET last_login = ? WHERE name = ?", (when, name))

    def version(self) -> int:
        """
        Changes whenever another connection (say C{python -m ofx users disable})
        commits, so a running server can notice at the cost of one pragma.
        """
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _update(self, sql: str, args: tuple[object, ...], name: str) -> None:
        if self._db.execute(sql, args).rowcount == 0:
            raise NoSuchUser(name)


def _user(row: sqlite3.Row) -> User:
    return User(
        name=row["name"],
        password_hash=row["password_hash"],
        disabled=bool(row["disabled"]),
        gateway=row["gateway"],
        created=row["created"],
        last_login=row["last_login"],
    )
