"""
The day's journal: one append-only record of everything that happened.

Every command that changed something (subscribe, requests, insert, cancel,
with the user who sent it), every event the counter delivered (market data,
order and trade events, cancel errors, query answers with their reqid,
session changes), and every login and logout is an L{Entry} with one
sequence number for the trading day.

Appending happens on the reactor thread and costs a few microseconds: the
entry gets its sequence number, goes to the consumers that follow its kind
(the queue services, see L{ofx.queues}), and joins the current batch. The
batch goes, as one frame, into the writer process's input pipe at the end
of the reactor turn. The writer process (L{ofx.store.writer}) owns the
writing SQLite connection and commits what it receives as fast as the disk
allows, every frame that arrived during one commit in the next (group
commit): the
reactor never waits on the disk, and never shares its interpreter with the
disk work. An append marked C{durable} returns the L{Commit} of its batch,
which says when the batch is committed with C{synchronous=FULL} (an fsync):
an order's acknowledgement waits for that. Other entries -- market
data above all -- are committed with C{synchronous=NORMAL}: they survive the
gateway being killed (the writer commits what it was sent, then exits), and
may lose the last moments before a power cut.
"""

from __future__ import annotations

import marshal
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple, Protocol

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from ofx.errors import OFXError, unavailable
from ofx.store.db import StoreError, open_database
from ofx.store.writer import DAY as _DAY
from ofx.store.writer import WriterLock, WriterProcess, block, commit, frame, spawn
from ofx.store.writer import block_id as _id

BEIJING = timezone(timedelta(hours=8))


class Entry(NamedTuple):
    """One journal entry (a named tuple: made on the hot path, it must be cheap)."""

    day: str
    seq: int
    ts: float
    kind: str
    body: Any
    user: str | None = None
    reqid: int | None = None


# An Entry from a tuple, in C (a named tuple's own constructor is a Python call).
_entry = tuple.__new__

_log = Logger()


class Commit:
    """
    The commit of one batch of journal entries, and the calls waiting for it.

    Every durable entry of a batch shares its batch's commit. An order's
    acknowledgement waits here for its entry to reach the disk. It is a list
    of plain calls rather than a Deferred because it is on every order's
    path: a Deferred with the service's, the dispatcher's and the
    connection's callbacks cost about 4 microseconds an order on the reactor
    thread; this costs a tenth of that. L{deferred} gives a Deferred where
    that cost does not matter.
    """

    __slots__ = ("_waiting", "error")

    def __init__(self) -> None:
        self._waiting: list[tuple[Callable[..., object], tuple[Any, ...]]] | None = []
        self.error: OFXError | None = None

    @property
    def settled(self) -> bool:
        return self._waiting is None

    def when_done(self, call: Callable[..., object], *args: Any) -> None:
        """
        Call C{call(error, *args)} once the batch is on disk (C{error} is
        None) or can never be (C{error} is the 503 saying why); at once if
        that is already known. Calls are made in the order they were added.
        """
        waiting = self._waiting
        if waiting is None:
            call(self.error, *args)
        else:
            waiting.append((call, args))

    def deferred(self) -> Deferred[None]:
        """A Deferred that fires once the batch is on disk, or fails with the 503 if it never can be."""
        d: Deferred[None] = Deferred()
        self.when_done(_settle_deferred, d)
        return d

    def settle(self, error: OFXError | None = None) -> None:
        """The batch is on disk (C{error} None) or lost (C{error}): make the waiting calls."""
        waiting, self._waiting = self._waiting, None
        if waiting is None:
            raise RuntimeError("a journal commit settled twice")
        self.error = error
        for call, args in waiting:
            try:
                call(error, *args)
            except Exception:
                _log.failure("a call waiting for a journal commit failed")


def _settle_deferred(error: OFXError | None, d: Deferred[None]) -> None:
    if error is None:
        d.callback(None)
    else:
        d.errback(Failure(error))


# What a journal writing synchronously (not started: tests, the start-up rebuild) gives.
_COMMITTED = Commit()
_COMMITTED.settle()


def _entries(day: str, body: bytes) -> list[Entry]:
    return [Entry(day, seq, ts, kind, value, user, reqid) for seq, ts, kind, user, reqid, value in marshal.loads(body)]


class Consumer(Protocol):
    """What the journal hands entries to (a queue service)."""

    @property
    def name(self) -> str | None: ...

    @property
    def kinds(self) -> frozenset[str]: ...

    def feed(self, entry: Entry) -> None: ...


def beijing_day(when: float) -> tuple[str, float]:
    """The calendar day in Beijing at C{when}, and when that day ends."""
    local = datetime.fromtimestamp(when, BEIJING)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.strftime("%Y%m%d"), (start + timedelta(days=1)).timestamp()


class Journal(Service):
    """
    The journal service: appends, feeds consumers, hands batches to the
    writer process, and reads back what was written.

    @param path: the store's SQLite file.
    @param reactor: gives the time (C{seconds}), C{callLater} (sending a batch)
        and C{spawnProcess} (the writer).
    """

    name = "journal"
    log = Logger()

    def __init__(self, path: str, reactor: Any, keep_days: int = 30, persist: bool = True) -> None:
        """
        @param persist: false keeps entries in memory only (C{[ofx] journal =
            no}): for measuring what the journal costs, never for trading.
        """
        self._path = path
        self._keep_days = keep_days
        self._persist = persist
        self._reactor = reactor
        self._db = open_database(path)
        self._consumers: dict[str, list[Consumer]] = {}
        self._stopped: dict[str | None, int] = {}  # consumer name -> position it stopped at
        self._tail: list[Entry] = []  # kept only while a consumer is stopped
        self._tail_start = 0
        self.position = 0  # entries appended since this process started, rebuilt ones included
        self.day, self._day_end = beijing_day(reactor.seconds())
        self.seq = self._last_seq(self.day)
        self._day_listeners: list[Callable[[str], None]] = []
        # Writing: the writer process, and what it has not committed yet.
        self._lock: WriterLock | None = None
        self._writer: WriterProcess | None = None
        # Entries not yet sent to the writer: today's as (seq, ts, kind, user,
        # reqid, body) rows, earlier days' (only across midnight) as blocks.
        self._rows: list[tuple[Any, ...]] = []
        self._closed: list[tuple[int, int, bytes]] = []
        self._pending_commit: Commit | None = None  # the next frame's commit, once something waits for it
        self._flush_call: Any = None
        self._frames = 0  # frames sent to the writer
        self._unacked: deque[tuple[int, int, Commit | None]] = deque()  # (frame, entries, commit)
        self._failure: str | None = None
        self._ended: Deferred[None] | None = None
        self.written = 0  # entries the writer has committed

    # Lifecycle

    def lock(self) -> None:
        """
        Take the store's writer lock (see L{WriterLock}); L{startService}
        takes it if this was not called. Raises L{StoreError} naming the lock
        file when another process holds it.
        """
        if self._lock is None and self._persist:
            lock = WriterLock(self._path)
            try:
                lock.acquire()
            except OSError as e:
                raise StoreError(f"{self._path}: {e.strerror}") from None
            self._lock = lock

    def startService(self) -> None:
        """Prune old days, rebuild every view from today's entries, then start writing."""
        super().startService()
        self.lock()
        # A writer left by a crashed gateway may have committed more since we were built.
        self.seq = self._last_seq(self.day)
        pruned = self.prune(self._keep_days)
        rebuilt = self.replay_today()
        self.log.info(
            "journal {day}: {rebuilt} entries replayed, {pruned} old days pruned",
            day=self.day, rebuilt=rebuilt, pruned=pruned,
        )  # fmt: skip
        if self._persist:
            assert self._lock is not None
            self._failure = None
            self._ended = Deferred()
            self._writer = WriterProcess(self._committed, self._writer_ended, self._writer_said)
            spawn(self._reactor, self._writer, self._path, self._lock)

    def stopService(self) -> Deferred[None] | None:
        """Send what waits, close the writer's input, and fire once it has committed all and exited."""
        super().stopService()
        writer, self._writer = self._writer, None
        if writer is None:
            self._release()
            return None
        ended = self._ended
        assert ended is not None
        self._flush(writer)
        writer.close()
        return ended

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # The writer process's side

    def _committed(self, frames: int) -> None:
        """The writer has committed C{frames} frames: count them, settle their commits."""
        while self._unacked and self._unacked[0][0] <= frames:
            _, entries, done = self._unacked.popleft()
            self.written += entries
            if done is not None:
                done.settle()

    def _writer_said(self, line: str) -> None:
        self.log.error("journal writer: {line}", line=line)

    def _writer_ended(self) -> None:
        if self._writer is not None or self._unacked:
            # Not a stop we asked for, or the writer left frames uncommitted:
            # nothing more can be made durable.
            self._failure = "the journal writer ended; orders and cancels are refused until the gateway restarts"
            self.log.critical("{why}", why=self._failure)
            self._writer = None
            if self._flush_call is not None and self._flush_call.active():
                self._flush_call.cancel()
            self._flush_call = None
            error = unavailable(self._failure)
            lost = [done for _, _, done in self._unacked if done is not None]
            if self._pending_commit is not None:
                lost.append(self._pending_commit)
            self._unacked.clear()
            self._rows, self._closed, self._pending_commit = [], [], None
            for done in lost:
                done.settle(error)
        self._release()
        ended, self._ended = self._ended, None
        if ended is not None:
            ended.callback(None)

    # Consumers

    def follow(self, consumer: Consumer) -> None:
        """Feed C{consumer} every entry of its kinds appended from now on."""
        for kind in consumer.kinds:
            self._consumers.setdefault(kind, []).append(consumer)

    def pause(self, consumer: Consumer) -> None:
        """Stop feeding C{consumer}; keep what it misses in memory until L{resume}."""
        if consumer.name in self._stopped:
            return
        if not self._stopped:
            self._tail, self._tail_start = [], self.position
        self._stopped[consumer.name] = self.position
        for kind in consumer.kinds:
            self._consumers[kind].remove(consumer)

    def resume(self, consumer: Consumer) -> int:
        """Catch C{consumer} up on what it missed, then feed it again. Returns how many it caught up."""
        start = self._stopped.pop(consumer.name, None)
        if start is None:
            return 0
        missed = [e for e in self._tail[start - self._tail_start :] if e.kind in consumer.kinds]
        for entry in missed:
            consumer.feed(entry)
        self.follow(consumer)
        if not self._stopped:
            self._tail = []
        else:
            oldest = min(self._stopped.values())
            del self._tail[: oldest - self._tail_start]
            self._tail_start = oldest
        return len(missed)

    def on_new_day(self, listener: Callable[[str], None]) -> None:
        self._day_listeners.append(listener)

    # Writing

    def check_writable(self) -> None:
        """Raise 503 if nothing can be made durable any more (the writer ended): before an order is sent."""
        if self._failure is not None:
            raise unavailable(self._failure)

    def append(
        self, kind: str, body: Any, user: str | None = None, reqid: int | None = None, durable: bool = False
    ) -> Commit | None:
        """
        Record one entry and hand it to its consumers. With C{durable}, the
        L{Commit} returned says when the entry is on disk (fsync'd).
        """
        now = self._reactor.seconds()
        if now >= self._day_end:
            self._new_day(now)
        day = self.day
        seq = self.seq = self.seq + 1
        entry = _entry(Entry, (day, seq, now, kind, body, user, reqid))
        self._deliver(entry)
        writer = self._writer
        if writer is None:
            if self._failure is not None:
                raise unavailable(self._failure)
            if self._persist:
                # Not started (tests, or start-up rebuild): write at once, synchronously.
                commit(self._db, [block(day, [(seq, now, kind, user, reqid, body)])])
            return _COMMITTED if durable else None
        self._rows.append((seq, now, kind, user, reqid, body))
        if self._flush_call is None:
            # This reactor turn's entries go to the writer at the end of the
            # turn, whether it is committing or not: a timer would cut the
            # reactor's turns short under load, and a committing writer
            # takes all that waits in its pipe into its next commit.
            self._flush_call = self._reactor.callLater(0, self._flush, writer)
        if not durable:
            return None
        done = self._pending_commit
        if done is None:
            done = self._pending_commit = Commit()
        return done

    def _flush(self, writer: WriterProcess) -> None:
        """Send the waiting entries to the writer as one frame."""
        if self._flush_call is not None:
            if self._flush_call.active():
                self._flush_call.cancel()
            self._flush_call = None
        rows = [*self._closed, block(self.day, self._rows)] if self._rows else self._closed
        if not rows:
            return
        self._rows, self._closed = [], []
        done, self._pending_commit = self._pending_commit, None
        self._frames += 1
        # A block holds the entries from the sequence number in its id to its last.
        count = sum(last - first % _DAY + 1 for first, last, _ in rows)
        self._unacked.append((self._frames, count, done))
        writer.send(frame(done is not None, rows))

    def _deliver(self, entry: Entry) -> None:
        self.position += 1
        if self._stopped:
            self._tail.append(entry)
        for consumer in self._consumers.get(entry.kind, ()):
            consumer.feed(entry)

    def _new_day(self, now: float) -> None:
        if self._rows:  # the old day's entries not yet sent make a block of their own
            self._closed.append(block(self.day, self._rows))
            self._rows = []
        self.day, self._day_end = beijing_day(now)
        self.seq = self._last_seq(self.day)
        self.log.info("journal: new trading day {day}", day=self.day)
        self.prune(self._keep_days)
        for listener in self._day_listeners:
            listener(self.day)

    # Reading

    def _last_seq(self, day: str) -> int:
        row = self._db.execute(
            "SELECT last FROM journal WHERE id > ? AND id < ? ORDER BY id DESC LIMIT 1",
            (_id(day, 0), _id(day, _DAY)),
        ).fetchone()
        return int(row[0]) if row else 0

    def replay_today(self) -> int:
        """
        Feed today's entries already on disk to the consumers (at start-up,
        to rebuild the views after a restart or a crash). Returns how many.
        """
        count = 0
        for entry in self.read_day(self.day):
            self._deliver(entry)
            count += 1
        return count

    def read_day(self, day: str, db: sqlite3.Connection | None = None) -> Iterable[Entry]:
        """Every entry of C{day} in sequence order (blocking: use L{thd_read_day} off the reactor)."""
        cursor = (db or self._db).execute(
            "SELECT body FROM journal WHERE id > ? AND id < ? ORDER BY id", (_id(day, 0), _id(day, _DAY))
        )
        for (body,) in cursor:
            yield from _entries(day, body)

    def thd_read_day(self, day: str) -> list[Entry]:
        """L{read_day} with a connection of its own, for a thread."""
        db = open_database(self._path)
        try:
            return list(self.read_day(day, db))
        finally:
            db.close()

    def days(self) -> list[str]:
        """The days the journal holds, oldest first (one index probe per day)."""
        found: list[str] = []
        row = self._db.execute("SELECT min(id) FROM journal").fetchone()
        while row and row[0]:
            day = str(row[0] // _DAY)
            found.append(day)
            row = self._db.execute("SELECT min(id) FROM journal WHERE id >= ?", ((int(day) + 1) * _DAY,)).fetchone()
        return found

    def prune(self, keep_days: int) -> int:
        """Delete all but the newest C{keep_days} days; returns how many days went."""
        old = self.days()[:-keep_days] if keep_days > 0 else []
        if old:
            self._db.execute("DELETE FROM journal WHERE id < ?", (_id(old[-1], _DAY),))
        return len(old)

    # Reading for the web console (ofx/web): pages of a day, in a thread.

    def thd_page(
        self, day: str, after_seq: int = 0, limit: int = 100, kinds: Iterable[str] | None = None
    ) -> list[Entry]:
        """
        Up to C{limit} entries of C{day} after sequence number C{after_seq},
        in order, only of C{kinds} when given; with a connection of its own,
        for a thread.
        """
        after_seq = max(0, after_seq)
        wanted = set(kinds or ())
        found: list[Entry] = []
        db = open_database(self._path)
        try:
            # Start at the block holding after_seq + 1: the last one starting at or before it.
            first = db.execute(
                "SELECT id FROM journal WHERE id > ? AND id <= ? ORDER BY id DESC LIMIT 1",
                (_id(day, 0), _id(day, after_seq + 1)),
            ).fetchone()
            start = first[0] if first else _id(day, 0)
            blocks = db.execute(
                "SELECT body FROM journal WHERE id >= ? AND id < ? ORDER BY id", (start, _id(day, _DAY))
            )
            for (body,) in blocks:
                for entry in _entries(day, body):
                    if entry.seq > after_seq and (not wanted or entry.kind in wanted):
                        found.append(entry)
                        if len(found) >= limit:
                            return found
            return found
        finally:
            db.close()
