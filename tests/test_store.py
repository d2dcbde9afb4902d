"""The store: schema versions and request ids that only grow."""

from __future__ import annotations

import os

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

    def test_reqids_reserve_in_blocks(self) -> None:
        """Ids are reserved in blocks: the store is written once per block, before the ids are used."""
        path = self.path()
        ids = RequestIds(open_database(path), block=5)
        self.assertEqual([ids.next() for _ in range(6)], [1, 2, 3, 4, 5, 6])
        self.assertEqual(ids.last_reserved(), 10)
        value = open_database(path).execute("SELECT value FROM counters").fetchone()[0]
        self.assertEqual(value, 10)
