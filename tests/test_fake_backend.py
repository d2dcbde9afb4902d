"""
The fake counter (L{ofx.backends.fake}): market data, matching, account.

Every test drives a L{FakeBackend} with a L{Clock} and records what a
listener hears; nothing here touches a socket or the wall clock.
"""

from __future__ import annotations

import json
import marshal
import math
import sys
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from ofx.backends.fake import FakeBackend
from ofx.backends.fake.fees import FEE_KEYS, order_fee
from ofx.backends.fake.orders import Blotter
from ofx.backends.fake.universe import limit_price, load_universe
from ofx.backends.interface import BackendError, IBackendListener, IXTPBackend, XTPError
from ofx.config import FakeConfig
from ofx.xtp_types import (
    ASSET_FIELDS,
    MARKET_DATA_FIELDS,
    ORDER_FIELDS,
    POSITION_FIELDS,
    TRADE_FIELDS,
    XTP_EXCHANGE_SH,
    XTP_EXCHANGE_SZ,
    XTP_MKT_SH_A,
    XTP_MKT_SZ_A,
    XTP_ORDER_STATUS_ALLTRADED,
    XTP_ORDER_STATUS_CANCELED,
    XTP_ORDER_STATUS_INIT,
    XTP_ORDER_STATUS_NOTRADEQUEUEING,
    XTP_ORDER_STATUS_PARTTRADEDNOTQUEUEING,
    XTP_ORDER_STATUS_PARTTRADEDQUEUEING,
    XTP_ORDER_STATUS_REJECTED,
    XTP_ORDER_SUBMIT_STATUS_CANCEL_ACCEPTED,
    XTP_ORDER_SUBMIT_STATUS_INSERT_ACCEPTED,
    XTP_ORDER_SUBMIT_STATUS_INSERT_REJECTED,
    XTP_ORDER_SUBMIT_STATUS_INSERT_SUBMITTED,
    XTP_PRICE_ALL_OR_CANCEL,
    XTP_PRICE_BEST5_OR_CANCEL,
    XTP_PRICE_BEST_OR_CANCEL,
    XTP_PRICE_LIMIT,
    XTP_PRICE_LIMIT_OR_CANCEL,
    XTP_SIDE_BUY,
    XTP_SIDE_SELL,
)

T0 = 1704159000.0  # 2024-01-02 09:30:00 in Beijing
SH600000 = (XTP_EXCHANGE_SH, "600000")
SZ000001 = (XTP_EXCHANGE_SZ, "000001")
STK_KEYS = {"total_bid_qty", "total_ask_qty", "ma_bid_price", "ma_ask_price"}


@implementer(IBackendListener)
class RecordingListener:
    """Appends every event as C{(name, *args)}."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def session_changed(self, session: str, up: bool, reason: str) -> None:
        self.events.append(("session_changed", session, up, reason))

    def market_data(self, record: dict[str, Any]) -> None:
        self.events.append(("market_data", record))

    def subscribe_answer(self, ticker: Any, error: XTPError | None, is_last: bool) -> None:
        self.events.append(("subscribe_answer", ticker, error, is_last))

    def order_event(self, record: dict[str, Any], error: XTPError | None) -> None:
        self.events.append(("order_event", record, error))

    def trade_event(self, record: dict[str, Any]) -> None:
        self.events.append(("trade_event", record))

    def cancel_error(self, record: dict[str, Any], error: XTPError) -> None:
        self.events.append(("cancel_error", record, error))

    def query_answer(
        self, kind: str, request_id: int, record: Any, error: XTPError | None, is_last: bool
    ) -> None:
        self.events.append(("query_answer", kind, request_id, record, error, is_last))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        """The arguments of every event called C{name}."""
        return [e[1:] for e in self.events if e[0] == name]

    def records(self, name: str) -> list[dict[str, Any]]:
        """The first argument (the record) of every event called C{name}."""
        return [args[0] for args in self.named(name)]


def running(config: FakeConfig | None = None, at: float = T0) -> tuple[FakeBackend, Clock, RecordingListener]:
    """A started backend with both sessions up and the login events cleared."""
    clock = Clock()
    clock.advance(at)
    backend = FakeBackend(clock, config or FakeConfig())
    listener = RecordingListener()
    backend.start(listener)
    clock.advance(0)
    del listener.events[:]
    return backend, clock, listener


def order(
    code: str, price: float, qty: int, side: int = XTP_SIDE_BUY, price_type: int = XTP_PRICE_LIMIT
) -> dict[str, Any]:
    """An C{XTPOrderInsertInfo} record."""
    return {
        "order_client_id": 7,
        "ticker": code,
        "market": XTP_MKT_SH_A if code.startswith("6") else XTP_MKT_SZ_A,
        "price": price,
        "stop_price": 0.0,
        "quantity": qty,
        "price_type": price_type,
        "side": side,
        "position_effect": 0,
        "reserved1": 0,
        "reserved2": 0,
        "business_type": 0,
    }


def query(backend: FakeBackend, clock: Clock, listener: RecordingListener, kind: str) -> list[Any]:
    """Run one query and return the records answered (None for an empty answer)."""
    del listener.events[:]
    getattr(
        backend,
        {
            "asset": "query_asset",
            "position": "query_positions",
            "order": "query_orders",
            "trade": "query_trades",
        }[kind],
    )(99)
    clock.advance(0)
    answers = listener.named("query_answer")
    assert answers and answers[-1][4] is True and all(not a[4] for a in answers[:-1])
    return [a[2] for a in answers]


def fee(amount: Decimal, sell: bool) -> Decimal:
    """Fees computed independently: commission 0.025% (min 5), transfer 0.001%, stamp 0.05% on sells."""
    cent = Decimal("0.01")
    total = max(Decimal(5), (amount * Decimal("0.00025")).quantize(cent, ROUND_HALF_UP))
    total += (amount * Decimal("0.00001")).quantize(cent, ROUND_HALF_UP)
    if sell:
        total += (amount * Decimal("0.0005")).quantize(cent, ROUND_HALF_UP)
    return total


def money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


class InterfaceTests(TestCase):
    """Sessions, the interface and the clock."""

    def test_provides_interface(self) -> None:
        """FakeBackend provides IXTPBackend; its kind is 'fake'."""
        backend = FakeBackend(Clock(), FakeConfig())
        self.assertTrue(verifyObject(IXTPBackend, backend))
        self.assertEqual(backend.kind, "fake")

    def test_listener_interface(self) -> None:
        """The recording listener used here really is an IBackendListener."""
        self.assertTrue(verifyObject(IBackendListener, RecordingListener()))

    def test_sessions_come_up_on_next_turn(self) -> None:
        """start() logs in on the next reactor turn, reporting quote then trade up."""
        clock = Clock()
        backend = FakeBackend(clock, FakeConfig())
        listener = RecordingListener()
        backend.start(listener)
        self.assertEqual(listener.events, [])
        self.assertFalse(backend.is_up("quote"))
        clock.advance(0)
        self.assertEqual([e[1:3] for e in listener.events], [("quote", True), ("trade", True)])
        self.assertTrue(backend.is_up("quote"))
        self.assertTrue(backend.is_up("trade"))

    def test_stop_reports_down_and_leaves_nothing_scheduled(self) -> None:
        """stop() reports both sessions down and cancels the market timer."""
        backend, clock, listener = running()
        backend.subscribe([SH600000])
        backend.stop()
        self.assertEqual(
            [a[:2] for a in listener.named("session_changed")], [("quote", False), ("trade", False)]
        )
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertFalse(backend.is_up("trade"))
        del listener.events[:]
        clock.advance(30)
        self.assertEqual(listener.events, [])

    def test_calls_while_down_raise(self) -> None:
        """Before start and after stop, orders, cancels, queries and subscriptions raise BackendError."""
        clock = Clock()
        backend = FakeBackend(clock, FakeConfig())
        self.assertRaises(BackendError, backend.insert_order, order("600000", 9.85, 100))
        backend.start(RecordingListener())
        self.assertRaises(BackendError, backend.insert_order, order("600000", 9.85, 100))
        clock.advance(0)
        backend.stop()
        error = self.assertRaises(BackendError, backend.insert_order, order("600000", 9.85, 100))
        self.assertIn("not logged in", error.error.error_msg)
        self.assertRaises(BackendError, backend.cancel_order, 1)
        self.assertRaises(BackendError, backend.query_asset, 1)
        self.assertRaises(BackendError, backend.subscribe, [SH600000])

    def test_malformed_order_raises(self) -> None:
        """A record lacking a field or with a wrongly typed one raises BackendError at once."""
        backend, clock, listener = running()
        record = order("600000", 9.85, 100)
        del record["quantity"]
        self.assertRaises(BackendError, backend.insert_order, record)
        self.assertRaises(
            BackendError, backend.insert_order, dict(order("600000", 9.85, 100), quantity="100")
        )
        self.assertRaises(
            BackendError, backend.insert_order, dict(order("600000", 9.85, 100), price=math.nan)
        )

    def test_trading_day_is_beijing_date(self) -> None:
        """trading_day() is the Beijing date of the clock: 16:30 UTC is already the next day."""
        clock = Clock()
        clock.advance(1704126600)  # 2024-01-01 16:30 UTC
        self.assertEqual(FakeBackend(clock, FakeConfig()).trading_day(), "20240102")

    def test_order_ids_increase(self) -> None:
        """Order and cancel ids are unique and increasing."""
        backend, clock, listener = running()
        ids = [backend.insert_order(order("600000", 9.0, 100)) for _ in range(3)]
        ids.append(backend.cancel_order(ids[0]))
        ids.append(backend.insert_order(order("600000", 9.0, 100)))
        self.assertEqual(ids, sorted(set(ids)))


class UniverseTests(TestCase):
    """The stock list and its limit prices."""

    def test_limit_price_rounds_half_up(self) -> None:
        """Limit prices round half up: 2.50 * 1.05 = 2.625 gives 2.63 (float rounding gives 2.62)."""
        self.assertEqual(limit_price(250, 5, True), 263)
        self.assertEqual(limit_price(985, 10, True), 1084)
        self.assertEqual(limit_price(985, 10, False), 887)

    def test_board_limits(self) -> None:
        """Main board stocks move 10%, ST 5%, ChiNext and STAR 20%."""
        limits = {i.code: (i.upper, i.lower) for i in load_universe()}
        self.assertEqual(limits["600000"], (1084, 887))
        self.assertEqual(limits["600393"], (192, 174))  # ST: 5%
        self.assertEqual(limits["300750"], (29400, 19600))
        self.assertEqual(limits["688981"], (10567, 7045))

    def test_packaged_universe_has_every_board(self) -> None:
        """The packaged list holds dozens of stocks on both exchanges, every board, and ST names."""
        universe = list(load_universe())
        self.assertGreaterEqual(len(universe), 30)
        self.assertEqual({i.board.name for i in universe}, {"main", "chinext", "star"})
        self.assertEqual({i.exchange_id for i in universe}, {XTP_EXCHANGE_SH, XTP_EXCHANGE_SZ})
        self.assertGreaterEqual(sum(i.is_st for i in universe), 3)

    def test_stocks_restrict_universe(self) -> None:
        """[fake] stocks limits which stocks exist; the others cannot be subscribed."""
        backend, clock, listener = running(FakeConfig(stocks=("600000",)))
        backend.subscribe([(XTP_EXCHANGE_SH, "600036")])
        clock.advance(0)
        [(ticker, error, is_last)] = listener.named("subscribe_answer")
        self.assertIn("600036", error.error_msg)

    def test_custom_universe_file(self) -> None:
        """[fake] universe reads another CSV; an unknown board names the file and line."""
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write("code,name,board,pre_close\n600000,浦发银行,main,10.00\n")
        backend = FakeBackend(Clock(), FakeConfig(universe=path))
        self.assertEqual(len(backend.universe), 1)
        with open(path, "a", encoding="utf-8") as f:
            f.write("000001,平安银行,growth,11.00\n")
        error = self.assertRaises(ValueError, FakeBackend, Clock(), FakeConfig(universe=path))
        self.assertIn(f"{path}:3", str(error))

    def test_unknown_position_code(self) -> None:
        """A starting position in a stock outside the universe is a configuration error."""
        error = self.assertRaises(ValueError, FakeBackend, Clock(), FakeConfig(positions=(("999999", 100),)))
        self.assertIn("999999", str(error))


class MarketDataTests(TestCase):
    """Snapshots: shape, prices, determinism, subscriptions."""

    def collect(self, config: FakeConfig, tickers: list[Any], ticks: int) -> list[dict[str, Any]]:
        backend, clock, listener = running(config)
        backend.subscribe(tickers)
        clock.advance(0)
        for _ in range(ticks):
            clock.advance(config.interval)
        return listener.records("market_data")

    def test_snapshot_shape(self) -> None:
        """A snapshot has every XTPMarketDataStruct field, ten levels a side in lots of 100, no NaN."""
        [record] = self.collect(FakeConfig(), [SH600000], 0)
        self.assertEqual(set(record), set(MARKET_DATA_FIELDS))
        self.assertTrue(STK_KEYS <= set(record["stk"]))
        self.assertEqual((record["data_type"], record["data_type_v2"]), (0, 2))
        self.assertEqual((record["exchange_id"], record["ticker"]), SH600000)
        for side in ("bid", "ask", "bid_qty", "ask_qty"):
            self.assertEqual(len(record[side]), 10)
        self.assertTrue(all(q > 0 and q % 100 == 0 for q in record["bid_qty"] + record["ask_qty"]))
        self.assertEqual(record["ticker_status"], "T111")
        numbers = [v for v in record.values() if isinstance(v, float)]
        numbers += [v for v in record["stk"].values() if isinstance(v, float)]
        self.assertFalse(any(math.isnan(v) for v in numbers))
        self.assertEqual(record["data_time"], 20240102093000000)

    def test_prices_within_limits_on_tick(self) -> None:
        """Over many ticks every price is on the 0.01 tick and within the limit prices."""
        tickers = [SH600000, (1, "600393"), (2, "300750"), (1, "688981"), (2, "000656")]
        for record in self.collect(FakeConfig(interval=1.0), tickers, 300):
            low, high = record["lower_limit_price"], record["upper_limit_price"]
            prices = [record[k] for k in ("last_price", "open_price", "high_price", "low_price")]
            prices += [p for p in record["bid"] + record["ask"] if p]
            for price in prices:
                self.assertTrue(low <= price <= high, (record["ticker"], price))
                self.assertAlmostEqual(price * 100, round(price * 100), places=6)
            bids = [p for p in record["bid"] if p]
            asks = [p for p in record["ask"] if p]
            self.assertEqual(bids, sorted(bids, reverse=True))
            self.assertEqual(asks, sorted(asks))
            if bids and asks:
                self.assertLess(bids[0], asks[0])

    def test_cumulative_fields_grow(self) -> None:
        """Volume, turnover and trade count only grow, tick by tick."""
        records = self.collect(FakeConfig(), [SH600000], 20)
        for key in ("qty", "turnover", "trades_count", "data_time"):
            values = [r[key] for r in records]
            self.assertEqual(values, sorted(values))
            self.assertLess(values[0], values[-1])

    def test_same_seed_same_snapshots(self) -> None:
        """Two backends with the same seed and clock publish identical snapshots."""
        tickers = [SH600000, SZ000001]
        self.assertEqual(
            self.collect(FakeConfig(seed=5), tickers, 10), self.collect(FakeConfig(seed=5), tickers, 10)
        )

    def test_other_seed_other_snapshots(self) -> None:
        """A different seed gives different prices."""
        first = [r["last_price"] for r in self.collect(FakeConfig(seed=5), [SH600000], 10)]
        second = [r["last_price"] for r in self.collect(FakeConfig(seed=6), [SH600000], 10)]
        self.assertNotEqual(first, second)

    def test_streams_are_independent(self) -> None:
        """
        A stock's prices do not depend on what else is subscribed or on
        when it was subscribed.
        """
        alone = self.collect(FakeConfig(), [SH600000], 10)
        backend, clock, listener = running()
        backend.subscribe([SZ000001])
        for _ in range(4):
            clock.advance(3)
        backend.subscribe([SH600000])
        for _ in range(6):
            clock.advance(3)
        late = [r for r in listener.records("market_data") if r["ticker"] == "600000"]
        self.assertEqual(late, alone[4:])

    def test_refcounted_subscription(self) -> None:
        """Subscribed twice and unsubscribed once, a stock still ticks; after the second, it stops."""
        backend, clock, listener = running()
        backend.subscribe([SH600000])
        backend.subscribe([SH600000])
        clock.advance(0)
        self.assertEqual(len(listener.named("market_data")), 1)  # the current snapshot, once
        backend.unsubscribe([SH600000])
        del listener.events[:]
        clock.advance(3)
        self.assertEqual(len(listener.named("market_data")), 1)
        backend.unsubscribe([SH600000])
        del listener.events[:]
        clock.advance(3)
        self.assertEqual(listener.named("market_data"), [])

    def test_subscribe_answers(self) -> None:
        """Known tickers are answered without error, is_last on the last."""
        backend, clock, listener = running()
        backend.subscribe([SH600000, SZ000001])
        clock.advance(0)
        self.assertEqual(
            listener.named("subscribe_answer"), [(SH600000, None, False), (SZ000001, None, True)]
        )

    def test_unknown_ticker_subscribe_error(self) -> None:
        """An unknown ticker (or one on the wrong exchange) is answered by an error naming it."""
        backend, clock, listener = running()
        backend.subscribe([(XTP_EXCHANGE_SH, "600001"), (XTP_EXCHANGE_SZ, "600000")])
        clock.advance(0)
        answers = listener.named("subscribe_answer")
        self.assertEqual([(a[0], a[2]) for a in answers], [((1, "600001"), True), ((2, "600000"), True)])
        self.assertIn("600001", answers[0][1].error_msg)
        self.assertIn("600000", answers[1][1].error_msg)
        self.assertEqual(listener.named("market_data"), [])


class OrderTests(TestCase):
    """Orders: acceptance, fills against the book, cancels and rejections."""

    def test_events_are_not_synchronous(self) -> None:
        """insert_order returns an id at once; its events come on a later reactor turn."""
        backend, clock, listener = running()
        xtp_id = backend.insert_order(order("600000", 9.0, 100))
        self.assertIsInstance(xtp_id, int)
        self.assertEqual(listener.events, [])
        clock.advance(0)
        [(record, error)] = listener.named("order_event")
        self.assertEqual(record["order_xtp_id"], xtp_id)
        self.assertEqual(record["order_status"], XTP_ORDER_STATUS_NOTRADEQUEUEING)
        self.assertIsNone(error)
        self.assertEqual(set(record), set(ORDER_FIELDS))
        self.assertEqual(record["insert_time"], 20240102093000000)

    def test_buy_across_three_levels(self) -> None:
        """
        A buy for three ask levels' quantity fills level by level: the
        accepted event, three trades, then one ALLTRADED event (the real
        counter's order, XTP FAQ 242).
        """
        backend, clock, listener = running()
        book = backend.snapshot(SH600000)
        asks, sizes = book["ask"][:3], book["ask_qty"][:3]
        xtp_id = backend.insert_order(order("600000", asks[2], sum(sizes)))
        clock.advance(0)
        self.assertEqual([e[0] for e in listener.events], ["order_event"] + ["trade_event"] * 3 + ["order_event"])
        trades = listener.records("trade_event")
        self.assertEqual([(t["price"], t["quantity"]) for t in trades], list(zip(asks, sizes, strict=True)))
        self.assertEqual([t["report_index"] for t in trades], [1, 2, 3])
        self.assertEqual(len({t["exec_id"] for t in trades}), 3)
        for t in trades:
            self.assertEqual(set(t), set(TRADE_FIELDS) | set(FEE_KEYS))
            self.assertEqual(t["order_xtp_id"], xtp_id)
            self.assertAlmostEqual(t["trade_amount"], t["price"] * t["quantity"])
        [(accepted, _), (record, error)] = listener.named("order_event")
        self.assertEqual((accepted["order_status"], accepted["qty_left"]), (XTP_ORDER_STATUS_NOTRADEQUEUEING, sum(sizes)))
        self.assertEqual(record["order_status"], XTP_ORDER_STATUS_ALLTRADED)
        self.assertEqual((record["qty_traded"], record["qty_left"]), (sum(sizes), 0))
        self.assertAlmostEqual(record["trade_amount"], sum(t["trade_amount"] for t in trades))

    def test_liquidity_is_used_up(self) -> None:
        """Two orders on one snapshot do not get the same shares: the second queues."""
        backend, clock, listener = running()
        book = backend.snapshot(SH600000)
        first = backend.insert_order(order("600000", book["ask"][0], book["ask_qty"][0]))
        second = backend.insert_order(order("600000", book["ask"][0], book["ask_qty"][0]))
        clock.advance(0)
        self.assertEqual({t["order_xtp_id"] for t in listener.records("trade_event")}, {first})
        statuses = {r["order_xtp_id"]: r["order_status"] for r in listener.records("order_event")}
        self.assertEqual(
            statuses, {first: XTP_ORDER_STATUS_ALLTRADED, second: XTP_ORDER_STATUS_NOTRADEQUEUEING}
        )

    def test_used_up_levels_are_skipped(self) -> None:
        """
        On one snapshot, orders take the book level by level: after the best
        level is used up, a marketable order trades at the next levels, and
        only the shares still there.
        """
        backend, clock, listener = running()
        book = backend.snapshot(SH600000)
        asks, sizes = book["ask"], book["ask_qty"]
        backend.insert_order(order("600000", asks[0], sizes[0] - 100))
        second = backend.insert_order(order("600000", asks[1], 100 + sizes[1]))
        third = backend.insert_order(order("600000", asks[2], 100))
        clock.advance(0)
        fills = [(t["order_xtp_id"], t["price"], t["quantity"]) for t in listener.records("trade_event")]
        self.assertEqual(
            fills[1:], [(second, asks[0], 100), (second, asks[1], sizes[1]), (third, asks[2], 100)]
        )

    def test_partial_fill_then_later_fill(self) -> None:
        """
        A buy larger than the best level is accepted (one event), fills the
        level, and fills the rest at its limit when a later snapshot's ask
        reaches it; the only other order event is ALLTRADED.
        """
        backend, clock, listener = running()
        book = backend.snapshot(SH600000)
        price, size = book["ask"][0], book["ask_qty"][0]
        backend.insert_order(order("600000", price, size + 500))
        clock.advance(0)
        self.assertEqual([e[0] for e in listener.events], ["order_event", "trade_event"])
        accepted = listener.records("order_event")[0]
        self.assertEqual(accepted["order_status"], XTP_ORDER_STATUS_NOTRADEQUEUEING)
        self.assertEqual(accepted["qty_left"], size + 500)
        for _ in range(300):
            clock.advance(3)
            if len(listener.named("order_event")) > 1:
                break
        orders = listener.records("order_event")
        self.assertEqual([o["order_status"] for o in orders], [4, XTP_ORDER_STATUS_ALLTRADED])
        trades = listener.records("trade_event")
        self.assertEqual(sum(t["quantity"] for t in trades), size + 500)
        self.assertTrue(all(t["price"] == price for t in trades[1:]))
        self.assertGreater(trades[-1]["trade_time"], trades[0]["trade_time"])

    def test_cancel_partly_filled(self) -> None:
        """Cancelling a partly filled order gives PARTTRADEDNOTQUEUEING with qty_left the cancelled quantity."""
        backend, clock, listener = running()
        book = backend.snapshot(SH600000)
        xtp_id = backend.insert_order(order("600000", book["ask"][0], book["ask_qty"][0] + 500))
        clock.advance(0)
        cancel_id = backend.cancel_order(xtp_id)
        self.assertGreater(cancel_id, xtp_id)
        clock.advance(0)
        record, error = listener.named("order_event")[-1]
        self.assertIsNone(error)
        self.assertEqual(record["order_status"], XTP_ORDER_STATUS_PARTTRADEDNOTQUEUEING)
        self.assertEqual((record["qty_left"], record["qty_traded"]), (500, book["ask_qty"][0]))
        self.assertEqual(record["order_cancel_xtp_id"], cancel_id)
        self.assertEqual(record["order_submit_status"], XTP_ORDER_SUBMIT_STATUS_CANCEL_ACCEPTED)
        self.assertEqual(record["cancel_time"], 20240102093000000)
        [asset] = query(backend, clock, listener, "asset")
        self.assertEqual(asset["withholding_amount"], 0.0)

    def test_cancel_unfilled(self) -> None:
        """Cancelling an untouched queued order gives CANCELED with the whole quantity left."""
        backend, clock, listener = running()
        xtp_id = backend.insert_order(order("600000", 9.0, 300))
        backend.cancel_order(xtp_id)
        clock.advance(0)
        record, _ = listener.named("order_event")[-1]
        self.assertEqual((record["order_status"], record["qty_left"]), (XTP_ORDER_STATUS_CANCELED, 300))

    def test_cancel_finished_order(self) -> None:
        """Cancelling a filled order (or an unknown one) is answered by cancel_error."""
        backend, clock, listener = running()
        book = backend.snapshot(SH600000)
        xtp_id = backend.insert_order(order("600000", book["ask"][0], 100))
        clock.advance(0)
        cancel_id = backend.cancel_order(xtp_id)
        unknown_cancel = backend.cancel_order(12345)
        clock.advance(0)
        [(info, error), (unknown_info, unknown_error)] = listener.named("cancel_error")
        self.assertEqual(info, {"order_cancel_xtp_id": cancel_id, "order_xtp_id": xtp_id})
        self.assertIn("all traded", error.error_msg)
        self.assertEqual(unknown_info, {"order_cancel_xtp_id": unknown_cancel, "order_xtp_id": 12345})
        self.assertIn("12345", unknown_error.error_msg)
        self.assertEqual(len(listener.named("order_event")), 2)  # accepted, all traded

    def assertRejected(self, listener: RecordingListener, words: str) -> XTPError:
        [(record, error)] = listener.named("order_event")
        self.assertEqual(record["order_status"], XTP_ORDER_STATUS_REJECTED)
        self.assertEqual(record["order_submit_status"], XTP_ORDER_SUBMIT_STATUS_INSERT_REJECTED)
        self.assertEqual(record["qty_left"], record["quantity"])
        self.assertIsInstance(error, XTPError)
        self.assertIn(words, error.error_msg)
        self.assertEqual(listener.named("trade_event"), [])
        return error

    def test_insufficient_cash(self) -> None:
        """A buy costing more than the buying power is rejected."""
        backend, clock, listener = running(FakeConfig(cash=1000.0))
        backend.insert_order(order("600000", 9.85, 1000))
        clock.advance(0)
        error = self.assertRejected(listener, "insufficient funds")
        self.assertIn("1,000.00", error.error_msg)

    def test_odd_lot_buy(self) -> None:
        """A buy of 150 shares on the main board is rejected: lots of 100."""
        backend, clock, listener = running()
        backend.insert_order(order("600000", 9.85, 150))
        clock.advance(0)
        self.assertRejected(listener, "multiple of 100")

    def test_star_lots(self) -> None:
        """On the STAR market a buy needs 200 shares or more, in steps of one."""
        backend, clock, listener = running()
        backend.insert_order(order("688981", 88.06, 100))
        clock.advance(0)
        self.assertRejected(listener, "at least 200")
        del listener.events[:]
        backend.insert_order(order("688981", 80.00, 201))
        clock.advance(0)
        [(record, error)] = listener.named("order_event")
        self.assertEqual((record["order_status"], error), (XTP_ORDER_STATUS_NOTRADEQUEUEING, None))

    def test_sell_todays_purchase(self) -> None:
        """Shares bought today cannot be sold today (T+1)."""
        backend, clock, listener = running()
        book = backend.snapshot(SH600000)
        backend.insert_order(order("600000", book["ask"][0], 100))
        clock.advance(0)
        del listener.events[:]
        backend.insert_order(order("600000", book["bid"][0], 100, side=XTP_SIDE_SELL))
        clock.advance(0)
        self.assertRejected(listener, "next trading day")
        [position] = query(backend, clock, listener, "position")
        self.assertEqual((position["total_qty"], position["sellable_qty"]), (100, 0))

    def test_price_above_upper_limit(self) -> None:
        """A limit price above the upper limit price is rejected, naming the limit."""
        backend, clock, listener = running()
        backend.insert_order(order("600000", 10.85, 100))
        clock.advance(0)
        self.assertRejected(listener, "above the upper limit price 10.84")

    def test_price_off_tick(self) -> None:
        """A price that is not a multiple of 0.01 is rejected."""
        backend, clock, listener = running()
        backend.insert_order(order("600000", 9.855, 100))
        clock.advance(0)
        self.assertRejected(listener, "0.01")

    def test_unknown_ticker_order(self) -> None:
        """An order for a stock the counter does not know is rejected, naming it."""
        backend, clock, listener = running()
        backend.insert_order(order("600001", 9.85, 100))
        clock.advance(0)
        self.assertRejected(listener, "600001")

    def test_unsupported_price_types(self) -> None:
        """Option-only and exchange-specific price types are rejected with their name."""
        backend, clock, listener = running()
        backend.insert_order(order("600000", 0, 100, price_type=XTP_PRICE_LIMIT_OR_CANCEL))
        clock.advance(0)
        self.assertRejected(listener, "options")
        del listener.events[:]
        backend.insert_order(order("600000", 0, 100, price_type=XTP_PRICE_BEST_OR_CANCEL))
        clock.advance(0)
        self.assertRejected(listener, "BEST_OR_CANCEL is not offered for 600000 on SH")

    def test_best5_or_cancel(self) -> None:
        """BEST5_OR_CANCEL takes at most five levels and cancels the rest."""
        backend, clock, listener = running()
        book = backend.snapshot(SH600000)
        qty = sum(book["ask_qty"][:5]) + 1000
        backend.insert_order(order("600000", 0, qty, price_type=XTP_PRICE_BEST5_OR_CANCEL))
        clock.advance(0)
        trades = listener.records("trade_event")
        self.assertEqual([t["price"] for t in trades], book["ask"][:5])
        [_, (record, _)] = listener.named("order_event")
        self.assertEqual(record["order_status"], XTP_ORDER_STATUS_PARTTRADEDNOTQUEUEING)
        self.assertEqual(record["qty_left"], 1000)

    def test_all_or_cancel(self) -> None:
        """ALL_OR_CANCEL (Shenzhen) larger than the whole book trades nothing and is cancelled."""
        backend, clock, listener = running()
        book = backend.snapshot(SZ000001)
        qty = sum(book["ask_qty"]) + 100
        backend.insert_order(order("000001", 0, qty, price_type=XTP_PRICE_ALL_OR_CANCEL))
        clock.advance(0)
        self.assertEqual(listener.named("trade_event"), [])
        [_, (record, _)] = listener.named("order_event")
        self.assertEqual((record["order_status"], record["qty_left"]), (XTP_ORDER_STATUS_CANCELED, qty))

    def test_sell_holds_shares(self) -> None:
        """A queued sell holds its shares back from sellable; cancelling it gives them back."""
        backend, clock, listener = running(FakeConfig(positions=(("600000", 1000),)))
        xtp_id = backend.insert_order(order("600000", 10.84, 400, side=XTP_SIDE_SELL))
        [position] = query(backend, clock, listener, "position")
        self.assertEqual((position["total_qty"], position["sellable_qty"]), (1000, 600))
        self.assertEqual(set(position), set(POSITION_FIELDS))
        backend.cancel_order(xtp_id)
        [position] = query(backend, clock, listener, "position")
        self.assertEqual(position["sellable_qty"], 1000)


class OrderRecordTests(TestCase):
    def test_each_event_record_is_the_order_as_it_is(self) -> None:
        """
        An order's later records copy its last one and set what changed: at
        every step of its life the record shows the order's state, in the
        struct's field order, and an earlier record is never changed.
        """
        order = Blotter(1000).new_order(
            {"ticker": "600000", "market": 2, "price": 10.0, "quantity": 300, "price_type": 1, "side": 1}, 1
        )
        steps = [
            lambda: None,
            lambda: order.accept(2),
            lambda: order.fill(1000, 100, 3),
            lambda: setattr(order, "insert_time", 4),  # admitted again (a held order released)
            lambda: order.cancel(5, 2000),
        ]
        records = []
        for step in steps:
            step()
            records.append(order.to_record())
            self.assertEqual(tuple(records[-1]), ORDER_FIELDS)
            self.assertEqual(records[-1]["ticker"], "600000")
        changed = (
            "order_status", "order_submit_status", "qty_traded", "qty_left", "insert_time",
            "update_time", "cancel_time", "trade_amount", "order_cancel_xtp_id",
        )  # fmt: skip
        self.assertEqual(
            [tuple(r[field] for field in changed) for r in records],
            [
                (XTP_ORDER_STATUS_INIT, XTP_ORDER_SUBMIT_STATUS_INSERT_SUBMITTED, 0, 300, 1, 1, 0, 0.0, 0),
                (XTP_ORDER_STATUS_NOTRADEQUEUEING, XTP_ORDER_SUBMIT_STATUS_INSERT_ACCEPTED, 0, 300, 1, 2, 0, 0.0, 0),
                (XTP_ORDER_STATUS_PARTTRADEDQUEUEING, XTP_ORDER_SUBMIT_STATUS_INSERT_ACCEPTED, 100, 200, 1, 3, 0, 1000.0, 0),
                (XTP_ORDER_STATUS_PARTTRADEDQUEUEING, XTP_ORDER_SUBMIT_STATUS_INSERT_ACCEPTED, 100, 200, 4, 3, 0, 1000.0, 0),
                (XTP_ORDER_STATUS_PARTTRADEDNOTQUEUEING, XTP_ORDER_SUBMIT_STATUS_CANCEL_ACCEPTED, 100, 200, 4, 5, 5, 1000.0, 2000),
            ],
        )  # fmt: skip

    def test_a_days_records_are_compact(self) -> None:
        """
        The views keep every order record of the day: each takes well under
        half of what a 24-key dict of its own takes (the records share one
        table of keys), and is still an ordinary dict to every reader.
        """
        blotter = Blotter(1000)
        records = []
        for i in range(100):
            order = blotter.new_order(
                {"ticker": "600000", "market": 2, "price": 10.0, "quantity": 100, "price_type": 1, "side": 1}, i
            )
            records.append(order.to_record())
            order.accept(i + 1)
            records.append(order.to_record())
        alone = sys.getsizeof(dict(records[-1]))
        self.assertLess(max(sys.getsizeof(r) for r in records), alone / 2)
        self.assertEqual(json.loads(json.dumps(records[-1])), dict(records[-1]))
        self.assertEqual(marshal.loads(marshal.dumps(records[-1], 4)), records[-1])


class AccountTests(TestCase):
    """Money: fees, holds and the round trip."""

    def test_fee_schedule(self) -> None:
        """Commission 0.025% with a 5-yuan minimum, transfer fee 0.001%, stamp tax 0.05% on sells."""
        self.assertEqual(order_fee(XTP_SIDE_BUY, 972200), 510)
        self.assertEqual(order_fee(XTP_SIDE_SELL, 10_000_000), 2500 + 100 + 5000)
        self.assertEqual(order_fee(XTP_SIDE_BUY, 0), 0)

    def test_round_trip_costs_exactly_the_fees(self) -> None:
        """After a buy and a sell, cash is the start less what was bought, plus what was sold, less exactly the fees."""
        backend, clock, listener = running(FakeConfig(cash=100_000.0, positions=(("600000", 1000),)))
        backend.insert_order(order("600000", 10.84, 500))
        backend.insert_order(order("600000", 8.87, 500, side=XTP_SIDE_SELL))
        clock.advance(0)
        trades = listener.records("trade_event")
        bought = sum((money(t["trade_amount"]) for t in trades if t["side"] == XTP_SIDE_BUY), Decimal(0))
        sold = sum((money(t["trade_amount"]) for t in trades if t["side"] == XTP_SIDE_SELL), Decimal(0))
        fees = fee(bought, False) + fee(sold, True)
        [asset] = query(backend, clock, listener, "asset")
        self.assertEqual(set(asset), set(ASSET_FIELDS))
        self.assertEqual(money(asset["buying_power"]), Decimal("100000.00") - bought + sold - fees)
        self.assertEqual(money(asset["fund_buy_fee"]) + money(asset["fund_sell_fee"]), fees)
        self.assertEqual((money(asset["fund_buy_amount"]), money(asset["fund_sell_amount"])), (bought, sold))
        self.assertEqual(asset["withholding_amount"], 0.0)
        self.assertEqual(asset["total_asset"], asset["buying_power"])
        [position] = query(backend, clock, listener, "position")
        self.assertEqual((position["total_qty"], position["sellable_qty"]), (1000, 500))

    def test_buy_holds_cash(self) -> None:
        """A queued buy holds price x quantity plus fees; the buying power drops by that much."""
        backend, clock, listener = running(FakeConfig(cash=100_000.0))
        backend.insert_order(order("600000", 9.00, 1000))
        [asset] = query(backend, clock, listener, "asset")
        held = Decimal("9000.00") + fee(Decimal("9000.00"), False)
        self.assertEqual(money(asset["withholding_amount"]), held)
        self.assertEqual(money(asset["buying_power"]), Decimal("100000.00") - held)
        self.assertEqual(asset["total_asset"], 100_000.0)


class QueryTests(TestCase):
    """Query answers: one callback a record, is_last on the last, an empty answer."""

    def test_empty_answer(self) -> None:
        """With no orders, query_orders answers once with record None, no error and is_last."""
        backend, clock, listener = running()
        backend.query_orders(5)
        clock.advance(0)
        self.assertEqual(listener.named("query_answer"), [("order", 5, None, None, True)])

    def test_answers_match_events(self) -> None:
        """
        Order and trade queries answer every record, is_last on the last:
        each order as its latest event said, every trade as its event.
        """
        backend, clock, listener = running()
        book = backend.snapshot(SH600000)
        backend.insert_order(order("600000", book["ask"][1], book["ask_qty"][0] + book["ask_qty"][1]))
        backend.insert_order(order("600000", 9.00, 100))
        clock.advance(0)
        latest = {e["order_xtp_id"]: e for e in listener.records("order_event")}
        events = list(latest.values())
        trades = listener.records("trade_event")
        backend.query_orders(1)
        backend.query_trades(2)
        clock.advance(0)
        answers = listener.named("query_answer")
        self.assertEqual(
            [(a[0], a[1], a[4]) for a in answers],
            [("order", 1, False), ("order", 1, True), ("trade", 2, False), ("trade", 2, True)],
        )
        self.assertEqual([a[2] for a in answers[:2]], events)
        self.assertEqual([a[2] for a in answers[2:]], trades)

    def test_asset_and_positions(self) -> None:
        """query_asset answers one record; query_positions one per position, with the starting shares."""
        backend, clock, listener = running(FakeConfig(positions=(("600000", 1000), ("000001", 500))))
        [asset] = query(backend, clock, listener, "asset")
        self.assertEqual(asset["buying_power"], 1_000_000.0)
        positions = query(backend, clock, listener, "position")
        self.assertEqual(
            [
                (p["ticker"], p["market"], p["total_qty"], p["sellable_qty"], p["yesterday_position"])
                for p in positions
            ],
            [("600000", XTP_MKT_SH_A, 1000, 1000, 1000), ("000001", XTP_MKT_SZ_A, 500, 500, 500)],
        )


CODES = ("600000", "000001", "300059")
actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.sampled_from([XTP_SIDE_BUY, XTP_SIDE_SELL]),
            st.sampled_from(CODES),
            st.integers(-5, 5),
            st.integers(1, 30),
            st.sampled_from([XTP_PRICE_LIMIT, XTP_PRICE_BEST5_OR_CANCEL]),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 40)),
        st.tuples(st.just("tick"), st.integers(1, 5)),
    ),
    max_size=40,
)


class InvariantTests(TestCase):
    """Random order flows keep the account whole."""

    @given(actions)
    def test_random_orders_keep_account_whole(self, steps: list[tuple[Any, ...]]) -> None:
        """
        Any sequence of orders, cancels and ticks keeps cash, buying power and
        positions non-negative; once every order is final nothing is held back.
        """
        clock = Clock()
        clock.advance(T0)
        backend = FakeBackend(clock, FakeConfig(cash=50_000.0, positions=tuple((c, 1000) for c in CODES)))
        listener = RecordingListener()
        backend.start(listener)
        clock.advance(0)
        ids: list[int] = []
        for step in steps:
            if step[0] == "order":
                _, side, code, offset, lots, price_type = step
                ticker = (XTP_EXCHANGE_SH if code.startswith("6") else XTP_EXCHANGE_SZ, code)
                snap = backend.snapshot(ticker)
                price = min(
                    snap["upper_limit_price"],
                    max(snap["lower_limit_price"], round(snap["last_price"] + offset / 100, 2)),
                )
                ids.append(backend.insert_order(order(code, price, lots * 100, side, price_type)))
            elif step[0] == "cancel" and ids:
                backend.cancel_order(ids[step[1] % len(ids)])
            elif step[0] == "tick":
                clock.advance(3 * step[1])
            clock.advance(0)
            account = backend.account
            self.assertGreaterEqual(account.balance, 0)
            self.assertGreaterEqual(account.buying_power, 0)
            for position in account.positions.values():
                self.assertGreaterEqual(position.total, 0)
                self.assertGreaterEqual(position.sellable, 0)
        for xtp_id in ids:
            backend.cancel_order(xtp_id)
        clock.advance(0)
        self.assertEqual(backend.account.withholding, 0)
        self.assertEqual(backend.account.buying_power, backend.account.balance)
        for position in backend.account.positions.values():
            self.assertEqual(position.frozen, 0)
            self.assertEqual(position.sellable, position.yesterday - position.sold)
        final = {}
        for record, _ in listener.named("order_event"):
            final[record["order_xtp_id"]] = record["order_status"]
        self.assertEqual(set(final), set(ids))
        self.assertTrue(all(s in (1, 3, 5, 6) for s in final.values()))
        bought = sum(t["quantity"] for t in listener.records("trade_event") if t["side"] == XTP_SIDE_BUY)
        self.assertEqual(bought, sum(p.bought for p in backend.account.positions.values()))
