"""The store: schema versions and request ids that only grow."""

from __future__ import annotations

import os
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.trial.unittest import TestCase

from ofx.store.db import CURRENT_VERSION, StoreError, open_database
from ofx.store.reqids import RequestIds


class StoreTests(TestCase):
    def path(self) -> str:
        return os.path.join(self.mktemp(), "ofx.db")

    def test_new_store_has_current_version(self) -> None:
        """A new store is created at the current schema version, in WAL mode."""
        db = open_database(self.path())
        self.assertEqual(db.execute("SELECT version FROM version").fetchone()[0], CURRENT_VERSION)
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")

    def test_newer_store_refused(self) -> None:
        """A store written by a newer OFX is refused with a message, not misread."""
        path = self.path()
        open_database(path).execute("UPDATE version SET version = 99")
        with self.assertRaises(StoreError) as caught:
            open_database(path)
        self.assertIn("newer", str(caught.exception))

    def test_reqids_grow_across_reopen(self) -> None:
        """After a restart (even one that never used its block), new reqids are larger than every earlier one."""
        path = self.path()
        first = RequestIds(open_database(path), block=10)
        used = [first.next() for _ in range(3)]
        second = RequestIds(open_database(path), block=10)
        later = second.next()
        self.assertGreater(later, max(used))
        third = RequestIds(open_database(path), block=10)
        self.assertGreater(third.next(), later)

    def test_reqids_next_block_reserved_ahead_in_a_thread(self) -> None:
        """
        Halfway through a block the next one is reserved off the reactor
        thread; moving into it then writes nothing on the reactor thread.
        """
        path = self.path()
        db = open_database(path)
        asked: list[tuple[Any, ...]] = []

        def run_blocking(f: Any, *args: Any) -> Deferred[Any]:
            asked.append(args)
            return succeed(f(*args))

        ids = RequestIds(db, block=10, run_blocking=run_blocking)
        written: list[str] = []
        self.assertEqual([ids.next() for _ in range(4)], [1, 2, 3, 4])
        db.set_trace_callback(written.append)
        self.assertEqual(ids.next(), 5)  # halfway
        self.assertEqual(asked, [(os.path.abspath(path), 20)])
        self.assertEqual([ids.next() for _ in range(10)], list(range(6, 16)))
        self.assertEqual(ids.last_reserved(), 20)
        self.assertEqual([sql for sql in written if "counters" in sql], [])
        self.assertEqual(asked[-1], (os.path.abspath(path), 30))  # halfway through the new block
        self.assertEqual(open_database(path).execute("SELECT value FROM counters").fetchone()[0], 30)
        self.assertGreater(RequestIds(open_database(path), block=10).next(), 15)

    def test_reqids_reserved_at_once_when_the_thread_is_late(self) -> None:
        """
        If the reservation ahead has not finished when the block runs out,
        the next block is reserved at once; the late one never lowers it.
        """
        path = self.path()
        late: list[tuple[Any, ...]] = []

        def run_blocking(f: Any, *args: Any) -> Deferred[Any]:
            d: Deferred[Any] = Deferred()
            late.append((d, f, args))
            return d

        ids = RequestIds(open_database(path), block=10, run_blocking=run_blocking)
        self.assertEqual([ids.next() for _ in range(25)], list(range(1, 26)))
        self.assertEqual(ids.last_reserved(), 30)
        self.assertEqual([args[1] for _, _, args in late], [20, 30, 40])  # none finished yet
        d, f, args = late[0]
        d.callback(f(*args))  # the first thread finishes last: up to 20 must not lower 30
        self.assertEqual(open_database(path).execute("SELECT value FROM counters").fetchone()[0], 30)
        self.assertEqual([ids.next() for _ in range(6)], list(range(26, 32)))
        self.assertGreater(RequestIds(open_database(path), block=10).next(), 31)

    def test_reqids_reserve_in_blocks(self) -> None:
        """Ids are reserved in blocks: the store is written once per block, before the ids are used."""
        path = self.path()
        ids = RequestIds(open_database(path), block=5)
        self.assertEqual([ids.next() for _ in range(6)], [1, 2, 3, 4, 5, 6])
        self.assertEqual(ids.last_reserved(), 10)
        value = open_database(path).execute("SELECT value FROM counters").fetchone()[0]
        self.assertEqual(value, 10)
