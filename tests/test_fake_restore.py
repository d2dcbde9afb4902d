"""
A gateway restarted on the day's journal rebuilds the fake counter's day
(L{ofx.backends.fake.restore}): the same orders, trades, cash and positions.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from ofx.backends.fake import FakeBackend
from ofx.xtp_types import ORDER_FIELDS
from tests.desk import CANCELLED, QUEUEING, START, Desk
from tests.test_contract_fake import contract_config
from tests.test_fake_backend import RecordingListener


def state(desk: Desk) -> tuple[Any, ...]:
    """What the counter answers about the day: orders, trades, asset, positions."""
    orders = [{k: o[k] for k in ORDER_FIELDS} for o in desk.answer(210003, 200005)]
    asset = {k: v for k, v in desk.asset().items() if k != "stat"}
    return orders, desk.answer(210004, 200006), asset, desk.positions()


class Entry(NamedTuple):
    kind: str
    body: Any
    reqid: int | None


class RestoreTests(TestCase):
    def test_restart_rebuilds_the_day(self) -> None:
        """
        After a restart on the same journal the counter answers every query
        as before; a queued order can still be cancelled, and new ids follow
        the old ones.
        """
        folder = os.path.abspath(self.mktemp())
        os.makedirs(folder)
        clock = Clock()
        clock.advance(START)
        desk = Desk(self, FakeBackend(clock, contract_config()), clock, folder=folder)
        quote = desk.quote("600000")
        desk.order("600000", quote["ask"][2], sum(quote["ask_qty"][:3]))
        queued = desk.order("600000", quote["bid"][1], 300)
        desk.cancel(desk.order("600000", quote["ask"][0], quote["ask_qty"][0] + 200))
        desk.order("600000", quote["bid"][0], 150)
        desk.order("000001", desk.quote("000001")["lower_limit_price"], 50, side=2)
        before = state(desk)
        desk.gw.stop()
        backend = FakeBackend(clock, contract_config())
        backend.restore(desk.gw.journal.read_day(desk.gw.journal.day))
        again = Desk(self, backend, clock, folder=folder)
        self.assertEqual(state(again), before)
        self.assertEqual(again.order_events("600000", queued)[-1]["order_status"], QUEUEING)
        again.cancel(queued)
        self.assertEqual(again.order_events("600000", queued)[-1]["order_status"], CANCELLED)
        self.assertEqual(again.asset()["withholding_amount"], 0.0)
        self.assertGreater(
            again.order("600000", quote["bid"][2], 100), max(o["order_xtp_id"] for o in before[0])
        )

    def test_order_without_events_is_sent_again(self) -> None:
        """
        An order the journal took but whose events were lost is submitted
        again when the counter logs in: from the one-entry C{order_sent} and
        from the older C{order} plus C{order_sent} pair alike.
        """
        request = {"ticker": "600000", "market": 2, "price": 9.0, "quantity": 100, "side": 1, "price_type": 1}
        xtp_id = 20261124000000005
        for entries in (
            [Entry("order_sent", {**request, "order_xtp_id": xtp_id}, 7)],
            [Entry("order", request, 7), Entry("order_sent", {"order_xtp_id": xtp_id}, 7)],
        ):
            clock = Clock()
            clock.advance(START)
            backend = FakeBackend(clock, contract_config())
            backend.restore(entries)
            listener = RecordingListener()
            backend.start(listener)
            clock.advance(0)
            [(record, error)] = listener.named("order_event")
            self.assertEqual((record["order_xtp_id"], record["order_status"], error), (xtp_id, QUEUEING, None))
