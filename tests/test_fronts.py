"""
The line protocols: framing, ordering of pipelined answers, and the errors
every client-facing port gives, over StringTransport (no sockets).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase

from ofx.dispatch import Dispatcher, Durable
from ofx.errors import OFXError, unauthorized, unavailable
from ofx.fronts import FrontFactory, FrontProtocol
from ofx.login import Caller
from ofx.store.journal import Commit
from tests.keys import CODEC


class SlowLogin:
    """A login target whose answers arrive when the test says (like the password check thread)."""

    def __init__(self) -> None:
        self.waiting: list[Deferred[Any]] = []

    def cmd_login(self, caller: Caller, params: tuple[str, str]) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.waiting.append(d)
        return d.addCallback(lambda ok: {"stat": 200, "uname": params[0]} if ok else _raise())

    def cmd_verify(self, caller: Caller, params: Any) -> dict[str, Any]:
        return {"stat": 200, "peer": caller.peer}


class JournaledLogin(SlowLogin):
    """A login target whose answers wait for a journal commit the test settles, as an order's do."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[Commit] = []

    def cmd_login(self, caller: Caller, params: tuple[str, str]) -> Durable:  # type: ignore[override]
        commit = Commit()
        self.commits.append(commit)

        def lost(why: OFXError) -> OFXError:
            return unavailable(f"{params[0]} was not recorded: {why.message}")

        return Durable({"stat": 200, "uname": params[0]}, commit, lost)


def _raise() -> Any:
    raise unauthorized("wrong username or password")


def connect(max_line: int = 65536, target: SlowLogin | None = None) -> tuple[FrontProtocol, StringTransport, SlowLogin]:
    target = target or SlowLogin()
    factory = FrontFactory("login", Dispatcher("login", CODEC, target), max_line)
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport, target


def answers(transport: StringTransport) -> list[Any]:
    data = transport.value()
    assert data.endswith(b"\r\n") or not data
    return [CODEC.decode_answer(line) for line in data.split(b"\r\n") if line]


def request(cmd: Any, params: Any = None) -> bytes:
    return CODEC.encode_request({"cmd": cmd, "params": params})


def lines(*requests: bytes) -> bytes:
    """Request lines pipelined in one read."""
    return b"".join(r + b"\r\n" for r in requests)


class FramingTests(TestCase):
    def test_pipelined_answers_keep_request_order(self) -> None:
        """
        Three pipelined requests, the first answered last: answers still come
        in request order, one line each, ending CRLF.
        """
        protocol, transport, target = connect()
        protocol.dataReceived(
            lines(
                request(1, {"username": "a", "password": "x"}),
                request(1, {"username": "b", "password": "x"}),
                request(2, {"authcode": "c", "gateway": "g"}),
            )
        )
        self.assertEqual(transport.value(), b"")
        target.waiting[1].callback(True)
        self.assertEqual(transport.value(), b"")
        target.waiting[0].callback(False)
        got = answers(transport)
        self.assertEqual([a["stat"] for a in got], [401, 200, 200])
        self.assertEqual(got[1]["uname"], "b")

    def test_held_answers_wait_for_their_commit(self) -> None:
        """
        An answer held for its journal commit is written once the commit is
        on disk, and the answers after it wait behind it. If the commit is
        lost, the client gets the error instead of the acknowledgement, and
        the connection goes on serving.
        """
        target = JournaledLogin()
        protocol, transport, _ = connect(target=target)
        protocol.dataReceived(
            lines(
                request(1, {"username": "a", "password": "x"}),
                request(2, {"authcode": "c", "gateway": "g"}),
                request(1, {"username": "b", "password": "x"}),
            )
        )
        self.assertEqual(transport.value(), b"")
        target.commits[0].settle()
        got = answers(transport)
        self.assertEqual([(a["stat"], a.get("uname")) for a in got], [(200, "a"), (200, None)])
        transport.clear()
        target.commits[1].settle(unavailable("the journal writer ended"))
        (refused,) = answers(transport)
        self.assertEqual(refused, {"stat": 503, "error": "b was not recorded: the journal writer ended"})
        transport.clear()
        protocol.dataReceived(request(2, {"authcode": "c", "gateway": "g"}) + b"\r\n")
        self.assertEqual([a["stat"] for a in answers(transport)], [200])

    def test_bare_lf_accepted(self) -> None:
        """A request ending in a bare LF is answered like one ending CRLF."""
        protocol, transport, _ = connect()
        protocol.dataReceived(request(2, {"authcode": "c", "gateway": "g"}) + b"\n")
        self.assertEqual(answers(transport)[0]["stat"], 200)

    def test_line_split_across_reads(self) -> None:
        """A line arriving in several TCP segments is one request."""
        protocol, transport, _ = connect()
        line = request(2, {"authcode": "c", "gateway": "g"}) + b"\r\n"
        for i in range(0, len(line), 7):
            protocol.dataReceived(line[i : i + 7])
        self.assertEqual(len(answers(transport)), 1)

    def test_too_long_is_413_and_closes(self) -> None:
        """A line over max_line gets 413 and the connection is closed."""
        protocol, transport, _ = connect(max_line=100)
        protocol.dataReceived(b"A" * 200)
        self.assertEqual(answers(transport)[0]["stat"], 413)
        self.assertTrue(transport.disconnecting)


class ErrorTests(TestCase):
    def assertStat(self, line: bytes, stat: int, fragment: str) -> None:
        protocol, transport, _ = connect()
        protocol.dataReceived(line + b"\r\n")
        (answer,) = answers(transport)
        self.assertEqual(answer["stat"], stat, answer)
        self.assertIn(fragment, answer["error"])
        self.assertFalse(transport.disconnecting)
        # The connection still serves a good request afterwards.
        transport.clear()
        protocol.dataReceived(request(2, {"authcode": "c", "gateway": "g"}) + b"\r\n")
        self.assertEqual(answers(transport)[0]["stat"], 200)

    def test_garbage_is_400(self) -> None:
        """An undecryptable line is 400 and the connection keeps serving."""
        self.assertStat(b"hello", 400, "base64")

    def test_unknown_command_is_404(self) -> None:
        """An unknown command is 404, naming it."""
        self.assertStat(request(999999), 404, "999999")

    def test_wrong_port_is_405(self) -> None:
        """A quote command sent to the login port is 405, naming the right port."""
        self.assertStat(request(100001, {"code": "600000", "market": "SH"}), 405, "quote port")

    def test_bad_params_is_422(self) -> None:
        """Login without a password is 422, naming the field."""
        self.assertStat(request(1, {"username": "a"}), 422, "password")

    def test_unexpected_error_is_500_without_internals(self) -> None:
        """A bug in a handler answers 500 without a traceback; the error is logged."""
        protocol, transport, target = connect()
        target.cmd_verify = lambda caller, params: 1 / 0  # type: ignore[method-assign]
        protocol.factory.dispatcher._routes[2] = type(protocol.factory.dispatcher._routes[2])(
            protocol.factory.dispatcher._routes[2].command, target.cmd_verify
        )
        protocol.dataReceived(request(2, {"authcode": "c", "gateway": "g"}) + b"\r\n")
        (answer,) = answers(transport)
        self.assertEqual(answer["stat"], 500)
        self.assertNotIn("ZeroDivision", answer["error"])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
