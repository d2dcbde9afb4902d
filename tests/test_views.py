"""The day's views: what query commands answer from."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from ofx.backends.interface import XTPError
from ofx.views import ORDER_EVENT_KEY, TRADE_EVENT_KEY, AnswersView, EventsView, order_event_record


def order(status: int, traded: int, left: int) -> dict[str, object]:
    return {"order_xtp_id": 7, "ticker": "600000", "market": 2, "order_status": status,
            "order_submit_status": 2, "qty_traded": traded, "qty_left": left}  # fmt: skip


class ViewTests(TestCase):
    def test_repeated_events_after_reconnect_dropped(self) -> None:
        """
        When the counter repeats events it already sent (after a reconnect),
        200001 and 200002 still list each order state and each fill once.
        """
        orders, trades = EventsView(ORDER_EVENT_KEY), EventsView(TRADE_EVENT_KEY)
        trade = {"order_xtp_id": 7, "ticker": "600000", "market": 2, "exec_id": "E1", "quantity": 100}
        for _ in range(2):
            orders.add(order(4, 0, 200))
            trades.add(dict(trade))
            orders.add(order(1, 200, 0))
        self.assertEqual([e["order_status"] for e in orders.of_stock(2, "600000")], [4, 1])
        self.assertEqual(len(trades.of_stock(2, "600000")), 1)

    def test_events_come_back_as_sent(self) -> None:
        """200001 gives each event back with the fields and values it came with, whatever their layout."""
        view = EventsView(ORDER_EVENT_KEY)
        sent = [
            order(4, 0, 200),
            order_event_record({"order": order(6, 0, 200), "error": [11000010, "price out of limits"]}),
            order(1, 200, 0),
            {**order(5, 0, 300), "order_xtp_id": 8, "market": 1, "ticker": "000001"},
        ]
        for record in sent:
            view.add(dict(record))
        self.assertEqual(view.of_stock(2, "600000"), sent[:3])
        self.assertEqual([list(r) for r in view.of_stock(2, "600000")], [list(r) for r in sent[:3]])
        self.assertEqual(view.of_stock(1, "000001"), sent[3:])
        self.assertEqual(view.all_records(), sent)

    def test_rejection_carries_error(self) -> None:
        """A rejected order's event carries the counter's error id and message."""
        event = order_event_record({"order": order(6, 0, 100), "error": [11000010, "price out of limits"]})
        self.assertEqual((event["error_id"], event["error_msg"]), (11000010, "price out of limits"))

    def test_empty_answer_is_complete(self) -> None:
        """The counter's 'no records' error completes an answer with no records, not an error."""
        view = AnswersView("position")
        view.expect(5)
        view.add(5, None, XTPError(11000350, "no record"), True)
        answer = view.answers[5]
        self.assertEqual((answer.records, answer.error, answer.complete), ([], None, True))
