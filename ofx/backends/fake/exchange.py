"""
Orders through the trading day: what the counter and the exchange do with
each order and cancel, by phase (L{ofx.backends.fake.sessions}).

 - An accepted order always gets its "accepted" event (not traded,
   queueing) first, then one trade event per fill, then its final event
   (all traded, cancelled, partly cancelled); never an event for a partial
   fill. A rejected order gets one event carrying the error. This is the
   order the real counter keeps (XTP FAQ, questions 14, 33 and 242).
 - In continuous trading an order fills against the book at once, level by
   level, and what is left queues and fills on later snapshots.
 - In a call auction limit orders queue and market orders are refused; the
   auction's end (09:25, 15:00) trades every queued order that crosses the
   auction price at that price, up to the volume the auction traded.
 - Before 09:15, from 09:25 to 09:30 and over lunch the counter holds
   orders and cancels without an event and submits them when the next
   phase begins (an order held before 09:15 enters the opening auction).
 - After 15:00 and on days without trading orders are rejected; cancels are
   refused from 09:20 to 09:25 and from 14:57 on.

Every event goes out through the C{emit} callable the backend hands in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from ofx.backends.fake import errors
from ofx.backends.fake.account import Account
from ofx.backends.fake.matching import Matcher
from ofx.backends.fake.orders import Blotter, Order
from ofx.backends.fake.rules import LIMIT, Rejected, validate, worst_price
from ofx.backends.fake.sessions import AUCTIONS, HOLDING, REFUSING, Phase, Sessions
from ofx.backends.fake.source import MarketSource
from ofx.backends.fake.timestamps import xtp_time
from ofx.backends.fake.universe import Instrument, Universe
from ofx.backends.interface import Record
from ofx.xtp_types import (
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


class Exchange:
    """The order flow of one account against one market source."""

    def __init__(
        self,
        universe: Universe,
        source: MarketSource,
        account: Account,
        blotter: Blotter,
        sessions: Sessions,
        emit: Callable[..., None],
    ) -> None:
        self.universe = universe
        self.source = source
        self.account = account
        self.blotter = blotter
        self.sessions = sessions
        self.matcher = Matcher()
        self._emit = emit
        self._held: list[Order] = []
        self._held_cancels: dict[int, int] = {}  # order_xtp_id -> order_cancel_xtp_id
        self._close_start: dict[str, int] = {}

    def _instrument(self, code: str) -> Instrument:
        instrument = self.universe.get(code)
        assert instrument is not None
        return instrument

    # -- orders -----------------------------------------------------------

    def insert(self, request: Record, seconds: float) -> int:
        """A new order at clock reading C{seconds}; its id."""
        now = xtp_time(seconds)
        order = self.blotter.new_order(request, now)
        self._admit(order, seconds, now)
        return order.xtp_id

    def admit(self, order: Order, seconds: float) -> None:
        """A registered order reaches the counter at C{seconds}: reject, hold or submit it."""
        self._admit(order, seconds, xtp_time(seconds))

    def _admit(self, order: Order, seconds: float, now: int) -> None:
        order.insert_time = now
        phase = self.sessions.phase(seconds)
        if phase in REFUSING:
            order.reject(now)
            why = errors.error(
                errors.NOT_IN_TRADE_TIME, f"orders are taken 09:15-15:00 on trading days ({phase.value})"
            )
            self._emit("order_event", order.to_record(), why)
        elif phase in HOLDING:
            self._held.append(order)
        else:
            self._submit(order, phase, now)

    def _submit(self, order: Order, phase: Phase, now: int) -> None:
        try:
            instrument, rule = validate(order, self.universe, self.account.sellable)
            if phase in AUCTIONS and rule.execution != LIMIT:
                raise Rejected(
                    errors.error(
                        errors.BAD_PRICE_TYPE, f"{rule.name}: a call auction takes limit orders only"
                    )
                )
            order.instrument = instrument
            order.limit = worst_price(order, instrument, rule)
            refusal = self.account.reserve(order)
            if refusal is not None:
                raise Rejected(refusal)
        except Rejected as r:
            order.reject(now)
            self._emit("order_event", order.to_record(), r.error)
            return
        order.accept(now)
        self._emit("order_event", order.to_record(), None)
        if phase in AUCTIONS:
            self.matcher.rest(order)
            return
        arrival = self.matcher.arrive(order, rule, self.source.snapshot(instrument))
        for price, qty in arrival.fills:
            self._fill(order, price, qty, now)
        if order.is_final:
            return
        if arrival.rest_at is None:
            order.cancel(now)
            self.account.hold(order)
            self._emit("order_event", order.to_record(), None)
        else:
            order.limit = arrival.rest_at
            self.account.hold(order)
            self.matcher.rest(order)

    def _fill(self, order: Order, price: int, qty: int, now: int) -> None:
        order.fill(price, qty, now)
        fees = self.account.fill(order, price, qty)
        self._emit("trade_event", self.blotter.add_trade(order, price, qty, now, fees))
        if order.is_final:
            self.matcher.remove(order)
            self._emit("order_event", order.to_record(), None)

    # -- cancels ----------------------------------------------------------

    def cancel(self, order_xtp_id: int, seconds: float) -> int:
        """Cancel an order at clock reading C{seconds}; the cancel's id."""
        now = xtp_time(seconds)
        cancel_id = self.blotter.next_id()
        order = self.blotter.get(order_xtp_id)
        info = {"order_cancel_xtp_id": cancel_id, "order_xtp_id": order_xtp_id}

        def refuse(error_id: int, detail: str) -> None:
            self._emit("cancel_error", info, errors.error(error_id, detail))

        if order is None:
            refuse(errors.UNKNOWN_ORDER, f"no order {order_xtp_id} today")
        elif order in self._held:
            self._held.remove(order)
            order.cancel(now, cancel_id)
            self._emit("order_event", order.to_record(), None)
        elif not order.is_live:
            words = _STATUS_WORDS.get(order.status, f"in status {order.status}")
            refuse(errors.ORDER_FINISHED, f"order {order_xtp_id} is already {words}")
        elif order_xtp_id in self._held_cancels:
            refuse(errors.CANCEL_PENDING, f"order {order_xtp_id} is cancelled when trading resumes")
        elif not self.sessions.takes_cancels(seconds):
            phase = self.sessions.phase(seconds)
            refuse(errors.NOT_IN_TRADE_TIME, f"no cancels 09:20-09:25 nor after 14:57 ({phase.value})")
        elif self.sessions.phase(seconds) in HOLDING:
            self._held_cancels[order_xtp_id] = cancel_id
        else:
            self._withdraw(order, cancel_id, now)
        return cancel_id

    def _withdraw(self, order: Order, cancel_id: int, now: int) -> None:
        self.matcher.remove(order)
        order.cancel(now, cancel_id)
        self.account.hold(order)
        self._emit("order_event", order.to_record(), None)

    # -- the market and the clock ------------------------------------------

    def trade(self, codes: Collection[str], seconds: float) -> None:
        """New snapshots of C{codes} in continuous trading: queued orders trade through them."""
        now = xtp_time(seconds)
        changed = set(codes)
        for code in self.matcher.resting_codes():
            if code not in changed:
                continue
            for order, (price, qty) in self.matcher.on_snapshot(self.source.snapshot(self._instrument(code))):
                self._fill(order, price, qty, now)

    def begin(self, phase: Phase, seconds: float) -> None:
        """C{phase} begins at C{seconds}: run the auctions, submit what was held."""
        now = xtp_time(seconds)
        if phase is Phase.PRE_CONTINUOUS:
            self._uncross(now, {})
        elif phase is Phase.CLOSE_AUCTION:
            self._close_start = {
                code: self.source.snapshot(self._instrument(code)).qty
                for code in self.matcher.resting_codes()
            }
        elif phase is Phase.CLOSED:
            before = {
                code: self.source.snapshot(self._instrument(code)).qty
                for code in self.matcher.resting_codes()
            }
            if self.source.follows_sessions:
                self.source.step(seconds)
            self._uncross(now, {code: self._close_start.get(code, qty) for code, qty in before.items()})
        if phase is Phase.CONTINUOUS:
            for order_xtp_id, cancel_id in list(self._held_cancels.items()):
                order = self.blotter.get(order_xtp_id)
                if order is not None and order.is_live:
                    self._withdraw(order, cancel_id, now)
            self._held_cancels.clear()
        if phase in (Phase.OPEN_AUCTION, Phase.CONTINUOUS):
            held, self._held = self._held, []
            for order in held:
                self._submit(order, phase, now)

    def _uncross(self, now: int, start_qty: dict[str, int]) -> None:
        """
        A call auction ends: each stock's queued orders trade at its last
        price, up to the volume traded since C{start_qty} (the whole day's
        volume for the opening auction).
        """
        for code in self.matcher.resting_codes():
            snap = self.source.snapshot(self._instrument(code))
            volume = snap.qty - start_qty.get(code, 0)
            for order, (price, qty) in self.matcher.uncross(code, snap.last, volume):
                self._fill(order, price, qty, now)

    @property
    def pending(self) -> list[Any]:
        """Orders the counter holds for the next phase (for inspection)."""
        return list(self._held)
