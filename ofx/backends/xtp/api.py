"""
The XTP SDK's C++ classes, driven from ctypes.

Why vtables from ctypes and not a C shim: the shim would need a C++ compiler
and the SDK headers on every machine that installs OFX, plus a build step
that fails in ways Python users do not expect. The SDK's classes are plain
interfaces (no data members, no virtual destructor, single inheritance), and
on Linux x86-64 the Itanium C++ ABI fixes everything ctypes needs:

 - an object's first word points at its vtable, an array of function
   pointers, one per virtual method in declaration order;
 - a virtual method is a plain C function whose first argument is C{this};
 - C{bool} is one byte, enums are C{int}, structs are passed by pointer.

So C{TraderApi} / C{QuoteApi} objects come from the exported factories
(C{XTP::API::TraderApi::CreateTraderApi} and
C{XTP::API::QuoteApi::CreateQuoteApi}, by their mangled names) and each call
reads its slot from the vtable. The callback objects (C{TraderSpi},
C{QuoteSpi}) are built in ctypes memory: a vtable array holding a
C{CFUNCTYPE} for every slot (unused slots get a no-op of the same
signature), and a one-word object pointing at it. L{VTABLES} and
L{SIGNATURES} are the whole contract; C{tests/test_xtp_structs.py} compiles
the SDK headers with g++ and checks every slot index and every signature
against them, so a header change that shifts a slot fails a test instead of
calling the wrong method.

Threads: the SDK calls the Spi from its own threads. Each callback copies
its C data into Python values (L{ofx.backends.xtp.records}) at once, hands
them to the reactor with C{call_from_thread} and returns; nothing else runs on
the SDK's thread. Every CFUNCTYPE and vtable is kept referenced by its
L{SpiObject}, and registered Spi objects are kept for the life of the process
(L{_REGISTERED}), so the SDK never calls into freed memory.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from ctypes import c_bool, c_char_p, c_double, c_int, c_int64, c_uint8, c_uint32, c_uint64, c_void_p
from typing import Any, Self

import attr
from twisted.logger import Logger
from twisted.python.failure import Failure

from ofx.backends.interface import Record, XTPError
from ofx.backends.xtp import records, structs
from ofx.config import ConfigError

log = Logger()

TRADER_LIB = "libxtptraderapi.so"
QUOTE_LIB = "libxtpquoteapi.so"
FETCH_HINT = "run python -m ofx sdk fetch --dest DIR and set [xtp] sdk = DIR"

CREATE_TRADER = "_ZN3XTP3API9TraderApi15CreateTraderApiEhPKc13XTP_LOG_LEVEL"
CREATE_QUOTE = "_ZN3XTP3API8QuoteApi14CreateQuoteApiEhPKc13XTP_LOG_LEVEL"

# XTP_PROTOCOL_TYPE
XTP_PROTOCOL_TCP = 1
XTP_PROTOCOL_UDP = 2
# XTP_TE_RESUME_TYPE
XTP_TERT_RESTART = 0
XTP_TERT_RESUME = 1
XTP_TERT_QUICK = 2
# XTP_LOG_LEVEL
LOG_LEVELS = {"fatal": 0, "error": 1, "warning": 2, "info": 3, "debug": 4, "trace": 5}


class SDKNotFound(ConfigError):
    """The SDK libraries or headers are not where C{[xtp] sdk} says."""


@attr.frozen
class SDKPaths:
    """Where one SDK's pieces are."""

    trader_lib: str
    quote_lib: str
    include: str


def find_sdk(directory: str) -> SDKPaths:
    """
    Find the two libraries (in C{directory} or C{directory/lib}) and the
    headers (C{directory/include/xtp}); raise L{SDKNotFound} with one line
    saying how to fetch them.
    """
    libs = {}
    for name in (TRADER_LIB, QUOTE_LIB):
        for where in (directory, os.path.join(directory, "lib")):
            candidate = os.path.join(where, name)
            if os.path.isfile(candidate):
                libs[name] = os.path.abspath(candidate)
                break
        else:
            raise SDKNotFound(f"XTP SDK not found: no {name} in {directory}: {FETCH_HINT}")
    include = os.path.join(directory, "include")
    if not os.path.isfile(os.path.join(include, "xtp", "xtp_trader_api.h")):
        raise SDKNotFound(f"XTP SDK not found: no include/xtp headers in {directory}: {FETCH_HINT}")
    return SDKPaths(libs[TRADER_LIB], libs[QUOTE_LIB], os.path.abspath(include))


# ---------------------------------------------------------------------------
# Vtables: every virtual method of each class, in declaration (slot) order.

VTABLES: dict[str, tuple[str, ...]] = {
    "TraderApi": (
        "Release", "GetTradingDay", "RegisterSpi", "GetApiLastError", "GetApiVersion",
        "GetClientIDByXTPID", "GetAccountByXTPID", "SubscribePublicTopic",
        "SetSoftwareVersion", "SetSoftwareKey", "SetHeartBeatInterval", "Login", "Logout",
        "IsServerRestart", "ModifyUserTerminalInfo", "InsertOrder", "CancelOrder",
        "QueryOrderByXTPID", "QueryOrders", "QueryUnfinishedOrders", "QueryOrdersByPage",
        "QueryOrderByXTPIDEx", "QueryOrdersEx", "QueryUnfinishedOrdersEx",
        "QueryOrdersByPageEx", "QueryTradesByXTPID", "QueryTrades", "QueryTradesByPage",
        "QueryPosition", "QueryAsset", "QueryStructuredFund", "FundTransfer",
        "QueryFundTransfer", "QueryOtherServerFund", "QueryETF", "QueryETFTickerBasket",
        "QueryIPOInfoList", "QueryIPOQuotaInfo", "QueryOptionAuctionInfo", "CreditCashRepay",
        "CreditCashRepayDebtInterestFee", "CreditSellStockRepayDebtInterestFee",
        "QueryCreditCashRepayInfo", "QueryCreditFundInfo", "QueryCreditDebtInfo",
        "QueryCreditTickerDebtInfo", "QueryCreditAssetDebtInfo", "QueryCreditTickerAssignInfo",
        "QueryCreditExcessStock", "QueryMulCreditExcessStock", "CreditExtendDebtDate",
        "QueryCreditExtendDebtDateOrders", "QueryCreditFundExtraInfo",
        "QueryCreditPositionExtraInfo", "InsertOptionCombinedOrder",
        "CancelOptionCombinedOrder", "QueryOptionCombinedUnfinishedOrders",
        "QueryOptionCombinedOrderByXTPID", "QueryOptionCombinedOrders",
        "QueryOptionCombinedOrdersByPage", "QueryOptionCombinedUnfinishedOrdersEx",
        "QueryOptionCombinedOrderByXTPIDEx", "QueryOptionCombinedOrdersEx",
        "QueryOptionCombinedOrdersByPageEx", "QueryOptionCombinedTradesByXTPID",
        "QueryOptionCombinedTrades", "QueryOptionCombinedTradesByPage",
        "QueryOptionCombinedPosition", "QueryOptionCombinedStrategyInfo",
        "QueryOptionCombinedExecPosition",
    ),
    "QuoteApi": (
        "Release", "GetTradingDay", "GetApiVersion", "GetApiLastError", "SetUDPBufferSize",
        "RegisterSpi", "SetHeartBeatInterval", "SetUDPRecvThreadAffinity",
        "SetUDPRecvThreadAffinityArray", "SetUDPParseThreadAffinity",
        "SetUDPParseThreadAffinityArray", "SetUDPSeqLogOutPutFlag", "SubscribeMarketData",
        "UnSubscribeMarketData", "SubscribeOrderBook", "UnSubscribeOrderBook",
        "SubscribeTickByTick", "UnSubscribeTickByTick", "SubscribeAllMarketData",
        "UnSubscribeAllMarketData", "SubscribeAllOrderBook", "UnSubscribeAllOrderBook",
        "SubscribeAllTickByTick", "UnSubscribeAllTickByTick", "Login", "Logout",
        "QueryAllTickers", "QueryTickersPriceInfo", "QueryAllTickersPriceInfo",
        "SubscribeAllOptionMarketData", "UnSubscribeAllOptionMarketData",
        "SubscribeAllOptionOrderBook", "UnSubscribeAllOptionOrderBook",
        "SubscribeAllOptionTickByTick", "UnSubscribeAllOptionTickByTick",
        "QueryAllTickersFullInfo",
    ),
    "TraderSpi": (
        "OnDisconnected", "OnError", "OnOrderEvent", "OnTradeEvent", "OnCancelOrderError",
        "OnQueryOrder", "OnQueryOrderEx", "OnQueryOrderByPage", "OnQueryOrderByPageEx",
        "OnQueryTrade", "OnQueryTradeByPage", "OnQueryPosition", "OnQueryAsset",
        "OnQueryStructuredFund", "OnQueryFundTransfer", "OnFundTransfer",
        "OnQueryOtherServerFund", "OnQueryETF", "OnQueryETFBasket", "OnQueryIPOInfoList",
        "OnQueryIPOQuotaInfo", "OnQueryOptionAuctionInfo", "OnCreditCashRepay",
        "OnCreditCashRepayDebtInterestFee", "OnQueryCreditCashRepayInfo",
        "OnQueryCreditFundInfo", "OnQueryCreditDebtInfo", "OnQueryCreditTickerDebtInfo",
        "OnQueryCreditAssetDebtInfo", "OnQueryCreditTickerAssignInfo",
        "OnQueryCreditExcessStock", "OnQueryMulCreditExcessStock", "OnCreditExtendDebtDate",
        "OnQueryCreditExtendDebtDateOrders", "OnQueryCreditFundExtraInfo",
        "OnQueryCreditPositionExtraInfo", "OnOptionCombinedOrderEvent",
        "OnOptionCombinedTradeEvent", "OnCancelOptionCombinedOrderError",
        "OnQueryOptionCombinedOrders", "OnQueryOptionCombinedOrdersEx",
        "OnQueryOptionCombinedOrdersByPage", "OnQueryOptionCombinedOrdersByPageEx",
        "OnQueryOptionCombinedTrades", "OnQueryOptionCombinedTradesByPage",
        "OnQueryOptionCombinedPosition", "OnQueryOptionCombinedStrategyInfo",
        "OnQueryOptionCombinedExecPosition",
    ),
    "QuoteSpi": (
        "OnDisconnected", "OnError", "OnSubMarketData", "OnUnSubMarketData",
        "OnDepthMarketData", "OnSubOrderBook", "OnUnSubOrderBook", "OnOrderBook",
        "OnSubTickByTick", "OnUnSubTickByTick", "OnTickByTick", "OnSubscribeAllMarketData",
        "OnUnSubscribeAllMarketData", "OnSubscribeAllOrderBook", "OnUnSubscribeAllOrderBook",
        "OnSubscribeAllTickByTick", "OnUnSubscribeAllTickByTick", "OnQueryAllTickers",
        "OnQueryTickersPriceInfo", "OnSubscribeAllOptionMarketData",
        "OnUnSubscribeAllOptionMarketData", "OnSubscribeAllOptionOrderBook",
        "OnUnSubscribeAllOptionOrderBook", "OnSubscribeAllOptionTickByTick",
        "OnUnSubscribeAllOptionTickByTick", "OnQueryAllTickersFullInfo",
    ),
}  # fmt: skip

# Signatures as "<return>:<arguments>" (C{this} not included), one letter a
# type: v void, s char pointer, P other pointer, b bool, B uint8, i int32 or
# enum, I uint32, q int64, Q uint64, d double.
CTYPES: dict[str, Any] = {
    "v": None, "s": c_char_p, "P": c_void_p, "b": c_bool, "B": c_uint8, "i": c_int,
    "I": c_uint32, "q": c_int64, "Q": c_uint64, "d": c_double,
}  # fmt: skip

SIGNATURES: dict[str, dict[str, str]] = {
    "TraderApi": {
        "Release": "v:", "GetTradingDay": "s:", "RegisterSpi": "v:P", "GetApiLastError": "P:",
        "GetApiVersion": "s:", "SubscribePublicTopic": "v:i", "SetSoftwareVersion": "v:s",
        "SetSoftwareKey": "v:s", "SetHeartBeatInterval": "v:I", "Login": "Q:sissis",
        "Logout": "i:Q", "InsertOrder": "Q:PQ", "CancelOrder": "Q:QQ",
        "QueryOrders": "i:PQi", "QueryTrades": "i:PQi", "QueryPosition": "i:sQii",
        "QueryAsset": "i:Qi",
    },
    "QuoteApi": {
        "Release": "v:", "GetTradingDay": "s:", "GetApiVersion": "s:", "GetApiLastError": "P:",
        "SetUDPBufferSize": "v:I", "RegisterSpi": "v:P", "SetHeartBeatInterval": "v:I",
        "SubscribeMarketData": "i:Pii", "UnSubscribeMarketData": "i:Pii",
        "Login": "i:sissis", "Logout": "i:",
    },
}  # fmt: skip

_QUERY5 = "v:PPibQ"  # (record, error, request_id, is_last, session_id)
_PAGE = "v:PqqqibQ"
_SUB = "v:PPb"  # (ticker, error, is_last)
_ALL = "v:iP"  # (exchange_id, error)

SPI_SIGNATURES: dict[str, tuple[str, ...]] = {
    "TraderSpi": (
        "v:Qi", "v:P", "v:PPQ", "v:PQ", "v:PPQ",  # OnDisconnected .. OnCancelOrderError
        _QUERY5, _QUERY5, _PAGE, _PAGE,  # OnQueryOrder, Ex, ByPage, ByPageEx
        _QUERY5, _PAGE, _QUERY5, _QUERY5,  # OnQueryTrade, ByPage, Position, Asset
        _QUERY5, _QUERY5, "v:PPQ", "v:PPiQ",  # StructuredFund .. OtherServerFund
        _QUERY5, _QUERY5, _QUERY5, _QUERY5, _QUERY5,  # ETF .. OptionAuctionInfo
        "v:PPQ", "v:PPQ", _QUERY5, "v:PPiQ", _QUERY5, _QUERY5,  # credit ..
        "v:dPiQ", _QUERY5, "v:PPiQ", "v:PPiQb", "v:PPQ", _QUERY5,
        "v:PPiQ", _QUERY5,  # CreditFundExtraInfo, CreditPositionExtraInfo
        "v:PPQ", "v:PQ", "v:PPQ",  # option combined events
        _QUERY5, _QUERY5, _PAGE, _PAGE, _QUERY5, _PAGE, _QUERY5, _QUERY5, _QUERY5,
    ),
    "QuoteSpi": (
        "v:i", "v:P", _SUB, _SUB, "v:PPiiPii",  # .. OnDepthMarketData
        _SUB, _SUB, "v:P", _SUB, _SUB, "v:P",  # order book, tick by tick
        _ALL, _ALL, _ALL, _ALL, _ALL, _ALL,  # (Un)SubscribeAll*
        _SUB, _SUB,  # OnQueryAllTickers, OnQueryTickersPriceInfo
        _ALL, _ALL, _ALL, _ALL, _ALL, _ALL,  # (Un)SubscribeAllOption*
        _SUB,  # OnQueryAllTickersFullInfo
    ),
}  # fmt: skip


def prototype(signature: str) -> Any:
    """The C{CFUNCTYPE} of a method with this signature (with C{this} first)."""
    result, _, args = signature.partition(":")
    return ctypes.CFUNCTYPE(CTYPES[result], c_void_p, *(CTYPES[a] for a in args))


# ---------------------------------------------------------------------------
# Libraries

_LIBRARIES: dict[str, ctypes.CDLL] = {}


def load_library(path: str) -> ctypes.CDLL:
    """C{dlopen} a library once per process (the SDK cannot be unloaded safely)."""
    if path not in _LIBRARIES:
        if not sys.platform.startswith("linux"):
            raise SDKNotFound("the XTP ctypes binding runs on Linux x86-64 only")
        _LIBRARIES[path] = ctypes.CDLL(path)
    return _LIBRARIES[path]


class VtableObject:
    """A C++ object whose virtual methods are called through its vtable."""

    cls = ""

    def __init__(self, address: int) -> None:
        if not address:
            raise ValueError(f"{self.cls}: NULL object")
        self.address = address
        vtable = ctypes.cast(address, ctypes.POINTER(c_void_p))[0]
        slots = ctypes.cast(vtable, ctypes.POINTER(c_void_p))
        names = VTABLES[self.cls]
        self._methods = {
            name: prototype(signature)(slots[names.index(name)])
            for name, signature in SIGNATURES[self.cls].items()
        }

    def call(self, name: str, *args: Any) -> Any:
        """Call virtual method C{name} on this object."""
        return self._methods[name](self.address, *args)

    def last_error(self) -> XTPError:
        """
        C{GetApiLastError}, as an L{XTPError} (id 0 when there is none). The
        SDK keeps it per thread: call this on the thread that made the call.
        """
        address = self.call("GetApiLastError")
        info = records.error_at(address)
        return info if info is not None else XTPError(0, "")


# ---------------------------------------------------------------------------
# Spi objects built in ctypes memory

_REGISTERED: list[SpiObject] = []


class SpiObject:
    """
    A C++ C{TraderSpi} / C{QuoteSpi} made of ctypes memory: C{pointer} is an
    object whose vtable calls C{handlers[name](*args)} (without C{this}) for
    the named slots and does nothing for the others.

    A handler runs on the SDK's thread; an exception it raises is logged
    through C{call_from_thread} and never reaches C++.
    """

    def __init__(
        self,
        cls: str,
        handlers: Mapping[str, Callable[..., None]],
        call_from_thread: Callable[..., Any],
    ) -> None:
        names = VTABLES[cls]
        unknown = set(handlers) - set(names)
        if unknown:
            raise ValueError(f"{cls} has no {', '.join(sorted(unknown))}")
        self.cls = cls
        self._call = call_from_thread
        self.functions: list[Any] = []
        # Itanium layout: offset-to-top and typeinfo precede the slots.
        self._table = (c_void_p * (len(names) + 2))()
        for index, (name, signature) in enumerate(zip(names, SPI_SIGNATURES[cls], strict=True)):
            function = prototype(signature)(self._wrap(name, handlers.get(name)))
            self.functions.append(function)
            self._table[index + 2] = ctypes.cast(function, c_void_p).value
        self._object = (c_void_p * 1)(ctypes.addressof(self._table) + 2 * ctypes.sizeof(c_void_p))

    @property
    def pointer(self) -> int:
        """The address of the C++ object."""
        return ctypes.addressof(self._object)

    def slot(self, name: str) -> Any:
        """The C function behind slot C{name}, callable with C{(this, *args)}."""
        return self.functions[VTABLES[self.cls].index(name)]

    def _wrap(self, name: str, handler: Callable[..., None] | None) -> Callable[..., None]:
        if handler is None:

            def noop(this: int, *args: Any) -> None:
                return None

            return noop

        def run(this: int, *args: Any) -> None:
            try:
                handler(*args)
            except BaseException:
                self._call(log.failure, "{cls}.{name} failed", Failure(), cls=self.cls, name=name)

        return run


def _query_handler(
    kind: str, events: Any, call: Callable[..., Any]
) -> Callable[[int | None, int | None, int, bool, int], None]:
    cls, convert = records.QUERY_STRUCTS[kind]

    def handler(record: int | None, info: int | None, request_id: int, is_last: bool, session: int) -> None:
        error = records.error_at(info)
        value: Record | None = None
        if error is not None and error.error_id == records.XTP_ERR_NO_RECORD:
            error, is_last = None, True
        elif error is None and record:
            value = convert(cls.from_address(record))
        call(events.on_query, kind, request_id, value, error, bool(is_last))

    return handler


def trader_handlers(events: Any, call: Callable[..., Any]) -> dict[str, Callable[..., None]]:
    """
    The TraderSpi callbacks: each converts its C arguments and hands the
    result to C{events} (on the reactor thread, through C{call}):
    C{on_disconnected(reason)}, C{on_error(error)}, C{on_order_event(record,
    error)}, C{on_trade_event(record)}, C{on_cancel_error(record, error)},
    C{on_query(kind, request_id, record, error, is_last)}.
    """

    def disconnected(session: int, reason: int) -> None:
        call(events.on_disconnected, reason)

    def error(info: int | None) -> None:
        call(events.on_error, records.error_at(info))

    def order_event(order: int, info: int | None, session: int) -> None:
        record = records.order_record(structs.XTPOrderInfo.from_address(order))
        call(events.on_order_event, record, records.error_at(info))

    def trade_event(trade: int, session: int) -> None:
        call(events.on_trade_event, records.trade_record(structs.XTPTradeReport.from_address(trade)))

    def cancel_error(cancel: int, info: int | None, session: int) -> None:
        record = records.cancel_record(structs.XTPOrderCancelInfo.from_address(cancel))
        call(events.on_cancel_error, record, records.error_at(info))

    return {
        "OnDisconnected": disconnected,
        "OnError": error,
        "OnOrderEvent": order_event,
        "OnTradeEvent": trade_event,
        "OnCancelOrderError": cancel_error,
        "OnQueryOrder": _query_handler("order", events, call),
        "OnQueryTrade": _query_handler("trade", events, call),
        "OnQueryPosition": _query_handler("position", events, call),
        "OnQueryAsset": _query_handler("asset", events, call),
    }


def quote_handlers(events: Any, call: Callable[..., Any]) -> dict[str, Callable[..., None]]:
    """
    The QuoteSpi callbacks, handed to C{events} through C{call}:
    C{on_disconnected(reason)}, C{on_error(error)}, C{on_subscribe(ticker,
    error, is_last)}, C{on_unsubscribe(...)}, C{on_market_data(record)}.
    """

    def disconnected(reason: int) -> None:
        call(events.on_disconnected, reason)

    def error(info: int | None) -> None:
        call(events.on_error, records.error_at(info))

    def answer(method: str) -> Callable[[int | None, int | None, bool], None]:
        def handler(ticker: int | None, info: int | None, is_last: bool) -> None:
            pair = records.ticker_of(structs.XTPST.from_address(ticker)) if ticker else (0, "")
            call(getattr(events, method), pair, records.error_at(info), bool(is_last))

        return handler

    def market_data(md: int, *queue: Any) -> None:
        call(events.on_market_data, records.market_data_record(structs.XTPMD.from_address(md)))

    return {
        "OnDisconnected": disconnected,
        "OnError": error,
        "OnSubMarketData": answer("on_subscribe"),
        "OnUnSubMarketData": answer("on_unsubscribe"),
        "OnDepthMarketData": market_data,
    }


# ---------------------------------------------------------------------------
# The two APIs, as the backend sees them


def _bytes(value: str) -> bytes:
    return value.encode("utf-8")


def _prepare_log_dir(log_dir: str) -> bytes:
    os.makedirs(log_dir, exist_ok=True)
    return _bytes(log_dir)


class SdkApi(VtableObject):
    """
    What C{TraderApi} and C{QuoteApi} share: made by an exported factory
    function, a Spi registered for callbacks, version and trading day.
    """

    library = ""  # the SDKPaths attribute naming the shared library
    factory = ""  # the factory function's exported (mangled) name
    spi = ""
    handlers: Callable[[Any, Callable[..., Any]], dict[str, Callable[..., None]]]

    @classmethod
    def create(cls, paths: SDKPaths, client_id: int, log_dir: str, log_level: int) -> Self:
        """C{Create...Api}; the log directory is created if missing."""
        factory = getattr(load_library(getattr(paths, cls.library)), cls.factory)
        factory.restype = c_void_p
        factory.argtypes = [c_uint8, c_char_p, c_int]
        address = factory(client_id, _prepare_log_dir(log_dir), log_level)
        if not address:
            raise ValueError(f"Create{cls.cls} failed (client_id {client_id}, log_dir {log_dir})")
        return cls(address)

    def attach(self, events: Any, call_from_thread: Callable[..., Any]) -> SpiObject:
        """Build the Spi delivering to C{events} and C{RegisterSpi} it."""
        spi = SpiObject(self.spi, type(self).handlers(events, call_from_thread), call_from_thread)
        _REGISTERED.append(spi)
        self.call("RegisterSpi", spi.pointer)
        return spi

    def version(self) -> str:
        return records.text(self.call("GetApiVersion") or b"")

    def trading_day(self) -> str:
        return records.text(self.call("GetTradingDay") or b"")


class TraderApi(SdkApi):
    """C{XTP::API::TraderApi}, with Python arguments and results."""

    cls = "TraderApi"
    library = "trader_lib"
    factory = CREATE_TRADER
    spi = "TraderSpi"
    handlers = staticmethod(trader_handlers)

    def subscribe_public_topic(self, resume_type: int) -> None:
        self.call("SubscribePublicTopic", resume_type)

    def set_software_version(self, version: str) -> None:
        self.call("SetSoftwareVersion", _bytes(version))

    def set_software_key(self, key: str) -> None:
        self.call("SetSoftwareKey", _bytes(key))

    def set_heartbeat_interval(self, seconds: int) -> None:
        self.call("SetHeartBeatInterval", seconds)

    def login(self, host: str, port: int, user: str, password: str, protocol: int) -> int:
        """Blocking C{Login}: the session id, 0 when it failed (see L{last_error})."""
        return int(self.call("Login", _bytes(host), port, _bytes(user), _bytes(password), protocol, None))

    def logout(self, session_id: int) -> int:
        return int(self.call("Logout", session_id))

    def insert_order(self, order: Record, session_id: int) -> int:
        """C{InsertOrder} of an C{ORDER_INSERT_FIELDS} record: the order_xtp_id, 0 if refused."""
        struct = records.order_insert_struct(order)
        return int(self.call("InsertOrder", ctypes.byref(struct), session_id))

    def cancel_order(self, order_xtp_id: int, session_id: int) -> int:
        return int(self.call("CancelOrder", order_xtp_id, session_id))

    def query_orders(self, session_id: int, request_id: int) -> int:
        request = records.query_request(structs.XTPQueryOrderReq)
        return int(self.call("QueryOrders", ctypes.byref(request), session_id, request_id))

    def query_trades(self, session_id: int, request_id: int) -> int:
        request = records.query_request(structs.XTPQueryTraderReq)
        return int(self.call("QueryTrades", ctypes.byref(request), session_id, request_id))

    def query_position(self, ticker: str, session_id: int, request_id: int, market: int = 0) -> int:
        return int(self.call("QueryPosition", _bytes(ticker), session_id, request_id, market))

    def query_asset(self, session_id: int, request_id: int) -> int:
        return int(self.call("QueryAsset", session_id, request_id))

    def release(self) -> None:
        self.call("Release")


def _ticker_array(tickers: Sequence[str]) -> Any:
    return (c_char_p * len(tickers))(*(_bytes(t) for t in tickers))


class QuoteApi(SdkApi):
    """C{XTP::API::QuoteApi}, with Python arguments and results."""

    cls = "QuoteApi"
    library = "quote_lib"
    factory = CREATE_QUOTE
    spi = "QuoteSpi"
    handlers = staticmethod(quote_handlers)

    def set_heartbeat_interval(self, seconds: int) -> None:
        self.call("SetHeartBeatInterval", seconds)

    def login(self, host: str, port: int, user: str, password: str, protocol: int) -> int:
        """Blocking C{Login}: 0 on success, else see L{last_error}."""
        return int(self.call("Login", _bytes(host), port, _bytes(user), _bytes(password), protocol, None))

    def logout(self) -> int:
        return int(self.call("Logout"))

    def subscribe(self, tickers: Sequence[str], exchange_id: int) -> int:
        return int(self.call("SubscribeMarketData", _ticker_array(tickers), len(tickers), exchange_id))

    def unsubscribe(self, tickers: Sequence[str], exchange_id: int) -> int:
        return int(self.call("UnSubscribeMarketData", _ticker_array(tickers), len(tickers), exchange_id))

    def release(self) -> None:
        self.call("Release")
