"""
Request ids that only grow, also across restarts and crashes.

XTP takes a request id as a C int, so ids must stay small: a plain counter,
persisted with hi-lo reservations. A block of C{block} ids is reserved by
writing its end to the store (durably) before the first of them is handed
out; a restart continues after the last reserved block, so an id is never
reused, at the price of skipping the unused rest of a block.

A reservation is an fsync'd write. Given C{run_blocking} (the gateway gives
its thread pool), the next block is reserved in a thread, with a connection
of its own, once half of the current block is used: the reactor thread never
waits for that fsync unless the ids run out before it is done, and then it
reserves at once, as it does without C{run_blocking}. (Synchronously, the
reservations took 1-2% of the reactor thread's time under an order burst,
and each stopped every connection for the length of an fsync.) A block of
10,000 ids is one reservation every two seconds at 5,000 orders a second,
and a gateway restarted every day for a year skips under 4 million of the
2,147,483,647 ids a C int allows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from twisted.logger import Logger

from ofx.store.db import open_database

_NAME = "reqid"
# Never lower the reserved end: a reservation made in a thread may finish after a later one.
_RESERVE = (
    "INSERT INTO counters (name, value) VALUES (?, ?) "
    "ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)"
)


def _store_path(db: sqlite3.Connection) -> str:
    return str(db.execute("PRAGMA database_list").fetchone()[2])


def _thd_reserve(path: str, limit: int) -> int:
    """Reserve ids up to C{limit} with a connection of this thread's own; C{limit}."""
    db = open_database(path)  # in autocommit mode: the write is its own, fsync'd, transaction
    try:
        db.execute(_RESERVE, (_NAME, limit))
    finally:
        db.close()
    return limit


class RequestIds:
    """
    @param run_blocking: runs a blocking function in a thread and gives a
        Deferred of its result; without it every reservation is made on the
        calling thread.
    """

    log = Logger()

    def __init__(
        self, db: sqlite3.Connection, block: int = 10_000, run_blocking: Callable[..., Any] | None = None
    ) -> None:
        self._db = db
        self._block = block
        self._run_blocking = run_blocking
        row = db.execute("SELECT value FROM counters WHERE name = ?", (_NAME,)).fetchone()
        self._next = (row[0] if row else 0) + 1
        self._limit = self._next - 1
        self._ahead = 0  # the end of the block reserved ahead, once it is on disk
        self._path = _store_path(db) if run_blocking is not None else ""

    def next(self) -> int:
        value = self._next
        if value > self._limit:
            self._advance()
        elif value == self._limit - self._block // 2 and self._run_blocking is not None:  # halfway
            self._reserve_ahead()
        self._next = value + 1
        return value

    def last_reserved(self) -> int:
        return self._limit

    def _advance(self) -> None:
        """The block is used up: move into the one reserved ahead, or reserve one now."""
        if self._ahead > self._limit:
            self._limit = self._ahead
        else:
            limit = self._next - 1 + self._block
            self._db.execute(_RESERVE, (_NAME, limit))
            self._limit = limit

    def _reserve_ahead(self) -> None:
        limit = self._limit + self._block

        def done(reserved: int) -> None:
            self._ahead = max(self._ahead, reserved)

        def failed(failure: Any) -> None:
            # Not fatal: the block is reserved on the reactor thread when it is needed.
            self.log.failure("reserving request ids ahead failed", failure)

        assert self._run_blocking is not None
        self._run_blocking(_thd_reserve, self._path, limit).addCallbacks(done, failed)
