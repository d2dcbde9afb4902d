"""
The backend contract against the ctypes binding's conversion layer.

No XTP server is reachable from the tests, so the real binding cannot trade
here. What can run needs no server and no SDK library (only the binding's
ctypes structs and L{ofx.backends.xtp.records}): every record the fake
counter sends is written into the SDK's C struct and read back the way the
binding reads the SDK's callbacks, and

 - the records come back unchanged (L{RoundTripTests}), and
 - the whole contract holds when the gateway hears only the converted
   records (L{ConvertedFakeContractTests}).

L{LiveCounterContractTests} is the contract against a live counter; it skips
with one line saying why.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from ofx.backends.fake import FakeBackend
from ofx.backends.fake.fees import FEE_KEYS
from ofx.backends.interface import IXTPBackend, Record, XTPError
from ofx.backends.xtp import records, structs
from ofx.xtp_types import TRADE_FIELDS
from tests.contract import BackendContract
from tests.desk import Desk, Event
from tests.test_contract_fake import FakeMarket, contract_config


def fill(struct: ctypes.Structure, record: Record) -> ctypes.Structure:
    """Write C{record}'s fields into C{struct} as the SDK would hold them (strings as UTF-8)."""
    for name, _ in structs.field_offsets(type(struct)):
        if name not in record:
            continue
        value, current = record[name], getattr(struct, name)
        if isinstance(current, bytes):
            setattr(struct, name, value.encode("utf-8"))
        elif isinstance(current, ctypes.Array):
            setattr(struct, name, type(current)(*value))
        elif isinstance(current, ctypes.Structure):
            fill(current, value)
        else:
            setattr(struct, name, value)
    return struct


def through_xtpri(error: XTPError | None) -> XTPError | None:
    """An error as the binding reads it from an C{XTPRI}."""
    if error is None:
        return None
    return records.error(structs.XTPRI(error.error_id, error.error_msg.encode("utf-8")))


_RECORD: dict[str, tuple[type[ctypes.Structure], Callable[[Any], Record]]] = {
    "market_data": (structs.XTPMarketDataStruct, records.market_data_record),
    "order_event": (structs.XTPOrderInfo, records.order_record),
    "trade_event": (structs.XTPTradeReport, records.trade_record),
    "cancel_error": (structs.XTPOrderCancelInfo, records.cancel_record),
}


def convert(name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """An event's arguments after a trip through the SDK's structs and the binding's readers."""
    if name in _RECORD:
        cls, read = _RECORD[name]
        record = read(fill(cls(), args[0]))
        return (record, *(through_xtpri(a) if isinstance(a, XTPError) else a for a in args[1:]))
    if name == "query_answer":
        kind, request_id, record, error, is_last = args
        if record is not None:
            cls, read = records.QUERY_STRUCTS[kind]
            record = read(fill(cls(), record))
        return kind, request_id, record, through_xtpri(error), is_last
    if name == "subscribe_answer":
        (exchange_id, code), error, is_last = args
        ticker = records.ticker_of(structs.XTPST(exchange_id, code.encode("utf-8")))
        return ticker, through_xtpri(error), is_last
    return args


class ConvertedFakeContractTests(BackendContract, TestCase):
    """The contract, with every record the gateway hears converted through the binding."""

    def make_backend(self, clock: Clock) -> IXTPBackend:
        return FakeBackend(clock, contract_config())

    def convert(self) -> Any:
        return convert

    def market(self) -> FakeMarket:
        return FakeMarket(self.desk)


class RoundTripTests(TestCase):
    """Every kind of record the fake sends survives the SDK's structs unchanged."""

    def events(self) -> list[Event]:
        """A day's worth of events: quotes, fills, a queued order, rejections, cancels, queries."""
        clock = Clock()
        clock.advance(1795485600.0)
        desk = Desk(self, FakeBackend(clock, contract_config()), clock)
        quote = desk.quote("600000")
        desk.quote("688981")
        desk.order("600000", quote["ask"][2], sum(quote["ask_qty"][:3]))
        desk.cancel(desk.order("600000", quote["ask"][0], quote["ask_qty"][0] + 300))
        desk.order("600000", quote["bid"][0], 150)
        desk.order("600000", round(quote["upper_limit_price"] + 0.01, 2), 100)
        desk.order("000001", 0, 100, side=2, price_type=2)
        desk.cancel(12345)
        desk.ask("quote", 110001, [{"code": "600001", "market": "SH"}])
        for request in (210001, 210002, 210003, 210004):
            desk.ask("trade", request)
        clock.advance(3)
        return desk.tap.events

    def test_every_record_survives(self) -> None:
        """
        Market data, order and trade reports, cancel errors, subscribe
        answers and every query answer read back equal (the fake's fee keys
        aside: an XTPTradeReport has no fee field).
        """
        seen = set()
        for name, args in self.events():
            if name == "session_changed":
                continue
            seen.add(name)
            expected = args
            if name == "trade_event" or (name == "query_answer" and args[0] == "trade" and args[2]):
                record = args[0] if name == "trade_event" else args[2]
                self.assertEqual(set(record) - set(TRADE_FIELDS), set(FEE_KEYS))
                trimmed = {k: record[k] for k in TRADE_FIELDS}
                expected = (trimmed,) if name == "trade_event" else (*args[:2], trimmed, *args[3:])
            self.assertEqual(convert(name, args), expected, name)
        self.assertEqual(
            seen,
            {"market_data", "order_event", "trade_event", "cancel_error", "subscribe_answer", "query_answer"},
        )

    def test_error_messages_fit_xtpri(self) -> None:
        """Every error the fake sent fits an XTPRI's 124 bytes whole, so no message is cut by the SDK."""
        errors = [a for name, args in self.events() for a in args if isinstance(a, XTPError)]
        self.assertGreater(len(errors), 3)
        for error in errors:
            self.assertLess(len(error.error_msg.encode("utf-8")), structs.XTP_ERR_MSG_LEN)
            self.assertFalse(error.error_msg.endswith("..."), error.error_msg)


class LiveCounterContractTests(BackendContract, TestCase):
    """The contract against a live XTP counter through the ctypes binding."""

    skip = (
        "no live XTP counter here (and the contract's desk runs on a fake clock): "
        "the binding is checked through its records above"
    )

    def make_backend(self, clock: Clock) -> IXTPBackend:
        raise NotImplementedError
