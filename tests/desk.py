"""
The contract suite's desk: a gateway in front of a counter, driven as a
client drives it (L{Desk}), with every event the counter sends noted on its
way (L{Tap}), and the hooks a contract subclass provides (L{ContractBase}).
See L{tests.contract}.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Protocol

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from ofx.backends.interface import IBackendListener, IXTPBackend, Record, Ticker, XTPError
from tests.harness import OPEN, Gateway

START = OPEN  # 2026-11-24 10:00 Beijing time, a Tuesday in continuous trading
CASH = Decimal("1000000.00")
POSITIONS = (("600000", 1000), ("000001", 1050))
Event = tuple[str, tuple[Any, ...]]
Convert = Callable[[str, tuple[Any, ...]], tuple[Any, ...]]

# Order statuses and the error ids a counter answers with (the real XTP ids).
ALLTRADED, PARTTRADEDQUEUEING, PARTCANCELLED, QUEUEING, CANCELLED, REJECTED = 1, 2, 3, 4, 5, 6
FINAL = {ALLTRADED, PARTCANCELLED, CANCELLED, REJECTED}
BAD_LOT, INSUFFICIENT_FUNDS, INSUFFICIENT_SHARES, PRICE_LIMIT = 11010111, 11010120, 11010121, 11010122
BAD_PRICE_TYPE, UNKNOWN_ORDER, ORDER_FINISHED = 11000109, 11000305, 11000343


@implementer(IBackendListener)
class TapListener:
    """Forwards every event to the gateway, after noting it (and converting it, if asked)."""

    def __init__(self, listener: IBackendListener, log: list[Event], convert: Convert | None) -> None:
        self._listener = listener
        self._log = log
        self._convert = convert

    def _pass(self, name: str, *args: Any) -> None:
        if self._convert is not None:
            args = self._convert(name, args)
        self._log.append((name, args))
        getattr(self._listener, name)(*args)

    def session_changed(self, session: str, up: bool, reason: str) -> None:
        self._pass("session_changed", session, up, reason)

    def market_data(self, record: Record) -> None:
        self._pass("market_data", record)

    def subscribe_answer(self, ticker: Ticker, error: XTPError | None, is_last: bool) -> None:
        self._pass("subscribe_answer", ticker, error, is_last)

    def order_event(self, record: Record, error: XTPError | None) -> None:
        self._pass("order_event", record, error)

    def trade_event(self, record: Record) -> None:
        self._pass("trade_event", record)

    def cancel_error(self, record: Record, error: XTPError) -> None:
        self._pass("cancel_error", record, error)

    def query_answer(
        self, kind: str, request_id: int, record: Record | None, error: XTPError | None, is_last: bool
    ) -> None:
        self._pass("query_answer", kind, request_id, record, error, is_last)


@implementer(IXTPBackend)
class Tap:
    """A counter whose events (and subscribe calls) are noted on their way to the gateway."""

    def __init__(self, backend: IXTPBackend, convert: Convert | None = None) -> None:
        self.backend = backend
        self.kind = backend.kind
        self.events: list[Event] = []
        self.subscribed: list[Ticker] = []
        self._convert = convert

    def start(self, listener: IBackendListener) -> None:
        self.backend.start(TapListener(listener, self.events, self._convert))

    def stop(self) -> Any:
        return self.backend.stop()

    def is_up(self, session: str) -> bool:
        return self.backend.is_up(session)

    def trading_day(self) -> str:
        return self.backend.trading_day()

    def subscribe(self, tickers: Sequence[Ticker]) -> None:
        self.subscribed.extend(tickers)
        self.backend.subscribe(tickers)

    def unsubscribe(self, tickers: Sequence[Ticker]) -> None:
        self.backend.unsubscribe(tickers)

    def insert_order(self, order: Record) -> int:
        return self.backend.insert_order(order)

    def cancel_order(self, order_xtp_id: int) -> int:
        return self.backend.cancel_order(order_xtp_id)

    def query_asset(self, request_id: int) -> None:
        self.backend.query_asset(request_id)

    def query_positions(self, request_id: int) -> None:
        self.backend.query_positions(request_id)

    def query_orders(self, request_id: int) -> None:
        self.backend.query_orders(request_id)

    def query_trades(self, request_id: int) -> None:
        self.backend.query_trades(request_id)

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for event, args in self.events if event == name]


class MarketDriver(Protocol):
    """How a contract test moves a counter's market."""

    def advance(self, seconds: float) -> None:
        """Let C{seconds} pass (the counter's events of that time arrive)."""

    def set_book(
        self, code: str, bids: Sequence[tuple[float, int]], asks: Sequence[tuple[float, int]]
    ) -> None:
        """The stock's book becomes this now; raise SkipTest where it cannot."""


def market_of(code: str) -> str:
    return "SH" if code.startswith("6") else "SZ"


class Desk:
    """One gateway in front of one counter, used as a client uses it."""

    def __init__(
        self,
        test: TestCase,
        backend: IXTPBackend,
        clock: Clock,
        convert: Convert | None = None,
        folder: str | None = None,
    ) -> None:
        self.clock = clock
        self.tap = Tap(backend, convert)
        self.gw = Gateway(test, backend=self.tap, clock=clock, folder=folder)
        self.clock.advance(0)

    def ask(self, port: str, cmd: int, params: Any = None) -> Any:
        return self.gw.ask(port, cmd, params)

    def settle(self) -> None:
        """Let the counter's pending events arrive."""
        self.clock.advance(0)

    def quote(self, code: str) -> Record:
        """The stock's latest snapshot, through 110001 and 100001."""
        stock = {"code": code, "market": market_of(code)}
        self.ask("quote", 110001, [stock])
        self.settle()
        answer = self.ask("quote", 100001, stock)
        assert answer["stat"] == 200, answer
        return answer

    def order(self, code: str, price: float, quantity: int, side: int = 1, price_type: int = 1) -> int:
        """Place an order with 210005; its order_xtp_id (the counter's events have arrived)."""
        params = {"ticker": code, "market": market_of(code), "price": price, "quantity": quantity,
                  "side": side, "price_type": price_type}  # fmt: skip
        answer = self.ask("trade", 210005, params)
        assert answer["stat"] == 200, answer
        self.settle()
        return int(answer["order_xtp_id"])

    def cancel(self, order_xtp_id: int) -> int:
        answer = self.ask("trade", 210006, {"order_xtp_id": str(order_xtp_id)})
        assert answer["stat"] == 200, answer
        self.settle()
        return int(answer["order_cancel_xtp_id"])

    def order_events(self, code: str, order_xtp_id: int | None = None) -> list[Record]:
        events = self.ask("trade", 200001, {"code": code, "market": market_of(code)})
        return [e for e in events if order_xtp_id is None or e["order_xtp_id"] == order_xtp_id]

    def trades(self, code: str, order_xtp_id: int | None = None) -> list[Record]:
        trades = self.ask("trade", 200002, {"code": code, "market": market_of(code)})
        return [t for t in trades if order_xtp_id is None or t["order_xtp_id"] == order_xtp_id]

    def answer(self, request: int, read: int) -> Any:
        """Send a request (210001..210004), let the counter answer, read it (200003..200006)."""
        asked = self.ask("trade", request)
        self.settle()
        if read == 200003:
            return self.ask("trade", read)
        return self.ask("trade", read, {"reqid": asked["reqid"]})

    def asset(self) -> Record:
        return self.answer(210001, 200003)

    def positions(self) -> dict[str, Record]:
        return {p["ticker"]: p for p in self.answer(210002, 200004)}


def money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def default_fees(side: int, amount: Decimal) -> Decimal:
    """Commission 0.025 % (at least 5 yuan), transfer fee 0.001 %, stamp tax 0.05 % on sells."""
    cent = Decimal("0.01")
    fees = max(Decimal(5), (amount * Decimal("0.00025")).quantize(cent, ROUND_HALF_UP))
    fees += (amount * Decimal("0.00001")).quantize(cent, ROUND_HALF_UP)
    if side == 2:
        fees += (amount * Decimal("0.0005")).quantize(cent, ROUND_HALF_UP)
    return fees


if TYPE_CHECKING:
    _Case = TestCase
else:
    _Case = object


class ContractBase(_Case):
    """The hooks and helpers of the contract (see L{tests.contract}), mixed into a TestCase."""

    desk: Desk

    def make_backend(self, clock: Clock) -> IXTPBackend:
        raise NotImplementedError

    def convert(self) -> Convert | None:
        """How records change on their way to the gateway (None: they do not)."""
        return None

    def market(self) -> MarketDriver:
        raise NotImplementedError

    def expected_fees(self, side: int, amount: Decimal) -> Decimal:
        """What the counter charges an order that traded C{amount} yuan."""
        return default_fees(side, amount)

    def new_desk(self) -> Desk:
        clock = Clock()
        clock.advance(START)
        assert isinstance(self, TestCase)
        self.desk = Desk(self, self.make_backend(clock), clock, self.convert())
        return self.desk

    def rejected(self, code: str, xtp_id: int) -> tuple[Record, XTPError]:
        """The one event of a rejected order, from 200001 and from the counter."""
        assert isinstance(self, TestCase)
        [event] = self.desk.order_events(code, xtp_id)
        self.assertEqual(event["order_status"], REJECTED)
        self.assertEqual(event["qty_left"], event["quantity"])
        [(record, error)] = [a for a in self.desk.tap.named("order_event") if a[0]["order_xtp_id"] == xtp_id]
        self.assertIsNotNone(error)
        self.assertEqual((event["error_id"], event["error_msg"]), (error.error_id, error.error_msg))
        return event, error
