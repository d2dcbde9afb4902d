"""
From a request line to an answer line, for one port.

This is the hot path: decode, route, check the authcode, read params, call
the handler, encode. It is also the one place where errors become answers:
an L{OFXError} becomes C{{"stat": N, "error": ...}} and anything else is
logged with its traceback and answered 500 without internals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attr
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from ofx.commands import COMMANDS, Command, commands_for
from ofx.errors import INTERNAL, OFXError, not_found, unavailable, wrong_port
from ofx.login import Caller, IAuthority
from ofx.store.journal import Commit
from ofx.wire import Codec


class Reusable:
    """
    An answer that stays the same while C{version} does: the latest snapshot
    of a stock, asked for by every client that polls it. The dispatcher
    encodes it once per C{version} (per new snapshot) and sends the same line
    to every request under C{key} until C{version} changes; JSON, Brotli and
    base64 are most of what a quote costs.

    @param key: what the answer is of, unique among this port's reusable
        answers (for C{100001}: the exchange and the code).
    @param version: the object the answer is made from; a new object is a
        new answer (compared by identity).
    @param build: makes the answer, when it has to be encoded.
    """

    __slots__ = ("key", "version", "build")  # made for every quote: a plain class is cheaper than attrs'

    def __init__(self, key: tuple[Any, ...], version: object, build: Callable[[], Any]) -> None:
        self.key = key
        self.version = version
        self.build = build


class Durable:
    """
    An answer that may reach the client only once the journal has the entry
    it acknowledges on disk: an order or a cancel, with the counter's ids.

    @param answer: what to send once C{commit} is settled without error.
    @param commit: the journal commit of that entry.
    @param lost: the error to answer instead if the commit can never happen,
        made from the journal's 503.
    """

    __slots__ = ("answer", "commit", "lost")

    def __init__(self, answer: Any, commit: Commit, lost: Callable[[OFXError], OFXError]) -> None:
        self.answer = answer
        self.commit = commit
        self.lost = lost


class Held:
    """
    An answer line, encoded at once, that its connection sends once its
    L{Durable}'s commit is on disk; or, if the commit is lost, the error
    answer instead. This is the order path: see L{Commit} for why it is not
    a Deferred.
    """

    __slots__ = ("line", "_durable", "_dispatcher", "_peer")

    def __init__(self, line: bytes, durable: Durable, dispatcher: Dispatcher, peer: str) -> None:
        self.line = line
        self._durable = durable
        self._dispatcher = dispatcher
        self._peer = peer

    def when_sendable(self, call: Callable[..., object], *args: Any) -> None:
        """Call C{call(line, *args)} with the line to send, once it is known."""
        self._durable.commit.when_done(self._settled, call, args)

    def _settled(self, error: OFXError | None, call: Callable[..., object], args: tuple[Any, ...]) -> None:
        if error is None:
            call(self.line, *args)
        else:
            call(self._dispatcher._error(self._durable.lost(error), self._peer), *args)


Answer = bytes | Deferred[bytes] | Held


@attr.frozen
class _Route:
    command: Command
    handler: Callable[[Caller, Any], Any]


class Dispatcher:
    """
    Answers the request lines of one port.

    @param target: the object whose C{cmd_*} methods serve this port.
    @param authority: checks authcodes; given for the trade port only.
    @param is_up: tells whether a counter session is logged in.
    """

    log = Logger()

    def __init__(
        self,
        port: str,
        codec: Codec,
        target: object,
        authority: IAuthority | None = None,
        is_up: Callable[[str], bool] = lambda session: True,
    ) -> None:
        self.port = port
        self._codec = codec
        self._authority = authority
        self._is_up = is_up
        self._routes = {
            c.code: _Route(c, getattr(target, c.handler)) for c in commands_for(port)
        }
        self._reused: dict[tuple[Any, ...], tuple[object, bytes]] = {}  # key -> (version, line)

    def handle(self, line: bytes, peer: str = "?") -> Answer:
        """The answer line (without line ending) to one request line."""
        try:
            request = self._codec.decode_request(line)
            route = self._routes.get(request.cmd)
            if route is None:
                raise self._unrouted(request.cmd)
            if self._authority is not None:
                session = self._authority.check(request.authcode)
                if isinstance(session, Deferred):
                    return session.addCallback(
                        lambda s: self._call(route, Caller(self.port, peer, s), request.params)
                    ).addCallbacks(self._later, self._failed, callbackArgs=(peer,), errbackArgs=(peer,))
                caller = Caller(self.port, peer, session)
            else:
                caller = Caller(self.port, peer)
            result = self._call(route, caller, request.params)
            if isinstance(result, Deferred):
                return result.addCallbacks(
                    self._later, self._failed, callbackArgs=(peer,), errbackArgs=(peer,)
                )
            return self._encode(result, peer)
        except OFXError as e:
            return self._error(e, peer)
        except Exception:
            self.log.failure("unexpected error on the {port} port", port=self.port)
            return self._error(INTERNAL, peer)

    def _encode(self, result: Any, peer: str) -> bytes | Held:
        """A handler's result as an answer line, or as a line held for its journal commit."""
        if type(result) is Durable:
            return Held(self._codec.encode_answer(result.answer), result, self, peer)
        if type(result) is Reusable:
            return self._reuse(result)
        return self._codec.encode_answer(result)

    def _later(self, result: Any, peer: str) -> bytes | Deferred[bytes]:
        """L{_encode} in a callback chain: a held answer becomes a Deferred of its line."""
        answer = self._encode(result, peer)
        if type(answer) is Held:
            line: Deferred[bytes] = Deferred()
            answer.when_sendable(line.callback)
            return line
        return answer  # type: ignore[return-value]

    def _reuse(self, answer: Reusable) -> bytes:
        known = self._reused.get(answer.key)
        if known is not None and known[0] is answer.version:
            return known[1]
        line = self._codec.encode_answer(answer.build())
        self._reused[answer.key] = (answer.version, line)
        return line

    def encode_error(self, error: OFXError) -> bytes:
        """An error answer line, for errors found outside L{handle} (line too long)."""
        return self._codec.encode_answer(error.as_answer())

    def _call(self, route: _Route, caller: Caller, params: Any) -> Any:
        parsed = route.command.parse(params)
        needs = route.command.needs
        if needs is not None and not self._is_up(needs):
            raise unavailable(f"the counter's {needs} session is not connected; try again later")
        return route.handler(caller, parsed)

    def _unrouted(self, cmd: int) -> OFXError:
        command = COMMANDS.get(cmd)
        if command is None:
            return not_found(f"unknown command {cmd:06d}")
        return wrong_port(f"command {command.label} is served on the {command.port} port, not {self.port}")

    def _error(self, error: OFXError, peer: str) -> bytes:
        self.log.info(
            "{port} error {stat} peer={peer}: {error}",
            port=self.port, stat=error.stat, peer=peer, error=error.message,
        )  # fmt: skip
        return self._codec.encode_answer(error.as_answer())

    def _failed(self, failure: Failure, peer: str) -> bytes:
        if isinstance(failure.value, OFXError):
            return self._error(failure.value, peer)
        self.log.failure("unexpected error on the {port} port", failure, port=self.port)
        return self._error(INTERNAL, peer)
