"""
The XTP vocabulary OFX speaks: enum values and record field names, taken from
the SDK 2.2.32 headers (C{xtp_api_data_type.h}, C{xoms_api_struct.h},
C{xquote_api_struct.h}).

Records travel through OFX as plain dicts keyed by the C struct's own field
names, so a record from the fake counter and one converted from the real SDK
look the same to the service and to clients. Unions are flattened to their
named members (C{side}, C{position_effect}, C{reserved1}, C{reserved2}); the
market data union of stock extras is kept as a nested C{stk} object.

Beware the two market numberings: C{XTP_EXCHANGE_SH} is 1 but C{XTP_MKT_SH_A}
is 2. Market data carries C{exchange_id}; orders, trades and positions carry
C{market}.
"""

from __future__ import annotations

from typing import Final

# XTP_EXCHANGE_TYPE (market data: exchange_id)
XTP_EXCHANGE_SH: Final = 1
XTP_EXCHANGE_SZ: Final = 2

# XTP_MARKET_TYPE (orders, trades, positions: market)
XTP_MKT_INIT: Final = 0
XTP_MKT_SZ_A: Final = 1
XTP_MKT_SH_A: Final = 2

# XTP_PRICE_TYPE
XTP_PRICE_LIMIT: Final = 1
XTP_PRICE_BEST_OR_CANCEL: Final = 2
XTP_PRICE_BEST5_OR_LIMIT: Final = 3
XTP_PRICE_BEST5_OR_CANCEL: Final = 4
XTP_PRICE_ALL_OR_CANCEL: Final = 5
XTP_PRICE_FORWARD_BEST: Final = 6
XTP_PRICE_REVERSE_BEST_LIMIT: Final = 7
XTP_PRICE_LIMIT_OR_CANCEL: Final = 8
PRICE_TYPES: Final = frozenset(range(1, 9))

# XTP_SIDE_TYPE (uint8)
XTP_SIDE_BUY: Final = 1
XTP_SIDE_SELL: Final = 2

# XTP_POSITION_EFFECT_TYPE (uint8)
XTP_POSITION_EFFECT_INIT: Final = 0

# XTP_BUSINESS_TYPE
XTP_BUSINESS_TYPE_CASH: Final = 0

# XTP_ACCOUNT_TYPE
XTP_ACCOUNT_NORMAL: Final = 0

# XTP_ORDER_STATUS_TYPE
XTP_ORDER_STATUS_INIT: Final = 0
XTP_ORDER_STATUS_ALLTRADED: Final = 1
XTP_ORDER_STATUS_PARTTRADEDQUEUEING: Final = 2
XTP_ORDER_STATUS_PARTTRADEDNOTQUEUEING: Final = 3
XTP_ORDER_STATUS_NOTRADEQUEUEING: Final = 4
XTP_ORDER_STATUS_CANCELED: Final = 5
XTP_ORDER_STATUS_REJECTED: Final = 6
XTP_ORDER_STATUS_UNKNOWN: Final = 7
FINAL_ORDER_STATUSES: Final = frozenset(
    {
        XTP_ORDER_STATUS_ALLTRADED,
        XTP_ORDER_STATUS_PARTTRADEDNOTQUEUEING,
        XTP_ORDER_STATUS_CANCELED,
        XTP_ORDER_STATUS_REJECTED,
    }
)

# XTP_ORDER_SUBMIT_STATUS_TYPE
XTP_ORDER_SUBMIT_STATUS_INSERT_SUBMITTED: Final = 1
XTP_ORDER_SUBMIT_STATUS_INSERT_ACCEPTED: Final = 2
XTP_ORDER_SUBMIT_STATUS_INSERT_REJECTED: Final = 3
XTP_ORDER_SUBMIT_STATUS_CANCEL_SUBMITTED: Final = 4
XTP_ORDER_SUBMIT_STATUS_CANCEL_REJECTED: Final = 5
XTP_ORDER_SUBMIT_STATUS_CANCEL_ACCEPTED: Final = 6

# TXTPOrderTypeType / TXTPTradeTypeType (single chars)
XTP_ORDT_NORMAL: Final = "0"
XTP_TRDT_COMMON: Final = "0"

# XTP_MARKETDATA_TYPE / XTP_MARKETDATA_TYPE_V2
XTP_MARKETDATA_ACTUAL: Final = 0
XTP_MARKETDATA_V2_ACTUAL: Final = 2

# Market names used in client params ("Market": "SH" | "SZ").
EXCHANGE_BY_NAME: Final = {"SH": XTP_EXCHANGE_SH, "SZ": XTP_EXCHANGE_SZ}
MARKET_BY_NAME: Final = {"SH": XTP_MKT_SH_A, "SZ": XTP_MKT_SZ_A}
NAME_BY_EXCHANGE: Final = {v: k for k, v in EXCHANGE_BY_NAME.items()}
NAME_BY_MARKET: Final = {v: k for k, v in MARKET_BY_NAME.items()}
EXCHANGE_BY_MARKET: Final = {XTP_MKT_SH_A: XTP_EXCHANGE_SH, XTP_MKT_SZ_A: XTP_EXCHANGE_SZ}
MARKET_BY_EXCHANGE: Final = {v: k for k, v in EXCHANGE_BY_MARKET.items()}

# Record field names, in struct order.
MARKET_DATA_FIELDS: Final = (
    "exchange_id", "ticker",
    "last_price", "pre_close_price", "open_price", "high_price", "low_price", "close_price",
    "pre_total_long_positon", "total_long_positon", "pre_settl_price", "settl_price",
    "upper_limit_price", "lower_limit_price", "pre_delta", "curr_delta",
    "data_time", "qty", "turnover", "avg_price",
    "bid", "ask", "bid_qty", "ask_qty",
    "trades_count", "ticker_status", "stk", "data_type", "data_type_v2",
)  # fmt: skip

ORDER_INSERT_FIELDS: Final = (
    "order_xtp_id", "order_client_id", "ticker", "market", "price", "stop_price",
    "quantity", "price_type", "side", "position_effect", "reserved1", "reserved2",
    "business_type",
)  # fmt: skip

ORDER_FIELDS: Final = (
    "order_xtp_id", "order_client_id", "order_cancel_client_id", "order_cancel_xtp_id",
    "ticker", "market", "price", "quantity", "price_type",
    "side", "position_effect", "reserved1", "reserved2", "business_type",
    "qty_traded", "qty_left", "insert_time", "update_time", "cancel_time",
    "trade_amount", "order_local_id", "order_status", "order_submit_status", "order_type",
)  # fmt: skip

TRADE_FIELDS: Final = (
    "order_xtp_id", "order_client_id", "ticker", "market", "local_order_id", "exec_id",
    "price", "quantity", "trade_time", "trade_amount", "report_index", "order_exch_id",
    "trade_type", "side", "position_effect", "reserved1", "reserved2", "business_type",
    "branch_pbu",
)  # fmt: skip

ASSET_FIELDS: Final = (
    "total_asset", "buying_power", "security_asset", "fund_buy_amount", "fund_buy_fee",
    "fund_sell_amount", "fund_sell_fee", "withholding_amount", "account_type",
    "frozen_margin", "frozen_exec_cash", "frozen_exec_fee", "pay_later", "preadva_pay",
    "orig_banlance", "banlance", "deposit_withdraw", "trade_netting", "captial_asset",
    "force_freeze_amount", "preferred_amount", "repay_stock_aval_banlance",
    "fund_order_data_charges", "fund_cancel_data_charges",
    "exchange_cur_risk_degree", "company_cur_risk_degree",
)  # fmt: skip

POSITION_FIELDS: Final = (
    "ticker", "ticker_name", "market", "total_qty", "sellable_qty", "avg_price",
    "unrealized_pnl", "yesterday_position", "purchase_redeemable_qty",
    "position_direction", "position_security_type", "executable_option",
    "lockable_position", "executable_underlying", "locked_position",
    "usable_locked_position", "profit_price", "buy_cost", "profit_cost",
)  # fmt: skip

CANCEL_INFO_FIELDS: Final = ("order_cancel_xtp_id", "order_xtp_id")


def data_time(year: int, month: int, day: int, h: int, m: int, s: int, ms: int = 0) -> int:
    """An XTP timestamp: the decimal digits YYYYMMDDHHMMSSsss as an integer."""
    return ((((((year * 100 + month) * 100 + day) * 100 + h) * 100 + m) * 100 + s) * 1000) + ms
