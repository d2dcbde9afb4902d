"""The buffered log observer: twistd's lines, written in batches."""

from __future__ import annotations

import io
import threading

from twisted.logger import Logger as TwistedLogger
from twisted.logger import LogLevel, formatEvent, formatEventAsClassicLogText
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from ofx import logs
from ofx.logs import BufferedLogObserver

WHEN = 1795000000.25  # a fixed moment, so the expected stamps are the same as twistd's


def event(fmt: str | None, level: LogLevel = LogLevel.info, when: float = WHEN, **fields: object) -> dict:
    found: dict = {"log_level": level, "log_namespace": "ofx.service.GatewayService", "log_time": when}
    if fmt is not None:
        found["log_format"] = fmt
    found.update(fields)
    return found


class Flushes(io.StringIO):
    """An output that counts its flushes and says when one happened."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0
        self.flushed = threading.Event()

    def flush(self) -> None:
        super().flush()
        self.flushes += 1
        self.flushed.set()


class LinesTests(TestCase):
    """Each event gives the line twistd's own observer would write."""

    def assertSameLine(self, given: dict) -> None:
        out = io.StringIO()
        observer = BufferedLogObserver(out)
        observer(dict(given))
        observer.flush()
        self.assertEqual(out.getvalue(), formatEventAsClassicLogText(dict(given)) or "")

    def test_literal(self) -> None:
        self.assertSameLine(event("order user=demo reqid=7 buy 600000.SH 100@10.5 order_xtp_id=9"))

    def test_fields(self) -> None:
        self.assertSameLine(event("{port} error {stat} peer={peer}", port="trade", stat=422, peer="1.2.3.4:5"))

    def test_escaped_braces(self) -> None:
        self.assertSameLine(event("order user={{odd}} reqid=1"))

    def test_multiple_lines(self) -> None:
        self.assertSameLine(event("first\nsecond"))

    def test_log_system(self) -> None:
        self.assertSameLine(event("legacy message", log_system="ofx-trade,3,127.0.0.1"))

    def test_no_level(self) -> None:
        given = event("plain")
        del given["log_level"]
        self.assertSameLine(given)

    def test_failure_with_traceback(self) -> None:
        failure = Failure(ZeroDivisionError("division by zero"))
        out = io.StringIO()
        observer = BufferedLogObserver(out)
        observer(event("unexpected error on the {port} port", LogLevel.critical, port="trade", log_failure=failure))
        self.assertIn("unexpected error on the trade port", out.getvalue())
        self.assertIn("ZeroDivisionError", out.getvalue())

    def test_no_format_no_line(self) -> None:
        out = io.StringIO()
        observer = BufferedLogObserver(out)
        observer(event(None))
        observer.flush()
        self.assertEqual(out.getvalue(), "")

    def test_each_second_has_its_own_stamp(self) -> None:
        out = io.StringIO()
        observer = BufferedLogObserver(out)
        moments = [WHEN, WHEN + 0.5, WHEN + 1, WHEN + 61]
        for when in moments:
            observer(event("tick", when=when))
        observer.flush()
        expected = "".join(formatEventAsClassicLogText(event("tick", when=when)) or "" for when in moments)
        self.assertEqual(out.getvalue(), expected)


class BufferingTests(TestCase):
    """While the reactor runs, lines wait, then go out together, in order; warnings do not wait."""

    def setUp(self) -> None:
        self.patch(logs, "reactor_running", lambda: True)

    def test_info_waits_for_flush(self) -> None:
        out = Flushes()
        observer = BufferedLogObserver(out)
        observer(event("one"))
        observer(event("two"))
        self.assertEqual((out.getvalue(), out.flushes), ("", 0))
        observer.flush()
        self.assertEqual(out.flushes, 1)
        self.assertEqual([line.split("] ", 1)[1] for line in out.getvalue().splitlines()], ["one", "two"])

    def test_written_at_once_when_the_reactor_is_not_running(self) -> None:
        """Start-up and shutdown lines (twistd's last ones above all) are not left in the buffer."""
        self.patch(logs, "reactor_running", lambda: False)
        out = Flushes()
        observer = BufferedLogObserver(out)
        observer(event("Server Shut Down."))
        self.assertEqual(out.flushes, 1)
        self.assertIn("Server Shut Down.", out.getvalue())

    def test_limit_writes_the_batch(self) -> None:
        out = Flushes()
        observer = BufferedLogObserver(out, limit=3)
        observer(event("a"))
        observer(event("b"))
        self.assertEqual(out.flushes, 0)
        observer(event("c"))
        self.assertEqual(out.flushes, 1)
        self.assertEqual(len(out.getvalue().splitlines()), 3)

    def test_warning_writes_everything_before_it(self) -> None:
        out = Flushes()
        observer = BufferedLogObserver(out)
        observer(event("order accepted"))
        observer(event("counter trade session down", LogLevel.warn))
        texts = [line.split("] ", 1)[1] for line in out.getvalue().splitlines()]
        self.assertEqual(texts, ["order accepted", "counter trade session down"])

    def test_flusher_thread_writes_without_more_events(self) -> None:
        out = Flushes()
        observer = BufferedLogObserver(out)
        observer.start(interval=0.01)
        self.addCleanup(observer.stop)
        observer(event("login user=demo"))
        self.assertTrue(out.flushed.wait(10), "the flusher thread never wrote the waiting line")
        self.assertIn("login user=demo", out.getvalue())

    def test_stop_writes_what_waits(self) -> None:
        out = Flushes()
        observer = BufferedLogObserver(out)
        observer(event("last words"))
        observer.stop()
        self.assertIn("last words", out.getvalue())

    def test_events_from_threads_all_written_once(self) -> None:
        out = io.StringIO()
        observer = BufferedLogObserver(out, limit=50)

        def emit(name: str) -> None:
            for i in range(500):
                observer(event(f"{name} {i}"))

        threads = [threading.Thread(target=emit, args=(f"t{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        observer.flush()
        texts = [line.split("] ", 1)[1] for line in out.getvalue().splitlines()]
        self.assertEqual(sorted(texts), sorted(f"t{n} {i}" for n in range(4) for i in range(500)))
        for n in range(4):
            mine = [t for t in texts if t.startswith(f"t{n} ")]
            self.assertEqual(mine, [f"t{n} {i}" for i in range(500)])


class LoggerTests(TestCase):
    """ofx.logs.Logger sends observers the events twisted's own Logger sends."""

    def emitted(self, logger_class: type, level: LogLevel) -> list[dict]:
        events: list[dict] = []
        source = object()
        logger = logger_class(namespace="ofx.service.GatewayService", source=source, observer=events.append)
        logger.emit(level, "order user={user} reqid=7", user="alice")
        for found in events:
            self.assertIs(found.pop("log_source"), source)
            self.assertIsInstance(found.pop("log_time"), float)
            found.pop("log_logger")
        return events

    def test_same_events(self) -> None:
        """Same keys and values as twisted's Logger, at every level."""
        for level in LogLevel.iterconstants():
            ours, theirs = self.emitted(logs.Logger, level), self.emitted(TwistedLogger, level)
            self.assertEqual(ours, theirs)
            self.assertEqual(ours[0]["log_level"], level)

    def test_invalid_level(self) -> None:
        """A level that is not a LogLevel is reported as twisted reports it, not emitted."""
        [reported] = self.emitted(logs.Logger, "loud")  # type: ignore[arg-type]
        self.assertEqual(reported["log_level"], LogLevel.critical)
        self.assertIn("invalid log level", reported["log_format"].lower())

    def test_bound_once_per_instance(self) -> None:
        """Through an instance, the logger is made once, with the instance as its source and the class's namespace."""

        class Service:
            log = logs.Logger()

        service, other = Service(), Service()
        self.assertIs(service.log, service.log)
        self.assertIs(service.log.source, service)
        self.assertIs(other.log.source, other)
        self.assertEqual(service.log.namespace, f"{__name__}.Service")
        self.assertIs(Service.log.source, Service)

    def test_line_is_info_of_the_same_text(self) -> None:
        """
        A line built by its caller makes the event info would make for it,
        and formats back to the very text, braces and all.
        """
        for text in ("order user=alice reqid=7 buy 600000.SH 100@10.0", "cancel user={odd}} reqid=8"):
            ours: list[dict] = []
            theirs: list[dict] = []
            source = object()
            logs.Logger(namespace="ofx.service", source=source, observer=ours.append).line(text)
            escaped = text.replace("{", "{{").replace("}", "}}")
            TwistedLogger(namespace="ofx.service", source=source, observer=theirs.append).info(escaped)
            for found in ours + theirs:
                self.assertIsInstance(found.pop("log_time"), float)
                found.pop("log_logger")
            self.assertEqual(ours, theirs)
            self.assertEqual(formatEvent(ours[0]), text)
