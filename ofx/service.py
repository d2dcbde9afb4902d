"""
The gateway service: the state of one XTP account's sessions, shared by the
quote and trade ports.

It receives every counter event (it is the backend's L{IBackendListener}),
keeps the day's views, hands out request ids, remembers who sent which order,
and answers the quote and trade commands (the C{cmd_*} methods named in
L{ofx.commands}). It never touches a transport.
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import Service
from twisted.logger import Logger
from zope.interface import implementer

from ofx.backends.interface import (
    QUOTE_SESSION,
    TRADE_SESSION,
    BackendError,
    IBackendListener,
    IXTPBackend,
    Record,
    Ticker,
    XTPError,
)
from ofx.errors import OFXError, invalid, not_found
from ofx.login import Caller
from ofx.params import Stock
from ofx.store.reqids import RequestIds
from ofx.views import DayData, QueryAnswer, all_records
from ofx.xtp_types import NAME_BY_MARKET, XTP_SIDE_BUY, XTP_SIDE_SELL

_SIDES = {XTP_SIDE_BUY: "buy", XTP_SIDE_SELL: "sell"}


def _accepted(reqid: int, **extra: Any) -> dict[str, Any]:
    return {"stat": 200, "reqid": reqid, **extra}


@implementer(IBackendListener)
class GatewayService(Service):
    name = "gateway"
    log = Logger()

    def __init__(self, backend: IXTPBackend, reqids: RequestIds, day: DayData | None = None) -> None:
        self.backend = backend
        self.day = day if day is not None else DayData()
        self._reqids = reqids
        self._up = {QUOTE_SESSION: False, TRADE_SESSION: False}
        self._subscribed: set[Ticker] = set()
        self.order_senders: dict[int, tuple[str, int]] = {}

    def startService(self) -> None:
        super().startService()
        self.backend.start(self)

    def stopService(self) -> Any:
        super().stopService()
        return self.backend.stop()

    def is_up(self, session: str) -> bool:
        return self._up[session]

    # IBackendListener

    def session_changed(self, session: str, up: bool, reason: str) -> None:
        self._up[session] = up
        self.log.info(
            "counter {session} session {state}: {reason}",
            session=session, state="up" if up else "down", reason=reason,
        )  # fmt: skip
        if up and session == QUOTE_SESSION and self._subscribed:
            self.backend.subscribe(sorted(self._subscribed))

    def market_data(self, record: Record) -> None:
        self.day.add_quote(record)

    def subscribe_answer(self, ticker: Ticker, error: XTPError | None, is_last: bool) -> None:
        if error is not None and error.error_id:
            self._subscribed.discard(ticker)
            self.log.warn(
                "subscription refused {ticker}: {id} {msg}",
                ticker=ticker, id=error.error_id, msg=error.error_msg,
            )  # fmt: skip

    def order_event(self, record: Record, error: XTPError | None) -> None:
        self.day.add_order_event(record, error)

    def trade_event(self, record: Record) -> None:
        self.day.add_trade_event(record)

    def cancel_error(self, record: Record, error: XTPError) -> None:
        sender = self.order_senders.get(record.get("order_xtp_id", 0), ("-", 0))[0]
        self.log.info(
            "cancel refused order_xtp_id={order} user={user}: {id} {msg}",
            order=record.get("order_xtp_id"), user=sender, id=error.error_id, msg=error.error_msg,
        )  # fmt: skip

    def query_answer(
        self, kind: str, request_id: int, record: Record | None, error: XTPError | None, is_last: bool
    ) -> None:
        self.day.add_answer(kind, request_id, record, error, is_last)

    # Quote port

    def cmd_subscribe(self, caller: Caller, stocks: tuple[Stock, ...]) -> dict[str, Any]:
        reqid = self._reqids.next()
        new = sorted({(s.exchange_id, s.code) for s in stocks} - self._subscribed)
        if new:
            self._subscribed.update(new)
            self.backend.subscribe(new)
        return _accepted(reqid)

    def cmd_quote(self, caller: Caller, stock: Stock) -> dict[str, Any]:
        record = self.day.latest_quote(stock.exchange_id, stock.code)
        if record is None:
            raise not_found(f"no market data for {stock} yet; subscribe to it with 110001")
        return {**record, "stat": 200}

    def cmd_quotes_today(self, caller: Caller, stock: Stock) -> list[Record]:
        return self.day.quotes_of_day(stock.exchange_id, stock.code)

    def cmd_quotes(self, caller: Caller, stocks: tuple[Stock, ...]) -> list[Record]:
        found = (self.day.latest_quote(s.exchange_id, s.code) for s in stocks)
        return [record for record in found if record is not None]

    # Trade port: requests to the counter

    def _request(self, kind: str, send: Any) -> dict[str, Any]:
        reqid = self._reqids.next()
        self.day.expect_answer(reqid, kind)
        send(reqid)
        return _accepted(reqid)

    def cmd_request_asset(self, caller: Caller, _: None) -> dict[str, Any]:
        return self._request("asset", self.backend.query_asset)

    def cmd_request_positions(self, caller: Caller, _: None) -> dict[str, Any]:
        return self._request("position", self.backend.query_positions)

    def cmd_request_orders(self, caller: Caller, _: None) -> dict[str, Any]:
        return self._request("order", self.backend.query_orders)

    def cmd_request_trades(self, caller: Caller, _: None) -> dict[str, Any]:
        return self._request("trade", self.backend.query_trades)

    def cmd_insert_order(self, caller: Caller, order: Record) -> dict[str, Any]:
        reqid = self._reqids.next()
        described = (
            f"{_SIDES.get(order['side'], order['side'])} {order['ticker']}."
            f"{NAME_BY_MARKET[order['market']]} {order['quantity']}@{order['price']}"
            f" price_type={order['price_type']}"
        )
        try:
            order_xtp_id = self.backend.insert_order(order)
        except BackendError as e:
            self.log.info(
                "order refused user={user} reqid={reqid} {order}: {id} {msg}",
                user=caller.user, reqid=reqid, order=described,
                id=e.error.error_id, msg=e.error.error_msg,
            )  # fmt: skip
            raise _refused("order", e.error) from None
        self.order_senders[order_xtp_id] = (caller.user, reqid)
        self.log.info(
            "order user={user} reqid={reqid} {order} order_xtp_id={id}",
            user=caller.user, reqid=reqid, order=described, id=order_xtp_id,
        )  # fmt: skip
        return _accepted(reqid, order_xtp_id=order_xtp_id)

    def cmd_cancel_order(self, caller: Caller, order_xtp_id: int) -> dict[str, Any]:
        reqid = self._reqids.next()
        try:
            cancel_id = self.backend.cancel_order(order_xtp_id)
        except BackendError as e:
            self.log.info(
                "cancel refused user={user} reqid={reqid} order_xtp_id={order}: {id} {msg}",
                user=caller.user, reqid=reqid, order=order_xtp_id,
                id=e.error.error_id, msg=e.error.error_msg,
            )  # fmt: skip
            raise _refused("cancel", e.error) from None
        self.log.info(
            "cancel user={user} reqid={reqid} order_xtp_id={order} order_cancel_xtp_id={cancel}",
            user=caller.user, reqid=reqid, order=order_xtp_id, cancel=cancel_id,
        )  # fmt: skip
        return _accepted(reqid, order_xtp_id=order_xtp_id, order_cancel_xtp_id=cancel_id)

    # Trade port: what the counter said

    def cmd_order_events(self, caller: Caller, stock: Stock) -> list[Record]:
        return self.day.order_events.get((stock.market_type, stock.code), [])

    def cmd_trade_events(self, caller: Caller, stock: Stock) -> list[Record]:
        return self.day.trade_events.get((stock.market_type, stock.code), [])

    def cmd_asset(self, caller: Caller, _: None) -> dict[str, Any]:
        if self.day.asset is None:
            raise not_found("no asset answer from the counter yet; request one with 210001")
        return {**self.day.asset, "stat": 200}

    def cmd_positions(self, caller: Caller, reqid: int | None) -> list[Record]:
        return self._answered("position", reqid)

    def cmd_orders(self, caller: Caller, reqid: int | None) -> list[Record]:
        return self._answered("order", reqid)

    def cmd_trades(self, caller: Caller, reqid: int | None) -> list[Record]:
        return self._answered("trade", reqid)

    def _answered(self, kind: str, reqid: int | None) -> list[Record]:
        if reqid is None:
            return all_records(self.day.answers_of_kind(kind))
        answer: QueryAnswer | None = self.day.answer(reqid)
        if answer is None or answer.kind != kind:
            raise not_found(f"no {kind} request with reqid {reqid} today")
        if answer.error is not None:
            raise not_found(
                f"the counter answered reqid {reqid} with error "
                f"{answer.error.error_id}: {answer.error.error_msg}"
            )
        if not answer.complete:
            raise not_found(f"the counter has not answered reqid {reqid} yet; ask again shortly")
        return answer.records


def _refused(what: str, error: XTPError) -> OFXError:
    return invalid(f"the counter refused the {what}: {error.error_id} {error.error_msg}")
