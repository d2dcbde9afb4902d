"""
Tests for L{ofx.client} (the Twisted and blocking clients) and
L{ofx.client_cli} (C{python -m ofx.client}).

The Twisted client runs over L{StringTransport}; the blocking client over an
in-memory socket that decodes each request with the gateway's own codec and
answers it. A real socket on 127.0.0.1 is used only to check line framing.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.defer import CancelledError, Deferred, fail, succeed
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.error import ConnectionRefusedError as TCPConnectionRefused
from twisted.internet.interfaces import IProtocolFactory, IStreamClientEndpoint
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from ofx.client import (
    LOGIN_PORT,
    QUOTE,
    TRADE,
    BlockingClient,
    LineSocket,
    NotLoggedIn,
    OFXClient,
    OFXClientError,
    OFXClientProtocol,
    OFXProtocolError,
    stock,
)
from ofx.client_cli import main
from ofx.wire import Codec, Request, derive_key

SECRET = "client-test-secret"
# Derived once for the module: Argon2id costs about 60 ms a time.
BOX_KEY = derive_key(SECRET)
CODEC = Codec(BOX_KEY)

LOGIN_HOST = "10.0.0.1"
QUOTE_ADDRESS = ("10.0.0.2", 11025)
TRADE_ADDRESS = ("10.0.0.3", 11026)
AUTHCODE = "66227638"
LOGIN_ANSWER = {
    "stat": 200,
    "quoteserver": QUOTE_ADDRESS[0],
    "quoteport": QUOTE_ADDRESS[1],
    "tradeserver": TRADE_ADDRESS[0],
    "tradeport": TRADE_ADDRESS[1],
    "authcode": AUTHCODE,
    "uname": "demo",
}

SH600000 = {"code": "600000", "market": "SH"}
SZ000001 = {"code": "000001", "market": "SZ"}
ORDER = {
    "ticker": "600000",
    "market": 2,
    "price": 10.5,
    "quantity": 100,
    "price_type": 1,
    "side": 1,
}

# (call, port, cmd, params): every client method, and what it must send.
COMMANDS: list[tuple[Callable[[Any], Any], str, int, Any]] = [
    (lambda c: c.subscribe(["600000.SH", ("000001", "sz")]), QUOTE, 110001, [SH600000, SZ000001]),
    (lambda c: c.quote("600000", "SH"), QUOTE, 100001, SH600000),
    (lambda c: c.quotes_today("600000.SH"), QUOTE, 100002, SH600000),
    (lambda c: c.quotes([{"Code": "600000", "Market": "sh"}]), QUOTE, 100003, [SH600000]),
    (lambda c: c.request_asset(), TRADE, 210001, None),
    (lambda c: c.request_positions(), TRADE, 210002, None),
    (lambda c: c.request_orders(), TRADE, 210003, None),
    (lambda c: c.request_trades(), TRADE, 210004, None),
    (lambda c: c.order_events("600000.SH"), TRADE, 200001, SH600000),
    (lambda c: c.trade_events("000001", "SZ"), TRADE, 200002, SZ000001),
    (lambda c: c.asset(), TRADE, 200003, None),
    (lambda c: c.positions(), TRADE, 200004, None),
    (lambda c: c.positions(reqid=7), TRADE, 200004, {"reqid": 7}),
    (lambda c: c.orders(8), TRADE, 200005, {"reqid": 8}),
    (lambda c: c.trades(), TRADE, 200006, None),
    (lambda c: c.insert_order({**ORDER, "price": 9.0}, price=10.5), TRADE, 210005, ORDER),
    (lambda c: c.insert_order(**ORDER), TRADE, 210005, ORDER),
    (lambda c: c.cancel_order(123456789), TRADE, 210006, {"order_xtp_id": 123456789}),
]
ADDRESS_OF = {QUOTE: QUOTE_ADDRESS, TRADE: TRADE_ADDRESS}


def answer_line(answer: Any, ending: bytes = b"\r\n") -> bytes:
    """An answer line exactly as the gateway writes it."""
    return CODEC.encode_answer(answer) + ending


def written(transport: StringTransport) -> list[Request]:
    """The requests written to C{transport} since last asked, decoded as the gateway would."""
    data = transport.value()
    transport.clear()
    assert data.endswith(b"\r\n") or not data, data
    return [CODEC.decode_request(line) for line in data.split(b"\r\n")[:-1]]


def connected(authcode: str | None = None) -> tuple[OFXClientProtocol, StringTransport]:
    """A client protocol on an in-memory transport."""
    protocol = OFXClientProtocol(CODEC, authcode)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


class ProtocolTests(SynchronousTestCase):
    """L{OFXClientProtocol}: one connection, requests matched to answers."""

    def test_request_is_one_sealed_crlf_line(self) -> None:
        """A request goes out as one CRLF-terminated line the gateway decodes to the same command."""
        protocol, transport = connected()
        protocol.request(100001, SH600000)
        self.assertTrue(transport.value().endswith(b"\r\n"))
        self.assertEqual(written(transport), [Request(100001, None, SH600000)])

    def test_pipelined_requests_are_answered_in_order(self) -> None:
        """Several requests sent before any answer each get their own answer, in order."""
        protocol, transport = connected()
        ds = [protocol.request(100001, {"code": str(n), "market": "SH"}) for n in range(3)]
        self.assertEqual([r.params["code"] for r in written(transport)], ["0", "1", "2"])
        for d in ds:
            self.assertNoResult(d)
        protocol.dataReceived(b"".join(answer_line({"stat": 200, "n": n}) for n in range(3)))
        self.assertEqual([self.successResultOf(d)["n"] for d in ds], [0, 1, 2])

    def test_answer_split_across_reads(self) -> None:
        """An answer that arrives in pieces fires its request once, when complete."""
        protocol, _ = connected()
        d = protocol.request(200003)
        line = answer_line({"stat": 200, "total_asset": 1e6})
        protocol.dataReceived(line[:5])
        self.assertNoResult(d)
        protocol.dataReceived(line[5:-1])
        self.assertNoResult(d)
        protocol.dataReceived(line[-1:])
        self.assertEqual(self.successResultOf(d), {"stat": 200, "total_asset": 1e6})

    def test_bare_lf_answers_are_accepted(self) -> None:
        """Answers ending in LF alone (not CRLF) are read just the same."""
        protocol, _ = connected()
        d1, d2 = protocol.request(200003), protocol.request(200003)
        protocol.dataReceived(answer_line({"stat": 200}, b"\n") + answer_line([1], b"\n"))
        self.assertEqual((self.successResultOf(d1), self.successResultOf(d2)), ({"stat": 200}, [1]))

    def test_error_answer_fails_with_stat_and_error(self) -> None:
        """
        An error answer fails its request with L{OFXClientError} carrying
        the gateway's stat and message, and later answers still match.
        """
        protocol, _ = connected()
        d1, d2 = protocol.request(999999), protocol.request(200003)
        protocol.dataReceived(
            answer_line({"stat": 404, "error": "unknown cmd 999999"}) + answer_line({"stat": 200})
        )
        error = self.failureResultOf(d1, OFXClientError).value
        self.assertEqual((error.stat, error.error), (404, "unknown cmd 999999"))
        self.assertEqual(self.successResultOf(d2), {"stat": 200})

    def test_arrays_are_returned_as_is(self) -> None:
        """Array answers (even empty ones) are data, never errors."""
        protocol, _ = connected()
        d1, d2 = protocol.request(200004), protocol.request(200004)
        protocol.dataReceived(answer_line([]) + answer_line([{"stat": 500}]))
        self.assertEqual(
            (self.successResultOf(d1), self.successResultOf(d2)), ([], [{"stat": 500}])
        )

    def test_connection_lost_fails_every_pending_request(self) -> None:
        """When the connection drops, every request still waiting fails with the reason."""
        protocol, _ = connected()
        ds = [protocol.request(200003) for _ in range(3)]
        protocol.connectionLost(Failure(ConnectionLost("gone")))
        for d in ds:
            self.failureResultOf(d, ConnectionLost)

    def test_request_after_loss_fails_at_once(self) -> None:
        """A request made on a closed connection fails immediately instead of hanging."""
        protocol, _ = connected()
        protocol.connectionLost(Failure(ConnectionDone()))
        self.failureResultOf(protocol.request(200003), ConnectionDone)

    def test_authcode_goes_on_every_request(self) -> None:
        """A connection made with an authcode attaches it to each request, unless one is given."""
        protocol, transport = connected(authcode=AUTHCODE)
        protocol.request(200003)
        protocol.request(200003, authcode="other")
        self.assertEqual([r.authcode for r in written(transport)], [AUTHCODE, "other"])

    def test_undecodable_answer_fails_only_its_request(self) -> None:
        """A damaged answer line fails its own request; the next answer goes to the next request."""
        protocol, _ = connected()
        d1, d2 = protocol.request(200003), protocol.request(200003)
        protocol.dataReceived(b"not-brotli!\r\n" + answer_line({"stat": 200}))
        self.failureResultOf(d1, OFXProtocolError)
        self.assertEqual(self.successResultOf(d2), {"stat": 200})

    def test_unrequested_answer_closes_the_connection(self) -> None:
        """An answer nobody asked for means the two sides are out of step: the client hangs up."""
        protocol, transport = connected()
        protocol.dataReceived(answer_line({"stat": 200}))
        self.assertTrue(transport.disconnecting)

    def test_cancelled_request_keeps_its_place(self) -> None:
        """Cancelling a waiting request (a timeout, say) does not shift later answers."""
        protocol, _ = connected()
        d1, d2 = protocol.request(200003), protocol.request(200004)
        d1.cancel()
        self.failureResultOf(d1, CancelledError)
        protocol.dataReceived(answer_line({"stat": 200, "for": 1}) + answer_line([2]))
        self.assertEqual(self.successResultOf(d2), [2])

    def test_unencodable_params_fail_without_sending(self) -> None:
        """Params that are not JSON (NaN, objects) fail the Deferred and send nothing."""
        protocol, transport = connected()
        self.failureResultOf(protocol.request(210005, {"price": float("nan")}), ValueError)
        self.failureResultOf(protocol.request(210005, {"price": object()}), TypeError)
        self.assertEqual(transport.value(), b"")
        d = protocol.request(200003)
        protocol.dataReceived(answer_line({"stat": 200}))
        self.assertEqual(self.successResultOf(d), {"stat": 200})


@implementer(IStreamClientEndpoint)
class FakeEndpoint:
    """Connects instantly to an in-memory transport and records it."""

    def __init__(self, endpoints: FakeEndpoints, address: tuple[str, int]) -> None:
        self.endpoints = endpoints
        self.address = address

    def connect(self, factory: IProtocolFactory) -> Deferred[Any]:
        if self.address in self.endpoints.refuse:
            return fail(TCPConnectionRefused())
        protocol = factory.buildProtocol(IPv4Address("TCP", *self.address))
        assert protocol is not None
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.endpoints.opened.append((self.address, protocol, transport))
        return succeed(protocol)


class FakeEndpoints:
    """An C{endpoint_factory} for L{OFXClient} that never touches the network."""

    def __init__(self) -> None:
        self.opened: list[tuple[tuple[str, int], Any, StringTransport]] = []
        self.refuse: set[tuple[str, int]] = set()

    def __call__(self, host: str, port: int) -> FakeEndpoint:
        return FakeEndpoint(self, (host, port))

    def at(self, address: tuple[str, int]) -> tuple[Any, StringTransport]:
        """The latest connection to C{address}."""
        for opened, protocol, transport in reversed(self.opened):
            if opened == address:
                return protocol, transport
        raise AssertionError(f"nothing connected to {address}")


class OFXClientTests(SynchronousTestCase):
    """L{OFXClient}: login, routing, and one method per command."""

    def login(
        self,
        answer: Any = LOGIN_ANSWER,
        endpoints: FakeEndpoints | None = None,
        client: OFXClient | None = None,
    ) -> tuple[OFXClient, FakeEndpoints, Deferred[Any]]:
        """Log a client in over fake endpoints, the gateway answering C{answer}."""
        endpoints = endpoints or FakeEndpoints()
        client = client or OFXClient(None, LOGIN_HOST, box_key=BOX_KEY, endpoint_factory=endpoints)
        d = client.login("demo", "secret-pw")
        protocol, _ = endpoints.at((LOGIN_HOST, LOGIN_PORT))
        protocol.dataReceived(answer_line(answer))
        return client, endpoints, d

    def test_login_follows_the_routing(self) -> None:
        """
        Login sends cmd 1 with the credentials to the login port, hangs up
        there, and connects to the quote and trade addresses it was given.
        """
        endpoints = FakeEndpoints()
        client = OFXClient(None, LOGIN_HOST, box_key=BOX_KEY, endpoint_factory=endpoints)
        d = client.login("demo", "secret-pw")
        protocol, transport = endpoints.at((LOGIN_HOST, LOGIN_PORT))
        self.assertEqual(
            written(transport), [Request(1, None, {"username": "demo", "password": "secret-pw"})]
        )
        protocol.dataReceived(answer_line(LOGIN_ANSWER))
        self.assertEqual(self.successResultOf(d), LOGIN_ANSWER)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(
            [address for address, _, _ in endpoints.opened],
            [(LOGIN_HOST, LOGIN_PORT), QUOTE_ADDRESS, TRADE_ADDRESS],
        )
        self.assertEqual(client.authcode, AUTHCODE)

    def test_every_command_goes_to_its_port(self) -> None:
        """
        Each method sends the manual's command code and params to the quote
        or trade port, and the trade port's requests carry the authcode.
        """
        client, endpoints, d = self.login()
        self.successResultOf(d)
        for call, port, cmd, params in COMMANDS:
            call(client)
            sent = {p: written(endpoints.at(ADDRESS_OF[p])[1]) for p in (QUOTE, TRADE)}
            authcode = AUTHCODE if port == TRADE else None
            self.assertEqual(sent[port], [Request(cmd, authcode, params)], cmd)
            self.assertEqual(sent[QUOTE if port == TRADE else TRADE], [], cmd)

    def test_answers_come_back_to_the_caller(self) -> None:
        """A method's Deferred fires with the gateway's answer; an error answer fails it."""
        client, endpoints, d = self.login()
        self.successResultOf(d)
        trade, _ = endpoints.at(TRADE_ADDRESS)
        asset, insert = client.asset(), client.insert_order(ORDER)
        trade.dataReceived(
            answer_line({"stat": 200, "total_asset": 5.0})
            + answer_line({"stat": 422, "error": "quantity must be a multiple of 100"})
        )
        self.assertEqual(self.successResultOf(asset), {"stat": 200, "total_asset": 5.0})
        self.assertEqual(self.failureResultOf(insert, OFXClientError).value.stat, 422)

    def test_refused_login(self) -> None:
        """Wrong credentials fail login with the gateway's 401; no other port is opened."""
        client, endpoints, d = self.login({"stat": 401, "error": "wrong username or password"})
        error = self.failureResultOf(d, OFXClientError).value
        self.assertEqual((error.stat, error.error), (401, "wrong username or password"))
        self.assertEqual(len(endpoints.opened), 1)
        self.failureResultOf(client.asset(), NotLoggedIn)

    def test_commands_before_login_fail(self) -> None:
        """A command sent before logging in fails with L{NotLoggedIn} instead of hanging."""
        client = OFXClient(None, LOGIN_HOST, box_key=BOX_KEY, endpoint_factory=FakeEndpoints())
        self.failureResultOf(client.quote("600000.SH"), NotLoggedIn)

    def test_wildcard_routing_means_the_login_host(self) -> None:
        """A gateway that advertises 0.0.0.0 is reached at the login host instead."""
        _, endpoints, d = self.login({**LOGIN_ANSWER, "quoteserver": "0.0.0.0", "tradeserver": ""})
        self.successResultOf(d)
        self.assertEqual(
            [address for address, _, _ in endpoints.opened[1:]],
            [(LOGIN_HOST, QUOTE_ADDRESS[1]), (LOGIN_HOST, TRADE_ADDRESS[1])],
        )

    def test_login_without_routing_is_a_protocol_error(self) -> None:
        """A login answer without ports or authcode fails login with L{OFXProtocolError}."""
        _, _, d = self.login({"stat": 200, "uname": "demo"})
        self.failureResultOf(d, OFXProtocolError)

    def test_unreachable_trade_port_fails_login(self) -> None:
        """If the trade port refuses, login fails and the quote connection is closed."""
        endpoints = FakeEndpoints()
        endpoints.refuse.add(TRADE_ADDRESS)
        client, _, d = self.login(endpoints=endpoints)
        self.failureResultOf(d, TCPConnectionRefused)
        self.assertTrue(endpoints.at(QUOTE_ADDRESS)[1].disconnecting)
        self.failureResultOf(client.quote("600000.SH"), NotLoggedIn)

    def test_close_waits_for_both_connections(self) -> None:
        """C{close} hangs up both ports and fires once both are gone."""
        client, endpoints, d = self.login()
        self.successResultOf(d)
        closed = client.close()
        for address in (QUOTE_ADDRESS, TRADE_ADDRESS):
            protocol, transport = endpoints.at(address)
            self.assertTrue(transport.disconnecting)
            self.assertNoResult(closed)
            protocol.connectionLost(Failure(ConnectionDone()))
        self.successResultOf(closed)

    def test_login_again_replaces_the_connections(self) -> None:
        """Logging in again hangs up the old quote and trade connections and uses new ones."""
        endpoints = FakeEndpoints()
        client, _, first = self.login(endpoints=endpoints)
        self.successResultOf(first)
        old = [endpoints.at(a)[1] for a in (QUOTE_ADDRESS, TRADE_ADDRESS)]
        _, _, second = self.login(endpoints=endpoints, client=client)
        self.successResultOf(second)
        self.assertTrue(all(t.disconnecting for t in old))
        client.asset()
        self.assertEqual(written(old[1]), [])
        self.assertEqual(len(written(endpoints.at(TRADE_ADDRESS)[1])), 1)

    def test_default_connects_over_tcp_with_the_given_reactor(self) -> None:
        """Without an endpoint factory, login connects by TCP through the reactor passed in."""
        reactor = MemoryReactorClock()
        client = OFXClient(reactor, "gw.example", 12027, box_key=BOX_KEY, timeout=7)
        client.login("demo", "pw")
        host, port, _, timeout, _ = reactor.tcpClients[0]
        self.assertEqual((host, port, timeout), ("gw.example", 12027, 7))

    def test_key_given_exactly_once(self) -> None:
        """Giving both a secret and a box key, or neither, is refused at once."""
        with self.assertRaises(TypeError):
            OFXClient(None, LOGIN_HOST)
        with self.assertRaises(TypeError):
            OFXClient(None, LOGIN_HOST, secret=SECRET, box_key=BOX_KEY)


class StockTests(SynchronousTestCase):
    """L{stock}: the spellings of a stock every method accepts."""

    def test_spellings(self) -> None:
        """C{600000.SH}, a pair, a mapping with any key case, and code plus market all agree."""
        cases: list[tuple[Any, str | None]] = [
            ("600000.SH", None), ("600000.sh", None), (("600000", "SH"), None),
            ({"Code": "600000", "MARKET": "SH"}, None), ("600000", "sh"),
        ]  # fmt: skip
        for ref, market in cases:
            self.assertEqual(stock(ref, market), SH600000)

    def test_bad_references(self) -> None:
        """A code without a market (or the reverse) is a ValueError naming what was given."""
        refs: list[Any] = ["600000", ".SH", "600000.", {"code": "600000"}, ("", "SH")]
        for ref in refs:
            with self.assertRaises(ValueError):
                stock(ref)


HANG_UP = object()


class FakeSocket:
    """
    One in-memory connection to a gateway: each complete request line sent is
    decoded with the gateway's codec and answered through C{gateway.answer}.
    C{recv} on an empty inbox returns C{b""}: the gateway has hung up.
    """

    def __init__(self, gateway: FakeGateway, address: tuple[str, int]) -> None:
        self.gateway = gateway
        self.address = address
        self.closed = False
        self._unread = b""
        self._inbox = bytearray()

    def sendall(self, data: bytes) -> None:
        self._unread += data
        while b"\r\n" in self._unread:
            line, _, self._unread = self._unread.partition(b"\r\n")
            reply = self.gateway.answer(self.address, CODEC.decode_request(line))
            if isinstance(reply, bytes):
                self._inbox += reply
            elif reply is not HANG_UP:
                self._inbox += answer_line(reply)

    def recv(self, size: int) -> bytes:
        chunk = bytes(self._inbox[:size])
        del self._inbox[:size]
        return chunk

    def close(self) -> None:
        self.closed = True


class FakeGateway:
    """A C{connect} for L{BlockingClient}: routes logins, then answers from C{replies}."""

    def __init__(self, login_host: str = LOGIN_HOST, login_port: int = LOGIN_PORT) -> None:
        self.login_address = (login_host, login_port)
        self.sockets: list[FakeSocket] = []
        self.requests: list[tuple[tuple[str, int], Request]] = []
        self.replies: dict[int, Any] = {}
        self.login_answer: Any = LOGIN_ANSWER
        self.refuse: set[tuple[str, int]] = set()
        self.timeouts: list[float | None] = []

    def connect(self, address: tuple[str, int], timeout: float | None) -> FakeSocket:
        if address in self.refuse:
            raise ConnectionRefusedError(111, "Connection refused")
        self.timeouts.append(timeout)
        sock = FakeSocket(self, address)
        self.sockets.append(sock)
        return sock

    def answer(self, address: tuple[str, int], request: Request) -> Any:
        self.requests.append((address, request))
        if address == self.login_address:
            return self.login_answer
        return self.replies.get(request.cmd, {"stat": 200, "reqid": len(self.requests)})

    def sent_to(self, address: tuple[str, int]) -> list[Request]:
        return [r for a, r in self.requests if a == address]


def blocking_client(gateway: FakeGateway) -> BlockingClient:
    return BlockingClient(LOGIN_HOST, box_key=BOX_KEY, timeout=5, connect=gateway.connect)


class BlockingClientTests(SynchronousTestCase):
    """L{BlockingClient}: the same commands, one blocking call each."""

    def test_login_follows_the_routing(self) -> None:
        """
        Login sends the credentials to the login port, closes it, and opens
        the advertised quote and trade ports.
        """
        gateway = FakeGateway()
        client = blocking_client(gateway)
        self.assertEqual(client.login("demo", "secret-pw"), LOGIN_ANSWER)
        self.assertEqual(
            gateway.sent_to(gateway.login_address),
            [Request(1, None, {"username": "demo", "password": "secret-pw"})],
        )
        self.assertEqual(
            [(s.address, s.closed) for s in gateway.sockets],
            [(gateway.login_address, True), (QUOTE_ADDRESS, False), (TRADE_ADDRESS, False)],
        )
        self.assertEqual(gateway.timeouts, [5, 5, 5])

    def test_every_command_goes_to_its_port(self) -> None:
        """Each method sends the manual's code and params to its port, with the authcode on trade."""
        gateway = FakeGateway()
        client = blocking_client(gateway)
        client.login("demo", "pw")
        for call, port, cmd, params in COMMANDS:
            del gateway.requests[:]
            answer = call(client)
            authcode = AUTHCODE if port == TRADE else None
            self.assertEqual(gateway.requests, [(ADDRESS_OF[port], Request(cmd, authcode, params))])
            self.assertEqual(answer["stat"], 200)

    def test_answers_are_returned(self) -> None:
        """Objects and arrays come back exactly as the gateway sent them."""
        gateway = FakeGateway()
        gateway.replies = {200004: [{"ticker": "600000", "ticker_name": "浦发银行"}], 210005: {
            "stat": 200, "reqid": 3, "order_xtp_id": 42}}  # fmt: skip
        client = blocking_client(gateway)
        client.login("demo", "pw")
        self.assertEqual(client.positions(), [{"ticker": "600000", "ticker_name": "浦发银行"}])
        self.assertEqual(client.insert_order(ORDER)["order_xtp_id"], 42)

    def test_error_answer_raises(self) -> None:
        """An error answer raises L{OFXClientError} with the gateway's stat and message."""
        gateway = FakeGateway()
        gateway.replies[210006] = {"stat": 404, "error": "no order 9"}
        client = blocking_client(gateway)
        client.login("demo", "pw")
        with self.assertRaises(OFXClientError) as caught:
            client.cancel_order(9)
        self.assertEqual((caught.exception.stat, caught.exception.error), (404, "no order 9"))
        self.assertEqual(client.asset()["stat"], 200)

    def test_refused_login_raises(self) -> None:
        """Wrong credentials raise the gateway's 401 and open no other port."""
        gateway = FakeGateway()
        gateway.login_answer = {"stat": 401, "error": "wrong username or password"}
        client = blocking_client(gateway)
        with self.assertRaises(OFXClientError) as caught:
            client.login("demo", "bad")
        self.assertEqual(caught.exception.stat, 401)
        self.assertEqual(len(gateway.sockets), 1)
        with self.assertRaises(NotLoggedIn):
            client.asset()

    def test_hang_up_mid_answer(self) -> None:
        """
        If the gateway hangs up before a whole answer arrives, the call raises
        C{ConnectionError} and that port must be logged into again.
        """
        gateway = FakeGateway()
        gateway.replies[200003] = answer_line({"stat": 200})[:10]
        client = blocking_client(gateway)
        client.login("demo", "pw")
        with self.assertRaises(ConnectionError):
            client.asset()
        self.assertTrue(gateway.sockets[-1].closed)
        with self.assertRaises(NotLoggedIn):
            client.asset()
        self.assertEqual(client.quote("600000.SH")["stat"], 200)

    def test_undecodable_answer_raises_protocol_error(self) -> None:
        """A line that is not an OFX/1 answer raises L{OFXProtocolError}."""
        gateway = FakeGateway()
        gateway.replies[200003] = b"%%%not an answer%%%\r\n"
        client = blocking_client(gateway)
        client.login("demo", "pw")
        with self.assertRaises(OFXProtocolError):
            client.asset()

    def test_unreachable_quote_port(self) -> None:
        """If the quote port refuses, login raises the socket error."""
        gateway = FakeGateway()
        gateway.refuse.add(QUOTE_ADDRESS)
        with self.assertRaises(ConnectionRefusedError):
            blocking_client(gateway).login("demo", "pw")

    def test_context_manager_closes(self) -> None:
        """Leaving a C{with} block closes the quote and trade sockets."""
        gateway = FakeGateway()
        with blocking_client(gateway) as client:
            client.login("demo", "pw")
        self.assertTrue(all(s.closed for s in gateway.sockets))


class ScriptedSocket:
    """A socket whose C{recv} returns the given chunks, one per call, then EOF."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    def recv(self, size: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


class FramingTests(SynchronousTestCase):
    """L{LineSocket}: answers however the network cuts them."""

    def test_two_answers_in_one_read(self) -> None:
        """Two answers arriving in one read are returned as two lines."""
        lines = LineSocket(ScriptedSocket([b"first\r\nsecond\r\n"]))  # type: ignore[arg-type]
        self.assertEqual([lines.read_line(), lines.read_line()], [b"first", b"second"])

    def test_answer_split_over_reads(self) -> None:
        """An answer split over reads, even between CR and LF, comes back whole."""
        lines = LineSocket(ScriptedSocket([b"fir", b"st\r", b"\nsec", b"ond\n"]))  # type: ignore[arg-type]
        self.assertEqual([lines.read_line(), lines.read_line()], [b"first", b"second"])

    def test_eof_mid_line(self) -> None:
        """A connection that ends inside a line raises C{ConnectionError}."""
        lines = LineSocket(ScriptedSocket([b"half a li"]))  # type: ignore[arg-type]
        with self.assertRaises(ConnectionError):
            lines.read_line()

    def test_endless_line(self) -> None:
        """A peer that never ends its line is cut off at the limit, not buffered forever."""
        lines = LineSocket(ScriptedSocket([b"x" * 100] * 3), max_length=150)  # type: ignore[arg-type]
        with self.assertRaises(OFXProtocolError):
            lines.read_line()

    def test_real_socket_framing(self) -> None:
        """
        Over a real TCP socket, two answers sent in one write and one answer
        sent in two writes are each read as exactly one answer.
        """
        server = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(server.close)
        server.settimeout(5)
        errors: list[BaseException] = []

        def gateway() -> None:
            try:
                conn, _ = server.accept()
                with conn, conn.makefile("rb") as reader:
                    requests = [CODEC.decode_request(reader.readline().rstrip()) for _ in range(2)]
                    conn.sendall(
                        b"".join(answer_line({"stat": 200, "cmd": r.cmd}) for r in requests)
                    )
                    request = CODEC.decode_request(reader.readline().rstrip())
                    line = answer_line([{"cmd": request.cmd, "pad": "行情" * 2000}])
                    conn.sendall(line[:100])
                    time.sleep(0.05)
                    conn.sendall(line[100:])
            except Exception as e:  # noqa: BLE001 (reported below, in the test's thread)
                errors.append(e)

        thread = threading.Thread(target=gateway, daemon=True)
        thread.start()
        client = BlockingClient("127.0.0.1", box_key=BOX_KEY, timeout=5)
        conn = LineSocket(socket.create_connection(server.getsockname(), timeout=5))
        self.addCleanup(conn.close)
        conn.send_line(CODEC.encode_request({"cmd": 200003}))
        conn.send_line(CODEC.encode_request({"cmd": 200004}))
        self.assertEqual(
            [CODEC.decode_answer(conn.read_line()) for _ in range(2)],
            [{"stat": 200, "cmd": 200003}, {"stat": 200, "cmd": 200004}],
        )
        answer = client.request(conn, 100002, SH600000)
        self.assertEqual(answer[0]["cmd"], 100002)
        self.assertEqual(len(answer[0]["pad"]), 4000)
        thread.join(5)
        self.assertEqual(errors, [])


class CommandLineTests(SynchronousTestCase):
    """C{python -m ofx.client}: L{ofx.client_cli.main} with the network replaced."""

    KEY = "the-shared-key-123"
    PASSWORD = "pässwörd-never-shown"

    def run_cli(
        self,
        *argv: str,
        stdin: str | None = None,
        environ: dict[str, str] | None = None,
        gateway: FakeGateway | None = None,
        getpass: Callable[[str], str] | None = None,
    ) -> tuple[int, str, str]:
        """Run main() against a fake gateway; return (exit status, stdout, stderr)."""
        self.gateway = gateway or FakeGateway(login_host="127.0.0.1")
        self.made: list[tuple[str, int, str, float]] = []
        self.prompts: list[str] = []

        def factory(host: str, port: int, *, secret: str, timeout: float) -> BlockingClient:
            self.made.append((host, port, secret, timeout))
            return BlockingClient(
                host, port, box_key=BOX_KEY, timeout=timeout, connect=self.gateway.connect
            )

        def prompt(text: str) -> str:
            self.prompts.append(text)
            return self.PASSWORD

        out, err = io.StringIO(), io.StringIO()
        status = main(
            list(argv),
            client_factory=factory,
            stdin=io.StringIO(self.PASSWORD + "\n" if stdin is None else stdin),
            stdout=out,
            stderr=err,
            environ={"OFX_KEY": self.KEY} if environ is None else environ,
            getpass=getpass or prompt,
        )
        return status, out.getvalue(), err.getvalue()

    def run_command(self, *argv: str) -> tuple[int, str, str]:
        """Run one sub-command as user demo, password on stdin."""
        return self.run_cli("--user", "demo", "--password-stdin", *argv)

    def test_quote_prints_the_answer(self) -> None:
        """C{quote 600000.SH} logs in, asks the quote port, prints one JSON line and exits 0."""
        gateway = FakeGateway(login_host="127.0.0.1")
        gateway.replies[100001] = {"stat": 200, "ticker": "600000", "last_price": 10.5}
        status, out, _ = self.run_cli("--user", "demo", "--password-stdin", "quote", "600000.SH",
                                      gateway=gateway)  # fmt: skip
        self.assertEqual(status, 0)
        self.assertEqual(out.count("\n"), 1)
        self.assertEqual(json.loads(out), {"stat": 200, "ticker": "600000", "last_price": 10.5})
        self.assertEqual(gateway.sent_to(QUOTE_ADDRESS), [Request(100001, None, SH600000)])
        self.assertEqual(
            gateway.sent_to(("127.0.0.1", LOGIN_PORT))[0].params,
            {"username": "demo", "password": self.PASSWORD},
        )

    def test_each_sub_command_sends_its_command(self) -> None:
        """Every sub-command reaches the gateway as the manual's command, with its params."""
        cases = [
            (["subscribe", "600000.SH", "000001.sz"], 110001, [SH600000, SZ000001]),
            (["quotes-today", "600000.SH"], 100002, SH600000),
            (["quotes", "600000.SH", "000001.SZ"], 100003, [SH600000, SZ000001]),
            (["request-asset"], 210001, None),
            (["request-positions"], 210002, None),
            (["request-orders"], 210003, None),
            (["request-trades"], 210004, None),
            (["order-events", "600000.SH"], 200001, SH600000),
            (["trade-events", "000001.SZ"], 200002, SZ000001),
            (["asset"], 200003, None),
            (["positions"], 200004, None),
            (["positions", "--reqid", "7"], 200004, {"reqid": 7}),
            (["orders", "--reqid", "8"], 200005, {"reqid": 8}),
            (["trades"], 200006, None),
            (["cancel", "123456789"], 210006, {"order_xtp_id": 123456789}),
        ]
        for argv, cmd, params in cases:
            status, out, _ = self.run_command(*argv)
            self.assertEqual(status, 0, argv)
            sent = [r for a, r in self.gateway.requests if a != ("127.0.0.1", LOGIN_PORT)]
            self.assertEqual([(r.cmd, r.params) for r in sent], [(cmd, params)], argv)
            self.assertEqual(json.loads(out)["stat"], 200)

    def test_insert_names_become_xtp_numbers(self) -> None:
        """C{insert} turns SH, buy and limit into XTP's numbers and sends the order to trade."""
        status, _, _ = self.run_command(
            "insert", "--ticker", "600000", "--market", "SH", "--price", "10.5",
            "--quantity", "100", "--side", "buy",
        )  # fmt: skip
        self.assertEqual(status, 0)
        self.assertEqual(self.gateway.sent_to(TRADE_ADDRESS), [Request(210005, AUTHCODE, ORDER)])
        status, _, _ = self.run_command(
            "insert", "--ticker", "000001", "--market", "sz", "--price", "9", "--quantity", "200",
            "--side", "sell", "--price-type", "best5-or-cancel", "--order-client-id", "5",
        )  # fmt: skip
        self.assertEqual(
            self.gateway.sent_to(TRADE_ADDRESS)[0].params,
            {"ticker": "000001", "market": 1, "price": 9.0, "quantity": 200, "price_type": 4,
             "side": 2, "order_client_id": 5},
        )  # fmt: skip

    def test_login_prints_routing(self) -> None:
        """C{login} prints the login answer: where to connect and the authcode."""
        status, out, _ = self.run_command("login")
        self.assertEqual((status, json.loads(out)), (0, LOGIN_ANSWER))

    def test_error_answer_exits_1_and_prints_it(self) -> None:
        """An error answer exits 1 and prints the error JSON on stdout for scripts."""
        gateway = FakeGateway(login_host="127.0.0.1")
        gateway.login_answer = {"stat": 401, "error": "wrong username or password"}
        status, out, _ = self.run_cli(
            "--user", "demo", "--password-stdin", "asset", gateway=gateway
        )
        self.assertEqual(status, 1)
        self.assertEqual(json.loads(out), {"stat": 401, "error": "wrong username or password"})

    def test_usage_errors_exit_2(self) -> None:
        """Bad arguments exit 2 with a message on stderr, before anything is sent."""
        cases: list[tuple[list[str], dict[str, str] | None]] = [
            (["--user", "demo", "--password-stdin", "quote", "600000"], None),
            (["--user", "demo", "--password-stdin", "no-such-command"], None),
            (["--password-stdin", "asset"], None),
            (["--user", "demo", "--password-stdin", "asset"], {}),
            (["--user", "demo", "--key", "k" * 8, "--key-file", "f", "asset"], None),
            (["--user", "demo", "--password-stdin", "insert", "--ticker", "600000"], None),
            (["--user", "demo", "--password-stdin", "insert", "--ticker", "600000", "--market",
              "HK", "--price", "1", "--quantity", "100", "--side", "buy"], None),
            (["--user", "demo", "--password-stdin", "--key-file", "/nonexistent/key", "asset"],
             None),
        ]  # fmt: skip
        for argv, environ in cases:
            status, _, err = self.run_cli(*argv, environ=environ)
            self.assertEqual(status, 2, argv)
            self.assertIn("usage:", err)
            self.assertEqual(self.made, [], argv)

    def test_empty_password_on_stdin_is_a_usage_error(self) -> None:
        """C{--password-stdin} with nothing on stdin exits 2 rather than logging in blank."""
        status, _, err = self.run_cli("--user", "demo", "--password-stdin", "asset", stdin="")
        self.assertEqual(status, 2)
        self.assertIn("password", err)

    def test_help_exits_0(self) -> None:
        """C{--help} prints the usage with every sub-command and exits 0."""
        status, out, _ = self.run_cli("--help")
        self.assertEqual(status, 0)
        self.assertIn("usage: python -m ofx.client", out)
        for name in ("quotes-today", "request-positions", "insert", "cancel"):
            self.assertIn(name, out)

    def test_password_and_key_are_never_printed(self) -> None:
        """Neither the password nor the shared key appears in any output, success or failure."""
        for gateway_login in (LOGIN_ANSWER, {"stat": 401, "error": "wrong username or password"}):
            gateway = FakeGateway(login_host="127.0.0.1")
            gateway.login_answer = gateway_login
            for argv in (["--password-stdin", "asset"], ["asset"]):
                status, out, err = self.run_cli("--user", "demo", *argv, gateway=gateway)
                self.assertIn(status, (0, 1))
                for text in [out, err, *self.prompts]:
                    self.assertNotIn(self.PASSWORD, text)
                    self.assertNotIn(self.KEY, text)

    def test_password_prompt(self) -> None:
        """Without C{--password-stdin} the password is asked for with a prompt naming the user."""
        status, _, _ = self.run_cli("--user", "demo", "asset")
        self.assertEqual(status, 0)
        self.assertEqual(len(self.prompts), 1)
        self.assertIn("demo", self.prompts[0])

    def test_key_sources(self) -> None:
        """The key comes from --key-file (stripped), else --key, else OFX_KEY."""
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write("  key-from-file-1\n")
        for argv, environ, expected in [
            (["--key-file", path], {"OFX_KEY": self.KEY}, "key-from-file-1"),
            (["--key", "key-from-argv"], {"OFX_KEY": self.KEY}, "key-from-argv"),
            ([], {"OFX_KEY": self.KEY}, self.KEY),
        ]:
            status, _, _ = self.run_cli(
                "--host", "gw", "--port", "12027", "--user", "demo", "--password-stdin",
                *argv, "asset", environ=environ,
                gateway=FakeGateway(login_host="gw", login_port=12027),
            )  # fmt: skip
            self.assertEqual(status, 0)
            self.assertEqual(self.made, [("gw", 12027, expected, 30.0)])

    def test_unreachable_gateway_exits_3(self) -> None:
        """A gateway that cannot be reached exits 3 with the reason on stderr."""
        gateway = FakeGateway(login_host="127.0.0.1")
        gateway.refuse.add(("127.0.0.1", LOGIN_PORT))
        status, out, err = self.run_cli("--user", "demo", "--password-stdin", "asset",
                                        gateway=gateway)  # fmt: skip
        self.assertEqual((status, out), (3, ""))
        self.assertIn("127.0.0.1:11027", err)

    def test_python_m_ofx_client(self) -> None:
        """C{python -m ofx.client} runs the command line (here: a usage error, exit 2)."""
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        result = subprocess.run(
            [sys.executable, "-m", "ofx.client", "--user", "demo", "quote", "600000"],
            cwd=root, capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "OFX_KEY": "irrelevant-key"},
        )  # fmt: skip
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("CODE.MARKET", result.stderr)
