"""
L{OFXClient}: the OFX/1 client for Twisted programs. Every method returns a
L{Deferred}; requests on one connection may be pipelined (the gateway
answers each line with exactly one line, in order, so a FIFO of Deferreds is
all the matching needed).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from twisted.internet.defer import Deferred, DeferredList, fail, succeed
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory, connectionDone
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure

from ofx.client.common import (
    LOGIN_PORT,
    MAX_ANSWER_LINE,
    QUOTE,
    TRADE,
    UNDECODABLE,
    Commands,
    NotLoggedIn,
    OFXClientError,
    OFXProtocolError,
    check_answer,
    codec_key,
    request_message,
    routing,
)
from ofx.wire import Codec


class OFXClientProtocol(LineReceiver):
    """
    One connection to one gateway port.

    Requests are written as they are made; their Deferreds wait in a FIFO and
    each answer line fires the oldest. Cancelling a waiting Deferred keeps
    its place in the queue, so the answers that follow still match. Lines
    are framed on LF with an optional CR before it (the gateway sends CRLF,
    but tools built on C{print} send LF), and written with CRLF.
    """

    delimiter = b"\n"
    MAX_LENGTH = MAX_ANSWER_LINE
    _log = Logger()

    def __init__(self, codec: Codec, authcode: str | None = None) -> None:
        self.codec = codec
        self.authcode = authcode
        self._pending: deque[Deferred[Any]] = deque()
        self._closed: Failure | None = None
        self._close_waiters: list[Deferred[None]] = []

    def request(
        self, cmd: int | str, params: Any = None, authcode: str | None = None
    ) -> Deferred[Any]:
        """
        Send one request; the Deferred fires with its answer, or fails with
        L{OFXClientError} for an error answer. The connection's own authcode
        is used unless one is given.
        """
        if self._closed is not None:
            return fail(self._closed)
        try:
            line = self.codec.encode_request(
                request_message(cmd, params, authcode if authcode is not None else self.authcode)
            )
        except (TypeError, ValueError) as e:
            return fail(e)
        d: Deferred[Any] = Deferred()
        self._pending.append(d)
        self.sendLine(line)
        return d

    def sendLine(self, line: bytes) -> None:
        """Write one line with the CRLF ending the gateway expects."""
        assert self.transport is not None
        self.transport.write(line + b"\r\n")

    def close(self) -> None:
        """Hang up; requests still waiting fail with the connection's loss."""
        if self.transport is not None:
            self.transport.loseConnection()

    def lineReceived(self, line: bytes) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            return
        if not self._pending:
            self._log.warn("answer with no request waiting; closing the connection")
            self.close()
            return
        d = self._pending.popleft()
        try:
            answer = self.codec.decode_answer(line)
        except UNDECODABLE as e:
            d.errback(OFXProtocolError(f"cannot decode the answer line: {e}"))
            return
        try:
            check_answer(answer)
        except OFXClientError:
            d.errback()
        else:
            d.callback(answer)

    def lineLengthExceeded(self, line: bytes) -> None:
        self._log.warn("answer line longer than {limit} bytes; closing", limit=self.MAX_LENGTH)
        self.close()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._closed = reason
        pending, self._pending = self._pending, deque()
        for d in pending:
            d.errback(reason)
        waiters, self._close_waiters = self._close_waiters, []
        for w in waiters:
            w.callback(None)

    def when_closed(self) -> Deferred[None]:
        """A Deferred that fires once the connection is gone."""
        if self._closed is not None:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._close_waiters.append(d)
        return d


EndpointFactory = Callable[[str, int], IStreamClientEndpoint]


class OFXClient(Commands["Deferred[Any]"]):
    """
    The Twisted client: log in, then call one method per command.

    The box key is derived from C{secret} once, here (about 60 ms of CPU on
    the calling thread), or passed in already derived as C{box_key}.
    C{endpoint_factory(host, port)} chooses how to connect; it defaults to
    TCP over IPv4 on C{reactor} and lets tests use in-memory transports.
    """

    def __init__(
        self,
        reactor: Any,
        host: str,
        port: int = LOGIN_PORT,
        *,
        secret: str | None = None,
        box_key: bytes | None = None,
        endpoint_factory: EndpointFactory | None = None,
        timeout: float = 30,
    ) -> None:
        self.host = host
        self.port = port
        self.codec = Codec(codec_key(secret, box_key))
        self._endpoint = endpoint_factory or (
            lambda h, p: TCP4ClientEndpoint(reactor, h, p, timeout=timeout)
        )
        self.connections: dict[str, OFXClientProtocol] = {}
        self.login_answer: dict[str, Any] | None = None

    def connect(
        self, host: str, port: int, authcode: str | None = None
    ) -> Deferred[OFXClientProtocol]:
        """Open one OFX/1 connection; C{authcode} goes on every request sent on it."""
        factory = Factory.forProtocol(partial(OFXClientProtocol, self.codec, authcode))
        return cast("Deferred[OFXClientProtocol]", self._endpoint(host, port).connect(factory))

    def login(self, username: str, password: str) -> Deferred[dict[str, Any]]:
        """
        Log in, then connect to the quote and trade ports the gateway named.
        Fires with the login answer (routing, authcode, uname).
        """
        return Deferred.fromCoroutine(self._login(username, password))

    async def _login(self, username: str, password: str) -> dict[str, Any]:
        self.close()  # a new login replaces the old connections; no need to wait
        conn = await self.connect(self.host, self.port)
        try:
            answer = await conn.request(1, {"username": username, "password": password})
        finally:
            conn.close()
        if not isinstance(answer, dict):
            raise OFXProtocolError(f"login answer is not an object: {answer!r:.80}")
        (qhost, qport), (thost, tport), authcode = routing(answer, self.host)
        results = await DeferredList(
            [self.connect(qhost, qport), self.connect(thost, tport, authcode)],
            consumeErrors=True,
        )
        for ok, result in results:
            if not ok:
                for opened_ok, opened in results:
                    if opened_ok:
                        opened.close()
                cast(Failure, result).raiseException()
        self.connections = {QUOTE: results[0][1], TRADE: results[1][1]}
        self.login_answer = answer
        return answer

    @property
    def authcode(self) -> str | None:
        """The authcode from the last login, or None before one."""
        trade = self.connections.get(TRADE)
        return trade.authcode if trade is not None else None

    def _call(self, port: str, cmd: int, params: Any = None) -> Deferred[Any]:
        conn = self.connections.get(port)
        if conn is None:
            return fail(NotLoggedIn(f"log in before sending command {cmd:06d}"))
        return conn.request(cmd, params)

    def close(self) -> Deferred[None]:
        """Drop the quote and trade connections; fires when both are closed."""
        conns, self.connections = list(self.connections.values()), {}
        waits = [c.when_closed() for c in conns]
        for c in conns:
            c.close()
        return DeferredList(waits).addCallback(lambda _: None)
