"""
The journal and the queue services built on it: nothing acknowledged is
lost, the views come back after a restart, stopped queue services catch up.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from ofx.errors import OFXError, unavailable
from ofx.store import db as store_db
from ofx.store import journal as journal_module
from ofx.store import writer
from ofx.store.db import open_database
from ofx.store.journal import Commit, Journal, beijing_day
from ofx.store.writer import ACK, FramePipe, WriterLock, WriterProcess, block, frame, spawn
from tests.harness import OPEN, Gateway


def _durably(done: Commit | None) -> Deferred[None]:
    """The Deferred of a durable append's commit."""
    assert done is not None
    return done.deferred()


SH600000 = {"code": "600000", "market": "SH"}


def store_path(test: TestCase) -> str:
    """A fresh store's path for C{test} (its folder does not exist yet)."""
    return os.path.join(os.path.abspath(test.mktemp()), "ofx.db")


def dump(path: str) -> list[str]:
    """The schema of a database, as text, for comparing two of them."""
    con = sqlite3.connect(path)
    rows = con.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
    return [" ".join(" ".join(str(c) for c in row).split()) for row in rows]


class SchemaTests(TestCase):
    def test_upgrade_equals_fresh(self) -> None:
        """A version 1 store upgraded to the current version has exactly the schema of a new one."""
        old = os.path.join(self.mktemp(), "old.db")
        self.patch(store_db, "CURRENT_VERSION", 1)
        open_database(old).execute("INSERT INTO users VALUES ('u', 'h', 0, NULL, 0, NULL)")
        self.patch(store_db, "CURRENT_VERSION", 2)
        upgraded = open_database(old)
        fresh = os.path.join(self.mktemp(), "fresh.db")
        open_database(fresh)
        self.assertEqual(
            [line.replace("-- From version 1 to 2: add the journal.", "") for line in dump(old)],
            dump(fresh),
        )
        self.assertEqual(upgraded.execute("SELECT version FROM version").fetchone()[0], 2)
        self.assertEqual(upgraded.execute("SELECT name FROM users").fetchone()[0], "u")


class JournalTests(TestCase):
    def test_sequence_per_day(self) -> None:
        """Entries are numbered 1, 2, 3 within a day, and the numbering continues after a reopen."""
        path = store_path(self)
        clock = Clock()
        clock.advance(OPEN)
        journal = Journal(path, clock)
        for i in range(3):
            journal.append("market_data", {"i": i})
        self.assertEqual(journal.seq, 3)
        again = Journal(path, clock)
        again.append("market_data", {"i": 3})
        self.assertEqual([e.seq for e in again.read_day(again.day)], [1, 2, 3, 4])

    @inlineCallbacks
    def test_durable_append_waits_for_disk(self) -> Any:
        """
        With the writer thread running, a durable append fires only once the
        entry can be read back by another connection.
        """
        path = store_path(self)
        journal = Journal(path, reactor)
        journal.startService()
        self.addCleanup(journal.stopService)
        for i in range(100):
            journal.append("market_data", {"i": i})
        yield _durably(journal.append("order", {"ticker": "600000"}, "alice", 7, durable=True))
        on_disk = list(Journal(path, reactor).read_day(journal.day))
        self.assertEqual(len(on_disk), 101)
        self.assertEqual((on_disk[-1].kind, on_disk[-1].user, on_disk[-1].reqid), ("order", "alice", 7))

    @inlineCallbacks
    def test_durable_appends_of_one_turn_share_one_commit(self) -> Any:
        """
        Orders appended in the same reactor turn go to disk in one batch:
        they share its commit, which is settled only once the writer has
        committed it, and which then calls everything waiting, in order.
        """
        path = store_path(self)
        journal = Journal(path, reactor)
        journal.startService()
        self.addCleanup(journal.stopService)
        first = journal.append("order", {"ticker": "600000"}, "alice", 1, durable=True)
        journal.append("market_data", {"i": 1})
        second = journal.append("order", {"ticker": "600000"}, "bob", 2, durable=True)
        assert first is not None
        self.assertIs(first, second)
        self.assertFalse(first.settled)
        heard: list[tuple[Any, str]] = []
        first.when_done(lambda error, who: heard.append((error, who)), "alice")
        first.when_done(lambda error, who: heard.append((error, who)), "bob")
        yield first.deferred()
        self.assertEqual(heard, [(None, "alice"), (None, "bob")])
        self.assertEqual(len(list(Journal(path, reactor).read_day(journal.day))), 3)
        first.when_done(lambda error, who: heard.append((error, who)), "late")  # already known: at once
        self.assertEqual(heard[-1], (None, "late"))
        later = journal.append("order", {"ticker": "600000"}, "carol", 3, durable=True)
        self.assertIsNot(later, first)
        yield _durably(later)

    def test_commit_settles_once_and_every_waiting_call_is_made(self) -> None:
        """
        A call that fails is logged and the calls after it are still made, so
        one broken connection cannot keep another's acknowledgement back. A
        commit settles once.
        """
        lost = unavailable("the journal writer ended")
        done = Commit()
        heard: list[Any] = []
        done.when_done(lambda error: heard.append(error))
        done.when_done(lambda error: 1 / 0)
        done.when_done(lambda error: heard.append(error))
        done.settle(lost)
        self.assertEqual(heard, [lost, lost])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        with self.assertRaises(RuntimeError):
            done.settle()

    @inlineCallbacks
    def test_entries_waiting_at_midnight_go_to_their_own_day(self) -> Any:
        """
        Entries of the old day still waiting for the writer when a new day
        begins are written under the old day, the new day's under the new,
        and every one is counted as written.
        """
        path = store_path(self)
        journal = Journal(path, reactor)
        journal.startService()
        old_day = journal.day
        for i in range(3):
            journal.append("market_data", {"i": i})
        self.patch(journal_module, "beijing_day", lambda now: ("20991231", now + 86400))
        journal._day_end = 0.0  # the next append starts the new day
        for i in range(2):
            journal.append("market_data", {"i": i + 3})
        yield journal.stopService()
        self.assertEqual([e.body["i"] for e in journal.read_day(old_day)][-3:], [0, 1, 2])
        self.assertEqual([(e.seq, e.body["i"]) for e in journal.read_day("20991231")], [(1, 3), (2, 4)])
        self.assertEqual(journal.written, 5)

    @inlineCallbacks
    def test_stop_flushes(self) -> Any:
        """Stopping the journal writes everything appended before, then the writer process exits."""
        path = store_path(self)
        journal = Journal(path, reactor)
        journal.startService()
        for i in range(1000):
            journal.append("market_data", {"i": i})
        yield journal.stopService()
        self.assertEqual(len(list(journal.read_day(journal.day))), 1000)
        self.assertEqual(journal.written, 1000)

    @inlineCallbacks
    def test_writer_death_refuses_what_it_cannot_keep(self) -> Any:
        """
        If the writer process dies, a durable append still waiting fails (its
        order is never acknowledged), and later appends raise 503, saying
        why, before an order's intent could reach the counter.
        """
        path = store_path(self)
        journal = Journal(path, reactor)
        journal.startService()
        self.addCleanup(journal.stopService)
        waiting = _durably(journal.append("order", {"ticker": "600000"}, "alice", 1, durable=True))
        writer = journal._writer
        assert writer is not None
        self.addCleanup(lambda: writer.exited)  # the reactor reaps the child before the test ends
        writer.transport.signalProcess("KILL")
        failure = yield self.assertFailure(waiting, OFXError)
        self.assertEqual(failure.stat, 503)
        self.assertIn("journal writer ended", failure.message)
        with self.assertRaises(OFXError) as raised:
            journal.append("order", {"ticker": "600000"}, "alice", 2)
        self.assertEqual(raised.exception.stat, 503)
        self.assertIn("orders and cancels are refused", raised.exception.message)

    @inlineCallbacks
    def test_restart_numbers_after_what_the_old_writer_wrote(self) -> Any:
        """
        A journal started again on the same store (a gateway restarted) takes
        the writer lock after the old writer is done, and numbers its entries
        after every entry already on disk.
        """
        path = store_path(self)
        first = Journal(path, reactor)
        first.startService()
        for i in range(50):
            first.append("market_data", {"i": i})
        second = Journal(path, reactor)  # built while the first still runs, as a supervisor might
        yield first.stopService()
        second.startService()
        self.addCleanup(second.stopService)
        yield _durably(second.append("order", {"ticker": "600000"}, "alice", 1, durable=True))
        self.assertEqual([e.seq for e in second.read_day(second.day)], list(range(1, 52)))

    def test_prune_keeps_newest_days(self) -> None:
        """Old days are pruned; the newest keep_days stay readable."""
        path = store_path(self)
        clock = Clock()
        clock.advance(OPEN)
        journal = Journal(path, clock)
        for _ in range(4):
            journal.append("market_data", {})
            clock.advance(86400)
        journal.append("market_data", {})
        self.assertEqual(len(journal.days()), 5)
        self.assertEqual(journal.prune(2), 3)
        self.assertEqual(journal.days()[-1], journal.day)


class FramePipeTests(TestCase):
    """The gateway's end of the writer's input: frames leave in the turn that made them, in order."""

    def pipe(self, size: int | None = None) -> tuple[FramePipe, int, MemoryReactor]:
        """A L{FramePipe} on a fresh pipe (of C{size} bytes if given), its read end, and its reactor."""
        read_end, write_end = os.pipe()
        self.addCleanup(os.close, read_end)
        if size is not None:
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, size)
        os.set_blocking(write_end, False)
        os.set_blocking(read_end, False)
        reactor = MemoryReactor()
        pipe = FramePipe(reactor, write_end)
        self.addCleanup(pipe.close)
        return pipe, read_end, reactor

    def drain(self, read_end: int) -> bytes:
        got = b""
        while True:
            try:
                chunk = os.read(read_end, 1 << 16)
            except BlockingIOError:
                return got
            if not chunk:
                return got
            got += chunk

    def test_frame_is_in_the_pipe_when_send_returns(self) -> None:
        """No reactor turn is needed: the writer can read a frame as soon as the journal sends it."""
        pipe, read_end, reactor = self.pipe()
        pipe.send(b"frame one")
        pipe.send(b"frame two")
        self.assertEqual(self.drain(read_end), b"frame oneframe two")
        self.assertEqual(reactor.getWriters(), [])

    def test_what_does_not_fit_follows_in_order(self) -> None:
        """
        A writer that is behind leaves the pipe full: the rest waits, later
        frames queue behind it, and all reach the pipe in the order sent as
        it drains; then the pipe stops asking to be told it has room.
        """
        pipe, read_end, reactor = self.pipe(size=4096)
        first, second = bytes(range(256)) * 40, b"second frame"
        pipe.send(first)
        pipe.send(second)
        self.assertEqual(reactor.getWriters(), [pipe])
        got = b""
        for _ in range(10):
            got += self.drain(read_end)
            if not reactor.getWriters():
                break
            pipe.doWrite()
        got += self.drain(read_end)
        self.assertEqual(got, first + second)
        self.assertEqual(reactor.getWriters(), [])

    def test_close_writes_what_waits_first(self) -> None:
        """Closing the input with a backlog closes it only once the backlog is in the pipe: nothing sent is lost."""
        pipe, read_end, reactor = self.pipe(size=4096)
        data = b"x" * 10000
        pipe.send(data)
        pipe.close()
        got = b""
        os.set_blocking(read_end, True)
        while reactor.getWriters():
            got += os.read(read_end, 4096)
            pipe.doWrite()
        rest = os.read(read_end, 1 << 16)
        while rest:  # the end of input, once the write end is closed
            got += rest
            rest = os.read(read_end, 1 << 16)
        self.assertEqual(got, data)

    def test_dead_writer_does_not_stop_the_gateway(self) -> None:
        """With the child gone (its input's read end closed), sending raises nothing and keeps nothing."""
        read_end, write_end = os.pipe()
        os.close(read_end)
        reactor = MemoryReactor()
        pipe = FramePipe(reactor, write_end)
        pipe.send(b"lost with the writer")
        pipe.send(b"and this")
        self.assertEqual(reactor.getWriters(), [])
        pipe.close()


class WriterProcessTests(TestCase):
    """The writer child on its own: frames in, commits and acknowledgements out."""

    def run_writer(self, path: str, data: bytes) -> Deferred[tuple[bytes, int]]:
        """Run C{python -m ofx.store.writer path} with C{data} on stdin; its stdout and exit code."""
        done: Deferred[tuple[bytes, int]] = Deferred()
        out: list[bytes] = []

        class Watched(WriterProcess):
            def processEnded(self, reason: Failure) -> None:
                done.callback((b"".join(out), reason.value.exitCode))

        protocol = Watched(lambda n: out.append(ACK.pack(n)), lambda: None, self.fail)
        lock = WriterLock(path)
        lock.acquire()
        self.addCleanup(lock.release)
        spawn(reactor, protocol, path, lock)
        protocol.send(data)
        protocol.close()
        return done

    @inlineCallbacks
    def test_commits_complete_frames_and_drops_a_partial_one(self) -> Any:
        """
        At the end of its input the writer commits every complete frame and
        exits 0; the half frame a killed gateway may leave was never
        acknowledged and is not written.
        """
        path = store_path(self)
        open_database(path).close()
        one = frame(False, [block("20261124", [(1, 1.0, "market_data", None, None, {"i": 1})])])
        two = frame(True, [block("20261124", [(2, 2.0, "order", "alice", 7, {"ticker": "600000"})])])
        half = frame(False, [block("20261124", [(3, 3.0, "market_data", None, None, {"i": 3})])])
        acks, code = yield self.run_writer(path, one + two + half[: len(half) // 2])
        self.assertEqual(code, 0)
        self.assertEqual(ACK.unpack(acks[-ACK.size :])[0], 2)
        entries = list(Journal(path, Clock()).read_day("20261124"))
        self.assertEqual([(e.seq, e.kind, e.user, e.reqid) for e in entries],
                         [(1, "market_data", None, None), (2, "order", "alice", 7)])  # fmt: skip

    def test_gateway_gone_still_commits_what_it_sent(self) -> None:
        """
        A killed gateway leaves frames in the pipe and nobody to hear the
        acknowledgements: the writer commits them all the same.
        """
        path = store_path(self)
        open_database(path).close()
        frames = b"".join(
            frame(i % 2 == 0, [block("20261124", [(i, float(i), "market_data", None, None, {"i": i})])])
            for i in range(1, 6)
        )
        stdin_r, stdin_w = os.pipe()
        acks_r, acks_w = os.pipe()
        os.write(stdin_w, frames)
        os.close(stdin_w)
        os.close(acks_r)  # the gateway is gone: writing an acknowledgement breaks the pipe
        self.patch(writer, "READ_SIZE", 64)  # a few frames a read: several commits, several acknowledgements
        try:
            self.assertEqual(writer.run(path, stdin_r, acks_w), 0)
        finally:
            os.close(stdin_r)
            os.close(acks_w)
        self.assertEqual([e.seq for e in Journal(path, Clock()).read_day("20261124")], [1, 2, 3, 4, 5])

    @inlineCallbacks
    def test_frames_across_midnight_make_one_block_per_day(self) -> Any:
        """Entries of two days in one commit go to two blocks, each readable with its own day."""
        path = store_path(self)
        open_database(path).close()
        data = frame(False, [block("20261124", [(9, 1.0, "market_data", None, None, {"i": 9})]),
                              block("20261125", [(1, 2.0, "market_data", None, None, {"i": 1})])])  # fmt: skip
        _, code = yield self.run_writer(path, data)
        self.assertEqual(code, 0)
        journal = Journal(path, Clock())
        self.assertEqual([e.body for e in journal.read_day("20261124")], [{"i": 9}])
        self.assertEqual([e.body for e in journal.read_day("20261125")], [{"i": 1}])

    @inlineCallbacks
    def test_signals_for_the_gateway_do_not_stop_the_writer(self) -> Any:
        """
        SIGTERM and SIGINT sent to the gateway's process group (a supervisor
        stopping it, Ctrl-C) leave the writer running: it commits what the
        gateway still sends and exits when its input ends.
        """
        path = store_path(self)
        journal = Journal(path, reactor)
        journal.startService()
        yield _durably(
            journal.append("order", {"ticker": "600000"}, "alice", 1, durable=True)
        )  # the writer runs
        assert journal._writer is not None
        for sig in ("TERM", "INT", "HUP"):
            journal._writer.transport.signalProcess(sig)
        for i in range(100):
            journal.append("market_data", {"i": i})
        yield journal.stopService()
        self.assertEqual(journal.written, 101)
        self.assertEqual(len(list(journal.read_day(journal.day))), 101)

    def test_lock_refuses_a_second_writer(self) -> None:
        """While one writer holds a store, another gets an error naming the lock file."""
        path = store_path(self)
        os.makedirs(os.path.dirname(path))
        first = WriterLock(path)
        first.acquire()
        self.addCleanup(first.release)
        with self.assertRaises(OSError) as raised:
            WriterLock(path).acquire(wait=0.05)
        self.assertIn(path + ".writer", str(raised.exception))

    def test_lock_waits_for_the_old_writer(self) -> None:
        """A writer left by a crashed gateway is waited for, not refused."""
        path = store_path(self)
        os.makedirs(os.path.dirname(path))
        old = WriterLock(path)
        old.acquire()
        go = threading.Event()
        threading.Thread(target=lambda: (go.wait(10), old.release()), daemon=True).start()
        new = WriterLock(path)
        go.set()
        new.acquire(wait=10)
        self.addCleanup(new.release)
        self.assertGreaterEqual(new.fd, 0)


class RebuildTests(TestCase):
    def test_views_rebuilt_after_restart(self) -> None:
        """
        A gateway started again on the same store answers the quote, order,
        trade and query commands exactly as before.
        """
        folder = os.path.abspath(self.mktemp())
        gw = Gateway(self, folder=folder)
        gw.ask("quote", 110001, [SH600000])
        gw.tick()
        quote = gw.ask("quote", 100001, SH600000)
        placed = gw.ask("trade", 210005, {"ticker": "600000", "market": "SH", "price": quote["ask"][0],
                                          "quantity": 100, "side": 1})  # fmt: skip
        gw.clock.advance(0)
        asked = gw.ask("trade", 210002)
        gw.ask("trade", 210003)
        gw.ask("trade", 210001)
        gw.clock.advance(0)
        questions = [
            ("quote", 100002, SH600000), ("trade", 200001, SH600000), ("trade", 200002, SH600000),
            ("trade", 200004, {"reqid": asked["reqid"]}), ("trade", 200005, None), ("trade", 200003, None),
        ]  # fmt: skip
        before = [gw.ask(*q) for q in questions]
        self.assertTrue(all(before))
        gw.stop()
        again = Gateway(self, folder=folder, clock=gw.clock)
        after = [again.ask(*q) for q in questions]
        # The counter sends a fresh snapshot when the new gateway subscribes again.
        self.assertEqual(after[0][: len(before[0])], before[0])
        self.assertEqual(after[1:], before[1:])
        self.assertIn(placed["order_xtp_id"], again.service.order_senders)
        self.assertGreater(again.ask("quote", 110001, [SH600000])["reqid"], asked["reqid"])


class QueueServiceTests(TestCase):
    def setUp(self) -> None:
        self.gw = Gateway(self)
        self.gw.ask("quote", 110001, [SH600000, {"code": "000001", "market": "SZ"}])
        self.gw.tick()

    def burst(self) -> None:
        """Market data, orders (filled and queued), and answers to every kind of request."""
        quote = self.gw.backend.snapshot((1, "600000"))
        for price in (quote["ask"][0], quote["bid"][0]):
            self.gw.ask("trade", 210005, {"ticker": "600000", "market": "SH", "price": price,
                                          "quantity": 100, "side": 1})  # fmt: skip
        for cmd in (210001, 210002, 210003, 210004):
            self.gw.ask("trade", cmd)
        for _ in range(3):
            self.gw.tick()

    def test_stop_start_each_loses_nothing(self) -> None:
        """
        Each queue service stopped during a burst answers 503 naming itself;
        started again, its view equals one built from the whole journal.
        """
        questions = {
            "md-receiver": ("quote", 100002, SH600000),
            "order-callbacks": ("trade", 200001, SH600000),
            "trade-callbacks": ("trade", 200002, SH600000),
            "order-query": ("trade", 200005, None),
            "trade-query": ("trade", 200006, None),
            "asset-query": ("trade", 200003, None),
            "position-query": ("trade", 200004, None),
        }
        for name, question in questions.items():
            queue = self.gw.queues[name]
            queue.stopService()
            self.burst()
            stopped = self.gw.ask(*question)
            self.assertEqual(stopped["stat"], 503)
            self.assertIn(name, stopped["error"])
            queue.startService()
            live = self.gw.ask(*question)
            self.assertNotIsInstance(live, dict) if name != "asset-query" else self.assertEqual(
                live["stat"], 200
            )
            from_disk = queue.view_of(self.gw.journal.read_day(self.gw.journal.day))
            self.assertEqual(vars(from_disk), vars(queue.view), name)

    def test_new_day(self) -> None:
        """
        At midnight Beijing time the journal starts a new day: today's views
        are empty, and yesterday stays readable with its date.
        """
        yesterday = self.gw.journal.day
        count = len(self.gw.ask("quote", 100002, SH600000))
        self.assertGreater(count, 0)
        _, end = beijing_day(self.gw.clock.seconds())
        self.gw.clock.advance(end - self.gw.clock.seconds() + 1)
        self.gw.ask("trade", 210001)
        self.assertNotEqual(self.gw.journal.day, yesterday)
        self.assertEqual(next(iter(self.gw.journal.read_day(self.gw.journal.day))).seq, 1)
        today = self.gw.ask("quote", 100002, SH600000)
        self.assertLess(len(today), count + 1)
        past = self.gw.ask("quote", 100002, dict(SH600000, date=yesterday))
        self.assertEqual(len(past), count)
        missing = self.gw.ask("quote", 100002, dict(SH600000, date="20000101"))
        self.assertEqual(missing["stat"], 404)
