"""
The XTP 2.2.32 structs the gateway uses, as C{ctypes.Structure}s.

Each class copies its header definition field for field (C{xtp_api_struct_common.h},
C{xquote_api_struct.h}, C{xoms_api_struct.h}). The headers wrap everything in
C{#pragma pack(8)}; no member is wider than 8 bytes, so that equals the natural
x86-64 alignment ctypes uses by default and no C{_pack_} is needed. C enums
are 4-byte C{int}s; C{XTP_SIDE_TYPE} and C{XTP_POSITION_EFFECT_TYPE} are
C{uint8_t} typedefs; C{TXTPOrderTypeType} and C{TXTPTradeTypeType} are C{char}.

Anonymous unions keep their members reachable by name through C{_anonymous_},
so C{order.side} and C{md.stk} work as in C++. L{PROBED} lists every struct
with its C name; C{tests/test_xtp_structs.py} compiles the headers with g++
and checks each size and each field offset against these classes.
"""

from __future__ import annotations

import ctypes
from ctypes import c_char, c_double, c_int, c_int32, c_int64, c_uint8, c_uint32, c_uint64

XTP_ERR_MSG_LEN = 124
XTP_TICKER_LEN = 16
XTP_TICKER_NAME_LEN = 64
XTP_LOCAL_ORDER_LEN = 11
XTP_ORDER_EXCH_LEN = 17
XTP_EXEC_ID_LEN = 18
XTP_BRANCH_PBU_LEN = 7

c_enum = c_int  # every XTP enum fits an int, so g++ makes it 4 bytes


class XTPRspInfoStruct(ctypes.Structure):
    """C{XTPRI}: an error id (0 is no error) and its message."""

    _fields_ = [
        ("error_id", c_int32),
        ("error_msg", c_char * XTP_ERR_MSG_LEN),
    ]


XTPRI = XTPRspInfoStruct


class XTPSpecificTickerStruct(ctypes.Structure):
    """C{XTPST}: one (exchange, ticker) of a subscription answer."""

    _fields_ = [
        ("exchange_id", c_enum),
        ("ticker", c_char * XTP_TICKER_LEN),
    ]


XTPST = XTPSpecificTickerStruct


class XTPMarketDataStockExData(ctypes.Structure):
    """The stock and fund extras of a market data snapshot (the C{stk} union member)."""

    _fields_ = [
        ("total_bid_qty", c_int64),
        ("total_ask_qty", c_int64),
        ("ma_bid_price", c_double),
        ("ma_ask_price", c_double),
        ("ma_bond_bid_price", c_double),
        ("ma_bond_ask_price", c_double),
        ("yield_to_maturity", c_double),
        ("iopv", c_double),
        ("etf_buy_count", c_int32),
        ("etf_sell_count", c_int32),
        ("etf_buy_qty", c_double),
        ("etf_buy_money", c_double),
        ("etf_sell_qty", c_double),
        ("etf_sell_money", c_double),
        ("total_warrant_exec_qty", c_double),
        ("warrant_lower_price", c_double),
        ("warrant_upper_price", c_double),
        ("cancel_buy_count", c_int32),
        ("cancel_sell_count", c_int32),
        ("cancel_buy_qty", c_double),
        ("cancel_sell_qty", c_double),
        ("cancel_buy_money", c_double),
        ("cancel_sell_money", c_double),
        ("total_buy_count", c_int64),
        ("total_sell_count", c_int64),
        ("duration_after_buy", c_int32),
        ("duration_after_sell", c_int32),
        ("num_bid_orders", c_int32),
        ("num_ask_orders", c_int32),
        ("pre_iopv", c_double),
        ("r1", c_int64),
        ("r2", c_int64),
    ]


class XTPMarketDataBondExData(ctypes.Structure):
    """The bond extras of a snapshot (the C{bond} union member)."""

    _fields_ = [
        ("total_bid_qty", c_int64),
        ("total_ask_qty", c_int64),
        ("ma_bid_price", c_double),
        ("ma_ask_price", c_double),
        ("ma_bond_bid_price", c_double),
        ("ma_bond_ask_price", c_double),
        ("yield_to_maturity", c_double),
        ("r0", c_double),
        ("r1", c_int64),
        ("r2", c_double),
        ("r3", c_double),
        ("r4", c_double),
        ("r5", c_double),
        ("r6", c_double),
        ("r7", c_double),
        ("r8", c_double),
        ("cancel_buy_count", c_int32),
        ("cancel_sell_count", c_int32),
        ("cancel_buy_qty", c_double),
        ("cancel_sell_qty", c_double),
        ("cancel_buy_money", c_double),
        ("cancel_sell_money", c_double),
        ("total_buy_count", c_int64),
        ("total_sell_count", c_int64),
        ("duration_after_buy", c_int32),
        ("duration_after_sell", c_int32),
        ("num_bid_orders", c_int32),
        ("num_ask_orders", c_int32),
        ("instrument_status", c_char * 8),
    ]


class XTPMarketDataOptionExData(ctypes.Structure):
    """The option extras of a snapshot (the C{opt} union member)."""

    _fields_ = [
        ("auction_price", c_double),
        ("auction_qty", c_int64),
        ("last_enquiry_time", c_int64),
    ]


class _MarketDataExData(ctypes.Union):
    _fields_ = [
        ("stk", XTPMarketDataStockExData),
        ("opt", XTPMarketDataOptionExData),
        ("bond", XTPMarketDataBondExData),
    ]


class XTPMarketDataStruct(ctypes.Structure):
    """C{XTPMD}: one market data snapshot."""

    _anonymous_ = ("_ex",)
    _fields_ = [
        ("exchange_id", c_enum),
        ("ticker", c_char * XTP_TICKER_LEN),
        ("last_price", c_double),
        ("pre_close_price", c_double),
        ("open_price", c_double),
        ("high_price", c_double),
        ("low_price", c_double),
        ("close_price", c_double),
        ("pre_total_long_positon", c_int64),
        ("total_long_positon", c_int64),
        ("pre_settl_price", c_double),
        ("settl_price", c_double),
        ("upper_limit_price", c_double),
        ("lower_limit_price", c_double),
        ("pre_delta", c_double),
        ("curr_delta", c_double),
        ("data_time", c_int64),
        ("qty", c_int64),
        ("turnover", c_double),
        ("avg_price", c_double),
        ("bid", c_double * 10),
        ("ask", c_double * 10),
        ("bid_qty", c_int64 * 10),
        ("ask_qty", c_int64 * 10),
        ("trades_count", c_int64),
        ("ticker_status", c_char * 8),
        ("_ex", _MarketDataExData),
        ("data_type", c_enum),
        ("data_type_v2", c_enum),
    ]


XTPMD = XTPMarketDataStruct


class _SideBytes(ctypes.Structure):
    _fields_ = [
        ("side", c_uint8),
        ("position_effect", c_uint8),
        ("reserved1", c_uint8),
        ("reserved2", c_uint8),
    ]


class _SideUnion(ctypes.Union):
    """C{union { uint32_t u32; struct { side, position_effect, reserved1, reserved2 }; }}."""

    _anonymous_ = ("_bytes",)
    _fields_ = [
        ("u32", c_uint32),
        ("_bytes", _SideBytes),
    ]


class XTPOrderInsertInfo(ctypes.Structure):
    """A new order, as C{InsertOrder} takes it."""

    _anonymous_ = ("_side",)
    _fields_ = [
        ("order_xtp_id", c_uint64),
        ("order_client_id", c_uint32),
        ("ticker", c_char * XTP_TICKER_LEN),
        ("market", c_enum),
        ("price", c_double),
        ("stop_price", c_double),
        ("quantity", c_int64),
        ("price_type", c_enum),
        ("_side", _SideUnion),
        ("business_type", c_enum),
    ]


class XTPOrderCancelInfo(ctypes.Structure):
    """A refused cancel (C{OnCancelOrderError})."""

    _fields_ = [
        ("order_cancel_xtp_id", c_uint64),
        ("order_xtp_id", c_uint64),
    ]


class XTPOrderInfo(ctypes.Structure):
    """An order's state (C{OnOrderEvent}, C{OnQueryOrder}); also C{XTPQueryOrderRsp}."""

    _anonymous_ = ("_side",)
    _fields_ = [
        ("order_xtp_id", c_uint64),
        ("order_client_id", c_uint32),
        ("order_cancel_client_id", c_uint32),
        ("order_cancel_xtp_id", c_uint64),
        ("ticker", c_char * XTP_TICKER_LEN),
        ("market", c_enum),
        ("price", c_double),
        ("quantity", c_int64),
        ("price_type", c_enum),
        ("_side", _SideUnion),
        ("business_type", c_enum),
        ("qty_traded", c_int64),
        ("qty_left", c_int64),
        ("insert_time", c_int64),
        ("update_time", c_int64),
        ("cancel_time", c_int64),
        ("trade_amount", c_double),
        ("order_local_id", c_char * XTP_LOCAL_ORDER_LEN),
        ("order_status", c_enum),
        ("order_submit_status", c_enum),
        ("order_type", c_char),
    ]


XTPQueryOrderRsp = XTPOrderInfo


class XTPTradeReport(ctypes.Structure):
    """One fill (C{OnTradeEvent}, C{OnQueryTrade}); also C{XTPQueryTradeRsp}."""

    _anonymous_ = ("_side",)
    _fields_ = [
        ("order_xtp_id", c_uint64),
        ("order_client_id", c_uint32),
        ("ticker", c_char * XTP_TICKER_LEN),
        ("market", c_enum),
        ("local_order_id", c_uint64),
        ("exec_id", c_char * XTP_EXEC_ID_LEN),
        ("price", c_double),
        ("quantity", c_int64),
        ("trade_time", c_int64),
        ("trade_amount", c_double),
        ("report_index", c_uint64),
        ("order_exch_id", c_char * XTP_ORDER_EXCH_LEN),
        ("trade_type", c_char),
        ("_side", _SideUnion),
        ("business_type", c_enum),
        ("branch_pbu", c_char * XTP_BRANCH_PBU_LEN),
    ]


XTPQueryTradeRsp = XTPTradeReport


class XTPQueryOrderReq(ctypes.Structure):
    """C{QueryOrders}' filter: an empty ticker and zero times ask for the whole day."""

    _fields_ = [
        ("ticker", c_char * XTP_TICKER_LEN),
        ("begin_time", c_int64),
        ("end_time", c_int64),
    ]


class XTPQueryTraderReq(ctypes.Structure):
    """C{QueryTrades}' filter, like L{XTPQueryOrderReq}."""

    _fields_ = [
        ("ticker", c_char * XTP_TICKER_LEN),
        ("begin_time", c_int64),
        ("end_time", c_int64),
    ]


class XTPQueryAssetRsp(ctypes.Structure):
    """The account's funds (C{OnQueryAsset})."""

    _fields_ = [
        ("total_asset", c_double),
        ("buying_power", c_double),
        ("security_asset", c_double),
        ("fund_buy_amount", c_double),
        ("fund_buy_fee", c_double),
        ("fund_sell_amount", c_double),
        ("fund_sell_fee", c_double),
        ("withholding_amount", c_double),
        ("account_type", c_enum),
        ("frozen_margin", c_double),
        ("frozen_exec_cash", c_double),
        ("frozen_exec_fee", c_double),
        ("pay_later", c_double),
        ("preadva_pay", c_double),
        ("orig_banlance", c_double),
        ("banlance", c_double),
        ("deposit_withdraw", c_double),
        ("trade_netting", c_double),
        ("captial_asset", c_double),
        ("force_freeze_amount", c_double),
        ("preferred_amount", c_double),
        ("repay_stock_aval_banlance", c_double),
        ("fund_order_data_charges", c_double),
        ("fund_cancel_data_charges", c_double),
        ("exchange_cur_risk_degree", c_double),
        ("company_cur_risk_degree", c_double),
        ("unknown", c_uint64 * (43 - 12 - 1 - 2 - 2)),
    ]


class XTPQueryStkPositionRsp(ctypes.Structure):
    """One holding (C{OnQueryPosition})."""

    _fields_ = [
        ("ticker", c_char * XTP_TICKER_LEN),
        ("ticker_name", c_char * XTP_TICKER_NAME_LEN),
        ("market", c_enum),
        ("total_qty", c_int64),
        ("sellable_qty", c_int64),
        ("avg_price", c_double),
        ("unrealized_pnl", c_double),
        ("yesterday_position", c_int64),
        ("purchase_redeemable_qty", c_int64),
        ("position_direction", c_enum),
        ("position_security_type", c_enum),
        ("executable_option", c_int64),
        ("lockable_position", c_int64),
        ("executable_underlying", c_int64),
        ("locked_position", c_int64),
        ("usable_locked_position", c_int64),
        ("profit_price", c_double),
        ("buy_cost", c_double),
        ("profit_cost", c_double),
        ("unknown", c_uint64 * (50 - 9)),
    ]


# (C++ name, ctypes class) of every struct the binding reads or writes.
PROBED: tuple[tuple[str, type[ctypes.Structure]], ...] = (
    ("XTPRspInfoStruct", XTPRspInfoStruct),
    ("XTPSpecificTickerStruct", XTPSpecificTickerStruct),
    ("XTPMarketDataStockExData", XTPMarketDataStockExData),
    ("XTPMarketDataBondExData", XTPMarketDataBondExData),
    ("XTPMarketDataOptionExData", XTPMarketDataOptionExData),
    ("XTPMarketDataStruct", XTPMarketDataStruct),
    ("XTPOrderInsertInfo", XTPOrderInsertInfo),
    ("XTPOrderCancelInfo", XTPOrderCancelInfo),
    ("XTPOrderInfo", XTPOrderInfo),
    ("XTPTradeReport", XTPTradeReport),
    ("XTPQueryOrderReq", XTPQueryOrderReq),
    ("XTPQueryTraderReq", XTPQueryTraderReq),
    ("XTPQueryAssetRsp", XTPQueryAssetRsp),
    ("XTPQueryStkPositionRsp", XTPQueryStkPositionRsp),
)


def field_offsets(cls: type[ctypes.Structure]) -> list[tuple[str, int]]:
    """
    Every C-visible field of C{cls} with its byte offset, in declaration
    order; members of anonymous unions and structs appear under their own
    names (as C++ lets C{offsetof} name them), the ctypes-only wrapper names
    do not.
    """
    result: list[tuple[str, int]] = []

    def walk(kind: type, base: int) -> None:
        anonymous = set(getattr(kind, "_anonymous_", ()))
        for entry in kind._fields_:  # type: ignore[attr-defined]
            name, ftype = entry[0], entry[1]
            offset = base + getattr(kind, name).offset
            if name in anonymous:
                walk(ftype, offset)
            else:
                result.append((name, offset))

    walk(cls, 0)
    return result
