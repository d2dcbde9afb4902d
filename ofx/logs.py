"""
A log observer for C{twistd -n} that writes the lines twistd's own observer
writes, at a fraction of the cost per event.

    twistd -n --logger ofx.logs.observer ofx --config etc/ofx.ini

twistd's default observer formats every event with C{string.Formatter},
stamps it with C{strftime} and flushes the file after each line: about 20
microseconds an event, a system call each. The gateway writes a line for
every order, so at thousands of orders a second that is a good share of its
time. This observer writes the same text (C{formatEventAsClassicLogText}'s
C{"<time> [<system>] <text>"}) but:

  - an event whose format has no fields (the gateway builds its per-order
    line itself) is written as it is, without the formatter;
  - the timestamp text is made once per second, not once per event;
  - while the reactor runs, lines are buffered and written together: when
    C{limit} lines wait, when a warning or worse arrives (at once, with
    everything before it), every C{interval} seconds from a flusher thread,
    and at exit. Before the reactor starts and after it stops, each line is
    written at once.

So a line reaches the file at most C{interval} seconds late, and an ordinary
crash loses nothing (the buffer is written at exit); a C{SIGKILL} can lose
the last C{interval} seconds of log lines. The journal, not the log, is the
record of orders: it is fsync'd before an order is acknowledged.

It writes to standard output, which suits C{twistd -n} (foreground, under a
supervisor that keeps the output). A daemonized twistd sends standard output
to /dev/null: daemons keep twistd's C{--logfile}.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
from typing import IO, Any

from twisted.logger import ILogObserver, LogLevel, formatEventAsClassicLogText, formatTime
from twisted.logger import Logger as TwistedLogger
from zope.interface import implementer

INTERVAL = 0.2
LIMIT = 256
_LEVELS = frozenset(LogLevel.iterconstants())
_URGENT = frozenset(level for level in _LEVELS if level >= LogLevel.warn)  # written at once


class Logger(TwistedLogger):
    """
    Twisted's C{Logger}, emitting the same events, for the gateway's
    per-order lines, without three costs per line:

      - Twisted's C{emit} checks the level against
        C{LogLevel.iterconstants()}, which sorts every level on each event.
        Here the check is a set lookup; anything unusual (an unknown level, a
        traced event) goes through Twisted's own C{emit}.
      - As a class attribute, Twisted's C{Logger} makes a new logger on each
        access through an instance. This one keeps the logger it makes in the
        instance's C{__dict__}, under its own name, so the next access finds it.
      - A line built by its caller, with no fields to format, goes to the
        observer as one event made at once (L{line}), not through C{info}'s
        keyword arguments and C{emit}'s update of them.
    """

    _name: str | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, instance: object, owner: type | None = None) -> Logger:
        bound = super().__get__(instance, owner)
        if instance is not None and self._name is not None:
            found = getattr(instance, "__dict__", None)
            if found is not None:
                found[self._name] = bound
        return bound  # type: ignore[return-value]

    def line(self, text: str) -> None:
        """
        Log C{text}, as it is, at the info level: the event C{info} would
        emit for it, braces escaped so that formatting gives C{text} back.
        """
        if "{" in text or "}" in text:
            text = text.replace("{", "{{").replace("}", "}}")
        self.observer(
            {
                "log_logger": self,
                "log_level": LogLevel.info,
                "log_namespace": self.namespace,
                "log_source": self.source,
                "log_format": text,
                "log_time": time.time(),
            }
        )

    def emit(self, level: LogLevel, format: str | None = None, **kwargs: object) -> None:
        if level not in _LEVELS or "log_trace" in kwargs:
            super().emit(level, format, **kwargs)
            return
        kwargs.update(
            log_logger=self,
            log_level=level,
            log_namespace=self.namespace,
            log_source=self.source,
            log_format=format,
            log_time=time.time(),
        )
        self.observer(kwargs)


@implementer(ILogObserver)
class BufferedLogObserver:
    """
    Writes classic twistd log lines to C{out}, buffered (see the module
    docstring). Thread-safe: events may come from any thread.

    @param out: a text file; written and flushed by L{flush} only.
    @param limit: write once this many lines wait.
    """

    def __init__(self, out: IO[str], limit: int = LIMIT) -> None:
        self._out = out
        self._limit = limit
        self._lines: list[str] = []
        self._lock = threading.Lock()  # guards _lines
        self._writing = threading.Lock()  # keeps concurrent flushes in order
        self._second = -1
        self._stamp = "-"
        self._systems: dict[tuple[Any, Any], str] = {}
        self._stopped = threading.Event()

    def __call__(self, event: dict[str, Any]) -> None:
        fmt = event.get("log_format")
        if type(fmt) is str and "{" not in fmt and "log_failure" not in event:
            if "\n" in fmt:
                fmt = fmt.replace("\n", "\n\t")
            line = f"{self._time(event.get('log_time'))} [{self._system(event)}] {fmt}\n"
        else:
            text = formatEventAsClassicLogText(event, formatTime=self._time)
            if text is None:
                return
            line = text
        level = event.get("log_level")
        with self._lock:
            self._lines.append(line)
            due = len(self._lines) >= self._limit
        if due or level in _URGENT or not reactor_running():
            self.flush()

    def _time(self, when: float | None) -> str:
        if when is None:
            return "-"
        second = int(when)
        if second != self._second:
            self._stamp = formatTime(second)
            self._second = second
        return self._stamp

    def _system(self, event: dict[str, Any]) -> str:
        given = event.get("log_system")
        if given is not None:
            return str(given)
        key = (event.get("log_namespace", "-"), event.get("log_level"))
        system = self._systems.get(key)
        if system is None:
            level = key[1].name if key[1] is not None else "-"
            system = self._systems[key] = f"{key[0]}#{level}"
        return system

    def flush(self) -> None:
        """Write and flush every line that waits."""
        with self._writing:
            with self._lock:
                lines, self._lines = self._lines, []
            if lines:
                self._out.write("".join(lines))
                self._out.flush()

    def start(self, interval: float = INTERVAL) -> None:
        """Flush every C{interval} seconds from a daemon thread, and at exit."""
        thread = threading.Thread(target=self._flush_every, args=(interval,), name="ofx-log-flusher", daemon=True)
        thread.start()
        atexit.register(self.stop)

    def stop(self) -> None:
        """Stop the flusher thread, then write what waits."""
        self._stopped.set()
        atexit.unregister(self.stop)
        self.flush()

    def _flush_every(self, interval: float) -> None:
        while not self._stopped.wait(interval):
            try:
                self.flush()
            except Exception:  # a closed or full output must not kill the thread silently
                print("ofx.logs: cannot write the log", file=sys.__stderr__)


def reactor_running() -> bool:
    """
    Whether the reactor runs: only then are lines buffered. Start-up and
    shutdown lines are few and written at once; the last ones matter, and
    twistd, stopped by a signal, ends by sending itself that signal again,
    so no exit handler runs after them.
    """
    reactor = sys.modules.get("twisted.internet.reactor")  # never install one from here
    return bool(getattr(reactor, "running", False))


def observer() -> BufferedLogObserver:
    """The factory for C{twistd --logger ofx.logs.observer}: standard output, buffered."""
    found = BufferedLogObserver(sys.stdout)
    found.start()
    return found
