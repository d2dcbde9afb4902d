"""
The day's data as the query commands see it.

Every backend event lands here (through the gateway service) and every query
command (C{100001}..C{100003}, C{200001}..C{200006}) answers from here:
latest and all snapshots per stock, order and trade events per stock, the
latest asset, and the counter's answers to each request id.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import attr

from ofx.backends.interface import Record, XTPError

# Error id the counter uses for "the query found no records".
NO_RECORDS_ERROR = 11000350


@attr.define
class QueryAnswer:
    """The counter's answer to one request id, as it arrives."""

    kind: str
    records: list[Record] = attr.Factory(list)
    error: XTPError | None = None
    complete: bool = False


class DayData:
    """In-memory views of the day, keyed as the commands ask for them."""

    def __init__(self) -> None:
        self.quotes: dict[tuple[int, str], list[Record]] = defaultdict(list)
        self.order_events: dict[tuple[int, str], list[Record]] = defaultdict(list)
        self.trade_events: dict[tuple[int, str], list[Record]] = defaultdict(list)
        self.asset: Record | None = None
        self.answers: dict[int, QueryAnswer] = {}
        self._by_kind: dict[str, list[int]] = defaultdict(list)
        # After a reconnect the counter repeats what it had already sent
        # (the trade session resumes and is reconciled by queries): these
        # keys let a repeat be recognised and dropped.
        self._seen_orders: set[tuple[Any, ...]] = set()
        self._seen_trades: set[tuple[Any, ...]] = set()

    def add_quote(self, record: Record) -> None:
        self.quotes[record["exchange_id"], record["ticker"]].append(record)

    def latest_quote(self, exchange_id: int, ticker: str) -> Record | None:
        snapshots = self.quotes.get((exchange_id, ticker))
        return snapshots[-1] if snapshots else None

    def quotes_of_day(self, exchange_id: int, ticker: str) -> list[Record]:
        return self.quotes.get((exchange_id, ticker), [])

    def add_order_event(self, record: Record, error: XTPError | None) -> None:
        key = (
            record["order_xtp_id"], record["order_status"], record["order_submit_status"],
            record["qty_traded"], record["qty_left"],
        )  # fmt: skip
        if key in self._seen_orders:
            return
        self._seen_orders.add(key)
        if error is not None and error.error_id:
            record = dict(record, error_id=error.error_id, error_msg=error.error_msg)
        self.order_events[record["market"], record["ticker"]].append(record)

    def add_trade_event(self, record: Record) -> None:
        key = (record["market"], record["exec_id"], record["order_xtp_id"])
        if key in self._seen_trades:
            return
        self._seen_trades.add(key)
        self.trade_events[record["market"], record["ticker"]].append(record)

    def expect_answer(self, request_id: int, kind: str) -> None:
        """A request went to the counter; its answer will come under C{request_id}."""
        self.answers[request_id] = QueryAnswer(kind)
        self._by_kind[kind].append(request_id)

    def add_answer(
        self, kind: str, request_id: int, record: Record | None, error: XTPError | None, is_last: bool
    ) -> None:
        answer = self.answers.get(request_id)
        if answer is None:
            # An answer the gateway did not ask for in this process (a request
            # sent before a restart): keep it all the same.
            self.expect_answer(request_id, kind)
            answer = self.answers[request_id]
        if record is not None:
            answer.records.append(record)
            if kind == "asset":
                self.asset = record
        if error is not None and error.error_id and error.error_id != NO_RECORDS_ERROR:
            answer.error = error
        if is_last:
            answer.complete = True

    def answer(self, request_id: int) -> QueryAnswer | None:
        return self.answers.get(request_id)

    def answers_of_kind(self, kind: str) -> list[QueryAnswer]:
        return [self.answers[r] for r in self._by_kind.get(kind, ())]


def all_records(answers: list[QueryAnswer]) -> list[Any]:
    return [record for answer in answers for record in answer.records]
