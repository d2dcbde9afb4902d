"""
The gateway service: one XTP account's sessions, shared by the quote and
trade ports.

Every counter event it receives (it is the backend's L{IBackendListener}) and
every command that changes something goes into the journal first; the query
commands answer from the queue services' views, which are built from the
journal. An order is journaled durably before it goes to the counter, and
the client's stat 200 comes only once the counter's answer is journaled too.
It never touches a transport.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Any

from twisted.application.service import Service
from twisted.internet import threads
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
from ofx.dispatch import Durable, Reusable
from ofx.errors import OFXError, invalid, not_found, unavailable
from ofx.login import Caller
from ofx.logs import Logger
from ofx.params import Stock
from ofx.queues import QueueService
from ofx.store.journal import Entry, Journal
from ofx.store.reqids import RequestIds
from ofx.views import AnswersView, QuotesView
from ofx.xtp_types import NAME_BY_MARKET, XTP_SIDE_BUY, XTP_SIDE_SELL

_SIDES = {XTP_SIDE_BUY: "buy", XTP_SIDE_SELL: "sell"}
_PAST_DAYS_CACHED = 2


def _pairs(ids: dict[str, Any]) -> str:
    return " ".join([f"{k}={v}" for k, v in ids.items()])


def _unrecorded(what: str, reqid: int, ids: dict[str, Any], why: OFXError) -> OFXError:
    """
    The journal failed after the counter took the order or cancel: not an
    acknowledgement, but the client must know it may be live at the counter.
    """
    return unavailable(
        f"the {what} reached the counter ({_pairs(ids)}, reqid {reqid}) but the journal could not "
        f"record it: {why.message}"
    )


def _accepted(reqid: int, **extra: Any) -> dict[str, Any]:
    return {"stat": 200, "reqid": reqid, **extra}


def _with_stat(record: Record) -> dict[str, Any]:
    return {**record, "stat": 200}


def _error(error: XTPError | None) -> list[Any] | None:
    return [error.error_id, error.error_msg] if error is not None else None


@implementer(IBackendListener)
class GatewayService(Service):
    """
    @param queues: the queue services by name (see L{ofx.queues.QUEUES}).
    @param run_blocking: runs a blocking function off the reactor thread
        (reading a past day from disk).
    """

    name = "gateway"
    log = Logger()
    kinds = frozenset({"subscribe", "order_sent"})

    def __init__(
        self,
        backend: IXTPBackend,
        reqids: RequestIds,
        journal: Journal,
        queues: dict[str, QueueService],
        run_blocking: Any = None,
    ) -> None:
        self.backend = backend
        self.journal = journal
        self.queues = queues
        self._reqids = reqids
        self._run_blocking = run_blocking or (lambda f, *a: threads.deferToThread(f, *a))
        self._up = {QUOTE_SESSION: False, TRADE_SESSION: False}
        self._subscribed: set[Ticker] = set()
        self.order_senders: dict[int, tuple[str, int]] = {}
        self._past: OrderedDict[str, list[Entry]] = OrderedDict()
        journal.follow(self)

    # The gateway's own memory of the journal: what to re-subscribe, who sent which order.

    def feed(self, entry: Entry) -> None:
        if entry.kind == "subscribe":
            self._subscribed.update((exchange, code) for exchange, code in entry.body["stocks"])
        else:
            self.order_senders[entry.body["order_xtp_id"]] = (entry.user or "-", entry.reqid or 0)

    def startService(self) -> None:
        super().startService()
        self.backend.start(self)

    def stopService(self) -> Any:
        super().stopService()
        return self.backend.stop()

    def is_up(self, session: str) -> bool:
        return self._up[session]

    # IBackendListener: every event goes to the journal.

    def session_changed(self, session: str, up: bool, reason: str) -> None:
        self._up[session] = up
        self.journal.append("session", {"session": session, "up": up, "reason": reason})
        self.log.info(
            "counter {session} session {state}: {reason}",
            session=session, state="up" if up else "down", reason=reason,
        )  # fmt: skip
        if up and session == QUOTE_SESSION and self._subscribed:
            self.backend.subscribe(sorted(self._subscribed))

    def market_data(self, record: Record) -> None:
        self.journal.append("market_data", record)

    def subscribe_answer(self, ticker: Ticker, error: XTPError | None, is_last: bool) -> None:
        if error is not None and error.error_id:
            self._subscribed.discard(ticker)
            self.journal.append("subscribe_error", {"ticker": list(ticker), "error": _error(error)})
            self.log.warn(
                "subscription refused {ticker}: {id} {msg}",
                ticker=ticker, id=error.error_id, msg=error.error_msg,
            )  # fmt: skip

    def order_event(self, record: Record, error: XTPError | None) -> None:
        # Two of these an order: _error inlined.
        self.journal.append(
            "order_event", {"order": record, "error": None if error is None else [error.error_id, error.error_msg]}
        )

    def trade_event(self, record: Record) -> None:
        self.journal.append("trade_event", record)

    def cancel_error(self, record: Record, error: XTPError) -> None:
        sender = self.order_senders.get(record.get("order_xtp_id", 0), ("-", 0))[0]
        self.journal.append("cancel_error", {"cancel": record, "error": _error(error)}, user=sender)
        self.log.info(
            "cancel refused order_xtp_id={order} user={user}: {id} {msg}",
            order=record.get("order_xtp_id"), user=sender, id=error.error_id, msg=error.error_msg,
        )  # fmt: skip

    def query_answer(
        self, kind: str, request_id: int, record: Record | None, error: XTPError | None, is_last: bool
    ) -> None:
        self.journal.append(
            "query_answer",
            {"kind": kind, "record": record, "error": _error(error), "is_last": is_last},
            reqid=request_id,
        )

    # Quote port

    def cmd_subscribe(self, caller: Caller, stocks: tuple[Stock, ...]) -> dict[str, Any]:
        reqid = self._reqids.next()
        wanted = sorted({(s.exchange_id, s.code) for s in stocks})
        new = [t for t in wanted if t not in self._subscribed]
        self.journal.append("subscribe", {"stocks": [list(t) for t in wanted]}, caller.user, reqid)
        if new:
            self.backend.subscribe(new)
        return _accepted(reqid)

    def cmd_quote(self, caller: Caller, query: tuple[Stock, str | None]) -> Any:
        stock, day = query
        if day is None or day == self.journal.day:
            # Every poll of this stock until its next snapshot gets the same line.
            key = (stock.exchange_id, stock.code)
            record = self.queues["md-receiver"].current().latest(*key)
            if record is None:
                raise not_found(f"no market data for {stock}{_on(day)}; subscribe to it with 110001")
            return Reusable(key, record, partial(_with_stat, record))

        def answer(view: QuotesView) -> Any:
            record = view.latest(stock.exchange_id, stock.code)
            if record is None:
                raise not_found(f"no market data for {stock}{_on(day)}; subscribe to it with 110001")
            return _with_stat(record)

        return self._with_view("md-receiver", day, answer)

    def cmd_quotes_today(self, caller: Caller, query: tuple[Stock, str | None]) -> Any:
        stock, day = query
        return self._with_view("md-receiver", day, lambda v: v.of_day(stock.exchange_id, stock.code))

    def cmd_quotes(self, caller: Caller, query: tuple[tuple[Stock, ...], str | None]) -> Any:
        stocks, day = query

        def answer(view: QuotesView) -> list[Record]:
            found = (view.latest(s.exchange_id, s.code) for s in stocks)
            return [record for record in found if record is not None]

        return self._with_view("md-receiver", day, answer)

    # Trade port: requests to the counter

    def _request(self, caller: Caller, kind: str, send: Any) -> dict[str, Any]:
        reqid = self._reqids.next()
        self.journal.append("request", {"kind": kind}, caller.user, reqid)
        send(reqid)
        return _accepted(reqid)

    def cmd_request_asset(self, caller: Caller, _: None) -> dict[str, Any]:
        return self._request(caller, "asset", self.backend.query_asset)

    def cmd_request_positions(self, caller: Caller, _: None) -> dict[str, Any]:
        return self._request(caller, "position", self.backend.query_positions)

    def cmd_request_orders(self, caller: Caller, _: None) -> dict[str, Any]:
        return self._request(caller, "order", self.backend.query_orders)

    def cmd_request_trades(self, caller: Caller, _: None) -> dict[str, Any]:
        return self._request(caller, "trade", self.backend.query_trades)

    def cmd_insert_order(self, caller: Caller, order: Record) -> Durable:
        described = (
            f"{_SIDES.get(order['side'], order['side'])} {order['ticker']}."
            f"{NAME_BY_MARKET[order['market']]} {order['quantity']}@{order['price']}"
            f" price_type={order['price_type']}"
        )

        def send() -> dict[str, Any]:
            return {"order_xtp_id": self.backend.insert_order(order)}

        return self._to_counter(caller, "order", order, described, send)

    def cmd_cancel_order(self, caller: Caller, order_xtp_id: int) -> Durable:
        def send() -> dict[str, Any]:
            return {"order_xtp_id": order_xtp_id, "order_cancel_xtp_id": self.backend.cancel_order(order_xtp_id)}

        # Its ids (order_xtp_id, order_cancel_xtp_id) describe a cancel: nothing to add.
        return self._to_counter(caller, "cancel", {"order_xtp_id": order_xtp_id}, "", send)

    def _to_counter(self, caller: Caller, what: str, intent: Record, described: str, send: Any) -> Durable:
        """
        Send the intent to the counter, journal it with the ids the counter
        gave it as one C{<what>_sent} entry, and answer once that is fsync'd
        (a L{Durable} answer): what is acknowledged is on disk with the
        counter's ids, at the cost of one disk round trip. A refusal is
        journaled as C{<what>_refused}, with the intent and the counter's
        error. With the journal's writer gone, nothing is sent: no order
        reaches the counter unrecorded.

        C{described} is what the log says of the intent besides the ids the
        counter answers (empty if those say it all).
        """
        self.journal.check_writable()
        reqid = self._reqids.next()
        user = caller.user
        try:
            ids = send()
        except BackendError as e:
            return self._refused(caller, reqid, what, intent, described or _pairs(intent), e.error)  # type: ignore[no-any-return]
        who = f"{what} user={user} reqid={reqid}"
        said = f"{who} {described} {_pairs(ids)}" if described else f"{who} {_pairs(ids)}"
        # Built here, once, rather than by the observer's string.Formatter: three times cheaper.
        self.log.line(said)
        try:
            journaled = self.journal.append(f"{what}_sent", {**intent, **ids}, user, reqid, durable=True)
        except OFXError as e:
            raise _unrecorded(what, reqid, ids, e) from None
        assert journaled is not None  # a durable append always gives its commit
        return Durable(_accepted(reqid, **ids), journaled, partial(_unrecorded, what, reqid, ids))

    def _refused(
        self, caller: Caller, reqid: int, what: str, intent: Record, described: str, error: XTPError
    ) -> Any:
        self.journal.append(f"{what}_refused", {**intent, "error": _error(error)}, caller.user, reqid)
        self.log.info(
            "{what} refused user={user} reqid={reqid} {order}: {id} {msg}",
            what=what, user=caller.user, reqid=reqid, order=described,
            id=error.error_id, msg=error.error_msg,
        )  # fmt: skip
        raise invalid(f"the counter refused the {what}: {error.error_id} {error.error_msg}")

    # Trade port: what the counter said

    def cmd_order_events(self, caller: Caller, query: tuple[Stock, str | None]) -> Any:
        stock, day = query
        return self._with_view("order-callbacks", day, lambda v: v.of_stock(stock.market_type, stock.code))

    def cmd_trade_events(self, caller: Caller, query: tuple[Stock, str | None]) -> Any:
        stock, day = query
        return self._with_view("trade-callbacks", day, lambda v: v.of_stock(stock.market_type, stock.code))

    def cmd_asset(self, caller: Caller, day: str | None) -> Any:
        def answer(view: AnswersView) -> dict[str, Any]:
            if view.latest is None:
                raise not_found(f"no asset answer from the counter{_on(day)}; request one with 210001")
            return {**view.latest, "stat": 200}

        return self._with_view("asset-query", day, answer)

    def cmd_positions(self, caller: Caller, query: tuple[int | None, str | None]) -> Any:
        return self._answered("position-query", *query)

    def cmd_orders(self, caller: Caller, query: tuple[int | None, str | None]) -> Any:
        return self._answered("order-query", *query)

    def cmd_trades(self, caller: Caller, query: tuple[int | None, str | None]) -> Any:
        return self._answered("trade-query", *query)

    def _answered(self, queue: str, reqid: int | None, day: str | None) -> Any:
        def answer(view: AnswersView) -> list[Record]:
            if reqid is None:
                return view.all_records()
            found = view.answers.get(reqid)
            if found is None:
                raise not_found(f"no {view.kind} request with reqid {reqid}{_on(day)}")
            if found.error is not None:
                raise not_found(
                    f"the counter answered reqid {reqid} with error "
                    f"{found.error.error_id}: {found.error.error_msg}"
                )
            if not found.complete:
                raise not_found(f"the counter has not answered reqid {reqid} yet; ask again shortly")
            return found.records

        return self._with_view(queue, day, answer)

    # Views of today, or of a past day read from disk

    def _with_view(self, queue: str, day: str | None, answer: Any) -> Any:
        service = self.queues[queue]
        if day is None or day == self.journal.day:
            return answer(service.current())
        service.current()  # a stopped queue service answers 503 for past days too
        entries = self._past.get(day)
        if entries is not None:
            return answer(service.view_of(entries))
        return self._run_blocking(self.journal.thd_read_day, day).addCallback(
            self._remember_day, day
        ).addCallback(lambda entries: answer(service.view_of(entries)))

    def _remember_day(self, entries: list[Entry], day: str) -> list[Entry]:
        if not entries:
            raise not_found(f"no journal for {day}")
        self._past[day] = entries
        while len(self._past) > _PAST_DAYS_CACHED:
            self._past.popitem(last=False)
        return entries


def _on(day: str | None) -> str:
    return f" on {day}" if day else " yet"

