"""
The three client-facing ports (login, quote, trade), as thin line protocols.

A protocol only frames lines: it hands each request line to its port's
L{Dispatcher} and writes the answers back in the order the requests came,
even when a later answer is ready before an earlier one (clients pipeline):
an order's answer waits for its journal commit, a quote's does not.
Lines end in CRLF; a bare LF is accepted. A line longer than
C{[ofx] max_line} is answered 413 and the connection is closed.
"""

from __future__ import annotations

from collections import deque

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import ITransport
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver

from ofx.dispatch import Answer, Dispatcher, Held
from ofx.errors import line_too_long

CRLF = b"\r\n"


class FrontProtocol(LineReceiver):
    delimiter = b"\n"
    factory: FrontFactory
    transport: ITransport

    def connectionMade(self) -> None:
        self.MAX_LENGTH = self.factory.max_line
        peer = self.transport.getPeer()
        self._peer = f"{getattr(peer, 'host', '?')}:{getattr(peer, 'port', '?')}"
        # Answers not yet written, oldest first: [ready, line] pairs.
        self._waiting: deque[list[object]] = deque()
        self.factory.connections.add(self)

    def connectionLost(self, reason: object = None) -> None:
        self.factory.connections.discard(self)

    def lineReceived(self, line: bytes) -> None:
        if line[-1:] == b"\r":
            line = line[:-1]
        answer: Answer = self.factory.dispatcher.handle(line, self._peer)
        if type(answer) is bytes and not self._waiting:
            self.transport.write(answer + CRLF)
            return
        slot: list[object] = [False, None]
        self._waiting.append(slot)
        if isinstance(answer, Held):
            answer.when_sendable(self._ready, slot)
        elif isinstance(answer, Deferred):
            answer.addCallback(self._ready, slot)
        else:
            self._ready(answer, slot)

    def _ready(self, answer: bytes, slot: list[object]) -> None:
        slot[0], slot[1] = True, answer
        while self._waiting and self._waiting[0][0]:
            self.transport.write(self._waiting.popleft()[1] + CRLF)  # type: ignore[operator]

    def lineLengthExceeded(self, line: bytes) -> None:
        error = line_too_long(f"line longer than {self.MAX_LENGTH} bytes; closing the connection")
        self.factory.dispatcher.log.info(
            "{port} error 413 peer={peer}", port=self.factory.port, peer=self._peer
        )
        self.transport.write(self.factory.dispatcher.encode_error(error) + CRLF)
        self.transport.loseConnection()


class FrontFactory(Factory):
    """One port's factory: its dispatcher and its open connections."""

    protocol = FrontProtocol  # type: ignore[assignment]
    log = Logger()

    def __init__(self, port: str, dispatcher: Dispatcher, max_line: int = 65536) -> None:
        self.port = port
        self.dispatcher = dispatcher
        self.max_line = max_line
        self.connections: set[FrontProtocol] = set()

    def logPrefix(self) -> str:
        return f"ofx-{self.port}"
