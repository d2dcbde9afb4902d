"""
The day's data as tables for the console: pure functions over the queue
services' views (today's, or a past day's rebuilt from the journal).

A table is a list of flat dicts; L{filter_rows} applies the console's stock
and status filters and L{to_csv} writes any table as CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from ofx.views import AnswersView, EventsView, QuotesView
from ofx.xtp_types import (
    MARKET_BY_EXCHANGE,
    MARKET_BY_NAME,
    NAME_BY_MARKET,
    ORDER_FIELDS,
    POSITION_FIELDS,
    TRADE_FIELDS,
)

Row = dict[str, Any]

ORDER_STATUS = {
    0: ("初始化", "init"),
    1: ("全部成交", "all traded"),
    2: ("部分成交", "part traded, queueing"),
    3: ("部分撤单", "part traded, cancelled"),
    4: ("未成交", "queueing"),
    5: ("已撤单", "cancelled"),
    6: ("已拒绝", "rejected"),
    7: ("未知", "unknown"),
}

# Which queue service feeds each table.
TABLE_QUEUES = {
    "orders": ("order-callbacks", "order-query"),
    "order-events": ("order-callbacks",),
    "trades": ("trade-callbacks", "trade-query"),
    "trade-events": ("trade-callbacks",),
    "quotes": ("md-receiver",),
    "snapshots": ("md-receiver",),
    "asset": ("asset-query",),
    "positions": ("position-query",),
}


def _stock(record: Row, market_key: str = "market") -> str:
    market: Any = record.get(market_key)
    if market_key == "exchange_id":
        market = MARKET_BY_EXCHANGE.get(market, -1)
    return f"{record.get('ticker')}.{NAME_BY_MARKET.get(market, '?')}"


def order_events(view: EventsView) -> list[Row]:
    """Every order event of the day, oldest first per stock."""
    return [dict(r, stock=_stock(r)) for r in view.all_records()]


def orders(events: EventsView, answers: AnswersView | None) -> list[Row]:
    """The latest state of each order, from the counter's answers and then its events."""
    latest: dict[Any, Row] = {}
    for record in (answers.all_records() if answers is not None else []) + events.all_records():
        latest[record.get("order_xtp_id")] = record
    return [dict(r, stock=_stock(r)) for r in latest.values()]


def trade_events(view: EventsView) -> list[Row]:
    return [dict(r, stock=_stock(r)) for r in view.all_records()]


def trades(events: EventsView, answers: AnswersView | None) -> list[Row]:
    """Every trade once, from the counter's answers and its events."""
    found: dict[Any, Row] = {}
    for record in (answers.all_records() if answers is not None else []) + events.all_records():
        found[record.get("market"), record.get("exec_id"), record.get("order_xtp_id")] = record
    return [dict(r, stock=_stock(r)) for r in found.values()]


def quotes(view: QuotesView) -> list[Row]:
    """The latest snapshot of every stock with market data today."""
    return [dict(records[-1], stock=_stock(records[-1], "exchange_id")) for records in view.snapshots.values() if records]


def snapshots(view: QuotesView, stock: str) -> list[Row]:
    """The day's snapshots of one stock (C{600000.SH}, or C{600000} on either exchange)."""
    code, _, market = stock.partition(".")
    rows: list[Row] = []
    for (exchange_id, ticker), records in view.snapshots.items():
        if ticker == code and (not market or MARKET_BY_NAME.get(market.upper()) == MARKET_BY_EXCHANGE.get(exchange_id, -1)):
            rows.extend(dict(r, stock=_stock(r, "exchange_id")) for r in records)
    return rows


def asset(view: AnswersView) -> list[Row]:
    return [dict(view.latest)] if view.latest is not None else []


def positions(view: AnswersView) -> list[Row]:
    """The counter's latest complete answer to a position query."""
    for reqid in sorted(view.answers, reverse=True):
        answer = view.answers[reqid]
        if answer.complete and answer.error is None:
            return [dict(r, stock=_stock(r)) for r in answer.records]
    return []


def filter_rows(rows: Iterable[Row], stock: str = "", status: str = "") -> list[Row]:
    """
    Rows of one stock (C{600000}, C{600000.SH}) and one order status (its
    number, or its Chinese or English name); empty filters keep everything.
    """
    stock, status = stock.strip().upper(), status.strip().lower()
    wanted: set[int] | None = None
    if status:
        wanted = {n for n, names in ORDER_STATUS.items() if status in (str(n), names[0], names[1])}
    kept = []
    for row in rows:
        if stock and not (row.get("stock", "") == stock or str(row.get("ticker")) == stock):
            continue
        if wanted is not None and row.get("order_status") not in wanted:
            continue
        kept.append(row)
    return kept


_FIRST = {"orders": ORDER_FIELDS, "order-events": ORDER_FIELDS, "trades": TRADE_FIELDS,
          "trade-events": TRADE_FIELDS, "positions": POSITION_FIELDS}  # fmt: skip


def columns(table: str, rows: list[Row]) -> list[str]:
    """The columns of a table: C{stock} first, then the XTP fields in struct order, then the rest."""
    seen: dict[str, None] = {"stock": None} if any("stock" in r for r in rows) else {}
    for name in _FIRST.get(table, ()):
        if any(name in r for r in rows):
            seen[name] = None
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def to_csv(table: str, rows: list[Row]) -> bytes:
    """A table as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese right)."""
    out = io.StringIO()
    names = columns(table, rows)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow(
            [json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for v in (row.get(n, "") for n in names)]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
