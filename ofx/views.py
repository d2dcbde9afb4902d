"""
The views the query commands answer from, each built from journal entries.

A view holds one trading day. The queue services (L{ofx.queues}) feed them
from the journal; a past day's views are built the same way from that day's
entries on disk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from operator import itemgetter
from typing import Any

import attr

from ofx.backends.interface import Record, XTPError

# Error id the counter uses for "the query found no records".
NO_RECORDS_ERROR = 11000350


class QuotesView:
    """Every snapshot of the day per stock (C{100001}..C{100003})."""

    def __init__(self) -> None:
        self.snapshots: dict[tuple[int, str], list[Record]] = defaultdict(list)

    def add(self, record: Record) -> None:
        self.snapshots[record["exchange_id"], record["ticker"]].append(record)

    def latest(self, exchange_id: int, ticker: str) -> Record | None:
        found = self.snapshots.get((exchange_id, ticker))
        return found[-1] if found else None

    def of_day(self, exchange_id: int, ticker: str) -> list[Record]:
        return self.snapshots.get((exchange_id, ticker), [])


class EventsView:
    """
    Order or trade events per stock (C{200001}, C{200002}). After a
    reconnect the counter repeats what it already sent; C{key} names what
    makes an event new, so a repeat is dropped.
    """

    def __init__(self, key: tuple[str, ...]) -> None:
        self._key = key
        self._key_of = _getter(key)
        self._seen: set[tuple[Any, ...]] = set()
        self.by_stock: dict[tuple[int, str], list[Record]] = defaultdict(list)

    def add(self, record: Record) -> None:
        try:
            key = self._key_of(record)  # every XTP record has them all: the fast way
        except KeyError:
            key = tuple(record.get(field) for field in self._key)
        seen = self._seen
        known = len(seen)
        seen.add(key)
        if len(seen) == known:  # a repeat (one hash of the key, not two)
            return
        self.by_stock[record["market"], record["ticker"]].append(record)

    def of_stock(self, market: int, ticker: str) -> list[Record]:
        return self.by_stock.get((market, ticker), [])

    def all_records(self) -> list[Record]:
        """Every event of the day, oldest first within each stock."""
        return [record for records in self.by_stock.values() for record in records]


@lru_cache
def _getter(key: tuple[str, ...]) -> Callable[[Record], tuple[Any, ...]]:
    """One itemgetter per key (so views of the same kind compare equal)."""
    return itemgetter(*key)


ORDER_EVENT_KEY = ("order_xtp_id", "order_status", "order_submit_status", "qty_traded", "qty_left")
TRADE_EVENT_KEY = ("market", "exec_id", "order_xtp_id")


def order_event_record(body: dict[str, Any]) -> Record:
    """An order event as 200001 shows it: a rejection carries the counter's error."""
    record: Record = body["order"]
    error = body.get("error")
    if error and error[0]:
        record = dict(record, error_id=error[0], error_msg=error[1])
    return record


@attr.define
class QueryAnswer:
    """The counter's answer to one request id, as it arrives."""

    records: list[Record] = attr.Factory(list)
    error: XTPError | None = None
    complete: bool = False


class AnswersView:
    """The counter's answers to one kind of request (asset, position, order, trade), by reqid."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.answers: dict[int, QueryAnswer] = {}
        self.latest: Record | None = None

    def expect(self, reqid: int) -> None:
        self.answers.setdefault(reqid, QueryAnswer())

    def add(self, reqid: int, record: Record | None, error: XTPError | None, is_last: bool) -> None:
        answer = self.answers.get(reqid)
        if answer is None:
            # An answer to a request not seen (the counter reconciling after a
            # reconnect): keep it all the same.
            answer = self.answers[reqid] = QueryAnswer()
        if record is not None:
            answer.records.append(record)
            self.latest = record
        if error is not None and error.error_id and error.error_id != NO_RECORDS_ERROR:
            answer.error = error
        if is_last:
            answer.complete = True

    def all_records(self) -> list[Record]:
        return [record for answer in self.answers.values() for record in answer.records]
