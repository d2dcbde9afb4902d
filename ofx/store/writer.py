"""
The journal's writer: a child process that does the journal's disk work.

Why a process and not a thread: a writer thread takes the GIL back after
every SQLite call and every wake-up, and each time the reactor thread has to
stop and wait for it; the two threads handing the GIL back and forth cost the
reactor about 30 microseconds an order, more than the disk work itself. A
child process has an interpreter of its own. The reactor only marshals the
entries of each reactor turn into one frame and writes it to a pipe.

The child (L{main}; the gateway starts it in a session of its own, see
L{spawn}) owns the only writing connection to the store's journal table:

  - stdin carries frames: a 4-byte little-endian length, then
    C{marshal.dumps((durable, rows), 4)}, where C{rows} are the journal rows
    the gateway made of its entries (L{block}: one block per day, as
    L{ofx.store.journal} stores them), so the writer only inserts;
  - it reads whatever the pipe holds, commits every complete frame in one
    transaction, with C{synchronous=FULL} (an fsync) if any frame was durable and
    C{NORMAL} otherwise: frames that arrive while a commit is on disk share
    the next one (group commit);
  - after each commit it writes to stdout the number of frames committed so
    far, as an 8-byte little-endian integer;
  - at the end of stdin (the gateway stopped, or died) it commits the
    complete frames it has and exits 0. A partial frame was never
    acknowledged and is dropped. It ignores SIGINT, SIGTERM and SIGHUP,
    which reach it with the gateway's process group: its input ending is
    its only signal to stop.

File descriptor 3, when given, is the store's writer lock (see
L{WriterLock}): the child holds it until it exits, so a gateway started
again after a crash waits for the old writer to finish before it numbers
new entries.
"""

from __future__ import annotations

import errno
import fcntl
import marshal
import os
import signal
import sqlite3
import struct
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessDone
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure

from ofx.store.db import open_database

FRAME_HEADER = struct.Struct("<I")
ACK = struct.Struct("<Q")
INSERT = "INSERT INTO journal (id, last, body) VALUES (?, ?, ?)"
DAY = 1_000_000_000  # a block's id is day * DAY + the sequence number of its first entry
READ_SIZE = 1 << 20
PIPE_SIZE = 1 << 20  # the input pipe (Linux's default limit for it): under load a frame is under 1 KiB an order
LOCK_WAIT = 10.0  # seconds


def block_id(day: str, seq: int) -> int:
    """A block's row id: the day and the sequence number of its first entry, in one ordered integer."""
    return int(day) * DAY + seq


def block(day: str, rows: list[tuple[Any, ...]]) -> tuple[int, int, bytes]:
    """
    One journal row: C{rows}, consecutive C{(seq, ts, kind, user, reqid,
    body)} entries of C{day}, marshalled together as one block.

    A row holds a block (the consecutive entries of one day that one frame
    carried, as one C{marshal} version 4 list), so SQLite's cost is per
    frame, not per entry; marshal takes about 4 us for a market data
    snapshot against 18 us for JSON. Only OFX reads its own journal.
    """
    return block_id(day, rows[0][0]), rows[-1][0], marshal.dumps(rows, 4)


def frame(durable: bool, rows: list[tuple[int, int, bytes]]) -> bytes:
    """
    One frame for the writer's stdin: journal rows already made (L{block}),
    so the writer only inserts them.
    """
    body = marshal.dumps((durable, rows), 4)
    return FRAME_HEADER.pack(len(body)) + body


def split_frames(buffer: bytearray) -> list[tuple[bool, list[tuple[int, int, bytes]]]]:
    """The complete frames at the start of C{buffer}, removed from it."""
    found = []
    offset = 0
    while len(buffer) - offset >= FRAME_HEADER.size:
        (size,) = FRAME_HEADER.unpack_from(buffer, offset)
        end = offset + FRAME_HEADER.size + size
        if end > len(buffer):
            break
        found.append(marshal.loads(buffer[offset + FRAME_HEADER.size : end]))
        offset = end
    del buffer[:offset]
    return found


def commit(db: sqlite3.Connection, rows: list[tuple[int, int, bytes]]) -> None:
    """Write journal rows (L{block}) in one transaction."""
    if len(rows) == 1:
        db.execute(INSERT, rows[0])  # autocommit: its own transaction
        return
    with db:
        db.execute("BEGIN")
        db.executemany(INSERT, rows)


class WriterLock:
    """
    An exclusive C{flock} on C{<store>.writer}: one journal writer per store.

    The gateway takes it when its journal starts and hands it to its writer
    process, so it is held while either lives.
    """

    def __init__(self, store_path: str) -> None:
        self.path = store_path + ".writer"
        self.fd = -1

    def acquire(self, wait: float | None = None) -> None:
        """
        Take the lock, waiting up to C{wait} seconds for it (a writer left by
        a crashed gateway finishes in milliseconds); raise L{OSError} naming
        the file if another process keeps it (another gateway on the same
        data).
        """
        wait = LOCK_WAIT if wait is None else wait
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Wait in a thread for the lock to come free, at most `wait` seconds.
            waiter = threading.Thread(target=fcntl.flock, args=(fd, fcntl.LOCK_EX), daemon=True)
            waiter.start()
            waiter.join(wait)
            if waiter.is_alive():
                # The waiting thread keeps fd (and would take the lock if it came
                # free): the caller stops, so the process ends with it.
                raise OSError(
                    errno.EWOULDBLOCK,
                    f"another process writes this journal (another gateway on the same [ofx] data?): "
                    f"it holds {self.path}",
                ) from None
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class FramePipe:
    """
    The gateway's end of the writer's input: a frame goes into the pipe in
    the reactor turn that made it.

    Twisted's process transport would keep every write until the reactor
    next polled and found the pipe writable, so each frame cost a turn of
    its own and reached the writer a turn late; with the pipe's default 64
    KiB, a large frame took several turns more. Under load that made the
    reactor's turns short and many, and orders waited longer for their
    commits. Here a frame is written at once; only what does not fit (the
    writer is behind) waits, and is written as the pipe drains.

    It is the reactor's write descriptor only while such a backlog waits.
    """

    def __init__(self, reactor: Any, fd: int) -> None:
        self._reactor = reactor
        self._fd = fd
        self._backlog = bytearray()
        self._closing = False

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "ofx-journal-writer"

    def send(self, data: bytes) -> None:
        """Write C{data} after everything sent before it."""
        if self._fd < 0 or self._closing:
            return  # the child is gone: the journal hears it from its output closing
        if self._backlog:
            self._backlog += data
            return
        written = self._write(data)
        if written < len(data):
            self._backlog += data[written:]
            self._reactor.addWriter(self)

    def doWrite(self) -> None:
        """The pipe has room: write what waits."""
        del self._backlog[: self._write(self._backlog)]
        if not self._backlog or self._fd < 0:
            self._reactor.removeWriter(self)
            if self._closing:
                self._close()

    def close(self) -> None:
        """Close the pipe once what waits is written."""
        self._closing = True
        if not self._backlog:
            self._close()

    def connectionLost(self, reason: Failure) -> None:
        self._close()

    def _write(self, data: bytes | bytearray) -> int:
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0
        except OSError:  # EPIPE: the child died; nothing sent from now on can be committed
            self._close()
            self._backlog.clear()
            return len(data)

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class WriterProcess(ProcessProtocol):
    """
    The gateway's side of the writer: sends frames, hears how many are
    committed, and says when the child is done.

    The child closes its output only as it exits, after its last
    acknowledgement, so it is done when its three pipes are closed (its input
    by the gateway, or noticed broken): waiting for the exit status as well
    would tie the journal's stop to the reactor's child reaping, which a
    program that embeds the gateway may not run.

    @param committed: called with the number of frames committed so far.
    @param ended: called once, when the child's pipes are all closed.
    @param complain: called with each line the child writes to stderr, and
        with its exit status if that is not a clean exit.
    """

    def __init__(
        self,
        committed: Callable[[int], None],
        ended: Callable[[], None],
        complain: Callable[[str], None],
    ) -> None:
        self._committed = committed
        self._ended = ended
        self._complain = complain
        self._acks = b""
        self._open = {1, 2}  # its output pipes not closed yet (its input is L{pipe}, see L{spawn})
        self.pipe: FramePipe | None = None
        self.exited: Deferred[None] = Deferred()  # fires when the reactor has reaped the child

    def send(self, data: bytes) -> None:
        assert self.pipe is not None, "the writer process is not started"
        self.pipe.send(data)

    def close(self) -> None:
        """Close the child's input (once what was sent is in the pipe): the child commits it and exits."""
        assert self.pipe is not None and self.transport is not None, "the writer process is not started"
        self.pipe.close()
        self.transport.closeStdin()  # the pipe is not the transport's: a no-op but for test doubles

    def outReceived(self, data: bytes) -> None:
        self._acks += data
        whole = len(self._acks) - len(self._acks) % ACK.size
        if whole:
            (count,) = ACK.unpack_from(self._acks, whole - ACK.size)
            self._acks = self._acks[whole:]
            self._committed(count)

    def errReceived(self, data: bytes) -> None:
        for line in data.decode("utf-8", "replace").splitlines():
            if line.strip():
                self._complain(line)

    def childConnectionLost(self, childFD: int) -> None:
        self._open.discard(childFD)
        if not self._open:
            self._ended()

    def processEnded(self, reason: Failure) -> None:
        if not reason.check(ProcessDone):
            self._complain(f"exited: {reason.getErrorMessage()}")
        self.exited.callback(None)


# How the gateway starts the writer: signals are ignored and the writer leaves
# the gateway's process group before anything else (before the imports, which
# take a while), so that a Ctrl-C or a group's SIGTERM meant for the gateway
# cannot stop the writer while the gateway still sends it frames.
_BOOT = (
    "import os, signal, sys\n"
    "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP): signal.signal(s, signal.SIG_IGN)\n"
    "os.setsid()\n"
    "from ofx.store.writer import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def spawn(reactor: Any, protocol: WriterProcess, store_path: str, lock: WriterLock) -> None:
    """
    Start the writer (L{main}) on C{store_path}, with the lock as its fd 3
    and a pipe of L{PIPE_SIZE} bytes, written through a L{FramePipe}, as its
    input.
    """
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    read_end, write_end = os.pipe()
    try:
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass  # a smaller system limit (fs.pipe-max-size): the default pipe works, in more writes
    os.set_blocking(write_end, False)
    try:
        reactor.spawnProcess(
            protocol,
            sys.executable,
            [sys.executable, "-c", _BOOT, store_path],
            env=env,
            childFDs={0: read_end, 1: "r", 2: "r", 3: lock.fd},
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)  # the child has its own copy
    protocol.pipe = FramePipe(reactor, write_end)


def run(path: str, stdin: int = 0, stdout: int = 1) -> int:
    """The child's loop (see the module docstring)."""
    db = open_database(path)
    db.execute("PRAGMA wal_autocheckpoint=4000")  # checkpoint every 32 MiB, not 8: fewer, larger copies
    db.execute("PRAGMA cache_size=-65536")
    full = True  # open_database leaves synchronous=FULL
    buffer = bytearray()
    committed = 0
    acking = True  # until the gateway is gone: then commit what it sent, unheard
    while True:
        data = os.read(stdin, READ_SIZE)
        if data:
            buffer += data
        frames = split_frames(buffer)
        if frames:
            durable = any(d for d, _ in frames)
            if durable != full:
                full = durable
                db.execute(f"PRAGMA synchronous={'FULL' if full else 'NORMAL'}")
            commit(db, [row for _, rows in frames for row in rows])
            committed += len(frames)
            if acking:
                try:
                    _write_all(stdout, ACK.pack(committed))
                except BrokenPipeError:
                    acking = False
        if not data:
            db.close()
            return 0


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        sys.stderr.write("usage: python -m ofx.store.writer STORE\n")
        return 2
    # The gateway says when to stop, by closing this process's input (or by
    # dying). Signals meant for the gateway reach its whole process group:
    # Ctrl-C in a terminal, a supervisor's SIGTERM (systemd sends it to every
    # process of the unit), a hang-up. Obeying them would drop the frames the
    # gateway is still sending while it shuts down.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    try:
        return run(args[0])
    except Exception as e:  # the gateway logs this line and fails its journal
        sys.stderr.write(f"ofx journal writer: {type(e).__name__}: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
