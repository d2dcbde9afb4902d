"""
The ctypes XTP binding: the struct/record conversion, the real SDK libraries
(loaded from C{OFX_XTP_SDK} or C{sdk/}, else skipped), the callback path
from foreign threads, the C{[xtp]} settings, and L{CtypesBackend}'s
reconnection driven by a L{Clock} with fake SDK objects.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
import time
from typing import Any

from twisted.internet import defer, task
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from ofx import xtp_types as t
from ofx.backends.interface import (
    QUOTE_SESSION,
    TRADE_SESSION,
    BackendError,
    IBackendListener,
    IXTPBackend,
    XTPError,
)
from ofx.backends.xtp import CtypesBackend, XTPSettings, api, records, settings_from_config, structs
from ofx.backends.xtp.backend import TRADE_NOT_UP, is_reconcile_request
from ofx.backends.xtp.settings import refuse_demo
from ofx.config import ConfigError, XTPConfig
from tests.test_xtp_structs import sdk_dir

# ---------------------------------------------------------------------------
# helpers


def sample_order() -> structs.XTPOrderInfo:
    """An XTPOrderInfo with every field set to something recognisable."""
    o = structs.XTPOrderInfo()
    o.order_xtp_id = 2**63 + 5
    o.order_client_id = 7
    o.order_cancel_client_id = 8
    o.order_cancel_xtp_id = 9
    o.ticker = b"600000"
    o.market = t.XTP_MKT_SH_A
    o.price = 10.5
    o.quantity = 300
    o.price_type = t.XTP_PRICE_LIMIT
    o.side = t.XTP_SIDE_SELL
    o.position_effect = 0
    o.reserved1 = 3
    o.reserved2 = 4
    o.business_type = t.XTP_BUSINESS_TYPE_CASH
    o.qty_traded = 100
    o.qty_left = 200
    o.insert_time = t.data_time(2024, 5, 6, 9, 30, 0, 123)
    o.update_time = t.data_time(2024, 5, 6, 9, 30, 1)
    o.cancel_time = 0
    o.trade_amount = 1050.0
    o.order_local_id = b"L0001"
    o.order_status = t.XTP_ORDER_STATUS_PARTTRADEDQUEUEING
    o.order_submit_status = t.XTP_ORDER_SUBMIT_STATUS_INSERT_ACCEPTED
    o.order_type = b"0"
    return o


def sample_trade() -> structs.XTPTradeReport:
    """An XTPTradeReport with every field set."""
    r = structs.XTPTradeReport()
    r.order_xtp_id = 11
    r.order_client_id = 7
    r.ticker = b"000001"
    r.market = t.XTP_MKT_SZ_A
    r.local_order_id = 12
    r.exec_id = b"E123456789012345"
    r.price = 12.34
    r.quantity = 100
    r.trade_time = t.data_time(2024, 5, 6, 10, 0, 0)
    r.trade_amount = 1234.0
    r.report_index = 99
    r.order_exch_id = b"X0000000000000001"[:16]
    r.trade_type = b"0"
    r.side = t.XTP_SIDE_BUY
    r.business_type = 0
    r.branch_pbu = b"PBU01"
    return r


def sample_market_data() -> structs.XTPMarketDataStruct:
    """An XTPMarketDataStruct with prices, ten levels and stock extras."""
    md = structs.XTPMarketDataStruct()
    md.exchange_id = t.XTP_EXCHANGE_SH
    md.ticker = b"600000"
    md.last_price = 10.01
    md.pre_close_price = 9.9
    md.data_time = t.data_time(2024, 5, 6, 9, 31, 3)
    md.qty = 123456
    md.turnover = 1234567.5
    for i in range(10):
        md.bid[i] = 10.0 - i / 100
        md.ask[i] = 10.02 + i / 100
        md.bid_qty[i] = 100 * (i + 1)
        md.ask_qty[i] = 200 * (i + 1)
    md.ticker_status = b"T111"
    md.stk.total_bid_qty = 5000
    md.stk.iopv = 1.25
    md.stk.num_ask_orders = 17
    md.data_type = t.XTP_MARKETDATA_ACTUAL
    md.data_type_v2 = t.XTP_MARKETDATA_V2_ACTUAL
    return md


def free_port() -> int:
    """A loopback port where nothing listens (bound, read, closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


@implementer(IBackendListener)
class RecordingListener:
    """An L{IBackendListener} that records every call with the calling thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.threads: list[int] = []
        self.waiting: Deferred[None] | None = None

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        self.threads.append(threading.get_ident())
        if self.waiting is not None:
            d, self.waiting = self.waiting, None
            d.callback(None)

    def wait(self) -> Deferred[None]:
        self.waiting = Deferred()
        return self.waiting

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.calls if n == name]

    def session_changed(self, session: str, up: bool, reason: str) -> None:
        self._record("session_changed", session, up, reason)

    def market_data(self, record: dict[str, Any]) -> None:
        self._record("market_data", record)

    def subscribe_answer(self, ticker: Any, error: Any, is_last: bool) -> None:
        self._record("subscribe_answer", ticker, error, is_last)

    def order_event(self, record: dict[str, Any], error: Any) -> None:
        self._record("order_event", record, error)

    def trade_event(self, record: dict[str, Any]) -> None:
        self._record("trade_event", record)

    def cancel_error(self, record: dict[str, Any], error: Any) -> None:
        self._record("cancel_error", record, error)

    def query_answer(self, kind: str, request_id: int, record: Any, error: Any, is_last: bool) -> None:
        self._record("query_answer", kind, request_id, record, error, is_last)


class SyncThreadPool:
    """A thread pool that runs each call at once, on the calling thread."""

    def callInThreadWithCallback(self, on_result: Any, f: Any, *args: Any, **kw: Any) -> None:
        try:
            result = f(*args, **kw)
        except BaseException:
            on_result(False, Failure())
        else:
            on_result(True, result)


class ManualThreadPool:
    """A thread pool whose calls wait until the test runs them."""

    def __init__(self) -> None:
        self.queue: list[tuple[Any, Any, tuple[Any, ...]]] = []

    def callInThreadWithCallback(self, on_result: Any, f: Any, *args: Any) -> None:
        self.queue.append((on_result, f, args))

    def run_all(self) -> None:
        while self.queue:
            on_result, f, args = self.queue.pop(0)
            on_result(True, f(*args))


class FakeReactor(task.Clock):
    """A clock whose callFromThread runs at once and records the thread it came from."""

    def __init__(self, threadpool: Any = None) -> None:
        super().__init__()
        self.threadpool = threadpool or SyncThreadPool()
        self.from_threads: list[int] = []

    def callFromThread(self, f: Any, *args: Any, **kw: Any) -> None:
        self.from_threads.append(threading.get_ident())
        f(*args, **kw)

    def getThreadPool(self) -> Any:
        return self.threadpool


def make_settings(sdk: str = "/nonexistent", port: int = 6001, password: str = "s3cret-pw") -> XTPSettings:
    """Settings pointing at loopback, with C{sdk} as given."""
    return XTPSettings(
        sdk=sdk,
        quote_host="127.0.0.1",
        quote_port=port,
        trade_host="127.0.0.1",
        trade_port=port,
        account="acct",
        password=password,
        software_key="swkey-123",
        log_dir=os.path.abspath("xtp-log"),
    )


class FakeTrader:
    """A TraderApi stand-in: scripted logins, recorded calls."""

    def __init__(self) -> None:
        self.logins: list[int] = []  # session ids (0 = fail) handed out in order
        self.calls: list[tuple[Any, ...]] = []
        self.error = XTPError(1, "[XTP:1]connect server failed.")
        self.events: Any = None
        self.insert_result = 1001
        self.query_result = 0
        self.day = ""

    def attach(self, events: Any, call: Any) -> None:
        self.events = events

    def set_software_version(self, v: str) -> None:
        self.calls.append(("set_software_version", v))

    def set_software_key(self, k: str) -> None:
        self.calls.append(("set_software_key",))

    def set_heartbeat_interval(self, s: int) -> None:
        self.calls.append(("set_heartbeat_interval", s))

    def subscribe_public_topic(self, kind: int) -> None:
        self.calls.append(("subscribe_public_topic", kind))

    def login(self, host: str, port: int, user: str, password: str, protocol: int) -> int:
        self.calls.append(("login", host, port, user))
        return self.logins.pop(0) if self.logins else 0

    def last_error(self) -> XTPError:
        return self.error

    def logout(self, session_id: int) -> int:
        self.calls.append(("logout", session_id))
        return 0

    def release(self) -> None:
        self.calls.append(("release",))

    def trading_day(self) -> str:
        return self.day

    def insert_order(self, order: dict[str, Any], session_id: int) -> int:
        records.order_insert_struct(order)  # the real conversion's checks
        self.calls.append(("insert_order", order, session_id))
        return self.insert_result

    def cancel_order(self, order_xtp_id: int, session_id: int) -> int:
        self.calls.append(("cancel_order", order_xtp_id, session_id))
        return self.insert_result

    def query_orders(self, session_id: int, request_id: int) -> int:
        self.calls.append(("query_orders", session_id, request_id))
        return self.query_result

    def query_trades(self, session_id: int, request_id: int) -> int:
        self.calls.append(("query_trades", session_id, request_id))
        return self.query_result

    def query_position(self, ticker: str, session_id: int, request_id: int, market: int = 0) -> int:
        self.calls.append(("query_position", ticker, session_id, request_id, market))
        return self.query_result

    def query_asset(self, session_id: int, request_id: int) -> int:
        self.calls.append(("query_asset", session_id, request_id))
        return self.query_result

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == name]


class FakeQuote:
    """A QuoteApi stand-in: scripted logins (0 = ok), recorded subscriptions."""

    def __init__(self) -> None:
        self.logins: list[int] = []
        self.calls: list[tuple[Any, ...]] = []
        self.events: Any = None
        self.error = XTPError(1, "[XTP:1]connect server failed.")

    def attach(self, events: Any, call: Any) -> None:
        self.events = events

    def set_heartbeat_interval(self, s: int) -> None:
        pass

    def login(self, host: str, port: int, user: str, password: str, protocol: int) -> int:
        self.calls.append(("login",))
        return self.logins.pop(0) if self.logins else -1

    def last_error(self) -> XTPError:
        return self.error

    def logout(self) -> int:
        self.calls.append(("logout",))
        return 0

    def release(self) -> None:
        self.calls.append(("release",))

    def trading_day(self) -> str:
        return ""

    def subscribe(self, tickers: list[str], exchange_id: int) -> int:
        self.calls.append(("subscribe", tuple(tickers), exchange_id))
        return 0

    def unsubscribe(self, tickers: list[str], exchange_id: int) -> int:
        self.calls.append(("unsubscribe", tuple(tickers), exchange_id))
        return 0

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == name]


def fake_backend(
    trade_logins: list[int], quote_logins: list[int], threadpool: Any = None
) -> tuple[CtypesBackend, FakeReactor, FakeTrader, FakeQuote, RecordingListener]:
    """A started backend over fakes; logins follow the scripts given."""
    reactor = FakeReactor(threadpool)
    trader, quote = FakeTrader(), FakeQuote()
    trader.logins = list(trade_logins)
    quote.logins = list(quote_logins)
    backend = CtypesBackend(make_settings(), reactor, apis=lambda s: (trader, quote))
    listener = RecordingListener()
    backend.start(listener)
    return backend, reactor, trader, quote, listener


# ---------------------------------------------------------------------------
# conversion


class ConversionTests(TestCase):
    """Structs built in ctypes become records with exactly the xtp_types names."""

    def test_order_insert_round_trip(self) -> None:
        """A record → XTPOrderInsertInfo → record gives the same record back."""
        record = {
            "order_xtp_id": 0,
            "order_client_id": 42,
            "ticker": "600000",
            "market": t.XTP_MKT_SH_A,
            "price": 10.25,
            "stop_price": 0.0,
            "quantity": 1000,
            "price_type": t.XTP_PRICE_LIMIT,
            "side": t.XTP_SIDE_BUY,
            "position_effect": t.XTP_POSITION_EFFECT_INIT,
            "reserved1": 0,
            "reserved2": 0,
            "business_type": t.XTP_BUSINESS_TYPE_CASH,
        }
        struct = records.order_insert_struct(record)
        self.assertEqual(struct.u32, t.XTP_SIDE_BUY)  # side is the union's low byte
        self.assertEqual(records.order_insert_record(struct), record)
        self.assertEqual(tuple(records.order_insert_record(struct)), t.ORDER_INSERT_FIELDS)

    def test_order_insert_refuses_unknown_keys(self) -> None:
        """Keys that are not XTPOrderInsertInfo fields, or a too-long ticker, raise ValueError."""
        self.assertRaises(ValueError, records.order_insert_struct, {"tickr": "600000"})
        self.assertRaises(ValueError, records.order_insert_struct, {"ticker": "6" * 16})

    def test_order_record(self) -> None:
        """An XTPOrderInfo becomes a record with ORDER_FIELDS and the values set."""
        record = records.order_record(sample_order())
        self.assertEqual(tuple(record), t.ORDER_FIELDS)
        self.assertEqual(record["order_xtp_id"], 2**63 + 5)
        self.assertEqual(record["ticker"], "600000")
        self.assertEqual(record["side"], t.XTP_SIDE_SELL)
        self.assertEqual((record["reserved1"], record["reserved2"]), (3, 4))
        self.assertEqual(record["order_local_id"], "L0001")
        self.assertEqual(record["order_type"], "0")
        self.assertEqual(record["order_status"], t.XTP_ORDER_STATUS_PARTTRADEDQUEUEING)
        self.assertEqual(record["price"], 10.5)

    def test_trade_record(self) -> None:
        """An XTPTradeReport becomes a record with TRADE_FIELDS; trade_type is a 1-char str."""
        record = records.trade_record(sample_trade())
        self.assertEqual(tuple(record), t.TRADE_FIELDS)
        self.assertEqual(record["exec_id"], "E123456789012345")
        self.assertEqual(record["trade_type"], "0")
        self.assertEqual(record["branch_pbu"], "PBU01")
        self.assertEqual(record["market"], t.XTP_MKT_SZ_A)
        self.assertEqual(record["side"], t.XTP_SIDE_BUY)

    def test_market_data_record(self) -> None:
        """
        An XTPMarketDataStruct becomes a record with MARKET_DATA_FIELDS, ten
        level lists and a nested stk dict of the stock extras.
        """
        record = records.market_data_record(sample_market_data())
        self.assertEqual(tuple(record), t.MARKET_DATA_FIELDS)
        self.assertEqual(record["ticker"], "600000")
        self.assertEqual(len(record["bid"]), 10)
        self.assertEqual(record["bid_qty"][9], 1000)
        self.assertEqual(record["ask"][0], 10.02)
        self.assertEqual(record["ticker_status"], "T111")
        stk = record["stk"]
        self.assertEqual(list(stk), [n for n, _ in structs.field_offsets(structs.XTPMarketDataStockExData)])
        self.assertEqual((stk["total_bid_qty"], stk["iopv"], stk["num_ask_orders"]), (5000, 1.25, 17))
        self.assertEqual(record["data_type_v2"], t.XTP_MARKETDATA_V2_ACTUAL)

    def test_position_and_asset_records(self) -> None:
        """Positions and assets have POSITION_FIELDS / ASSET_FIELDS; a GBK name decodes."""
        p = structs.XTPQueryStkPositionRsp()
        p.ticker = b"600000"
        p.ticker_name = "浦发银行".encode("gbk")
        p.total_qty = 500
        position = records.position_record(p)
        self.assertEqual(tuple(position), t.POSITION_FIELDS)
        self.assertEqual(position["ticker_name"], "浦发银行")
        a = structs.XTPQueryAssetRsp()
        a.buying_power = 1e6
        asset = records.asset_record(a)
        self.assertEqual(tuple(asset), t.ASSET_FIELDS)
        self.assertEqual(asset["buying_power"], 1e6)

    def test_utf8_name(self) -> None:
        """A ticker name already in UTF-8 decodes as UTF-8."""
        self.assertEqual(records.text("平安银行".encode()), "平安银行")

    def test_error(self) -> None:
        """An XTPRI with id 0 is no error; any other id is an XTPError."""
        self.assertIsNone(records.error(structs.XTPRI(0, b"")))
        self.assertEqual(
            records.error(structs.XTPRI(11000350, b"Find none record!")),
            XTPError(11000350, "Find none record!"),
        )
        self.assertIsNone(records.error_at(None))


# ---------------------------------------------------------------------------
# callbacks from foreign threads


class CallbackThreadTests(TestCase):
    """
    Callbacks the SDK would make from its own threads (driven here through
    the real ctypes Spi vtable from a L{threading.Thread}) reach the listener
    on the reactor thread as records.
    """

    def setUp(self) -> None:
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor
        self.listener = RecordingListener()
        self.backend = CtypesBackend(
            make_settings(),
            reactor,
            SyncThreadPool(),
            apis=lambda s: (FakeTrader(), FakeQuote()),
        )
        self.backend.listener = self.listener
        from ofx.backends.xtp.backend import _QuoteEvents, _TradeEvents

        self.trader_spi = api.SpiObject(
            "TraderSpi",
            api.trader_handlers(_TradeEvents(self.backend), reactor.callFromThread),
            reactor.callFromThread,
        )
        self.quote_spi = api.SpiObject(
            "QuoteSpi",
            api.quote_handlers(_QuoteEvents(self.backend), reactor.callFromThread),
            reactor.callFromThread,
        )

    def in_thread(self, spi: api.SpiObject, name: str, *args: Any) -> Deferred[None]:
        """Call Spi slot C{name} from a new thread; fire when the listener hears it."""
        d = self.listener.wait()
        holder = list(args)  # the structs stay alive until the call returns

        def run() -> None:
            spi.slot(name)(spi.pointer, *holder)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        return d

    @defer.inlineCallbacks
    def test_order_event(self) -> Any:
        """OnOrderEvent from a foreign thread gives order_event(record, None) on the reactor thread."""
        order = sample_order()
        yield self.in_thread(
            self.trader_spi, "OnOrderEvent", ctypes.byref(order), ctypes.byref(structs.XTPRI()), 77
        )
        [(record, error)] = self.listener.named("order_event")
        self.assertEqual(record, records.order_record(sample_order()))
        self.assertIsNone(error)
        self.assertEqual(self.listener.threads, [threading.get_ident()])

    @defer.inlineCallbacks
    def test_trade_event_with_error_pointer_null(self) -> Any:
        """OnTradeEvent carries the trade record to trade_event."""
        trade = sample_trade()
        yield self.in_thread(self.trader_spi, "OnTradeEvent", ctypes.byref(trade), 77)
        [(record,)] = self.listener.named("trade_event")
        self.assertEqual(record["exec_id"], "E123456789012345")
        self.assertEqual(self.listener.threads, [threading.get_ident()])

    @defer.inlineCallbacks
    def test_order_rejected(self) -> Any:
        """An OnOrderEvent with an XTPRI error passes the XTPError along."""
        order = sample_order()
        info = structs.XTPRI(11010001, b"Failed to asset check.")
        yield self.in_thread(self.trader_spi, "OnOrderEvent", ctypes.byref(order), ctypes.byref(info), 1)
        [(_, error)] = self.listener.named("order_event")
        self.assertEqual(error, XTPError(11010001, "Failed to asset check."))

    @defer.inlineCallbacks
    def test_query_position(self) -> Any:
        """OnQueryPosition gives query_answer('position', request_id, record, None, is_last)."""
        p = structs.XTPQueryStkPositionRsp(ticker=b"600000", total_qty=300)
        yield self.in_thread(self.trader_spi, "OnQueryPosition", ctypes.byref(p), None, 5, True, 1)
        [(kind, rid, record, error, last)] = self.listener.named("query_answer")
        self.assertEqual((kind, rid, error, last), ("position", 5, None, True))
        self.assertEqual((record["ticker"], record["total_qty"]), ("600000", 300))

    @defer.inlineCallbacks
    def test_query_no_record(self) -> Any:
        """XTP's 'Find none record!' (11000350) becomes one empty last answer without error."""
        info = structs.XTPRI(records.XTP_ERR_NO_RECORD, b"Find none record!")
        blank = structs.XTPOrderInfo()
        yield self.in_thread(
            self.trader_spi, "OnQueryOrder", ctypes.byref(blank), ctypes.byref(info), 9, False, 1
        )
        self.assertEqual(self.listener.named("query_answer"), [("order", 9, None, None, True)])

    @defer.inlineCallbacks
    def test_market_data(self) -> Any:
        """OnDepthMarketData from a foreign thread gives market_data(record) on the reactor thread."""
        md = sample_market_data()
        queue = (ctypes.c_int64 * 50)()
        yield self.in_thread(
            self.quote_spi, "OnDepthMarketData", ctypes.byref(md), queue, 0, 50, queue, 0, 50
        )
        [(record,)] = self.listener.named("market_data")
        self.assertEqual(record, records.market_data_record(sample_market_data()))
        self.assertEqual(self.listener.threads, [threading.get_ident()])

    @defer.inlineCallbacks
    def test_subscribe_answer(self) -> Any:
        """OnSubMarketData gives subscribe_answer((exchange_id, ticker), error, is_last)."""
        st = structs.XTPST(t.XTP_EXCHANGE_SZ, b"000001")
        yield self.in_thread(self.quote_spi, "OnSubMarketData", ctypes.byref(st), None, True)
        self.assertEqual(
            self.listener.named("subscribe_answer"), [((t.XTP_EXCHANGE_SZ, "000001"), None, True)]
        )

    def test_unused_slot_is_noop(self) -> None:
        """A slot the binding does not use accepts its arguments and does nothing."""
        spi = self.trader_spi
        spi.slot("OnQueryCreditAssetDebtInfo")(spi.pointer, 1.5, None, 3, 4)
        self.assertEqual(self.listener.calls, [])

    def test_handler_exception_stays_in_python(self) -> None:
        """A handler that raises returns normally to C; the failure is logged via the reactor."""
        logged = []

        def boom(*args: Any) -> None:
            raise RuntimeError("boom")

        spi = api.SpiObject("QuoteSpi", {"OnError": boom}, lambda f, *a, **k: logged.append(a))
        spi.slot("OnError")(spi.pointer, None)
        self.assertEqual(len(logged), 1)
        self.assertIsInstance(logged[0][1], Failure)


# ---------------------------------------------------------------------------
# the real SDK


_SHARED: dict[str, Any] = {}


def shared_apis(log_dir: str) -> tuple[api.TraderApi, api.QuoteApi]:
    """
    One real TraderApi and QuoteApi for all these tests. The SDK's Release
    blocks for 6 to 7 seconds (it joins its threads), so they are made once
    and never released; the process exits cleanly without it.
    """
    if not _SHARED:
        paths = api.find_sdk(sdk_dir())
        level = api.LOG_LEVELS["warning"]
        _SHARED["apis"] = (
            api.TraderApi.create(paths, 1, log_dir, level),
            api.QuoteApi.create(paths, 1, log_dir, level),
        )
    return _SHARED["apis"]  # type: ignore[no-any-return]


class NoRelease:
    """A real SDK object whose release (6 s) is skipped, so tests can share it."""

    def __init__(self, sdk_object: Any) -> None:
        self._sdk_object = sdk_object

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sdk_object, name)

    def release(self) -> None:
        pass


class LibraryTests(TestCase):
    """The SDK libraries load and answer through their vtables."""

    def setUp(self) -> None:
        self.trader, self.quote = shared_apis(os.path.abspath("xtp-log"))

    def test_versions(self) -> None:
        """GetApiVersion of both APIs returns the SDK's version, 2.2.32."""
        self.assertEqual(self.trader.version(), "2.2.32")
        self.assertEqual(self.quote.version(), "2.2.32")

    def test_trading_day_before_login(self) -> None:
        """Before any successful login, GetTradingDay of both APIs returns an empty string."""
        self.assertEqual((self.trader.trading_day(), self.quote.trading_day()), ("", ""))

    def test_calls_without_session(self) -> None:
        """
        InsertOrder without a session returns 0 and GetApiLastError says
        10210302 (no connection); QueryAsset returns -1.
        """
        order = {
            "ticker": "600000",
            "market": t.XTP_MKT_SH_A,
            "price": 10.0,
            "quantity": 100,
            "price_type": t.XTP_PRICE_LIMIT,
            "side": t.XTP_SIDE_BUY,
        }
        self.assertEqual(self.trader.insert_order(order, 0), 0)
        self.assertEqual(self.trader.last_error().error_id, 10210302)
        self.assertEqual(self.trader.query_asset(0, 1), -1)
        self.assertEqual(self.quote.subscribe(["600000"], t.XTP_EXCHANGE_SH), -1)
        self.assertEqual(self.quote.last_error().error_id, 10200301)

    def test_login_refused(self) -> None:
        """
        Logging in to a loopback port where nothing listens fails at once
        (well under a second here) with XTP error 1, 'connect server failed',
        for both APIs; nothing crashes.
        """
        port = free_port()
        started = time.monotonic()
        self.assertEqual(self.trader.login("127.0.0.1", port, "u", "p", api.XTP_PROTOCOL_TCP), 0)
        error = self.trader.last_error()
        self.assertEqual(error.error_id, 1)
        self.assertIn("connect server failed", error.error_msg)
        self.assertEqual(self.quote.login("127.0.0.1", port, "u", "p", api.XTP_PROTOCOL_TCP), -1)
        self.assertEqual(self.quote.last_error().error_id, 1)
        self.assertLess(time.monotonic() - started, 5)

    def test_last_error_per_thread(self) -> None:
        """
        GetApiLastError is kept per thread: a login refused in one thread
        and an order refused in another each read back their own error.
        """
        port = free_port()
        seen: dict[str, int] = {}
        failed, refused = threading.Event(), threading.Event()

        def other() -> None:
            self.trader.login("127.0.0.1", port, "u", "p", api.XTP_PROTOCOL_TCP)
            failed.set()
            refused.wait(10)
            seen["thread"] = self.trader.last_error().error_id

        thread = threading.Thread(target=other)
        thread.start()
        failed.wait(10)
        self.trader.insert_order({"ticker": "600000"}, 0)
        seen["main"] = self.trader.last_error().error_id
        refused.set()
        thread.join()
        self.assertEqual(seen, {"thread": 1, "main": 10210302})

    def test_backend_login_refused(self) -> None:
        """
        The backend over the real SDK, logging in where nothing listens,
        reports both sessions down with the SDK's error and retries later.
        """
        trader, quote = self.trader, self.quote
        settings = make_settings(sdk=sdk_dir(), port=free_port())
        reactor = FakeReactor()
        backend = CtypesBackend(settings, reactor, apis=lambda s: (NoRelease(trader), NoRelease(quote)))
        listener = RecordingListener()
        backend.start(listener)
        self.addCleanup(backend.stop)
        self.assertFalse(backend.is_up(TRADE_SESSION))
        self.assertFalse(backend.is_up(QUOTE_SESSION))
        changes = listener.named("session_changed")
        self.assertEqual(
            sorted((s, up) for s, up, _ in changes), [(QUOTE_SESSION, False), (TRADE_SESSION, False)]
        )
        self.assertTrue(all(reason.startswith("login failed: 1 ") for _, _, reason in changes))
        state = backend.session_states()[TRADE_SESSION]
        self.assertEqual(state["state"], "reconnecting")
        self.assertEqual(state["last_error"]["error_id"], 1)
        self.assertRaises(BackendError, backend.query_asset, 1)


    def test_gateway_with_counter_down(self) -> None:
        """
        A gateway on the real binding whose counter refuses the login keeps
        serving the quotes it already has, and answers 503 naming the session
        for what needs the counter.
        """
        from tests.harness import Gateway

        settings = make_settings(sdk=sdk_dir(), port=free_port())
        backend = CtypesBackend(
            settings, FakeReactor(), apis=lambda s: (NoRelease(self.trader), NoRelease(self.quote))
        )
        gw = Gateway(self, backend=backend)
        self.assertFalse(gw.service.is_up(TRADE_SESSION))
        downs = [e for e in gw.journal.read_day(gw.journal.day) if e.kind == "session"]
        self.assertEqual(sorted(e.body["session"] for e in downs if not e.body["up"]), ["quote", "trade"])
        gw.service.market_data(records.market_data_record(sample_market_data()))
        stock = {"code": sample_market_data().ticker.decode(), "market": "SH"}
        self.assertEqual(gw.ask("quote", 100001, stock)["stat"], 200)
        for port, cmd, params in (("quote", 110001, [stock]), ("trade", 210001, None)):
            answer = gw.ask(port, cmd, params)
            self.assertEqual(answer["stat"], 503)
            self.assertIn("session is not connected", answer["error"])


# ---------------------------------------------------------------------------
# backend over fakes


class BackendTests(TestCase):
    """L{CtypesBackend}'s calls, state and reconnection, over fake SDK objects."""

    def test_interface(self) -> None:
        """CtypesBackend provides IXTPBackend and is of kind 'ctypes'."""
        backend, *_ = fake_backend([1], [0])
        verifyObject(IXTPBackend, backend)
        self.assertEqual(backend.kind, "ctypes")

    def test_no_sdk(self) -> None:
        """Without the SDK, building the backend fails with one line saying how to fetch it."""
        e = self.assertRaises(ConfigError, CtypesBackend, make_settings(sdk="/nonexistent"), FakeReactor())
        self.assertIn("python -m ofx sdk fetch", str(e))
        self.assertNotIn("\n", str(e))

    def test_login_sets_up(self) -> None:
        """A successful start logs both sessions in and tells the listener each is up."""
        backend, reactor, trader, quote, listener = fake_backend([42], [0])
        self.assertTrue(backend.is_up(TRADE_SESSION))
        self.assertTrue(backend.is_up(QUOTE_SESSION))
        self.assertEqual(
            sorted(listener.named("session_changed")),
            [(QUOTE_SESSION, True, "logged in"), (TRADE_SESSION, True, "logged in")],
        )
        self.assertEqual(trader.named("subscribe_public_topic"), [(api.XTP_TERT_QUICK,)])
        self.assertEqual(trader.named("login"), [("127.0.0.1", 6001, "acct")])

    def test_backoff(self) -> None:
        """
        Failed logins are retried after 1, 2, 4, ... seconds, capped at
        backoff_cap; the listener hears 'down' once, then 'up' when a login works.
        """
        backend, reactor, trader, quote, listener = fake_backend([0] * 9 + [42], [0])
        delays = []
        for _ in range(9):
            state = backend.session_states()[TRADE_SESSION]
            delays.append(state["retry_at"] - reactor.seconds())
            reactor.advance(delays[-1])
        self.assertEqual(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60])
        self.assertTrue(backend.is_up(TRADE_SESSION))
        trade_changes = [c for c in listener.named("session_changed") if c[0] == TRADE_SESSION]
        self.assertEqual([up for _, up, _ in trade_changes], [False, True])
        self.assertEqual(len(trader.named("login")), 10)

    def test_reconnect_after_disconnect(self) -> None:
        """
        OnDisconnected reports the trade session down, logs in again after
        the backoff, reports it up and queries orders, trades and positions
        with negative (reconcile) request ids.
        """
        backend, reactor, trader, quote, listener = fake_backend([42, 0, 43], [0])
        trader.events.on_disconnected(1)
        self.assertFalse(backend.is_up(TRADE_SESSION))
        self.assertEqual(listener.named("session_changed")[-1][:2], (TRADE_SESSION, False))
        state = backend.session_states()[TRADE_SESSION]
        self.assertEqual(state["state"], "reconnecting")
        self.assertEqual(state["last_error"]["error_id"], 10210006)
        reactor.advance(1)  # fails
        self.assertFalse(backend.is_up(TRADE_SESSION))
        reactor.advance(2)  # works
        self.assertTrue(backend.is_up(TRADE_SESSION))
        self.assertEqual(listener.named("session_changed")[-1], (TRADE_SESSION, True, "reconnected"))
        [(sid1, r1)] = trader.named("query_orders")
        [(sid2, r2)] = trader.named("query_trades")
        [(ticker, sid3, r3, market)] = trader.named("query_position")
        self.assertEqual((sid1, sid2, sid3, ticker, market), (43, 43, 43, "", 0))
        self.assertTrue(all(is_reconcile_request(r) for r in (r1, r2, r3)))
        self.assertEqual(len({r1, r2, r3}), 3)

    def test_reconcile_answers(self) -> None:
        """
        Reconcile answers reach the listener as order_event / trade_event
        (orders, trades) and as query_answer with the negative id (positions);
        ordinary answers stay query_answer.
        """
        backend, reactor, trader, quote, listener = fake_backend([42, 43], [0])
        trader.events.on_disconnected(1)
        reactor.advance(1)
        [(_, rid_orders)] = trader.named("query_orders")
        [(_, rid_trades)] = trader.named("query_trades")
        [(_, _, rid_pos, _)] = trader.named("query_position")
        order, trade = records.order_record(sample_order()), records.trade_record(sample_trade())
        trader.events.on_query("order", rid_orders, order, None, True)
        trader.events.on_query("trade", rid_trades, trade, None, True)
        trader.events.on_query("position", rid_pos, None, None, True)
        trader.events.on_query("order", 7, order, None, True)
        self.assertEqual(listener.named("order_event"), [(order, None)])
        self.assertEqual(listener.named("trade_event"), [(trade,)])
        self.assertEqual(
            listener.named("query_answer"),
            [("position", rid_pos, None, None, True), ("order", 7, order, None, True)],
        )

    def test_resubscribe(self) -> None:
        """
        Tickers subscribed while the quote session is down are sent at login,
        and every ticker still held is sent again after a reconnect.
        """
        backend, reactor, trader, quote, listener = fake_backend([42], [-1, 0, 0])
        backend.subscribe([(t.XTP_EXCHANGE_SH, "600000"), (t.XTP_EXCHANGE_SZ, "000001")])
        self.assertEqual(quote.named("subscribe"), [])
        reactor.advance(1)
        self.assertTrue(backend.is_up(QUOTE_SESSION))
        expected = [(("600000",), t.XTP_EXCHANGE_SH), (("000001",), t.XTP_EXCHANGE_SZ)]
        self.assertEqual(sorted(quote.named("subscribe")), sorted(expected))
        backend.unsubscribe([(t.XTP_EXCHANGE_SZ, "000001")])
        self.assertEqual(quote.named("unsubscribe"), [(("000001",), t.XTP_EXCHANGE_SZ)])
        quote.calls.clear()
        quote.events.on_disconnected(3)
        self.assertEqual(listener.named("session_changed")[-1][:2], (QUOTE_SESSION, False))
        reactor.advance(1)
        self.assertEqual(quote.named("subscribe"), [(("600000",), t.XTP_EXCHANGE_SH)])
        self.assertEqual(listener.named("session_changed")[-1][:2], (QUOTE_SESSION, True))

    def test_insert_order(self) -> None:
        """insert_order returns the SDK's order_xtp_id, sent on the current session."""
        backend, reactor, trader, quote, listener = fake_backend([42], [0])
        order = {
            "ticker": "600000",
            "market": t.XTP_MKT_SH_A,
            "price": 10.0,
            "quantity": 100,
            "price_type": t.XTP_PRICE_LIMIT,
            "side": t.XTP_SIDE_BUY,
        }
        self.assertEqual(backend.insert_order(order), 1001)
        self.assertEqual(trader.named("insert_order"), [(order, 42)])

    def test_insert_order_refused(self) -> None:
        """Where InsertOrder returns 0, insert_order raises BackendError with GetApiLastError."""
        backend, reactor, trader, quote, listener = fake_backend([42], [0])
        trader.insert_result = 0
        trader.error = XTPError(11000107, "Parameter quantity invalid!")
        e = self.assertRaises(BackendError, backend.insert_order, {"ticker": "600000"})
        self.assertEqual(e.error, trader.error)

    def test_bad_order_record(self) -> None:
        """A record with unknown keys raises BackendError (parameter error), not ValueError."""
        backend, *_ = fake_backend([42], [0])
        e = self.assertRaises(BackendError, backend.insert_order, {"nonsense": 1})
        self.assertEqual(e.error.error_id, 11000100)

    def test_calls_while_down(self) -> None:
        """Trade calls while the trade session is down raise BackendError (no connection)."""
        backend, *_ = fake_backend([0], [0])
        for call in (
            lambda: backend.insert_order({}),
            lambda: backend.cancel_order(1),
            lambda: backend.query_asset(1),
            lambda: backend.query_trades(1),
        ):
            e = self.assertRaises(BackendError, call)
            self.assertEqual(e.error, TRADE_NOT_UP)

    def test_queries(self) -> None:
        """The query methods call the SDK with the session and the caller's request id."""
        backend, reactor, trader, quote, listener = fake_backend([42], [0])
        backend.query_asset(1)
        backend.query_positions(2)
        backend.query_orders(3)
        backend.query_trades(4)
        backend.cancel_order(555)
        self.assertEqual(trader.named("query_asset"), [(42, 1)])
        self.assertEqual(trader.named("query_position"), [("", 42, 2, 0)])
        self.assertEqual(trader.named("query_orders"), [(42, 3)])
        self.assertEqual(trader.named("query_trades"), [(42, 4)])
        self.assertEqual(trader.named("cancel_order"), [(555, 42)])

    def test_query_refused(self) -> None:
        """A query the SDK refuses at once raises BackendError with GetApiLastError."""
        backend, reactor, trader, quote, listener = fake_backend([42], [0])
        trader.query_result = -1
        trader.error = XTPError(10210302, "Session failed: no connection.")
        e = self.assertRaises(BackendError, backend.query_orders, 3)
        self.assertEqual(e.error.error_id, 10210302)

    def test_events_reach_listener(self) -> None:
        """Order, trade, cancel-error and market data events are passed to the listener."""
        backend, reactor, trader, quote, listener = fake_backend([42], [0])
        trader.events.on_order_event({"order_xtp_id": 1}, None)
        trader.events.on_trade_event({"exec_id": "1"})
        trader.events.on_cancel_error({"order_xtp_id": 1}, XTPError(11000343, "finished"))
        quote.events.on_market_data({"ticker": "600000"})
        names = [n for n, _ in listener.calls if n != "session_changed"]
        self.assertEqual(names, ["order_event", "trade_event", "cancel_error", "market_data"])

    def test_stop(self) -> None:
        """stop cancels the retry, logs out what is up and releases both APIs."""
        backend, reactor, trader, quote, listener = fake_backend([0], [0])
        d = backend.stop()
        self.successResultOf(d)
        self.assertEqual(reactor.getDelayedCalls(), [])
        self.assertEqual(quote.named("logout"), [()])
        self.assertEqual(trader.named("logout"), [])
        self.assertEqual(trader.named("release"), [()])
        self.assertEqual(listener.named("session_changed")[-1], (QUOTE_SESSION, False, "stopped"))
        self.assertEqual(backend.session_states()[TRADE_SESSION]["state"], "stopped")

    def test_stop_during_login(self) -> None:
        """
        stop while a login is still running waits for it, then logs out the
        session it opened before releasing; the listener hears nothing more.
        """
        pool = ManualThreadPool()
        backend, reactor, trader, quote, listener = fake_backend([42], [0], threadpool=pool)
        d = backend.stop()
        self.assertNoResult(d)
        pool.run_all()  # the two logins finish, then the stop's logout runs
        pool.run_all()
        self.successResultOf(d)
        self.assertEqual(trader.named("logout"), [(42,)])
        self.assertEqual(trader.named("release"), [()])
        self.assertEqual(listener.named("session_changed"), [])

    def test_trading_day(self) -> None:
        """trading_day is the trade API's GetTradingDay."""
        backend, reactor, trader, quote, listener = fake_backend([42], [0])
        trader.day = "20240506"
        self.assertEqual(backend.trading_day(), "20240506")


# ---------------------------------------------------------------------------
# settings

BASE = (
    ("quote_host", "120.27.164.138"),
    ("quote_port", "6002"),
    ("trade_host", "122.112.139.0"),
    ("trade_port", "6101"),
    ("account", "253191001883"),
    ("password", "kx9PqLw2"),
    ("software_key", "b8aa7173bba3470e390d787219b2112e"),
)


def xtp(**changes: str | None) -> XTPConfig:
    """An XTPConfig with BASE settings, changed (None removes a key)."""
    values = dict(BASE)
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return XTPConfig(backend="ctypes", settings=tuple(values.items()))


class SettingsTests(TestCase):
    """C{[xtp]} is checked and converted; errors name the file and key."""

    def test_defaults(self) -> None:
        """Optional keys take their defaults; relative dirs are under the config's directory."""
        s = settings_from_config(xtp(), "/etc/ofx/ofx.ini")
        self.assertEqual(s.sdk, "/etc/ofx/sdk")
        self.assertEqual(s.log_dir, "/etc/ofx/xtp-log")
        self.assertEqual((s.client_id, s.heartbeat, s.quote_protocol), (1, 15, api.XTP_PROTOCOL_TCP))
        self.assertEqual(s.log_level, api.LOG_LEVELS["info"])
        self.assertEqual((s.trade_host, s.trade_port), ("122.112.139.0", 6101))

    def test_values(self) -> None:
        """Given values are converted: udp, client_id, log_level, heartbeat, absolute sdk."""
        s = settings_from_config(
            xtp(quote_protocol="UDP", client_id="99", log_level="trace", heartbeat="30", sdk="/opt/xtp"),
            "/etc/ofx/ofx.ini",
        )
        self.assertEqual(
            (s.quote_protocol, s.client_id, s.log_level, s.heartbeat, s.sdk),
            (api.XTP_PROTOCOL_UDP, 99, 5, 30, "/opt/xtp"),
        )

    def test_errors(self) -> None:
        """Each bad value raises ConfigError naming '<path>: [xtp] <key>:'."""
        cases = {
            "client_id": "0",
            "quote_port": "70000",
            "quote_protocol": "sctp",
            "log_level": "loud",
            "heartbeat": "x",
            "trade_host": "host:6001",
        }
        for key, value in cases.items():
            e = self.assertRaises(ConfigError, settings_from_config, xtp(**{key: value}), "ofx.ini")
            self.assertTrue(str(e).startswith(f"ofx.ini: [xtp] {key}: "), str(e))

    def test_missing(self) -> None:
        """A missing required key is named."""
        e = self.assertRaises(ConfigError, settings_from_config, xtp(account=None), "ofx.ini")
        self.assertTrue(str(e).startswith("ofx.ini: [xtp] account: missing"))

    def test_secrets_hidden(self) -> None:
        """The password and software key never appear in the settings' repr."""
        s = settings_from_config(xtp(), "ofx.ini")
        self.assertNotIn("kx9PqLw2", repr(s))
        self.assertNotIn("b8aa7173", repr(s))

    def test_refuse_demo_key(self) -> None:
        """The shipped demo [ofx] key is refused, without quoting it."""
        s = settings_from_config(xtp(), "ofx.ini")
        e = self.assertRaises(ConfigError, refuse_demo, s, "demo-key-123", "ofx.ini", {"demo-key-123"})
        self.assertTrue(str(e).startswith("ofx.ini: [ofx] key: "))
        self.assertNotIn("demo-key-123", str(e))

    def test_refuse_demo_password(self) -> None:
        """A demo password ('Demo' in any case) is refused, without quoting it."""
        s = settings_from_config(xtp(password="Demo"), "ofx.ini")
        e = self.assertRaises(ConfigError, refuse_demo, s, "real-key-xyz", "ofx.ini", {"demo-key"})
        self.assertTrue(str(e).startswith("ofx.ini: [xtp] password: "))
        self.assertNotIn("Demo", str(e))

    def test_accepts_real_values(self) -> None:
        """A real key and password pass the demo check."""
        s = settings_from_config(xtp(), "ofx.ini")
        refuse_demo(s, "real-key-xyz", "ofx.ini", {"demo-key"})
