"""
L{BlockingClient}: the OFX/1 client over plain blocking sockets, for scripts
and for the manual's users, who write one request and read one answer. The
same methods as L{ofx.client.OFXClient}, each returning the answer.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, Protocol, Self

from ofx.client.common import (
    LOGIN_PORT,
    MAX_ANSWER_LINE,
    QUOTE,
    TRADE,
    UNDECODABLE,
    Commands,
    NotLoggedIn,
    OFXProtocolError,
    check_answer,
    codec_key,
    request_message,
    routing,
)
from ofx.wire import Codec


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


class BlockingClient(Commands[Any]):
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
        self.codec = Codec(codec_key(secret, box_key))
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
        conn.send_line(self.codec.encode_request(request_message(cmd, params, authcode)))
        line = conn.read_line()
        try:
            answer = self.codec.decode_answer(line)
        except UNDECODABLE as e:
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
