"""
Nothing acknowledged is lost: the gateway is killed with SIGKILL while
orders flow, started again on the same data, and every order that got stat
200 is still there.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredList, inlineCallbacks
from twisted.trial.unittest import TestCase

from ofx.client import OFXClient, OFXClientError
from tests.keys import BOX_KEY
from tests.process import free_port, gateway_ini, run_twistd
from tests.test_integration import until

CLIENTS = 4
ORDERS = 1000
WINDOW = 8
STOCK = "000656.SZ"  # the cheapest stock of the universe: 1,000 resting buys fit the demo cash


class CrashTests(TestCase):
    timeout = 300

    @inlineCallbacks
    def connect(self, ports: dict[str, int]) -> Any:
        client = OFXClient(reactor, "127.0.0.1", ports["login"], box_key=BOX_KEY)
        self.addCleanup(client.close)
        yield client.login("demo", "demo")
        return client

    @inlineCallbacks
    def test_sigkill_loses_no_acknowledged_order(self) -> Any:
        """
        1,000 orders from 4 clients; SIGKILL once a third are acknowledged.
        After a restart every acknowledged order is in the counter's order
        answer (200005) and in the order events (200001), each once, and new
        reqids are larger than every earlier one.
        """
        folder = os.path.abspath(self.mktemp())
        ports = {name: free_port() for name in ("login", "quote", "trade")}
        ini = gateway_ini(ports["quote"], ports["trade"], login=ports["login"])
        process = yield run_twistd(self, ini, ["login", "quote", "trade"], folder=folder)
        clients = []
        for _ in range(CLIENTS):
            clients.append((yield self.connect(ports)))
        yield clients[0].subscribe([STOCK])
        quote = yield until(lambda: clients[0].quote(STOCK), lambda a: isinstance(a, dict))
        price = quote["lower_limit_price"]  # rests in the book: never fills

        acked: dict[int, int] = {}  # order_xtp_id -> reqid
        killed: Deferred[None] = Deferred()

        def placed(answer: dict[str, Any]) -> None:
            acked[answer["order_xtp_id"]] = answer["reqid"]
            if len(acked) == ORDERS // 3 and not killed.called:
                process.stop().addCallback(lambda _: killed.callback(None))

        # Each client keeps WINDOW orders in flight until its share is sent, so
        # orders are still flowing when the kill lands.
        remaining = {id(c): ORDERS // CLIENTS for c in clients}

        def send_next(client: OFXClient) -> Deferred[None] | None:
            if remaining[id(client)] == 0 or killed.called:
                return None
            remaining[id(client)] -= 1
            d = client.insert_order(ticker=STOCK[:6], market="SZ", price=price, quantity=100, side=1)
            return d.addCallback(placed).addCallbacks(lambda _: send_next(client), lambda f: None)

        flows = [send_next(c) for c in clients for _ in range(WINDOW)]
        yield killed
        yield DeferredList([f for f in flows if f is not None])
        self.assertGreaterEqual(len(acked), ORDERS // 3)
        self.assertLess(len(acked), ORDERS, "the kill came too late to test anything")

        yield run_twistd(self, ini, ["login", "quote", "trade"], folder=folder)
        client = yield self.connect(ports)
        asked = yield client.request_orders()
        self.assertGreater(asked["reqid"], max(acked.values()))
        orders = yield until(lambda: client.orders(asked["reqid"]), lambda a: isinstance(a, list))
        ids = [o["order_xtp_id"] for o in orders]
        self.assertEqual(len(ids), len(set(ids)), "an order appears twice in 200005")
        self.assertEqual(set(acked) - set(ids), set(), "acknowledged orders missing from 200005")
        events = yield until(lambda: client.order_events(STOCK), lambda a: set(acked) <= {e["order_xtp_id"] for e in a})
        per_order: dict[int, int] = {}
        for event in events:
            per_order[event["order_xtp_id"]] = per_order.get(event["order_xtp_id"], 0) + 1
        self.assertEqual({i for i, n in per_order.items() if n != 1}, set(), "orders with repeated events")

    @inlineCallbacks
    def test_dead_writer_refuses_orders(self) -> Any:
        """
        If the journal's writer process dies, orders are refused with 503
        naming the journal before they reach the counter; reading still works.
        """
        folder = os.path.abspath(self.mktemp())
        ports = {name: free_port() for name in ("login", "quote", "trade")}
        ini = gateway_ini(ports["quote"], ports["trade"], login=ports["login"])
        process = yield run_twistd(self, ini, ["login", "quote", "trade"], folder=folder)
        client = yield self.connect(ports)
        yield client.subscribe([STOCK])
        quote = yield until(lambda: client.quote(STOCK), lambda a: isinstance(a, dict))
        order = {"ticker": STOCK[:6], "market": "SZ", "price": quote["lower_limit_price"], "quantity": 100, "side": 1}
        yield client.insert_order(order)
        [writer] = [pid for pid in children(process.transport.pid) if b"ofx.store.writer" in cmdline(pid)]
        os.kill(writer, signal.SIGKILL)
        refused = yield until(
            lambda: client.insert_order(order),
            lambda a: isinstance(a, OFXClientError) and "refused" in a.error,
        )
        self.assertEqual(refused.stat, 503)
        self.assertIn("journal writer ended", refused.error)
        events = yield client.order_events(STOCK)
        sent = {e["order_xtp_id"] for e in events}
        yield self.assertFailure(client.insert_order(order), OFXClientError)
        yield client.quote(STOCK)  # a later answer: the counter's events for the refused order would be in
        self.assertEqual({e["order_xtp_id"] for e in (yield client.order_events(STOCK))}, sent)


def children(pid: int) -> list[int]:
    """The processes whose parent is C{pid}."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    if int(f.read().rsplit(b")", 1)[1].split()[1]) == pid:
                        found.append(int(name))
            except (OSError, ValueError):
                continue
    return found


def cmdline(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()
