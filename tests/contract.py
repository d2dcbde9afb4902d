"""
The contract of a counter behind L{IXTPBackend}, checked through the
gateway's own commands.

L{BackendContract} is a mixin for trial test cases: every test drives a
gateway (login, quote and trade ports over StringTransport, see
L{tests.harness.Gateway}) in front of the counter a subclass makes, and
checks what a client reads (C{100001}, C{200001}..C{200006}) and what the
counter said on the way (L{tests.desk.Tap}). A subclass provides:

 - C{make_backend(clock)}: the counter, on that clock. Its account starts
   the day with 1,000,000 yuan and yesterday's 1,000 shares of 600000 and
   1,050 of 000001 (50 of them an odd lot); the clock reads C{START}, a
   Tuesday at 10:00, in continuous trading.
 - C{market()}: a L{tests.desk.MarketDriver} for C{self.desk} that lets
   time pass and, where the counter allows it, sets a stock's book.
 - optionally C{expected_fees(side, amount)} (the default is 0.025 % at
   least 5 yuan, 0.001 % transfer fee, 0.05 % stamp tax on sells) and
   C{convert()} (how records change on their way to the gateway).

Error ids are the real XTP counter's (see docs/fake-counter.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from zope.interface.verify import verifyObject

from ofx.backends.interface import IXTPBackend
from ofx.xtp_types import MARKET_DATA_FIELDS, ORDER_FIELDS
from tests import strategies
from tests.desk import (
    ALLTRADED,
    BAD_LOT,
    BAD_PRICE_TYPE,
    CASH,
    FINAL,
    INSUFFICIENT_FUNDS,
    INSUFFICIENT_SHARES,
    ORDER_FINISHED,
    PARTCANCELLED,
    PRICE_LIMIT,
    QUEUEING,
    UNKNOWN_ORDER,
    ContractBase,
    money,
)


def _limit(pre_close: float, pct: int, up: bool) -> float:
    """A limit price as the exchanges round it: half up to the fen."""
    factor = Decimal(100 + pct if up else 100 - pct) / 100
    return float((Decimal(str(pre_close)) * factor).quantize(Decimal("0.01"), "ROUND_HALF_UP"))


class BackendContract(ContractBase):
    """Every rule of an A-share cash account at an XTP counter, through the gateway."""

    def setUp(self) -> None:
        self.new_desk()

    def test_provides_interface(self) -> None:
        """The counter provides IXTPBackend and both sessions are up after login."""
        self.assertTrue(verifyObject(IXTPBackend, self.desk.tap.backend))
        self.assertTrue(self.desk.tap.is_up("quote") and self.desk.tap.is_up("trade"))

    def test_snapshot_shape(self) -> None:
        """A snapshot has every XTPMarketDataStruct field, ten levels a side, prices on the tick within the limits."""
        quote = self.desk.quote("600000")
        self.assertTrue(set(MARKET_DATA_FIELDS) <= set(quote))
        low, high = quote["lower_limit_price"], quote["upper_limit_price"]
        for side in ("bid", "ask", "bid_qty", "ask_qty"):
            self.assertEqual(len(quote[side]), 10)
        for price in [quote["last_price"]] + [p for p in quote["bid"] + quote["ask"] if p]:
            self.assertTrue(low <= price <= high, price)
            self.assertAlmostEqual(price * 100, round(price * 100), places=6)
        self.assertEqual(len(str(quote["data_time"])), 17)  # YYYYMMDDHHMMSSsss
        self.assertTrue(quote["ticker_status"])

    def test_limit_prices(self) -> None:
        """Limit prices are the previous close +/-10 % (main board), +/-20 % (ChiNext, STAR), rounded half up."""
        for code, pct in (("600000", 10), ("300750", 20), ("688981", 20)):
            quote = self.desk.quote(code)
            pre_close = quote["pre_close_price"]
            self.assertEqual(quote["upper_limit_price"], _limit(pre_close, pct, True), code)
            self.assertEqual(quote["lower_limit_price"], _limit(pre_close, pct, False), code)

    def test_one_counter_subscription_per_stock(self) -> None:
        """However many times clients subscribe to a stock, the counter is asked once."""
        for _ in range(3):
            self.desk.ask("quote", 110001, [{"code": "600000", "market": "SH"}])
        self.desk.ask(
            "quote", 110001, [{"code": "600000", "market": "SH"}, {"code": "000001", "market": "SZ"}]
        )
        self.assertEqual(self.desk.tap.subscribed.count((1, "600000")), 1)

    def test_buy_across_three_levels(self) -> None:
        """
        A buy for the first three ask levels at the third ask price gives
        three trade reports, one per level at its price, between the
        accepted event and one all-traded event; no event for the partial fills.
        """
        quote = self.desk.quote("600000")
        asks, sizes = quote["ask"][:3], quote["ask_qty"][:3]
        xtp_id = self.desk.order("600000", asks[2], sum(sizes))
        trades = self.desk.trades("600000", xtp_id)
        self.assertEqual([(t["price"], t["quantity"]) for t in trades], list(zip(asks, sizes, strict=True)))
        self.assertEqual(len({t["exec_id"] for t in trades}), 3)
        self.assertEqual([t["report_index"] for t in trades], sorted({t["report_index"] for t in trades}))
        for t in trades:
            self.assertEqual(money(t["trade_amount"]), money(t["price"] * t["quantity"]))
        events = self.desk.order_events("600000", xtp_id)
        self.assertEqual([e["order_status"] for e in events], [QUEUEING, ALLTRADED])
        self.assertEqual((events[0]["qty_left"], events[-1]["qty_left"]), (sum(sizes), 0))
        self.assertEqual(events[-1]["qty_traded"], sum(sizes))
        sequence = [
            n
            for n, a in self.desk.tap.events
            if n in ("order_event", "trade_event") and a[0]["order_xtp_id"] == xtp_id
        ]
        self.assertEqual(sequence, ["order_event"] + ["trade_event"] * 3 + ["order_event"])

    def test_sell_todays_purchase_rejected(self) -> None:
        """Shares bought today cannot be sold today (T+1): the sell is rejected, sellable stays 0."""
        quote = self.desk.quote("300750")
        self.desk.order("300750", quote["ask"][0], 100)
        xtp_id = self.desk.order("300750", quote["bid"][0], 100, side=2)
        _, error = self.rejected("300750", xtp_id)
        self.assertEqual(error.error_id, INSUFFICIENT_SHARES)
        position = self.desk.positions()["300750"]
        self.assertEqual((position["total_qty"], position["sellable_qty"]), (100, 0))

    def test_odd_lot_buy_rejected(self) -> None:
        """A buy of 150 shares is rejected: main-board buys are in lots of 100."""
        quote = self.desk.quote("600000")
        _, error = self.rejected("600000", self.desk.order("600000", quote["bid"][0], 150))
        self.assertEqual(error.error_id, BAD_LOT)

    def test_odd_lot_sell(self) -> None:
        """A sell may be an odd lot only when it sells the whole odd remainder (50 of 1,050, not 70)."""
        quote = self.desk.quote("000001")
        _, error = self.rejected("000001", self.desk.order("000001", quote["bid"][0], 70, side=2))
        self.assertEqual(error.error_id, BAD_LOT)
        xtp_id = self.desk.order("000001", quote["bid"][0], 50, side=2)
        self.assertEqual(self.desk.order_events("000001", xtp_id)[-1]["order_status"], ALLTRADED)

    def test_star_lots(self) -> None:
        """On STAR a buy needs 200 shares or more, then any step of one."""
        quote = self.desk.quote("688981")
        _, error = self.rejected("688981", self.desk.order("688981", quote["bid"][0], 100))
        self.assertEqual(error.error_id, BAD_LOT)
        xtp_id = self.desk.order("688981", quote["bid"][0], 201)
        self.assertEqual([e["order_status"] for e in self.desk.order_events("688981", xtp_id)], [QUEUEING])

    def test_price_outside_limits_rejected(self) -> None:
        """A limit price above the upper limit price is rejected; at the upper limit it is accepted."""
        quote = self.desk.quote("600000")
        upper = quote["upper_limit_price"]
        _, error = self.rejected("600000", self.desk.order("600000", round(upper + 0.01, 2), 100))
        self.assertEqual(error.error_id, PRICE_LIMIT)
        xtp_id = self.desk.order("600000", upper, 100)
        self.assertEqual(self.desk.order_events("600000", xtp_id)[-1]["order_status"], ALLTRADED)

    def test_insufficient_funds_rejected(self) -> None:
        """A buy that costs more than the buying power is rejected, and nothing is held."""
        quote = self.desk.quote("600519")
        _, error = self.rejected("600519", self.desk.order("600519", quote["ask"][0], 10_000))
        self.assertEqual(error.error_id, INSUFFICIENT_FUNDS)
        self.assertEqual(self.desk.asset()["withholding_amount"], 0.0)

    def test_market_type_not_offered(self) -> None:
        """BEST_OR_CANCEL is a Shenzhen price type: Shanghai rejects it, Shenzhen takes it."""
        self.desk.quote("600000")
        _, error = self.rejected("600000", self.desk.order("600000", 0, 100, price_type=2))
        self.assertEqual(error.error_id, BAD_PRICE_TYPE)
        self.desk.quote("000001")
        xtp_id = self.desk.order("000001", 0, 100, price_type=2)
        self.assertEqual(self.desk.order_events("000001", xtp_id)[-1]["order_status"], ALLTRADED)

    def test_best5_or_cancel(self) -> None:
        """BEST5_OR_CANCEL takes at most five levels and cancels the rest: partly cancelled, qty_left the rest."""
        quote = self.desk.quote("600000")
        qty = sum(quote["ask_qty"][:5]) + 1000
        xtp_id = self.desk.order("600000", 0, qty, price_type=4)
        self.assertEqual([t["price"] for t in self.desk.trades("600000", xtp_id)], quote["ask"][:5])
        final = self.desk.order_events("600000", xtp_id)[-1]
        self.assertEqual((final["order_status"], final["qty_left"]), (PARTCANCELLED, 1000))

    def test_cancel_partly_filled(self) -> None:
        """Cancelling a partly filled order gives one partly-cancelled event whose qty_left is the cancelled quantity."""
        quote = self.desk.quote("600000")
        size = quote["ask_qty"][0]
        xtp_id = self.desk.order("600000", quote["ask"][0], size + 500)
        cancel_id = self.desk.cancel(xtp_id)
        events = self.desk.order_events("600000", xtp_id)
        self.assertEqual([e["order_status"] for e in events], [QUEUEING, PARTCANCELLED])
        final = events[-1]
        self.assertEqual((final["qty_left"], final["qty_traded"]), (500, size))
        self.assertEqual(final["order_cancel_xtp_id"], cancel_id)
        self.assertEqual(self.desk.asset()["withholding_amount"], 0.0)

    def test_cancel_errors(self) -> None:
        """Cancelling a finished order or an unknown one gives OnCancelOrderError and no order event."""
        quote = self.desk.quote("600000")
        filled = self.desk.order("600000", quote["ask"][0], 100)
        finished = self.desk.cancel(filled)
        unknown = self.desk.cancel(12345)
        errors = {
            info["order_cancel_xtp_id"]: (info["order_xtp_id"], e.error_id)
            for info, e in self.desk.tap.named("cancel_error")
        }
        self.assertEqual(errors, {finished: (filled, ORDER_FINISHED), unknown: (12345, UNKNOWN_ORDER)})
        self.assertEqual(len(self.desk.order_events("600000", filled)), 2)

    def test_holds_and_releases(self) -> None:
        """A queued buy holds price x quantity + fees, a queued sell its shares; cancels release both."""
        quote = self.desk.quote("600000")
        price = quote["lower_limit_price"]
        buy = self.desk.order("600000", price, 1000)
        held = money(price * 1000)
        self.assertEqual(money(self.desk.asset()["withholding_amount"]), held + self.expected_fees(1, held))
        sell = self.desk.order("600000", quote["upper_limit_price"], 400, side=2)
        self.assertEqual(self.desk.positions()["600000"]["sellable_qty"], 600)
        self.desk.cancel(buy)
        self.desk.cancel(sell)
        asset = self.desk.asset()
        self.assertEqual((asset["withholding_amount"], money(asset["buying_power"])), (0.0, CASH))
        self.assertEqual(self.desk.positions()["600000"]["sellable_qty"], 1000)

    def test_round_trip_costs_the_fees(self) -> None:
        """After a buy and a sell, cash is the start less what was bought, plus what was sold, less exactly the fees."""
        quote = self.desk.quote("600000")
        buy = self.desk.order("600000", quote["upper_limit_price"], 500)
        sell = self.desk.order("600000", quote["lower_limit_price"], 500, side=2)
        bought = sum((money(t["trade_amount"]) for t in self.desk.trades("600000", buy)), Decimal(0))
        sold = sum((money(t["trade_amount"]) for t in self.desk.trades("600000", sell)), Decimal(0))
        fees = self.expected_fees(1, bought) + self.expected_fees(2, sold)
        asset = self.desk.asset()
        self.assertEqual(money(asset["buying_power"]), CASH - bought + sold - fees)
        self.assertEqual(money(asset["fund_buy_fee"]) + money(asset["fund_sell_fee"]), fees)
        self.assertEqual((money(asset["fund_buy_amount"]), money(asset["fund_sell_amount"])), (bought, sold))
        self.assertEqual(
            money(asset["total_asset"]), money(asset["buying_power"]) + money(asset["withholding_amount"])
        )
        position = self.desk.positions()["600000"]
        self.assertEqual((position["total_qty"], position["sellable_qty"]), (1000, 500))

    def test_round_trip_at_one_price(self) -> None:
        """Bought and sold at the same price, the cash after the round trip is the start less exactly the fees."""
        market = self.market()
        price = self.desk.quote("600000")["last_price"]
        below, above = round(price - 0.01, 2), round(price + 0.01, 2)
        market.set_book("600000", [(below, 500)], [(price, 500)])
        self.desk.order("600000", price, 500)
        market.set_book("600000", [(price, 500)], [(above, 500)])
        self.desk.order("600000", price, 500, side=2)
        amount = money(price * 500)
        fees = self.expected_fees(1, amount) + self.expected_fees(2, amount)
        self.assertEqual(money(self.desk.asset()["buying_power"]), CASH - fees)

    def test_queued_order_fills_on_later_snapshots(self) -> None:
        """
        A queued buy fills at its price when a later book reaches it, never
        more than the book shows; the partial fills bring no order event.
        """
        market = self.market()
        price = self.desk.quote("600000")["bid"][0]
        xtp_id = self.desk.order("600000", price, 500)
        market.set_book(
            "600000", [(round(price - 0.01, 2), 100)], [(price, 300), (round(price + 0.01, 2), 900)]
        )
        self.assertEqual([t["quantity"] for t in self.desk.trades("600000", xtp_id)], [300])
        self.assertEqual([e["order_status"] for e in self.desk.order_events("600000", xtp_id)], [QUEUEING])
        market.set_book("600000", [(round(price - 0.01, 2), 100)], [(price, 900)])
        trades = self.desk.trades("600000", xtp_id)
        self.assertEqual([(t["price"], t["quantity"]) for t in trades], [(price, 300), (price, 200)])
        self.assertEqual(
            [e["order_status"] for e in self.desk.order_events("600000", xtp_id)], [QUEUEING, ALLTRADED]
        )

    def test_queries_agree_with_events(self) -> None:
        """
        Query answers come as callbacks under the request id, is_last on the
        last only, and say what the events said: each order as its latest
        event, every trade as its report.
        """
        quote = self.desk.quote("600000")
        self.desk.order("600000", quote["ask"][1], quote["ask_qty"][0] + 100)
        self.desk.cancel(self.desk.order("600000", quote["bid"][1], 100))
        self.desk.order("600000", quote["bid"][0], 150)
        asked = self.desk.ask("trade", 210003)
        self.desk.settle()
        orders = self.desk.ask("trade", 200005, {"reqid": asked["reqid"]})
        latest = {e["order_xtp_id"]: e for e in self.desk.order_events("600000")}
        self.assertEqual(
            [{k: o[k] for k in ORDER_FIELDS} for o in orders],
            [{k: e[k] for k in ORDER_FIELDS} for e in latest.values()],
        )
        answers = [a for a in self.desk.tap.named("query_answer") if a[1] == asked["reqid"]]
        self.assertEqual([a[4] for a in answers], [False] * (len(answers) - 1) + [True])
        trades = self.desk.answer(210004, 200006)
        self.assertEqual(trades, self.desk.trades("600000"))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Each test case gets a hypothesis test of its own: one @given
        # function shared by several classes fails hypothesis's
        # differing-executors health check.
        super().__init_subclass__(**kwargs)

        def test_random_order_flows_keep_the_account_whole(
            self: BackendContract, steps: list[tuple[Any, ...]]
        ) -> None:
            """
            Any sequence of orders, cancels and time keeps cash, holds and
            positions non-negative; once all is cancelled every order is in
            one final state, nothing is held, and trade quantities add up.
            """
            self.check_order_flow(steps)

        cls.test_random_order_flows_keep_the_account_whole = given(strategies.order_flows)(  # type: ignore[attr-defined]
            test_random_order_flows_keep_the_account_whole
        )

    def check_order_flow(self, steps: list[tuple[Any, ...]]) -> None:
        """Run one random order flow through a new desk, checking the account after each step."""
        desk = self.new_desk()
        market = self.market()
        quotes = {code: desk.quote(code) for code in strategies.FLOW_STOCKS}
        ids: list[tuple[str, int]] = []
        for step in steps:
            if step[0] == "order":
                _, side, code, ticks, lots, price_type = step
                book = quotes[code]["ask" if side == 1 else "bid"]
                price = min(
                    max(round(book[0] + ticks / 100, 2), quotes[code]["lower_limit_price"]),
                    quotes[code]["upper_limit_price"],
                )
                ids.append((code, desk.order(code, price, lots * 100, side, price_type)))
            elif step[0] == "cancel" and ids:
                desk.cancel(ids[step[1] % len(ids)][1])
            elif step[0] == "wait":
                market.advance(step[1])
                quotes = {
                    code: desk.ask(
                        "quote", 100001, {"code": code, "market": "SH" if code[0] == "6" else "SZ"}
                    )
                    for code in quotes
                }
            asset = desk.asset()
            self.assertGreaterEqual(asset["buying_power"], 0)
            self.assertGreaterEqual(asset["withholding_amount"], 0)
            for position in desk.positions().values():
                self.assertGreaterEqual(min(position["total_qty"], position["sellable_qty"]), 0)
        for _, xtp_id in ids:
            desk.ask("trade", 210006, {"order_xtp_id": str(xtp_id)})
        desk.settle()
        self.assertEqual(desk.asset()["withholding_amount"], 0.0)
        self.assert_orders_add_up(ids)

    def assert_orders_add_up(self, ids: list[tuple[str, int]]) -> None:
        desk = self.desk
        sold: dict[str, int] = {}
        for code, xtp_id in ids:
            final = desk.order_events(code, xtp_id)[-1]
            self.assertIn(final["order_status"], FINAL)
            traded = sum(t["quantity"] for t in desk.trades(code, xtp_id))
            self.assertEqual(final["qty_traded"], traded)
            self.assertEqual(final["qty_traded"] + final["qty_left"], final["quantity"])
            if final["side"] == 2:
                sold[code] = sold.get(code, 0) + traded
        for code, position in desk.positions().items():
            self.assertEqual(position["sellable_qty"], position["yesterday_position"] - sold.get(code, 0))
