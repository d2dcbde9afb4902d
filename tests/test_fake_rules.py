"""
The fake counter's rules in isolation: the fee schedule, odd-lot sells, ST
stocks and market orders, and the real XTP error ids and messages.
"""

from __future__ import annotations

from fractions import Fraction

from twisted.trial.unittest import TestCase

from ofx.backends.fake import errors
from ofx.backends.fake.fees import Fees, FeeSchedule
from ofx.backends.fake.rules import odd_lot_ok
from ofx.backends.fake.universe import BOARDS
from ofx.config import FakeConfig
from ofx.xtp_types import XTP_PRICE_BEST5_OR_CANCEL, XTP_SIDE_BUY, XTP_SIDE_SELL
from tests.test_fake_backend import order, running


class FeeScheduleTests(TestCase):
    """Fees per component, from the configured rates."""

    def test_rates_are_exact(self) -> None:
        """Rates written in decimal are the exact fractions they say; the minimum is in cents."""
        schedule = FeeSchedule.from_config(0.00025, 5.0, 0.0005, 0.00001)
        self.assertEqual(schedule, FeeSchedule())
        self.assertEqual(schedule.commission, Fraction(1, 4000))

    def test_components(self) -> None:
        """A 100,000-yuan sell pays 25 commission, 50 stamp tax and 1 transfer fee; a buy no stamp tax."""
        schedule = FeeSchedule()
        self.assertEqual(schedule.fees(XTP_SIDE_SELL, 10_000_000), Fees(2500, 5000, 100))
        self.assertEqual(schedule.fees(XTP_SIDE_BUY, 10_000_000), Fees(2500, 0, 100))
        self.assertEqual(
            schedule.fees(XTP_SIDE_BUY, 100_000), Fees(500, 0, 1)
        )  # 1,000 yuan: the 5-yuan minimum

    def test_fill_pays_the_increase(self) -> None:
        """Fills pay what the order's fees grow by, so the minimum commission is paid once per order."""
        schedule = FeeSchedule()
        first = schedule.increment(XTP_SIDE_BUY, 0, 100_000)
        second = schedule.increment(XTP_SIDE_BUY, 100_000, 200_000)
        self.assertEqual((first.commission, second.commission), (500, 0))
        self.assertEqual(first.total + second.total, schedule.fees(XTP_SIDE_BUY, 200_000).total)

    def test_configured_fees_charged(self) -> None:
        """[fake] commission and min_commission change what a fill costs."""
        backend, clock, listener = running(FakeConfig(commission=0.001, min_commission=0.0))
        book = backend.snapshot((1, "600000"))
        backend.insert_order(order("600000", book["ask"][0], 100))
        clock.advance(0)
        [trade] = listener.records("trade_event")
        self.assertEqual(trade["commission"], round(trade["trade_amount"] * 0.001, 2))


class OddLotTests(TestCase):
    """Which sells that are not whole lots the exchanges take (XTP FAQ 67)."""

    def test_main_board(self) -> None:
        """With 232 sellable on the main board, 32, 132 and 232 may be sold; 50 may not."""
        main = BOARDS["main"]
        self.assertEqual([q for q in (32, 50, 132, 232, 332) if odd_lot_ok(q, 232, main)], [32, 132, 232])

    def test_star(self) -> None:
        """On STAR an odd lot (under 200) sells only as everything sellable: 132 of 132, not 32 of 232."""
        star = BOARDS["star"]
        self.assertFalse(odd_lot_ok(32, 232, star))
        self.assertTrue(odd_lot_ok(132, 132, star))


class StMarketOrderTests(TestCase):
    def test_st_stock_by_market_order(self) -> None:
        """A market order for an ST stock is rejected with the real counter's id 11000314."""
        backend, clock, listener = running()
        backend.insert_order(order("600393", 0, 100, price_type=XTP_PRICE_BEST5_OR_CANCEL))
        clock.advance(0)
        [(record, error)] = listener.named("order_event")
        self.assertEqual(error.error_id, errors.ST_MARKET_ORDER)
        self.assertTrue(error.error_msg.startswith("ST stock can not be traded by market order!"))


class ErrorTests(TestCase):
    """Error ids and messages."""

    def test_real_message_then_detail(self) -> None:
        """A message starts with the real counter's words for its id, then says what was wrong."""
        error = errors.error(errors.UNKNOWN_ORDER, "no order 5 today")
        self.assertEqual(error.error_msg, "Failed to find original order! no order 5 today")
        self.assertEqual(
            errors.error(errors.SUBSCRIBE_UNKNOWN_TICKER, "600001").error_msg, "unknown ticker id: 600001"
        )

    def test_clipped_to_xtpri(self) -> None:
        """A message longer than an XTPRI holds is cut on a character boundary to 123 bytes."""
        error = errors.error(errors.UNKNOWN_TICKER, "浦发银行" * 30)
        raw = error.error_msg.encode("utf-8")
        self.assertLessEqual(len(raw), 123)
        self.assertTrue(error.error_msg.endswith("..."))
