"""
The fake counter's trading day (L{ofx.backends.fake.sessions}): phases by
the clock, what happens to orders and cancels in each, the call auctions,
and the C{always_open} switch. Driven on a L{Clock}, 2024-01-02 (a Tuesday).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from ofx.backends.fake import FakeBackend, errors
from ofx.backends.fake.sessions import Phase, Sessions
from ofx.backends.fake.timestamps import BEIJING
from ofx.config import FakeConfig
from ofx.xtp_types import (
    XTP_ORDER_STATUS_ALLTRADED,
    XTP_ORDER_STATUS_CANCELED,
    XTP_ORDER_STATUS_NOTRADEQUEUEING,
    XTP_ORDER_STATUS_REJECTED,
    XTP_PRICE_BEST5_OR_CANCEL,
    XTP_SIDE_SELL,
)
from tests.test_fake_backend import SH600000, SZ000001, RecordingListener, order


def at(hhmmss: str, day: str = "20240102") -> float:
    """Clock seconds of a Beijing time on C{day}."""
    return datetime.strptime(day + hhmmss, "%Y%m%d%H:%M:%S").replace(tzinfo=BEIJING).timestamp()


def stamp(hhmmss: str, day: str = "20240102") -> int:
    return int(day + hhmmss.replace(":", "") + "000")


class Day:
    """A fake counter started at a given time, with a listener and the clock."""

    def __init__(self, start: str, day: str = "20240102", **config: Any) -> None:
        self.clock = Clock()
        self.clock.advance(at(start, day))
        self.backend = FakeBackend(self.clock, FakeConfig(positions=(("600000", 1000),), **config))
        self.listener = RecordingListener()
        self.backend.start(self.listener)
        self.clock.advance(0)

    def until(self, hhmmss: str, day: str = "20240102") -> None:
        self.clock.advance(at(hhmmss, day) - self.clock.seconds())

    def orders(self, xtp_id: int) -> list[tuple[dict[str, Any], Any]]:
        return [(r, e) for r, e in self.listener.named("order_event") if r["order_xtp_id"] == xtp_id]

    def statuses(self, xtp_id: int) -> list[int]:
        return [r["order_status"] for r, _ in self.orders(xtp_id)]

    def trades(self, xtp_id: int) -> list[dict[str, Any]]:
        return [t for t in self.listener.records("trade_event") if t["order_xtp_id"] == xtp_id]


class PhaseTests(TestCase):
    """The phases of a trading day, by the clock."""

    def test_trading_day(self) -> None:
        """A weekday's phases begin at 09:15, 09:25, 09:30, 11:30, 13:00, 14:57 and 15:00."""
        sessions = Sessions()
        expected = [
            ("09:14:59", Phase.PRE_OPEN), ("09:15:00", Phase.OPEN_AUCTION), ("09:24:59", Phase.OPEN_AUCTION),
            ("09:25:00", Phase.PRE_CONTINUOUS), ("09:30:00", Phase.CONTINUOUS), ("11:30:00", Phase.BREAK),
            ("13:00:00", Phase.CONTINUOUS), ("14:57:00", Phase.CLOSE_AUCTION), ("15:00:00", Phase.CLOSED),
        ]  # fmt: skip
        self.assertEqual([(t, sessions.phase(at(t))) for t, _ in expected], expected)

    def test_days_without_trading(self) -> None:
        """Saturdays, Sundays and configured holidays have no trading; always_open trades every moment."""
        sessions = Sessions(holidays=["20240101"])
        self.assertEqual(sessions.phase(at("10:00:00", "20240106")), Phase.CLOSED_DAY)
        self.assertEqual(sessions.phase(at("10:00:00", "20240107")), Phase.CLOSED_DAY)
        self.assertEqual(sessions.phase(at("10:00:00", "20240101")), Phase.CLOSED_DAY)
        self.assertEqual(Sessions(always_open=True).phase(at("03:00:00", "20240106")), Phase.CONTINUOUS)

    def test_next_boundary(self) -> None:
        """After Friday's close the next phase change is Monday's 09:15; always_open has none."""
        sessions = Sessions()
        self.assertEqual(
            sessions.next_boundary(at("15:00:00", "20240105")),
            (at("09:15:00", "20240108"), Phase.OPEN_AUCTION),
        )
        self.assertIsNone(Sessions(always_open=True).next_boundary(at("15:00:00")))

    def test_cancels_taken(self) -> None:
        """Cancels are refused from 09:20 to 09:25 and from 14:57 on."""
        sessions = Sessions()
        taken = {
            t: sessions.takes_cancels(at(t))
            for t in ("09:19:59", "09:20:00", "09:26:00", "12:00:00", "14:57:00", "15:10:00")
        }
        self.assertEqual(
            taken,
            {
                "09:19:59": True,
                "09:20:00": False,
                "09:26:00": True,
                "12:00:00": True,
                "14:57:00": False,
                "15:10:00": False,
            },
        )

    def test_ticker_status_by_phase(self) -> None:
        """Published snapshots carry each exchange's ticker_status for the phase (S, C, B/T, T, U/C, E)."""
        day = Day("09:00:00")
        seen = {}
        for t in ("09:10:00", "09:20:00", "09:27:00", "10:00:00", "12:00:00", "14:58:00", "15:30:00"):
            day.until(t)
            seen[t] = (
                day.backend.snapshot(SH600000)["ticker_status"],
                day.backend.snapshot(SZ000001)["ticker_status"],
            )
        self.assertEqual(seen, {
            "09:10:00": ("S 11", "S1"), "09:20:00": ("C111", "C1"), "09:27:00": ("T111", "B1"),
            "10:00:00": ("T111", "T1"), "12:00:00": ("T111", "B1"), "14:58:00": ("U111", "C1"),
            "15:30:00": ("E111", "E1"),
        })  # fmt: skip

    def test_prices_stand_still_outside_continuous_trading(self) -> None:
        """The market moves only in continuous trading: the lunch break and the night keep the last price."""
        day = Day("11:00:00")
        day.until("11:30:00")
        before = day.backend.snapshot(SH600000)
        day.until("12:59:59")
        self.assertEqual(day.backend.snapshot(SH600000)["last_price"], before["last_price"])
        self.assertEqual(len(day.clock.getDelayedCalls()), 1)  # one timer, set for 13:00


class AuctionTests(TestCase):
    """The opening and closing call auctions."""

    def test_orders_before_0915_are_held(self) -> None:
        """An order placed before 09:15 brings no event until 09:15, when it enters the opening auction."""
        day = Day("08:30:00")
        xtp_id = day.backend.insert_order(order("600000", 10.00, 500))
        day.until("09:14:59")
        self.assertEqual(day.orders(xtp_id), [])
        day.until("09:15:00")
        [(record, error)] = day.orders(xtp_id)
        self.assertEqual(
            (record["order_status"], record["insert_time"], error),
            (XTP_ORDER_STATUS_NOTRADEQUEUEING, stamp("08:30:00"), None),
        )
        self.assertEqual(record["update_time"], stamp("09:15:00"))

    def test_auction_snapshot_shows_indicative_price(self) -> None:
        """In the opening auction a snapshot shows no trade yet and the indicative price on bid[0] and ask[0] only."""
        day = Day("09:16:00")
        snap = day.backend.snapshot(SH600000)
        self.assertEqual((snap["last_price"], snap["qty"]), (0.0, 0))
        self.assertEqual(snap["bid"][0], snap["ask"][0])
        self.assertEqual(snap["bid"][1:] + snap["ask"][1:], [0.0] * 18)

    def test_market_orders_refused_in_auctions(self) -> None:
        """A call auction takes limit orders only: a market order is rejected."""
        day = Day("09:16:00")
        xtp_id = day.backend.insert_order(order("600000", 0, 100, price_type=XTP_PRICE_BEST5_OR_CANCEL))
        day.clock.advance(0)
        [(record, error)] = day.orders(xtp_id)
        self.assertEqual(
            (record["order_status"], error.error_id), (XTP_ORDER_STATUS_REJECTED, errors.BAD_PRICE_TYPE)
        )

    def test_opening_uncross(self) -> None:
        """
        At 09:25 every auction order that crosses the opening price trades at
        that one price, up to the opening volume, oldest first; the rest
        queues into continuous trading.
        """
        day = Day("09:16:00")
        snap = day.backend.snapshot(SH600000)
        opening, volume = snap["bid"][0], snap["bid_qty"][0]
        first = day.backend.insert_order(
            order("600000", day.backend.snapshot(SH600000)["upper_limit_price"], volume)
        )
        second = day.backend.insert_order(order("600000", opening, 100))
        below = day.backend.insert_order(order("600000", round(opening - 0.05, 2), 100))
        sell = day.backend.insert_order(order("600000", opening, 300, side=XTP_SIDE_SELL))
        day.until("09:25:00")
        self.assertEqual(
            [(t["price"], t["quantity"], t["trade_time"]) for t in day.trades(first)],
            [(opening, volume, stamp("09:25:00"))],
        )
        self.assertEqual(day.trades(second), [])  # the buyers took the whole opening volume
        self.assertEqual(day.trades(below), [])
        self.assertEqual([(t["price"], t["quantity"]) for t in day.trades(sell)], [(opening, 300)])
        self.assertEqual(day.statuses(first), [XTP_ORDER_STATUS_NOTRADEQUEUEING, XTP_ORDER_STATUS_ALLTRADED])
        self.assertEqual(day.statuses(second), [XTP_ORDER_STATUS_NOTRADEQUEUEING])

    def test_cancels_in_the_auction(self) -> None:
        """A cancel at 09:18 is taken; one at 09:22 is refused (no cancels 09:20-09:25)."""
        day = Day("09:16:00")
        early = day.backend.insert_order(order("600000", 9.00, 100))
        late = day.backend.insert_order(order("600000", 9.00, 100))
        day.until("09:18:00")
        day.backend.cancel_order(early)
        day.until("09:22:00")
        day.backend.cancel_order(late)
        day.clock.advance(0)
        self.assertEqual(day.statuses(early)[-1], XTP_ORDER_STATUS_CANCELED)
        [(info, error)] = day.listener.named("cancel_error")
        self.assertEqual((info["order_xtp_id"], error.error_id), (late, errors.NOT_IN_TRADE_TIME))

    def test_closing_auction_and_close(self) -> None:
        """
        From 14:57 cancels are refused; at 15:00 queued orders crossing the
        closing price trade at it, the closing snapshot carries close_price,
        and later orders are rejected.
        """
        day = Day("14:50:00")
        day.backend.subscribe([SH600000])
        upper = day.backend.snapshot(SH600000)["upper_limit_price"]
        day.until("14:58:00")
        buy = day.backend.insert_order(order("600000", upper, 100))
        day.backend.cancel_order(buy)
        day.until("15:00:00")
        [(_, error)] = day.listener.named("cancel_error")
        self.assertEqual(error.error_id, errors.NOT_IN_TRADE_TIME)
        closing = day.listener.records("market_data")[-1]
        self.assertEqual((closing["ticker_status"], closing["data_time"]), ("E111", stamp("15:00:00")))
        self.assertEqual(closing["close_price"], closing["last_price"])
        self.assertEqual(
            [(t["price"], t["trade_time"]) for t in day.trades(buy)],
            [(closing["close_price"], stamp("15:00:00"))],
        )
        late = day.backend.insert_order(order("600000", upper, 100))
        day.clock.advance(0)
        self.assertEqual(day.orders(late)[0][1].error_id, errors.NOT_IN_TRADE_TIME)


class HoldingTests(TestCase):
    """Orders and cancels the counter holds between phases, and days without trading."""

    def test_lunch_break_holds_orders_and_cancels(self) -> None:
        """
        Over lunch a new order and a cancel wait for 13:00; a second cancel
        of the same order is refused as already received.
        """
        day = Day("11:20:00")
        queued = day.backend.insert_order(order("600000", 9.00, 100))
        day.until("12:00:00")
        held = day.backend.insert_order(order("600000", 9.00, 100))
        day.backend.cancel_order(queued)
        day.backend.cancel_order(queued)
        day.until("12:59:59")
        self.assertEqual((day.orders(held), day.statuses(queued)), ([], [XTP_ORDER_STATUS_NOTRADEQUEUEING]))
        self.assertEqual(day.listener.named("cancel_error")[0][1].error_id, errors.CANCEL_PENDING)
        day.until("13:00:00")
        self.assertEqual(day.statuses(queued)[-1], XTP_ORDER_STATUS_CANCELED)
        [(record, _)] = day.orders(held)
        self.assertEqual(
            (record["order_status"], record["update_time"]),
            (XTP_ORDER_STATUS_NOTRADEQUEUEING, stamp("13:00:00")),
        )

    def test_cancelling_a_held_order(self) -> None:
        """An order the counter still holds is withdrawn at once: one cancelled event."""
        day = Day("09:26:00")
        xtp_id = day.backend.insert_order(order("600000", 9.00, 100))
        day.backend.cancel_order(xtp_id)
        day.clock.advance(0)
        self.assertEqual(day.statuses(xtp_id), [XTP_ORDER_STATUS_CANCELED])

    def test_weekend_orders_rejected(self) -> None:
        """On a Saturday an order is rejected: not in trade time."""
        day = Day("10:00:00", day="20240106")
        xtp_id = day.backend.insert_order(order("600000", 9.00, 100))
        day.clock.advance(0)
        [(record, error)] = day.orders(xtp_id)
        self.assertEqual(
            (record["order_status"], error.error_id), (XTP_ORDER_STATUS_REJECTED, errors.NOT_IN_TRADE_TIME)
        )

    def test_always_open(self) -> None:
        """With always_open the counter trades on a Saturday night like in continuous trading."""
        day = Day("23:00:00", day="20240106", always_open=True)
        book = day.backend.snapshot(SH600000)
        xtp_id = day.backend.insert_order(order("600000", book["ask"][0], 100))
        day.clock.advance(0)
        self.assertEqual(day.statuses(xtp_id), [XTP_ORDER_STATUS_NOTRADEQUEUEING, XTP_ORDER_STATUS_ALLTRADED])
        self.assertEqual(book["ticker_status"], "T111")

    def test_a_day_in_one_jump(self) -> None:
        """
        A clock advanced from 08:00 to 16:00 at once runs the day in order:
        the held order enters the auction, trades at the open, and a
        subscriber gets one snapshot (the close) for the jump.
        """
        day = Day("08:00:00")
        day.backend.subscribe([SH600000])
        upper = day.backend.snapshot(SH600000)["upper_limit_price"]
        xtp_id = day.backend.insert_order(order("600000", upper, 100))
        day.clock.advance(0)
        del day.listener.events[:]
        day.until("16:00:00")
        self.assertEqual(day.statuses(xtp_id), [XTP_ORDER_STATUS_NOTRADEQUEUEING, XTP_ORDER_STATUS_ALLTRADED])
        self.assertEqual(day.trades(xtp_id)[0]["trade_time"], stamp("09:25:00"))
        [closing] = day.listener.records("market_data")
        self.assertEqual(closing["ticker_status"], "E111")
