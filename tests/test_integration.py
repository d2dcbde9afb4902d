"""
End to end: C{twistd -n ofx} as a real process on the fake counter, driven
over real loopback sockets with OFX's own client, as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.task import deferLater
from twisted.protocols.basic import LineReceiver
from twisted.trial.unittest import TestCase

from ofx.client import OFXClient, OFXClientError, OFXClientProtocol
from ofx.wire import Codec
from tests.keys import BOX_KEY, CODEC, SECRET
from tests.process import ROOT, free_port, gateway_ini, run_twistd


@inlineCallbacks
def until(ask: Callable[[], Deferred[Any]], done: Callable[[Any], bool], tries: int = 200) -> Any:
    """Ask again (every 50 ms, at most C{tries} times) until the answer is what we wait for."""
    for _ in range(tries):
        try:
            answer = yield ask()
        except OFXClientError as e:
            answer = e
        if done(answer):
            return answer
        yield deferLater(reactor, 0.05, lambda: None)
    raise AssertionError(f"gave up waiting; last answer {answer!r}")


def users_cli(ini: str, *args: str, password: str = "") -> None:
    """Run C{python -m ofx users} as an operator would."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run(
        [sys.executable, "-m", "ofx", "users", "--config", ini, *args],
        input=password + "\n", text=True, check=True, env=env, capture_output=True, timeout=60,
    )  # fmt: skip


class RawLines(LineReceiver):
    """Sends any bytes as a line and reads the answer lines: for requests no client would make."""

    delimiter = b"\r\n"

    def connectionMade(self) -> None:
        self.waiting: list[Deferred[Any]] = []

    def send(self, line: bytes) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.waiting.append(d)
        self.sendLine(line)
        return d

    def lineReceived(self, line: bytes) -> None:
        self.waiting.pop(0).callback(CODEC.decode_answer(line))


class GatewayTests(TestCase):
    """One gateway with its own login port, on the fake counter."""

    timeout = 120

    @inlineCallbacks
    def setUp(self) -> Any:
        self.ports = {name: free_port() for name in ("login", "quote", "trade")}
        ini = gateway_ini(self.ports["quote"], self.ports["trade"], login=self.ports["login"])
        yield run_twistd(self, ini, ["login", "quote", "trade"])
        self.client = OFXClient(reactor, "127.0.0.1", self.ports["login"], box_key=BOX_KEY)
        self.addCleanup(self.client.close)
        yield self.client.login("demo", "demo")

    @inlineCallbacks
    def test_market_data(self) -> Any:
        """Subscribe, then read the latest snapshot, the day's snapshots and a list of latest ones."""
        answer = yield self.client.subscribe(["600000.SH", "000001.SZ"])
        self.assertEqual(answer["stat"], 200)
        self.assertIsInstance(answer["reqid"], int)
        quote = yield until(lambda: self.client.quote("600000.SH"), lambda a: isinstance(a, dict))
        self.assertEqual((quote["stat"], quote["ticker"], quote["exchange_id"]), (200, "600000", 1))
        self.assertEqual(len(quote["bid"]), 10)
        self.assertLessEqual(quote["last_price"], quote["upper_limit_price"])
        day = yield until(lambda: self.client.quotes_today("600000.SH"), lambda a: len(a) >= 2)
        self.assertLess(day[0]["data_time"], day[-1]["data_time"])
        both = yield until(lambda: self.client.quotes(["600000.SH", "000001.SZ"]), lambda a: len(a) == 2)
        self.assertEqual({(q["ticker"], q["exchange_id"]) for q in both}, {("600000", 1), ("000001", 2)})

    @inlineCallbacks
    def test_order_fill_and_read_back(self) -> Any:
        """
        A marketable buy fills: its trade events, order event, the orders and
        trades the counter answers, and the asset all show it.
        """
        yield self.client.subscribe(["600000.SH"])
        quote = yield until(lambda: self.client.quote("600000.SH"), lambda a: isinstance(a, dict))
        placed = yield self.client.insert_order(
            ticker="600000", market="SH", price=quote["ask"][0], quantity=100, side=1, price_type=1
        )
        self.assertEqual(placed["stat"], 200)
        order_id = placed["order_xtp_id"]
        events = yield until(
            lambda: self.client.order_events("600000.SH"),
            lambda a: any(e["order_xtp_id"] == order_id and e["order_status"] == 1 for e in a),
        )
        final = [e for e in events if e["order_xtp_id"] == order_id][-1]
        self.assertEqual((final["qty_traded"], final["qty_left"]), (100, 0))
        trades = yield self.client.trade_events("600000.SH")
        mine = [t for t in trades if t["order_xtp_id"] == order_id]
        self.assertEqual(sum(t["quantity"] for t in mine), 100)

        asked = yield self.client.request_orders()
        orders = yield until(lambda: self.client.orders(asked["reqid"]), lambda a: isinstance(a, list))
        self.assertIn(order_id, [o["order_xtp_id"] for o in orders])
        asked = yield self.client.request_trades()
        trades = yield until(lambda: self.client.trades(asked["reqid"]), lambda a: isinstance(a, list))
        self.assertEqual(sum(t["quantity"] for t in trades if t["order_xtp_id"] == order_id), 100)
        every = yield self.client.trades()
        self.assertGreaterEqual(len(every), len(trades))

        asked = yield self.client.request_asset()
        yield until(lambda: self.client.orders(), lambda a: True)
        asset = yield until(lambda: self.client.asset(), lambda a: isinstance(a, dict))
        self.assertGreater(asset["fund_buy_amount"], 0)
        self.assertGreater(asked["reqid"], placed["reqid"])

        asked = yield self.client.request_positions()
        positions = yield until(lambda: self.client.positions(asked["reqid"]), lambda a: isinstance(a, list))
        held = {p["ticker"]: p for p in positions}
        self.assertEqual(held["600000"]["total_qty"], 10000 + 100)
        self.assertEqual(held["600000"]["sellable_qty"], 10000)

    @inlineCallbacks
    def test_cancel(self) -> Any:
        """An order below the market queues; cancelling it ends it cancelled with qty_left the cancelled quantity."""
        yield self.client.subscribe(["000001.SZ"])
        quote = yield until(lambda: self.client.quote("000001.SZ"), lambda a: isinstance(a, dict))
        price = max(quote["lower_limit_price"], round(quote["bid"][0] - 0.05, 2))
        placed = yield self.client.insert_order(
            ticker="000001", market=1, price=price, quantity=200, side=1
        )
        cancelled = yield self.client.cancel_order(placed["order_xtp_id"])
        self.assertEqual(cancelled["stat"], 200)
        events = yield until(
            lambda: self.client.order_events("000001.SZ"),
            lambda a: any(e["order_xtp_id"] == placed["order_xtp_id"] and e["order_status"] == 5 for e in a),
        )
        final = [e for e in events if e["order_xtp_id"] == placed["order_xtp_id"]][-1]
        self.assertEqual(final["qty_left"], 200)

    @inlineCallbacks
    def test_bad_inputs_keep_the_server_serving(self) -> Any:
        """Every kind of bad request gets its error on the same connection, which then still works."""
        trade = self.client.connections["trade"]
        quote = self.client.connections["quote"]

        def stat_of(d: Deferred[Any]) -> Deferred[int]:
            return d.addCallbacks(lambda a: a.get("stat", 200), lambda f: f.trap(OFXClientError) and f.value.stat)

        raw: RawLines = yield connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", self.ports["quote"]), RawLines()
        )
        self.addCleanup(raw.transport.loseConnection)
        self.assertEqual((yield raw.send(b"this is not a sealed request"))["stat"], 400)
        other_key = Codec(b"\x01" * 32)
        self.assertEqual((yield raw.send(other_key.encode_request({"cmd": 100001})))["stat"], 400)
        self.assertEqual((yield raw.send(b"x" * 70000))["stat"], 413)
        self.assertEqual((yield stat_of(trade.request(200003, authcode="nope"))), 401)
        self.assertEqual((yield stat_of(trade.request(200003, authcode=""))), 401)
        self.assertEqual((yield stat_of(quote.request(123456))), 404)
        self.assertEqual((yield stat_of(quote.request(210005, {}))), 405)
        self.assertEqual((yield stat_of(quote.request(100001, {"code": "60000", "market": "SH"}))), 422)
        self.assertEqual((yield stat_of(trade.request(210005, {"ticker": "600000"}))), 422)
        self.assertEqual((yield stat_of(trade.request(200005, {"reqid": 999999}))), 404)
        answer = yield self.client.subscribe(["600000.SH"])
        self.assertEqual(answer["stat"], 200)

    @inlineCallbacks
    def test_reqids_grow_across_restart(self) -> Any:
        """Request ids only grow, also when the gateway is killed and started again on the same data."""
        first = yield self.client.request_asset()
        folder = self.mktemp()
        ports = {name: free_port() for name in ("login", "quote", "trade")}
        ini = gateway_ini(ports["quote"], ports["trade"], login=ports["login"])
        process = yield run_twistd(self, ini, ["login", "quote", "trade"], folder=folder)
        client = OFXClient(reactor, "127.0.0.1", ports["login"], box_key=BOX_KEY)
        yield client.login("demo", "demo")
        before = yield client.request_asset()
        yield client.close()
        yield process.stop()
        process = yield run_twistd(self, ini, ["login", "quote", "trade"], folder=folder)
        client = OFXClient(reactor, "127.0.0.1", ports["login"], box_key=BOX_KEY)
        self.addCleanup(client.close)
        yield client.login("demo", "demo")
        after = yield client.request_asset()
        self.assertGreater(after["reqid"], before["reqid"])
        self.assertIsInstance(first["reqid"], int)


class DistributedTests(TestCase):
    """
    A login server alone routes each user to the gateway of their account;
    that gateway accepts the authcode, another refuses it.
    """

    timeout = 180

    @inlineCallbacks
    def test_login_server_and_two_gateways(self) -> Any:
        """
        Alice is routed to gateway A, which takes her authcode; gateway B
        refuses it with 401. Disabling her on the login server makes A
        refuse it within seconds.
        """
        login_port = free_port()
        a = {name: free_port() for name in ("quote", "trade")}
        b = {name: free_port() for name in ("quote", "trade")}
        login_dir = self.mktemp()
        os.makedirs(login_dir)
        login_ini = os.path.join(login_dir, "ofx.ini")
        with open(login_ini, "w") as f:
            f.write(
                f"[ofx]\nkey = {SECRET}\n"
                "data = data\n"
                f"[login]\nlisten = tcp:{login_port}:interface=127.0.0.1\nrecheck = 0.5\n"
            )
        users_cli(login_ini, "add", "alice", "--gateway",
                  f"127.0.0.1:{a['quote']}, 127.0.0.1:{a['trade']}", password="wonderland")  # fmt: skip
        users_cli(login_ini, "add", "bob", "--gateway",
                  f"127.0.0.1:{b['quote']}, 127.0.0.1:{b['trade']}", password="builder")  # fmt: skip
        with open(login_ini) as f:
            login_text = f.read()
        yield run_twistd(self, login_text, ["login"], folder=login_dir)
        yield run_twistd(self, gateway_ini(a["quote"], a["trade"], login_server=login_port), ["quote", "trade"])
        yield run_twistd(self, gateway_ini(b["quote"], b["trade"], login_server=login_port), ["quote", "trade"])

        alice = OFXClient(reactor, "127.0.0.1", login_port, box_key=BOX_KEY)
        self.addCleanup(alice.close)
        routing = yield alice.login("alice", "wonderland")
        self.assertEqual(routing["tradeport"], a["trade"])
        asset = yield alice.request_asset()
        self.assertEqual(asset["stat"], 200)

        to_b: OFXClientProtocol = yield connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", b["trade"]), OFXClientProtocol(CODEC)
        )
        self.addCleanup(to_b.close)
        refused = yield to_b.request(210001, authcode=alice.authcode).addErrback(lambda f: f.value)
        self.assertIsInstance(refused, OFXClientError)
        self.assertEqual(refused.stat, 401)

        bob = OFXClient(reactor, "127.0.0.1", login_port, box_key=BOX_KEY)
        self.addCleanup(bob.close)
        routing = yield bob.login("bob", "builder")
        self.assertEqual(routing["tradeport"], b["trade"])
        self.assertEqual((yield bob.request_asset())["stat"], 200)

        users_cli(login_ini, "disable", "alice")
        refused = yield until(
            alice.request_asset, lambda a: isinstance(a, OFXClientError), tries=100
        )
        self.assertEqual(refused.stat, 401)
        self.assertEqual((yield bob.request_asset())["stat"], 200)
