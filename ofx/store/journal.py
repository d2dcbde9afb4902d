"""
The day's journal: one append-only record of everything that happened.

Every command that changed something (subscribe, requests, insert, cancel,
with the user who sent it), every event the counter delivered (market data,
order and trade events, cancel errors, query answers with their reqid,
session changes), and every login and logout is an L{Entry} with one
sequence number for the trading day.

Appending happens on the reactor thread and costs a few microseconds: the
entry gets its sequence number, goes to the consumers that follow its kind
(the queue services, see L{ofx.queues}), and joins the batch for the writer
thread. The writer thread owns its own SQLite connection and commits batches
as fast as the disk allows (group commit), so the reactor never waits on the
disk. An append marked C{durable} returns a Deferred that fires once its
batch is committed with C{synchronous=FULL} (an fsync): orders are journaled
that way before they go to the counter. Other entries -- market data above
all -- are committed with C{synchronous=NORMAL}: they survive the process
being killed, and may lose the last moments before a power cut.
"""

from __future__ import annotations

import marshal
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple, Protocol

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ofx.store.db import open_database

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


# Bodies are stored with marshal (version 4): about 4 us for a market data
# snapshot against 18 us for JSON, and the writer thread holds the GIL while
# it encodes. Each row holds one block: the consecutive entries of one day
# that one commit wrote, as a marshalled list, so SQLite's cost is per
# commit, not per entry. Only OFX reads its own journal.

_DAY = 1_000_000_000
# A commit waits up to INTERVAL seconds for GROUP entries to gather.
INTERVAL = 0.001
GROUP = 64


def _id(day: str, seq: int) -> int:
    """A block's row id: the day and the sequence number of its first entry, in one ordered integer."""
    return int(day) * _DAY + seq


_INSERT = "INSERT INTO journal (id, last, body) VALUES (?, ?, ?)"


def _blocks(rows: list[Entry]) -> list[tuple[int, int, bytes]]:
    """Entries (in sequence order) as rows of blocks, one block per day present."""
    blocks = []
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i].day != rows[start].day:
            part = rows[start:i]
            body = marshal.dumps([(e.seq, e.ts, e.kind, e.user, e.reqid, e.body) for e in part], 4)
            blocks.append((_id(part[0].day, part[0].seq), part[-1].seq, body))
            start = i
    return blocks


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


class _Writer(threading.Thread):
    """
    Commits batches of entries in its own thread, with its own connection.
    C{thd...} methods run in this thread only.
    """

    def __init__(self, path: str, done: Callable[[list[Deferred[None]]], None]) -> None:
        super().__init__(name="ofx-journal-writer", daemon=True)
        self._path = path
        self._done = done
        self._lock = threading.Condition()
        # (entry, Deferred or None) pairs; deque append and popleft are
        # thread-safe, so the reactor thread takes the lock only to wake an
        # idle writer.
        self._queue: deque[tuple[Entry, Deferred[None] | None]] = deque()
        self._idle = False
        self._interval = threading.Event()  # never set: its wait is the commit interval
        self._stopping = False
        self.failure: BaseException | None = None
        self.written = 0

    def add(self, entry: Entry, durable: Deferred[None] | None) -> None:
        self._queue.append((entry, durable))
        if self._idle:
            with self._lock:
                # Wake an idle writer once: until it runs (it needs the GIL,
                # which this thread holds) more entries come, and each
                # further lock and notify would only cost this thread time.
                if self._idle:
                    self._idle = False
                    self._lock.notify()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self.join()

    def _take(self) -> list[tuple[Entry, Deferred[None] | None]] | None:
        """The next batch: everything queued, waiting if there is nothing; None to stop."""
        queue = self._queue
        if not queue:
            with self._lock:
                self._idle = True
                while not queue and not self._stopping:
                    self._lock.wait()
                self._idle = False
                if not queue:
                    return None
            if len(queue) < GROUP and not self._stopping:
                # The commit interval: a moment for more entries to join this
                # commit, so a busy gateway pays one fsync (and one wake-up
                # of this thread) per group rather than per order.
                self._interval.wait(INTERVAL)
        return [queue.popleft() for _ in range(len(queue))]

    def run(self) -> None:
        db = open_database(self._path)
        # Checkpoint the WAL every 32 MiB rather than every 8: fewer, larger copies.
        db.execute("PRAGMA wal_autocheckpoint=4000")
        db.execute("PRAGMA cache_size=-65536")
        full = True  # open_database leaves synchronous=FULL
        try:
            while True:
                batch = self._take()
                if batch is None:
                    return
                rows = [entry for entry, _ in batch]
                waiting = [d for _, d in batch if d is not None]
                if bool(waiting) != full:
                    full = bool(waiting)
                    db.execute(f"PRAGMA synchronous={'FULL' if full else 'NORMAL'}")
                self.thd_write(db, rows)
                self.written += len(rows)
                if waiting:
                    self._done(waiting)
        except BaseException as e:  # the journal must say so, not die silently
            self.failure = e
            raise
        finally:
            db.close()

    @staticmethod
    def thd_write(db: sqlite3.Connection, rows: list[Entry]) -> None:
        blocks = _blocks(rows)
        if len(blocks) == 1:
            # One statement in autocommit mode is its own transaction, and its
            # commit (and fsync) happen inside the one call that releases the
            # GIL. BEGIN, INSERT, COMMIT would take the GIL back three times
            # per commit, and each time the reactor thread may have to wait.
            db.execute(_INSERT, blocks[0])
            return
        with db:
            db.execute("BEGIN")
            db.executemany(_INSERT, blocks)


class Journal(Service):
    """
    The journal service: appends, feeds consumers, hands batches to the
    writer thread, and reads back what was written.

    @param path: the store's SQLite file.
    @param reactor: gives the time (C{seconds}) and C{callFromThread}.
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
        self._writer: _Writer | None = None
        self._day_listeners: list[Callable[[str], None]] = []

    # Lifecycle

    def startService(self) -> None:
        """Prune old days, rebuild every view from today's entries, then start writing."""
        super().startService()
        pruned = self.prune(self._keep_days)
        rebuilt = self.replay_today()
        self.log.info(
            "journal {day}: {rebuilt} entries replayed, {pruned} old days pruned",
            day=self.day, rebuilt=rebuilt, pruned=pruned,
        )  # fmt: skip
        if self._persist:
            self._writer = _Writer(self._path, self._durable_done)
            self._writer.start()

    def stopService(self) -> None:
        super().stopService()
        if self._writer is not None:
            self._writer.stop()
            self._writer = None

    def _durable_done(self, waiting: list[Deferred[None]]) -> None:
        """Called in the writer thread: fire the Deferreds on the reactor thread."""
        self._reactor.callFromThread(_fire_all, waiting)

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

    def append(
        self, kind: str, body: Any, user: str | None = None, reqid: int | None = None, durable: bool = False
    ) -> Deferred[None] | None:
        """
        Record one entry and hand it to its consumers. With C{durable}, the
        returned Deferred fires once the entry is on disk (fsync'd).
        """
        now = self._reactor.seconds()
        if now >= self._day_end:
            self._new_day(now)
        self.seq += 1
        entry = Entry(self.day, self.seq, now, kind, body, user, reqid)
        self._deliver(entry)
        waiter: Deferred[None] | None = Deferred() if durable else None
        writer = self._writer
        if not self._persist:
            if waiter is not None:
                waiter.callback(None)
        elif writer is None:
            # Not started (tests, or start-up rebuild): write at once, synchronously.
            _Writer.thd_write(self._db, [entry])
            if waiter is not None:
                waiter.callback(None)
        else:
            if writer.failure is not None:
                raise RuntimeError(f"the journal writer failed: {writer.failure!r}")
            writer.add(entry, waiter)
        return waiter

    def _deliver(self, entry: Entry) -> None:
        self.position += 1
        if self._stopped:
            self._tail.append(entry)
        for consumer in self._consumers.get(entry.kind, ()):
            consumer.feed(entry)

    def _new_day(self, now: float) -> None:
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

    @property
    def written(self) -> int:
        return self._writer.written if self._writer else 0

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


def _fire_all(waiting: list[Deferred[None]]) -> None:
    for d in waiting:
        d.callback(None)
