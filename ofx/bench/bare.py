"""
The bare server: the least work an OFX/1 answer can cost, for comparison.

Per request line it does what the gateway must do whatever the command --
base64, SecretBox decryption and the case-folding JSON decoder
(L{Codec.decode_request}), then the JSON encoder, Brotli at the gateway's
quality and base64 (L{Codec.encode_answer}) -- and nothing else: no routing
table, no authcode check, no params schema, no counter, no log. Its answers
are canned: for C{100001} the gateway's own snapshot record (captured by the
bench and handed over in a file), for C{210005} an accepted order, for C{1}
a login that routes the client back to this same port.

C{python -m ofx.bench.bare SNAPSHOT.json [QUALITY]} listens on a free
loopback port, prints C{bare server listening on PORT}, and exits when its
stdin closes (the bench is gone). The key comes from C{$OFX_BENCH_SECRET}.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from twisted.internet import stdio
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.interfaces import ITransport
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.basic import LineReceiver

from ofx.errors import OFXError, not_found
from ofx.wire import Codec, Request, derive_key

CRLF = b"\r\n"
READY = b"bare server listening on"
ORDER_ID_BASE = 20_000_101_000_000_000


class BareAnswers:
    """
    From a request line to a canned answer line; no transport, no state but
    counters. C{port} is where a login routes the client (this server).
    """

    def __init__(self, codec: Codec, snapshot: dict[str, Any], port: int = 0) -> None:
        self.codec = codec
        self.snapshot = snapshot
        self.port = port
        self._next = 0
        self._canned: dict[int, Callable[[Request], Any]] = {
            1: self._login,
            100001: self._quote,
            210005: self._insert_order,
        }

    def answer(self, line: bytes) -> bytes:
        try:
            request = self.codec.decode_request(line)
            canned = self._canned.get(request.cmd)
            if canned is None:
                raise not_found(f"the bare server answers 000001, 100001 and 210005, not {request.cmd:06d}")
            return self.codec.encode_answer(canned(request))
        except OFXError as e:
            return self.codec.encode_answer(e.as_answer())

    def _serial(self) -> int:
        self._next += 1
        return self._next

    def _login(self, request: Request) -> dict[str, Any]:
        n = self._serial()
        return {
            "stat": 200, "quoteserver": "127.0.0.1", "quoteport": self.port,
            "tradeserver": "127.0.0.1", "tradeport": self.port,
            "authcode": f"{n:032x}", "uname": "bench",
        }  # fmt: skip

    def _quote(self, request: Request) -> dict[str, Any]:
        return {**self.snapshot, "stat": 200}

    def _insert_order(self, request: Request) -> dict[str, Any]:
        n = self._serial()
        return {"stat": 200, "reqid": n, "order_xtp_id": ORDER_ID_BASE + n}


class BareProtocol(LineReceiver):
    """Frames lines as the gateway's fronts do and writes each answer at once."""

    delimiter = b"\n"
    MAX_LENGTH = 65536
    factory: BareFactory
    transport: ITransport

    def lineReceived(self, line: bytes) -> None:
        if line[-1:] == b"\r":
            line = line[:-1]
        self.transport.write(self.factory.answers.answer(line) + CRLF)


class BareFactory(Factory):
    protocol = BareProtocol  # type: ignore[assignment]

    def __init__(self, answers: BareAnswers) -> None:
        self.answers = answers


class _Stdin(Protocol):
    """Stops the reactor when the bench closes our stdin."""

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor

    def connectionLost(self, reason: object = None) -> None:
        if self._reactor.running:
            self._reactor.stop()


def serve(reactor: Any, snapshot_path: str, quality: int) -> None:
    """Listen on a free loopback port and say which; stop when stdin closes."""
    with open(snapshot_path, encoding="utf-8") as f:
        snapshot = json.load(f)
    answers = BareAnswers(Codec(derive_key(os.environ["OFX_BENCH_SECRET"]), quality), snapshot)

    def listening(port: Any) -> None:
        answers.port = port.getHost().port
        sys.stdout.write(f"{READY.decode()} {answers.port}\n")
        sys.stdout.flush()

    stdio.StandardIO(_Stdin(reactor), reactor=reactor)
    TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(BareFactory(answers)).addCallback(listening)


def main() -> None:
    from twisted.internet import reactor

    snapshot_path = sys.argv[1]
    quality = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    serve(reactor, snapshot_path, quality)
    reactor.run()


if __name__ == "__main__":
    main()
