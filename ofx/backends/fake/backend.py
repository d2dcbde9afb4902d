"""
L{FakeBackend}: the simulated counter behind L{IXTPBackend}.

It wires the parts to a clock: the market source (the random walk or a
replayed recording) and the trading phases (L{Sessions}) move on through
one timer (L{Clockwork}), the L{Exchange} runs orders against both, the
L{Account} keeps the money and the L{Blotter} the records. Calls change
state at once; what the listener hears goes through one outbox delivered by
C{callLater(0)}, so no event arrives inside the call that caused it and
events keep their order (a real reactor does not promise FIFO among
equal-time delayed calls). Everything follows from the configuration and
the clock: no wall time, no sleep.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import attr
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from zope.interface import implementer

from ofx.backends.fake import errors
from ofx.backends.fake.account import Account
from ofx.backends.fake.clockwork import Clockwork
from ofx.backends.fake.exchange import Exchange
from ofx.backends.fake.fees import FeeSchedule
from ofx.backends.fake.orders import Blotter, Order
from ofx.backends.fake.restore import JournalEntry, restore
from ofx.backends.fake.sessions import Phase, Sessions
from ofx.backends.fake.shape import check_order_shape, ticker_text
from ofx.backends.fake.source import build_source
from ofx.backends.fake.timestamps import trading_day, xtp_time
from ofx.backends.fake.universe import Instrument
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
from ofx.xtp_types import EXCHANGE_BY_NAME

__all__ = ["FakeBackend", "check_order_shape"]


@implementer(IXTPBackend)
class FakeBackend:
    """
    An in-process counter: a simulated (or replayed) market, an exchange
    with its trading day, and a cash account with T+1 positions.

    C{clock} provides C{IReactorTime} (C{task.Clock} in tests). Subscriptions
    are dropped on L{stop}, as logging out of XTP drops them; orders and the
    account live as long as the backend.
    """

    kind = "fake"
    log = Logger()

    def __init__(self, clock: IReactorTime, config: FakeConfig) -> None:
        self._clock = clock
        self.config = config
        now = clock.seconds()
        self.source = build_source(config, now)
        self.universe = self.source.universe
        self.sessions = Sessions(config.always_open, config.holidays)
        fees = FeeSchedule.from_config(
            config.commission, config.min_commission, config.stamp_tax, config.transfer_fee
        )
        self.account = Account(round(config.cash * 100), self._starting_positions(config), fees)
        self.blotter = Blotter(first_id=int(trading_day(now)) * 1_000_000_000)
        self.exchange = Exchange(
            self.universe, self.source, self.account, self.blotter, self.sessions, self._emit
        )
        self._listener: IBackendListener | None = None
        self._up = {QUOTE_SESSION: False, TRADE_SESSION: False}
        self._subscriptions: dict[str, int] = {}
        self._outbox: deque[tuple[str, tuple[Any, ...]]] = deque()
        self._flush_call: IDelayedCall | None = None
        self._login_call: IDelayedCall | None = None
        self.clockwork = Clockwork(clock, self.sessions, self.source, self.exchange, self._publish)
        self._again: list[Order] = []

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
        again, self._again = self._again, []
        for order in again:
            self.exchange.admit(order, self._clock.seconds())
        self.clockwork.start()

    def restore(self, entries: Iterable[JournalEntry]) -> None:
        """
        Rebuild today's orders, trades and account from the gateway's
        journal (L{ofx.backends.fake.restore}); call it before L{start}.
        Not part of L{IXTPBackend}: a real counter keeps its own state.
        """
        self._again.extend(restore(self.exchange, entries))

    def stop(self) -> None:
        """
        Stop the market, deliver what is pending, then report both sessions
        down, all before returning; nothing stays scheduled.
        """
        if self._login_call is not None and self._login_call.active():
            self._login_call.cancel()
        self._login_call = None
        self.clockwork.stop()
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
            error_id = errors.QUOTE_NOT_LOGGED_IN if session == QUOTE_SESSION else errors.TRADE_NOT_LOGGED_IN
            raise BackendError(
                errors.error(error_id, f"the fake counter's {session} session is not logged in")
            )

    def _publish(self, codes: Collection[str] | None, phase: Phase) -> None:
        """Snapshots of the subscribed stocks among C{codes} (None: all), as shown in C{phase}."""
        for code in self._subscriptions:
            if codes is None or code in codes:
                self._emit("market_data", self.source.view(self._known(code), phase).to_record())

    def _known(self, code: str) -> Instrument:
        instrument = self.universe.get(code)
        assert instrument is not None
        return instrument

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
                exchange_id = ticker[0] if isinstance(ticker, tuple) and ticker else None
                error_id = (
                    errors.SUBSCRIBE_UNKNOWN_TICKER
                    if exchange_id in EXCHANGE_BY_NAME.values()
                    else errors.SUBSCRIBE_BAD_EXCHANGE
                )
                self._emit("subscribe_answer", ticker, errors.error(error_id, ticker_text(ticker)), True)
            else:
                known.append((ticker, instrument))
        fresh = []
        for i, (ticker, instrument) in enumerate(known):
            count = self._subscriptions.get(instrument.code, 0)
            self._subscriptions[instrument.code] = count + 1
            if count == 0:
                fresh.append(instrument)
            self._emit("subscribe_answer", ticker, None, i == len(known) - 1)
        phase = self.sessions.phase(self._clock.seconds())
        for instrument in fresh:
            self._emit("market_data", self.source.view(instrument, phase).to_record())

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
        The stock's snapshot as the exchange shows it now, without
        subscribing: an inspection aid for tests and the console, not part
        of L{IXTPBackend}.
        """
        instrument = self._instrument(ticker)
        if instrument is None:
            raise KeyError(ticker)
        return self.source.view(instrument, self.sessions.phase(self._clock.seconds())).to_record()

    def inject_book(
        self, ticker: Ticker, bids: Sequence[tuple[float, int]], asks: Sequence[tuple[float, int]]
    ) -> Record:
        """
        A test and demo aid, not part of L{IXTPBackend}: from now until the
        market's next change the stock's book is C{bids} and C{asks}
        (C{(price, quantity)}, best first). The new snapshot is published to
        subscribers and, in continuous trading, queued orders trade through it.
        """
        instrument = self._instrument(ticker)
        if instrument is None:
            raise KeyError(ticker)
        seconds = self._clock.seconds()

        def levels(given: Sequence[tuple[float, int]]) -> tuple[tuple[int, int], ...]:
            result = tuple((round(price * 100), int(qty)) for price, qty in given)
            for price, qty in result:
                if not instrument.lower <= price <= instrument.upper or qty <= 0:
                    raise ValueError(f"level {price / 100:.2f} x {qty} is outside the limits or empty")
            return result

        current = self.source.snapshot(instrument)
        self.source.replace(
            attr.evolve(current, bids=levels(bids), asks=levels(asks), data_time=xtp_time(seconds))
        )
        phase = self.sessions.phase(seconds)
        self._publish([instrument.code], phase)
        if phase is Phase.CONTINUOUS:
            self.exchange.trade([instrument.code], seconds)
        return self.source.view(instrument, phase).to_record()

    # -- orders ---------------------------------------------------------

    def insert_order(self, order: Record) -> int:
        """
        Accept, hold, reject or fill an order now; the listener hears about
        it on the next reactor turn.
        """
        self._require(TRADE_SESSION)
        check_order_shape(order)
        return self.exchange.insert(order, self._clock.seconds())

    def cancel_order(self, order_xtp_id: int) -> int:
        """Cancel a live order, or answer C{cancel_error} for one that cannot be."""
        self._require(TRADE_SESSION)
        return self.exchange.cancel(order_xtp_id, self._clock.seconds())

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
            return self.source.snapshot(instrument).last

        self._answer("position", request_id, lambda: self.account.position_records(last))

    def query_orders(self, request_id: int) -> None:
        self._answer("order", request_id, lambda: [o.to_record() for o in self.blotter.orders])

    def query_trades(self, request_id: int) -> None:
        self._answer("trade", request_id, lambda: [dict(t) for t in self.blotter.trades])
