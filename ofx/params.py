"""
Params schemas: each function takes the C{params} of a request (object keys
already in lower case) and returns the value its handler needs, or raises
L{OFXError} 422 naming the field that is wrong.
"""

from __future__ import annotations

import math
import re
from typing import Any

import attr

from ofx.errors import invalid
from ofx.xtp_types import (
    EXCHANGE_BY_NAME,
    MARKET_BY_NAME,
    NAME_BY_MARKET,
    ORDER_INSERT_FIELDS,
    PRICE_TYPES,
    XTP_BUSINESS_TYPE_CASH,
    XTP_POSITION_EFFECT_INIT,
    XTP_PRICE_LIMIT,
)

_CODE = re.compile(r"[0-9]{6}")  # whole strings only: always fullmatch ($ would let "600000\n" through)
MAX_STOCKS = 2000
_UINT32 = 2**32 - 1
_UINT64 = 2**64 - 1
_INT64 = 2**63 - 1
_EMPTY: tuple[Any, ...] = (None, "", {}, [])


@attr.frozen
class Stock:
    """A stock as clients name it: a six-digit code and "SH" or "SZ"."""

    code: str
    market: str

    @property
    def exchange_id(self) -> int:
        """C{XTP_EXCHANGE_TYPE}, as market data records carry it."""
        return EXCHANGE_BY_NAME[self.market]

    @property
    def market_type(self) -> int:
        """C{XTP_MARKET_TYPE}, as orders and trades carry it."""
        return MARKET_BY_NAME[self.market]

    def __str__(self) -> str:
        return f"{self.code}.{self.market}"


def _describe(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text[:40]


def _require_object(params: Any, what: str) -> dict[str, Any]:
    if type(params) is not dict:
        raise invalid(f"params must be an object with {what}, not {_describe(params)}")
    return params


def _int(value: Any, field: str, low: int, high: int) -> int:
    if type(value) is str and value.isascii() and value.isdigit():
        value = int(value)
    if type(value) is not int or not low <= value <= high:
        raise invalid(f"{field} must be an integer from {low} to {high}, not {_describe(value)}")
    return value


def stock(params: Any, where: str = "params") -> Stock:
    """C{{"code": "600000", "market": "SH"}}."""
    params = _require_object(params, "code and market")
    code = params.get("code")
    if type(code) is not str or not _CODE.fullmatch(code):
        raise invalid(f"{where}.code must be a six-digit string like \"600000\", not {_describe(code)}")
    market = params.get("market")
    if type(market) is not str or market.upper() not in EXCHANGE_BY_NAME:
        raise invalid(f"{where}.market must be \"SH\" or \"SZ\", not {_describe(market)}")
    return Stock(code, market.upper())


def stock_list(params: Any) -> tuple[Stock, ...]:
    """A non-empty array of stocks (a single stock object is taken as one)."""
    if type(params) is dict:
        params = [params]
    if type(params) is not list or not params:
        raise invalid("params must be a non-empty array of {code, market} objects")
    if len(params) > MAX_STOCKS:
        raise invalid(f"params may name at most {MAX_STOCKS} stocks, not {len(params)}")
    return tuple(stock(item, f"params[{i}]") for i, item in enumerate(params))


_DATE = re.compile(r"^\d{8}$")


def _date(params: Any) -> str | None:
    """The optional C{date} (YYYYMMDD) of a day-data query: a past trading day."""
    if type(params) is not dict or params.get("date") in (None, ""):
        return None
    value = params["date"]
    if type(value) is int:
        value = str(value)
    if type(value) is not str or not _DATE.match(value):
        raise invalid(f"date must be a trading day as YYYYMMDD, not {_describe(value)}")
    return value


def stock_on_day(params: Any) -> tuple[Stock, str | None]:
    """C{{"code", "market"}} and an optional C{"date"}."""
    return stock(params), _date(params)


def stocks_on_day(params: Any) -> tuple[tuple[Stock, ...], str | None]:
    """An array of stocks, or C{{"stocks": [...], "date": "YYYYMMDD"}}."""
    if type(params) is dict and "stocks" in params:
        return stock_list(params["stocks"]), _date(params)
    return stock_list(params), None


def day_only(params: Any) -> str | None:
    """No params, or just C{{"date": "YYYYMMDD"}}."""
    if params in _EMPTY:
        return None
    _require_object(params, "an optional date")
    return _date(params)


def reqid_on_day(params: Any) -> tuple[int | None, str | None]:
    """An optional C{reqid} and an optional C{date}."""
    return optional_reqid(params), _date(params) if params not in _EMPTY else None


def nothing(params: Any) -> None:
    """Commands without params accept none, an empty string, object or array."""
    if params not in _EMPTY:
        raise invalid(f"this command takes no params, got {_describe(params)}")
    return None


def optional_reqid(params: Any) -> int | None:
    """C{{"reqid": N}}, or nothing for every answer of the day."""
    if params in _EMPTY:
        return None
    params = _require_object(params, "an optional reqid")
    if params.get("reqid") in (None, ""):
        return None
    return _int(params["reqid"], "reqid", 1, 2**31 - 1)


def _strings(params: Any, fields: tuple[str, ...]) -> tuple[str, ...]:
    params = _require_object(params, " and ".join(fields))
    values = []
    for field in fields:
        value = params.get(field)
        if type(value) is not str or not value:
            raise invalid(f"{field} must be a non-empty string")
        values.append(value)
    return tuple(values)


def login(params: Any) -> tuple[str, ...]:
    """C{{"username": ..., "password": ...}}."""
    return _strings(params, ("username", "password"))


def verify(params: Any) -> tuple[str, ...]:
    """C{{"authcode": ..., "gateway": "host:port"}}: a gateway asking about an authcode."""
    return _strings(params, ("authcode", "gateway"))


def order_cancel(params: Any) -> int:
    """C{{"order_xtp_id": N}} (a number, or a decimal string for clients without 64-bit ints)."""
    params = _require_object(params, "order_xtp_id")
    if "order_xtp_id" not in params:
        raise invalid("order_xtp_id missing: the id the counter gave the order")
    return _int(params["order_xtp_id"], "order_xtp_id", 1, _UINT64)


def _price(value: Any, field: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
        raise invalid(f"{field} must be a non-negative number, not {_describe(value)}")
    return float(value)


_KNOWN_INSERT_FIELDS = frozenset(ORDER_INSERT_FIELDS)
_REQUIRED_INSERT_FIELDS = ("ticker", "market", "price", "quantity", "side")


def order_insert(params: Any) -> dict[str, Any]:
    """
    An C{XTPOrderInsertInfo}: C{ticker}, C{market} (C{XTP_MARKET_TYPE} 1 for
    SZ A, 2 for SH A, or "SZ"/"SH"), C{price}, C{quantity}, C{side}, and
    optionally C{price_type} (default limit), C{order_client_id},
    C{position_effect}, C{business_type} (default cash), C{stop_price}.
    C{order_xtp_id} is the counter's to assign and is ignored.
    """
    params = _require_object(params, "the fields of an XTPOrderInsertInfo")
    if not _KNOWN_INSERT_FIELDS.issuperset(params):
        unknown = sorted(set(params) - _KNOWN_INSERT_FIELDS)
        raise invalid(
            f"unknown field {unknown[0]!r}; an XTPOrderInsertInfo has {', '.join(ORDER_INSERT_FIELDS)}"
        )
    for field in _REQUIRED_INSERT_FIELDS:
        if field not in params:
            raise invalid(f"{field} missing")
    ticker = params["ticker"]
    if type(ticker) is not str or not _CODE.fullmatch(ticker):
        raise invalid(f"ticker must be a six-digit string like \"600000\", not {_describe(ticker)}")
    market = params["market"]
    if type(market) is str and market.upper() in MARKET_BY_NAME:
        market = MARKET_BY_NAME[market.upper()]
    elif type(market) is not int or market not in NAME_BY_MARKET:
        raise invalid(
            f"market must be 2 (XTP_MKT_SH_A), 1 (XTP_MKT_SZ_A), \"SH\" or \"SZ\", not {_describe(market)}"
        )
    price_type = _int(params.get("price_type", XTP_PRICE_LIMIT), "price_type", 1, 8)
    if price_type not in PRICE_TYPES:
        raise invalid(f"price_type {price_type} is not an XTP_PRICE_TYPE")
    # Every order passes here: a plain int in range is taken without a call to _int.
    quantity = params["quantity"]
    if type(quantity) is not int or not 1 <= quantity <= _INT64:
        quantity = _int(quantity, "quantity", 1, _INT64)
    side = params["side"]
    if type(side) is not int or not 1 <= side <= 255:
        side = _int(side, "side", 1, 255)
    return {
        "order_xtp_id": 0,
        "order_client_id": _int(params.get("order_client_id", 0), "order_client_id", 0, _UINT32),
        "ticker": ticker,
        "market": market,
        "price": _price(params["price"], "price"),
        "stop_price": _price(params.get("stop_price", 0), "stop_price"),
        "quantity": quantity,
        "price_type": price_type,
        "side": side,
        "position_effect": _int(
            params.get("position_effect", XTP_POSITION_EFFECT_INIT), "position_effect", 0, 255
        ),
        "reserved1": 0,
        "reserved2": 0,
        "business_type": _int(
            params.get("business_type", XTP_BUSINESS_TYPE_CASH), "business_type", 0, 15
        ),
    }
