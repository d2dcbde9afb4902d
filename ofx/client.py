"""
The Python client for OFX/1, in two flavours over one command list.

L{OFXClient} runs on a Twisted reactor: every method returns a L{Deferred},
and requests on one connection may be pipelined (the gateway answers each
line with exactly one line, in order, so a FIFO of Deferreds is all the
matching needed). L{BlockingClient} is the same surface over plain sockets,
for scripts and for the manual's users, who write one request and read one
answer. Both log in on the login port, follow the routing the gateway hands
back to its quote and trade ports, and attach the authcode to every trade
command, so callers never handle the authcode themselves.

An answer that is an object with a C{stat} other than 200 becomes
L{OFXClientError}; arrays and other objects are returned exactly as the
gateway sent them. The command line lives in L{ofx.client_cli}
(C{python -m ofx.client --help}).
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, Generic, Protocol, Self, TypeAlias, TypeVar, cast

import brotli
from twisted.internet.defer import Deferred, DeferredList, fail, succeed
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory, connectionDone
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure

from ofx.wire import Codec, derive_key

LOGIN_PORT = 11027
QUOTE_PORT = 11025
TRADE_PORT = 11026

LOGIN, QUOTE, TRADE = "login", "quote", "trade"

# Answers can be large (every snapshot of the day for one stock); the line
# limit only guards against a peer that never sends a line ending.
MAX_ANSWER_LINE = 256 * 1024 * 1024

# A stock as callers like to write it: "600000.SH", ("600000", "SH") or
# {"code": "600000", "market": "SH"}.
StockRef: TypeAlias = str | tuple[str, str] | Mapping[str, str]


class OFXClientError(Exception):
    """
    The gateway answered C{{"stat": stat, "error": error}}: the request was
    read but refused, so retrying the same request will not help.
    """

    def __init__(self, stat: int, error: str) -> None:
        super().__init__(stat, error)
        self.stat = stat
        self.error = error

    def as_answer(self) -> dict[str, Any]:
        """The answer as the gateway sent it, for printing or logging."""
        return {"stat": self.stat, "error": self.error}

    def __str__(self) -> str:
        return f"{self.stat} {self.error}"


class OFXProtocolError(Exception):
    """
    What came back was not an OFX/1 answer (undecodable, unexpected, or a
    login answer without routing): the client and the gateway disagree about
    the protocol or the connection is damaged.
    """


class NotLoggedIn(Exception):
    """A quote or trade command was sent before a successful login."""


def check_answer(answer: Any) -> Any:
    """
    Return C{answer}, or raise L{OFXClientError} if it is an error answer.

    Only objects carry a status; arrays are data by construction.
    """
    if isinstance(answer, dict) and "stat" in answer and answer["stat"] != 200:
        stat = answer["stat"]
        raise OFXClientError(stat if isinstance(stat, int) else -1, str(answer.get("error", "")))
    return answer


def stock(ref: StockRef, market: str | None = None) -> dict[str, str]:
    """
    Normalise a stock reference to the C{{"code", "market"}} the gateway
    reads, so every method accepts the spellings people actually type.
    """
    code: object
    if market is not None:
        code = ref
    elif isinstance(ref, str):
        code, dot, market = ref.rpartition(".")
        if not dot:
            raise ValueError(f"expected CODE.MARKET such as 600000.SH, got {ref!r}")
    elif isinstance(ref, Mapping):
        lowered = {str(k).lower(): v for k, v in ref.items()}
        code, market = lowered.get("code"), lowered.get("market")
    else:
        code, market = ref
    if not isinstance(code, str) or not isinstance(market, str) or not code or not market:
        raise ValueError(f"a stock needs a code and a market, got {ref!r}")
    return {"code": code, "market": market.upper()}


def _box_key(secret: str | None, box_key: bytes | None) -> bytes:
    """Exactly one of the secret (derived here, once) or an already derived key."""
    if (secret is None) == (box_key is None):
        raise TypeError("give either secret or box_key, not both or neither")
    return box_key if box_key is not None else derive_key(secret)  # type: ignore[arg-type]


def routing(
    answer: Mapping[str, Any], login_host: str
) -> tuple[tuple[str, int], tuple[str, int], str]:
    """
    Read the quote address, trade address and authcode from a login answer.

    A gateway that listens on every interface may advertise C{0.0.0.0} (or
    nothing); the login host is the only sensible place to go then.
    """

    def address(host_key: str, port_key: str) -> tuple[str, int]:
        host, port = answer.get(host_key), answer.get(port_key)
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        if not isinstance(port, int) or not 0 < port < 65536:
            raise OFXProtocolError(f"login answer has no usable {port_key}: {port!r}")
        if not host or host in ("0.0.0.0", "::"):
            host = login_host
        return str(host), port

    authcode = answer.get("authcode")
    if authcode is None:
        raise OFXProtocolError("login answer has no authcode")
    return address("quoteserver", "quoteport"), address("tradeserver", "tradeport"), str(authcode)


R = TypeVar("R")

# What decoding a damaged answer line can raise (binascii, JSON and Unicode
# errors are all ValueErrors).
_UNDECODABLE = (ValueError, brotli.error)


class _Commands(Generic[R]):
    """
    One method per gateway command, written once for both clients.

    Subclasses supply L{_call}, which sends to the connection for C{port} and
    returns the answer (blocking) or a Deferred of it (Twisted).
    """

    def _call(self, port: str, cmd: int, params: Any = None) -> R:
        raise NotImplementedError

    def subscribe(self, stocks: Iterable[StockRef]) -> R:
        """110001: ask the counter to push market data for these stocks."""
        return self._call(QUOTE, 110001, [stock(s) for s in stocks])

    def quote(self, code: StockRef, market: str | None = None) -> R:
        """100001: the latest snapshot of one stock."""
        return self._call(QUOTE, 100001, stock(code, market))

    def quotes_today(self, code: StockRef, market: str | None = None) -> R:
        """100002: every snapshot of the day for one stock, oldest first."""
        return self._call(QUOTE, 100002, stock(code, market))

    def quotes(self, stocks: Iterable[StockRef]) -> R:
        """100003: the latest snapshot of each of several stocks."""
        return self._call(QUOTE, 100003, [stock(s) for s in stocks])

    def request_asset(self) -> R:
        """210001: ask the counter for the asset; read it later with L{asset}."""
        return self._call(TRADE, 210001)

    def request_positions(self) -> R:
        """210002: ask the counter for positions; read them with L{positions}."""
        return self._call(TRADE, 210002)

    def request_orders(self) -> R:
        """210003: ask the counter for orders; read them with L{orders}."""
        return self._call(TRADE, 210003)

    def request_trades(self) -> R:
        """210004: ask the counter for trades; read them with L{trades}."""
        return self._call(TRADE, 210004)

    def order_events(self, code: StockRef, market: str | None = None) -> R:
        """200001: the order events pushed today for one stock."""
        return self._call(TRADE, 200001, stock(code, market))

    def trade_events(self, code: StockRef, market: str | None = None) -> R:
        """200002: the trade reports pushed today for one stock."""
        return self._call(TRADE, 200002, stock(code, market))

    def asset(self) -> R:
        """200003: the latest asset the counter returned."""
        return self._call(TRADE, 200003)

    def positions(self, reqid: int | None = None) -> R:
        """200004: positions the counter returned, for one request or all."""
        return self._call(TRADE, 200004, _reqid(reqid))

    def orders(self, reqid: int | None = None) -> R:
        """200005: orders the counter returned, for one request or all."""
        return self._call(TRADE, 200005, _reqid(reqid))

    def trades(self, reqid: int | None = None) -> R:
        """200006: trades the counter returned, for one request or all."""
        return self._call(TRADE, 200006, _reqid(reqid))

    def insert_order(self, order: Mapping[str, Any] | None = None, /, **fields: Any) -> R:
        """
        210005: send an XTPOrderInsertInfo, given as a mapping, as keyword
        arguments, or both (keywords win). The answer carries C{order_xtp_id}.
        """
        return self._call(TRADE, 210005, {**(order or {}), **fields})

    def cancel_order(self, order_xtp_id: int) -> R:
        """210006: cancel an order; the answer carries C{order_cancel_xtp_id}."""
        return self._call(TRADE, 210006, {"order_xtp_id": order_xtp_id})


def _reqid(reqid: int | None) -> dict[str, int] | None:
    return None if reqid is None else {"reqid": reqid}


def _message(cmd: int | str, params: Any, authcode: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"cmd": cmd}
    if authcode is not None:
        message["authcode"] = authcode
    if params is not None:
        message["params"] = params
    return message


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
                _message(cmd, params, authcode if authcode is not None else self.authcode)
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
        except _UNDECODABLE as e:
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


class OFXClient(_Commands["Deferred[Any]"]):
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
        self.codec = Codec(_box_key(secret, box_key))
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


class SocketLike(Protocol):
    """What L{LineSocket} needs of a socket (so tests can pass an in-memory one)."""

    def sendall(self, data: bytes, /) -> Any: ...
    def recv(self, size: int, /) -> bytes: ...
    def close(self) -> None: ...


class LineSocket:
    """
    OFX/1 framing over a blocking socket: answers may arrive several to a
    C{recv} or split across several, so bytes are buffered until a LF.
    """

    def __init__(self, sock: SocketLike, max_length: int = MAX_ANSWER_LINE) -> None:
        self.sock = sock
        self.max_length = max_length
        self._buffer = bytearray()
        self._scanned = 0

    def send_line(self, line: bytes) -> None:
        self.sock.sendall(line + b"\r\n")

    def read_line(self) -> bytes:
        """The next line without its ending; ConnectionError if the peer hangs up."""
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                self._scanned = 0
                return line[:-1] if line.endswith(b"\r") else line
            self._scanned = len(self._buffer)
            if self._scanned > self.max_length:
                raise OFXProtocolError(f"answer line longer than {self.max_length} bytes")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the gateway closed the connection")
            self._buffer += chunk

    def close(self) -> None:
        self.sock.close()


Connector = Callable[[tuple[str, int], "float | None"], SocketLike]


class BlockingClient(_Commands[Any]):
    """
    The same commands as L{OFXClient}, each one a blocking call that returns
    the answer or raises L{OFXClientError}. Use it as a context manager to
    close the sockets. Network failures raise C{OSError}.
    """

    def __init__(
        self,
        host: str,
        port: int = LOGIN_PORT,
        *,
        secret: str | None = None,
        box_key: bytes | None = None,
        timeout: float | None = 30.0,
        connect: Connector = socket.create_connection,
    ) -> None:
        self.host = host
        self.port = port
        self.codec = Codec(_box_key(secret, box_key))
        self.timeout = timeout
        self._connect = connect
        self.connections: dict[str, LineSocket] = {}
        self.authcode: str | None = None
        self.login_answer: dict[str, Any] | None = None

    def _open(self, host: str, port: int) -> LineSocket:
        return LineSocket(self._connect((host, port), self.timeout))

    def request(
        self, conn: LineSocket, cmd: int | str, params: Any = None, authcode: str | None = None
    ) -> Any:
        """Send one request on C{conn} and wait for its answer."""
        conn.send_line(self.codec.encode_request(_message(cmd, params, authcode)))
        line = conn.read_line()
        try:
            answer = self.codec.decode_answer(line)
        except _UNDECODABLE as e:
            raise OFXProtocolError(f"cannot decode the answer line: {e}") from None
        return check_answer(answer)

    def login(self, username: str, password: str) -> dict[str, Any]:
        """
        Log in, then connect to the quote and trade ports the gateway named.
        Returns the login answer (routing, authcode, uname).
        """
        self.close()
        conn = self._open(self.host, self.port)
        try:
            answer = self.request(conn, 1, {"username": username, "password": password})
        finally:
            conn.close()
        if not isinstance(answer, dict):
            raise OFXProtocolError(f"login answer is not an object: {answer!r:.80}")
        (qhost, qport), (thost, tport), authcode = routing(answer, self.host)
        quote = self._open(qhost, qport)
        try:
            trade = self._open(thost, tport)
        except BaseException:
            quote.close()
            raise
        self.connections = {QUOTE: quote, TRADE: trade}
        self.authcode = authcode
        self.login_answer = answer
        return answer

    def _call(self, port: str, cmd: int, params: Any = None) -> Any:
        conn = self.connections.get(port)
        if conn is None:
            raise NotLoggedIn(f"no {port} connection: log in before sending command {cmd:06d}")
        try:
            return self.request(conn, cmd, params, self.authcode if port == TRADE else None)
        except (OSError, OFXProtocolError):
            # A late answer would be read as the next request's: this
            # connection can no longer be trusted to stay in step.
            del self.connections[port]
            conn.close()
            raise

    def close(self) -> None:
        """Close the quote and trade sockets (logging in again reopens them)."""
        conns, self.connections = list(self.connections.values()), {}
        for c in conns:
            c.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    """C{python -m ofx.client}: see L{ofx.client_cli.main}."""
    from ofx.client_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
