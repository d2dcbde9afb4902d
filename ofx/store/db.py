"""
Opening the store and keeping its schema current.

The schema lives in versioned files shipped in the package: C{vN.sql} is the
whole schema at version N, and C{upgrade-to-vN.sql} takes version N-1 to N.
A new database is created from the newest C{vN.sql}; an older one is upgraded
step by step inside one transaction per step.
"""

from __future__ import annotations

import os
import sqlite3
from importlib import resources

CURRENT_VERSION = 2


class StoreError(Exception):
    """The database cannot be used (newer than this OFX, or unreadable)."""


def _schema(name: str) -> str:
    return resources.files("ofx.store").joinpath("schema", name).read_text("utf-8")


def open_database(path: str) -> sqlite3.Connection:
    """
    Open (creating if needed) the store at C{path}, in WAL mode, upgraded to
    L{CURRENT_VERSION}. The connection is in autocommit mode: callers group
    writes with C{with db:} where they need a transaction.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA page_size=8192")  # only takes effect on a new file
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "version" not in tables:
        _apply(db, f"v{CURRENT_VERSION}.sql", "INSERT INTO version (version) VALUES (?)", CURRENT_VERSION)
        return db
    (version,) = db.execute("SELECT version FROM version").fetchone()
    if version > CURRENT_VERSION:
        raise StoreError(f"{path}: schema version {version} is newer than this OFX ({CURRENT_VERSION})")
    while version < CURRENT_VERSION:
        version += 1
        _apply(db, f"upgrade-to-v{version}.sql", "UPDATE version SET version = ?", version)
    return db


def _apply(db: sqlite3.Connection, script: str, record: str, version: int) -> None:
    """Run one schema file and record the version it leads to, all or nothing."""
    with db:
        db.execute("BEGIN")
        for statement in _statements(_schema(script)):
            db.execute(statement)
        db.execute(record, (version,))


def _statements(script: str) -> list[str]:
    """Split a schema file into statements (the files hold no ';' in strings)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
