"""
The queue services of the original manual, as journal consumers.

Each queue service follows the journal for its kinds of entry and keeps one
view of the day: market data receiving (行情接收), order callbacks (委托回调),
trade callbacks (成交回调), order query (委托查询), trade query (成交查询),
asset query (资产查询), position query (持仓查询). Each can be stopped and
started (an operator's switch): while stopped its commands answer 503 with
its name and the journal keeps recording; on start it catches up on what it
missed, from its own place in the journal, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attr
from twisted.application.service import Service

from ofx.backends.interface import XTPError
from ofx.errors import unavailable
from ofx.store.journal import Entry, Journal
from ofx.views import (
    ORDER_EVENT_KEY,
    TRADE_EVENT_KEY,
    AnswersView,
    EventsView,
    QuotesView,
    order_event_record,
)


@attr.frozen
class QueueSpec:
    name: str
    label: str
    kinds: frozenset[str]
    make_view: Callable[[], Any]
    apply: Callable[[Any, Entry], None]


def _answers(kind: str) -> Callable[[AnswersView, Entry], None]:
    def apply(view: AnswersView, entry: Entry) -> None:
        body = entry.body
        if body["kind"] != kind or entry.reqid is None:
            return
        if entry.kind == "request":
            view.expect(entry.reqid)
        else:
            error = XTPError(*body["error"]) if body.get("error") else None
            view.add(entry.reqid, body.get("record"), error, body["is_last"])

    return apply


_QUERY = frozenset({"request", "query_answer"})

QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec("md-receiver", "行情接收", frozenset({"market_data"}), QuotesView,
              lambda view, e: view.add(e.body)),
    QueueSpec("order-callbacks", "委托回调", frozenset({"order_event"}),
              lambda: EventsView(ORDER_EVENT_KEY), lambda view, e: view.add(order_event_record(e.body))),
    QueueSpec("trade-callbacks", "成交回调", frozenset({"trade_event"}),
              lambda: EventsView(TRADE_EVENT_KEY), lambda view, e: view.add(e.body)),
    QueueSpec("order-query", "委托查询", _QUERY, lambda: AnswersView("order"), _answers("order")),
    QueueSpec("trade-query", "成交查询", _QUERY, lambda: AnswersView("trade"), _answers("trade")),
    QueueSpec("asset-query", "资产查询", _QUERY, lambda: AnswersView("asset"), _answers("asset")),
    QueueSpec("position-query", "持仓查询", _QUERY, lambda: AnswersView("position"), _answers("position")),
)  # fmt: skip


class QueueService(Service):
    """One queue service: a journal consumer that keeps one view of today."""

    def __init__(self, spec: QueueSpec, journal: Journal) -> None:
        self.spec = spec
        self.name = spec.name
        self.kinds = spec.kinds
        self._journal = journal
        self._day = journal.day
        self.view = spec.make_view()
        self._apply = spec.apply
        self.fed = 0
        journal.follow(self)
        self._paused = False

    def feed(self, entry: Entry) -> None:
        if entry.day != self._day:
            self._day, self.view = entry.day, self.spec.make_view()
        self._apply(self.view, entry)
        self.fed += 1

    def startService(self) -> None:
        super().startService()
        if self._paused:
            self._paused = False
            self._journal.resume(self)

    def stopService(self) -> None:
        super().stopService()
        if not self._paused:
            self._paused = True
            self._journal.pause(self)

    def current(self) -> Any:
        """Today's view, or 503 naming this service while it is stopped."""
        if not self.running:
            raise unavailable(f"queue service {self.name} ({self.spec.label}) is stopped")
        return self.view

    def view_of(self, entries: Iterable[Entry]) -> Any:
        """A view of another day, built from that day's entries."""
        view = self.spec.make_view()
        for entry in entries:
            if entry.kind in self.kinds:
                self.spec.apply(view, entry)
        return view
