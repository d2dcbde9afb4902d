"""
L{FakeBackend}: the simulated counter behind L{IXTPBackend}.

It wires the parts to a clock: the L{Market} moves on every C{interval}
seconds, the L{Matcher} fills orders against it, the L{Account} keeps the
money and the L{Blotter} the records. Calls change state at once; what the
listener hears goes through one outbox delivered by C{callLater(0)}, so no
event arrives inside the call that caused it and events keep their order
(a real reactor does not promise FIFO among equal-time delayed calls).

Everything follows from C{[fake] seed} and the clock: no wall time, no sleep.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from ofx.backends.fake import errors
from ofx.backends.fake.account import Account
from ofx.backends.fake.market import Market
from ofx.backends.fake.matching import Matcher
from ofx.backends.fake.orders import Blotter, Order
from ofx.backends.fake.rules import Rejected, validate, worst_price
from ofx.backends.fake.timestamps import trading_day, xtp_time
from ofx.backends.fake.universe import Instrument, load_universe
from ofx.backends.interface import (
    QUOTE_SESSION,
    TRADE_SESSION,
    BackendError,
    IBackendListener,
    IXTPBackend,
    Record,
    Ticker,
)
from ofx.config import FakeConfig
from ofx.xtp_types import (
    NAME_BY_EXCHANGE,
    XTP_ORDER_STATUS_ALLTRADED,
    XTP_ORDER_STATUS_CANCELED,
    XTP_ORDER_STATUS_PARTTRADEDNOTQUEUEING,
    XTP_ORDER_STATUS_REJECTED,
)

_STATUS_WORDS = {
    XTP_ORDER_STATUS_ALLTRADED: "all traded",
    XTP_ORDER_STATUS_PARTTRADEDNOTQUEUEING: "partly traded and cancelled",
    XTP_ORDER_STATUS_CANCELED: "cancelled",
    XTP_ORDER_STATUS_REJECTED: "rejected",
}
_REQUIRED_FIELDS: dict[str, tuple[type, ...]] = {
    "ticker": (str,),
    "market": (int,),
    "price": (int, float),
    "quantity": (int,),
    "price_type": (int,),
    "side": (int,),
}
_OPTIONAL_INT_FIELDS = ("order_client_id", "business_type", "position_effect", "reserved1", "reserved2")


def check_order_shape(order: Any) -> None:
    """
    Raise L{BackendError} for a record XTP could not even send (where
    C{InsertOrder} returns 0); business rules are answered by order events.
    """

    def bad(message: str) -> BackendError:
        return BackendError(errors.error(errors.BAD_RECORD, message))

    if not isinstance(order, dict):
        raise bad(f"an order must be a record, got {type(order).__name__}")
    for name, types in _REQUIRED_FIELDS.items():
        if name not in order:
            raise bad(f"order record lacks {name!r}")
        value = order[name]
        if isinstance(value, bool) or not isinstance(value, types):
            kind = "a string" if types == (str,) else "a number" if float in types else "an integer"
            raise bad(f"order field {name!r} must be {kind}, got {value!r}")
    if not math.isfinite(order["price"]):
        raise bad(f"order field 'price' must be finite, got {order['price']!r}")
    for name in _OPTIONAL_INT_FIELDS:
        value = order.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad(f"order field {name!r} must be a non-negative integer, got {value!r}")


def _ticker_text(ticker: Any) -> str:
    """C{600000 on SH} for a well-formed ticker, its repr otherwise."""
    try:
        exchange_id, code = ticker
    except (TypeError, ValueError):
        return repr(ticker)
    return f"{code} on {NAME_BY_EXCHANGE.get(exchange_id, f'exchange {exchange_id}')}"


@implementer(IXTPBackend)
class FakeBackend:
    """
    An in-process counter: seeded market data, a matching engine against the
    simulated book, and a cash account with T+1 positions.

    C{clock} provides C{IReactorTime} (C{task.Clock} in tests). Subscriptions
    are dropped on L{stop}, as logging out of XTP drops them; orders and the
    account live as long as the backend.
    """

    kind = "fake"
    log = Logger()

    def __init__(self, clock: IReactorTime, config: FakeConfig) -> None:
        self._clock = clock
        self.config = config
        self.universe = load_universe(config.universe, config.stocks)
        now = clock.seconds()
        self.market = Market(self.universe, config.seed, xtp_time(now))
        self.account = Account(round(config.cash * 100), self._starting_positions(config))
        self.blotter = Blotter(first_id=int(trading_day(now)) * 1_000_000_000)
        self.matcher = Matcher()
        self._listener: IBackendListener | None = None
        self._up = {QUOTE_SESSION: False, TRADE_SESSION: False}
        self._subscriptions: dict[str, int] = {}
        self._outbox: deque[tuple[str, tuple[Any, ...]]] = deque()
        self._flush_call: IDelayedCall | None = None
        self._login_call: IDelayedCall | None = None
        self._ticker: LoopingCall | None = None

    def _starting_positions(self, config: FakeConfig) -> list[tuple[Instrument, int]]:
        quantities: dict[str, tuple[Instrument, int]] = {}
        for code, qty in config.positions:
            instrument = self.universe.get(code)
            if instrument is None:
                raise ValueError(f"[fake] positions: {code} is not in the fake counter's universe")
            quantities[code] = (instrument, quantities.get(code, (instrument, 0))[1] + qty)
        return [(instrument, qty) for instrument, qty in quantities.values() if qty > 0]

    # -- events ---------------------------------------------------------

    def _emit(self, name: str, *args: Any) -> None:
        self._outbox.append((name, args))
        if self._flush_call is None:
            self._flush_call = self._clock.callLater(0, self._flush)

    def _flush(self) -> None:
        self._flush_call = None
        batch = list(self._outbox)
        self._outbox.clear()
        for name, args in batch:
            self._deliver(name, args)

    def _deliver(self, name: str, args: tuple[Any, ...]) -> None:
        if self._listener is None:
            return
        try:
            getattr(self._listener, name)(*args)
        except Exception:
            self.log.failure("fake counter: listener failed on {name}", name=name)

    def _now(self) -> int:
        return xtp_time(self._clock.seconds())

    # -- sessions -------------------------------------------------------

    def start(self, listener: IBackendListener) -> None:
        """Log both sessions in on the next reactor turn."""
        self._listener = listener
        if self._login_call is None and not any(self._up.values()):
            self._login_call = self._clock.callLater(0, self._log_in)

    def _log_in(self) -> None:
        self._login_call = None
        for session in (QUOTE_SESSION, TRADE_SESSION):
            self._up[session] = True
            self._emit("session_changed", session, True, f"{session} session logged in to the fake counter")
        self._ticker = LoopingCall.withCount(self._on_tick)
        self._ticker.clock = self._clock
        self._ticker.start(self.config.interval, now=False)

    def stop(self) -> None:
        """
        Stop the market, deliver what is pending, then report both sessions
        down, all before returning; nothing stays scheduled.
        """
        if self._login_call is not None:
            self._login_call.cancel()
            self._login_call = None
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()
        self._ticker = None
        if self._flush_call is not None:
            self._flush_call.cancel()
            self._flush()
        self._subscriptions.clear()
        for session in (QUOTE_SESSION, TRADE_SESSION):
            if self._up[session]:
                self._up[session] = False
                self._deliver("session_changed", (session, False, f"{session} session logged out"))

    def is_up(self, session: str) -> bool:
        return self._up.get(session, False)

    def trading_day(self) -> str:
        return trading_day(self._clock.seconds())

    def _require(self, session: str) -> None:
        if not self._up[session]:
            raise BackendError(
                errors.error(errors.NOT_LOGGED_IN, f"the fake counter's {session} session is not logged in")
            )

    # -- market data ----------------------------------------------------

    def subscribe(self, tickers: Sequence[Ticker]) -> None:
        """
        Count a subscription per ticker and answer each; a new subscription
        also gets the current snapshot, as XTP pushes one on subscribing.
        """
        self._require(QUOTE_SESSION)
        known = []
        for ticker in tickers:
            instrument = self._instrument(ticker)
            if instrument is None:
                error = errors.error(errors.UNKNOWN_TICKER, f"unknown ticker {_ticker_text(ticker)}")
                self._emit("subscribe_answer", ticker, error, True)
            else:
                known.append((ticker, instrument))
        fresh = []
        for i, (ticker, instrument) in enumerate(known):
            count = self._subscriptions.get(instrument.code, 0)
            self._subscriptions[instrument.code] = count + 1
            if count == 0:
                fresh.append(instrument)
            self._emit("subscribe_answer", ticker, None, i == len(known) - 1)
        for instrument in fresh:
            self._emit("market_data", self.market.snapshot(instrument).to_record())

    def unsubscribe(self, tickers: Sequence[Ticker]) -> None:
        """Drop one subscription per ticker; the stock stops when none is left."""
        self._require(QUOTE_SESSION)
        for ticker in tickers:
            instrument = self._instrument(ticker)
            if instrument is None or instrument.code not in self._subscriptions:
                continue
            self._subscriptions[instrument.code] -= 1
            if self._subscriptions[instrument.code] == 0:
                del self._subscriptions[instrument.code]

    def _instrument(self, ticker: Any) -> Instrument | None:
        try:
            exchange_id, code = ticker
        except (TypeError, ValueError):
            return None
        if not isinstance(exchange_id, int) or not isinstance(code, str):
            return None
        return self.universe.by_exchange(exchange_id, code)

    def snapshot(self, ticker: Ticker) -> Record:
        """
        The current snapshot of a stock, without subscribing: an inspection
        aid for tests and the console, not part of L{IXTPBackend}.
        """
        instrument = self._instrument(ticker)
        if instrument is None:
            raise KeyError(ticker)
        return self.market.snapshot(instrument).to_record()

    def _on_tick(self, count: int) -> None:
        """Every interval: move the market, publish, then let resting orders trade."""
        now = self._now()
        self.market.advance(count, now)
        for code in self._subscriptions:
            instrument = self.universe.get(code)
            assert instrument is not None
            self._emit("market_data", self.market.snapshot(instrument).to_record())
        for code in self.matcher.resting_codes():
            instrument = self.universe.get(code)
            assert instrument is not None
            for order, (price, qty) in self.matcher.on_snapshot(self.market.snapshot(instrument)):
                self._fill(order, price, qty, now)
                if order.is_final:
                    self._emit("order_event", order.to_record(), None)

    # -- orders ---------------------------------------------------------

    def insert_order(self, order: Record) -> int:
        """
        Accept, reject or fill an order now; the listener hears about it on
        the next reactor turn.
        """
        self._require(TRADE_SESSION)
        check_order_shape(order)
        now = self._now()
        o = self.blotter.new_order(order, now)
        try:
            instrument, rule = validate(o, self.universe, self.account.sellable)
            o.instrument = instrument
            o.limit = worst_price(o, instrument, rule)
            refusal = self.account.check(o)
            if refusal is not None:
                raise Rejected(refusal)
        except Rejected as r:
            o.reject(now)
            self._emit("order_event", o.to_record(), r.error)
            return o.xtp_id
        o.accept(now)
        self.account.hold(o)
        arrival = self.matcher.arrive(o, rule, self.market.snapshot(instrument))
        filled = sum(qty for _, qty in arrival.fills)
        if arrival.rest_at is not None and filled < o.quantity:
            self._emit("order_event", o.to_record(), None)  # queued: acceptance first
        for price, qty in arrival.fills:
            self._fill(o, price, qty, now)
        if not o.is_final:
            if arrival.rest_at is None:
                o.cancel(now)
                self.account.hold(o)
            else:
                o.limit = arrival.rest_at
                self.account.hold(o)
                self.matcher.rest(o)
        if o.is_final:
            self._emit("order_event", o.to_record(), None)
        return o.xtp_id

    def _fill(self, order: Order, price: int, qty: int, now: int) -> None:
        order.fill(price, qty, now)
        self.account.fill(order, price, qty)
        self._emit("trade_event", self.blotter.add_trade(order, price, qty, now))
        if order.is_final:
            self.matcher.remove(order)

    def cancel_order(self, order_xtp_id: int) -> int:
        """Cancel a live order, or answer C{cancel_error} for one that is not."""
        self._require(TRADE_SESSION)
        cancel_id = self.blotter.next_id()
        order = self.blotter.get(order_xtp_id)
        info = {"order_cancel_xtp_id": cancel_id, "order_xtp_id": order_xtp_id}
        if order is None:
            why = errors.error(errors.UNKNOWN_ORDER, f"no order {order_xtp_id} today")
            self._emit("cancel_error", info, why)
        elif not order.is_live:
            words = _STATUS_WORDS.get(order.status, f"in status {order.status}")
            why = errors.error(errors.ORDER_FINISHED, f"order {order_xtp_id} is already {words}")
            self._emit("cancel_error", info, why)
        else:
            self.matcher.remove(order)
            order.cancel(self._now(), cancel_id)
            self.account.hold(order)
            self._emit("order_event", order.to_record(), None)
        return cancel_id

    # -- queries --------------------------------------------------------

    def _answer(self, kind: str, request_id: int, build: Callable[[], list[Record]]) -> None:
        """Answer a query with the records as they are now: one callback each, is_last on the last."""
        self._require(TRADE_SESSION)
        records = build()
        if not records:
            self._emit("query_answer", kind, request_id, None, None, True)
        for i, record in enumerate(records):
            self._emit("query_answer", kind, request_id, record, None, i == len(records) - 1)

    def query_asset(self, request_id: int) -> None:
        self._answer("asset", request_id, lambda: [self.account.asset_record()])

    def query_positions(self, request_id: int) -> None:
        def last(instrument: Instrument) -> int:
            return self.market.snapshot(instrument).last

        self._answer("position", request_id, lambda: self.account.position_records(last))

    def query_orders(self, request_id: int) -> None:
        self._answer("order", request_id, lambda: [o.to_record() for o in self.blotter.orders])

    def query_trades(self, request_id: int) -> None:
        self._answer("trade", request_id, lambda: [dict(t) for t in self.blotter.trades])
