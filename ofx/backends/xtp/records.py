"""
Converting between the ctypes structs and OFX's JSON records.

A record is a plain dict keyed exactly by the C field names listed in
L{ofx.xtp_types} (C{ORDER_FIELDS}, C{TRADE_FIELDS}, ...). Conversion copies
every value out of the C memory, so a record stays valid after the SDK reuses
its buffer. Rules:

 - C{char[N]} arrays become C{str}: UTF-8 where it decodes, else GBK (the
   counter's Chinese names), with undecodable bytes replaced.
 - Enums and integers stay C{int}; C{double}s stay C{float}.
 - C{TXTPOrderTypeType} / C{TXTPTradeTypeType} become a one-character C{str}
   (C{"0"} for normal); a NUL byte becomes C{""}.
 - The side union is flattened to C{side}, C{position_effect}, C{reserved1},
   C{reserved2}; the market data union becomes a nested C{stk} dict of the
   stock extras (C{XTPMarketDataStockExData}'s field names).
 - Fixed arrays (C{bid}, C{ask}, C{bid_qty}, C{ask_qty}) become lists.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from typing import Any

from ofx import xtp_types as t
from ofx.backends.interface import Record, XTPError
from ofx.backends.xtp import structs

# The error id XTP answers a query with when there is nothing to report
# ("Find none record!"): OFX turns it into one empty answer, not an error.
XTP_ERR_NO_RECORD = 11000350


def text(raw: bytes) -> str:
    """A C string as C{str}: UTF-8, else GBK, never failing."""
    raw = raw.split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gbk", errors="replace")


def char(raw: bytes) -> str:
    """A C{char} field (order or trade type) as a one-character C{str}."""
    return "" if raw in (b"", b"\0") else raw.decode("latin-1")


def _value(value: Any) -> Any:
    if isinstance(value, bytes):
        return text(value)
    if isinstance(value, ctypes.Array):
        return list(value)
    if isinstance(value, ctypes.Structure):
        return struct_to_dict(value)
    return value


def struct_to_dict(struct: ctypes.Structure, names: tuple[str, ...] | None = None) -> Record:
    """
    Copy C{names} (default: every visible field, see
    L{structs.field_offsets}) out of C{struct}.
    """
    if names is None:
        names = tuple(name for name, _ in structs.field_offsets(type(struct)))
    return {name: _value(getattr(struct, name)) for name in names}


def error(info: structs.XTPRspInfoStruct | None) -> XTPError | None:
    """An C{XTPRI} as an L{XTPError}; None for a NULL pointer or error id 0."""
    if info is None or info.error_id == 0:
        return None
    return XTPError(int(info.error_id), text(info.error_msg))


def error_at(address: int | None) -> XTPError | None:
    """L{error} of the C{XTPRI} at C{address} (a callback's pointer argument)."""
    if not address:
        return None
    return error(structs.XTPRspInfoStruct.from_address(address))


def order_record(order: structs.XTPOrderInfo) -> Record:
    """An C{XTPOrderInfo} as a record with C{ORDER_FIELDS}."""
    record = struct_to_dict(order, t.ORDER_FIELDS)
    record["order_type"] = char(order.order_type)
    return record


def trade_record(trade: structs.XTPTradeReport) -> Record:
    """An C{XTPTradeReport} as a record with C{TRADE_FIELDS}."""
    record = struct_to_dict(trade, t.TRADE_FIELDS)
    record["trade_type"] = char(trade.trade_type)
    return record


def asset_record(asset: structs.XTPQueryAssetRsp) -> Record:
    """An C{XTPQueryAssetRsp} as a record with C{ASSET_FIELDS}."""
    return struct_to_dict(asset, t.ASSET_FIELDS)


def position_record(position: structs.XTPQueryStkPositionRsp) -> Record:
    """An C{XTPQueryStkPositionRsp} as a record with C{POSITION_FIELDS}."""
    return struct_to_dict(position, t.POSITION_FIELDS)


def cancel_record(cancel: structs.XTPOrderCancelInfo) -> Record:
    """An C{XTPOrderCancelInfo} as a record with C{CANCEL_INFO_FIELDS}."""
    return struct_to_dict(cancel, t.CANCEL_INFO_FIELDS)


def market_data_record(md: structs.XTPMarketDataStruct) -> Record:
    """An C{XTPMarketDataStruct} as a record with C{MARKET_DATA_FIELDS}."""
    return struct_to_dict(md, t.MARKET_DATA_FIELDS)


def ticker_of(st: structs.XTPSpecificTickerStruct) -> tuple[int, str]:
    """An C{XTPST} as an (exchange_id, ticker) pair."""
    return (int(st.exchange_id), text(st.ticker))


# Which converter reads which struct, for the callbacks (by query kind).
QUERY_STRUCTS: Mapping[str, tuple[type[ctypes.Structure], Any]] = {
    "asset": (structs.XTPQueryAssetRsp, asset_record),
    "position": (structs.XTPQueryStkPositionRsp, position_record),
    "order": (structs.XTPOrderInfo, order_record),
    "trade": (structs.XTPTradeReport, trade_record),
}


def _encode(value: str, size: int, name: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) >= size:
        raise ValueError(f"{name} {value!r} is longer than {size - 1} bytes")
    return raw


def order_insert_struct(record: Mapping[str, Any]) -> structs.XTPOrderInsertInfo:
    """
    Build an C{XTPOrderInsertInfo} from a record with C{ORDER_INSERT_FIELDS}.
    Missing fields stay zero (C{order_xtp_id} is assigned by the SDK).
    Unknown keys or a too-long ticker raise C{ValueError}.
    """
    unknown = set(record) - set(t.ORDER_INSERT_FIELDS)
    if unknown:
        raise ValueError(f"not XTPOrderInsertInfo fields: {', '.join(sorted(unknown))}")
    order = structs.XTPOrderInsertInfo()
    for name in t.ORDER_INSERT_FIELDS:
        if name not in record:
            continue
        value = record[name]
        if name == "ticker":
            order.ticker = _encode(str(value), structs.XTP_TICKER_LEN, name)
        elif name in ("price", "stop_price"):
            setattr(order, name, float(value))
        else:
            setattr(order, name, int(value))
    return order


def order_insert_record(order: structs.XTPOrderInsertInfo) -> Record:
    """An C{XTPOrderInsertInfo} as a record with C{ORDER_INSERT_FIELDS}."""
    return struct_to_dict(order, t.ORDER_INSERT_FIELDS)


def query_request(
    cls: type[structs.XTPQueryOrderReq] | type[structs.XTPQueryTraderReq],
    ticker: str = "",
    begin_time: int = 0,
    end_time: int = 0,
) -> ctypes.Structure:
    """An C{XTPQueryOrderReq} / C{XTPQueryTraderReq}; the defaults ask for the whole day."""
    return cls(_encode(ticker, structs.XTP_TICKER_LEN, "ticker"), begin_time, end_time)
