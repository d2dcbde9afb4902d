"""
Rebuilding the fake counter's day from the gateway's journal.

A real counter keeps its own state when the gateway restarts; the fake
lives in the gateway's process, so it is rebuilt from what the journal
holds: the account starts as configured, then every order the counter took
today (its C{order_sent} entry: the order with the id the counter gave it;
older journals kept the order apart, in an C{order} entry of the same
reqid), every trade report, every
cancel and each order's latest event are applied again, silently, in the
order they happened. The counter then answers queries as it did before the
restart and new ids follow the old ones.

An order whose events never reached the journal (the process died between
sending it and writing what the counter said) is submitted again when the
counter logs in, as if it arrived then: its events are then sent as new.

What cannot come back is the market: the random walk starts again from the
open. A queued market order keeps resting at the price of its last fill (or
its limit price).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ofx.backends.fake.exchange import Exchange
from ofx.backends.fake.orders import Order
from ofx.backends.fake.rules import LIMIT, PRICE_RULES, worst_price
from ofx.xtp_types import (
    XTP_ORDER_STATUS_CANCELED,
    XTP_ORDER_STATUS_PARTTRADEDNOTQUEUEING,
    XTP_ORDER_STATUS_REJECTED,
)


class JournalEntry(Protocol):
    """What restore reads of a journal entry (L{ofx.store.journal.Entry} has it)."""

    kind: str
    body: Any
    reqid: int | None


def restore(exchange: Exchange, entries: Iterable[JournalEntry]) -> list[Order]:
    """
    Apply the day's journal to a fresh counter; return the orders to submit
    again (taken by the counter, but with no event in the journal).
    """
    requests: dict[int | None, dict[str, Any]] = {}
    sent: list[tuple[int, dict[str, Any]]] = []
    latest: dict[int, dict[str, Any]] = {}
    trades: list[dict[str, Any]] = []
    cancels: dict[int, int] = {}
    for entry in entries:
        body = entry.body
        if entry.kind == "order_sent":
            request = body if "ticker" in body else requests.get(entry.reqid)
            if request is not None:
                sent.append((int(body["order_xtp_id"]), request))
        elif entry.kind == "order":  # the older form: the order apart from its id
            requests[entry.reqid] = body
        elif entry.kind == "cancel_sent":
            cancels[int(body["order_xtp_id"])] = int(body["order_cancel_xtp_id"])
        elif entry.kind == "order_event":
            latest[int(body["order"]["order_xtp_id"])] = body["order"]
        elif entry.kind == "trade_event":
            trades.append(body)
    blotter = exchange.blotter
    orders: dict[int, Order] = {}
    again = []
    for xtp_id, request in sorted(sent, key=lambda item: item[0]):
        record = latest.get(xtp_id)
        order = blotter.restore_order(request, xtp_id, record["insert_time"] if record else 0)
        if record is None:
            again.append(order)
        elif record["order_status"] == XTP_ORDER_STATUS_REJECTED:
            order.reject(record["update_time"])
        else:
            _accept(exchange, order, record)
            orders[xtp_id] = order
    last_fill: dict[int, int] = {}
    for trade in sorted(trades, key=lambda t: t["report_index"]):
        filled = orders.get(trade["order_xtp_id"])
        if filled is None or trade["quantity"] > filled.remaining:
            continue
        cents = last_fill[filled.xtp_id] = round(trade["price"] * 100)
        filled.fill(cents, trade["quantity"], trade["trade_time"])
        exchange.account.fill(filled, cents, trade["quantity"])
        blotter.trades.append(dict(trade))
    for xtp_id, order in orders.items():
        record = latest[xtp_id]
        if record["order_status"] in (XTP_ORDER_STATUS_CANCELED, XTP_ORDER_STATUS_PARTTRADEDNOTQUEUEING):
            if not order.is_final:
                order.cancel(record["cancel_time"], record["order_cancel_xtp_id"] or cancels.get(xtp_id, 0))
        if order.is_live:
            if PRICE_RULES[order.price_type].execution != LIMIT:
                order.limit = last_fill.get(xtp_id) or _own_best(exchange, order)
            exchange.matcher.rest(order)
        exchange.account.hold(order)
    blotter.skip_to(max([*(i for i, _ in sent), *cancels.values()], default=0))
    return again


def _accept(exchange: Exchange, order: Order, record: dict[str, Any]) -> None:
    """An order the journal shows accepted: its instrument, its limit, accepted at its time."""
    instrument = exchange.universe.by_market(order.market, order.ticker)
    rule = PRICE_RULES.get(order.price_type)
    if instrument is None or rule is None:  # the universe changed since: keep the record only
        order.reject(record["update_time"])
        return
    order.instrument = instrument
    order.limit = worst_price(order, instrument, rule)
    order.accept(record["insert_time"])
    order.update_time = record["update_time"]


def _own_best(exchange: Exchange, order: Order) -> int:
    """The best price on the order's own side of the book now (its limit if that side is empty)."""
    assert order.instrument is not None
    snap = exchange.source.snapshot(order.instrument)
    own = snap.bids if order.is_buy else snap.asks
    return own[0][0] if own else order.limit
