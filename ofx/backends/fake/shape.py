"""
Requests XTP could not even send: the checks behind C{InsertOrder}
returning 0 (C{GetApiLastError} then says why). Business rules are the
exchange's (L{ofx.backends.fake.rules}) and answered by order events.
"""

from __future__ import annotations

import math
from typing import Any

from ofx.backends.fake import errors
from ofx.backends.interface import BackendError
from ofx.xtp_types import NAME_BY_EXCHANGE

_REQUIRED_FIELDS: dict[str, tuple[type, ...]] = {
    "ticker": (str,),
    "market": (int,),
    "price": (int, float),
    "quantity": (int,),
    "price_type": (int,),
    "side": (int,),
}
_OPTIONAL_INT_FIELDS = ("order_client_id", "business_type", "position_effect", "reserved1", "reserved2")


def _plainly_well_formed(order: dict[str, Any]) -> bool:
    """
    The common case, checked fast: every field there with its exact type (as
    the gateway's params schema builds it). Anything else gets the full check.
    """
    get = order.get
    price = get("price")
    return (
        type(get("ticker")) is str
        and type(get("market")) is int
        and type(get("quantity")) is int
        and type(get("price_type")) is int
        and type(get("side")) is int
        and type(price) is float
        and math.isfinite(price)
        and _natural(get("order_client_id", 0))
        and _natural(get("business_type", 0))
        and _natural(get("position_effect", 0))
        and _natural(get("reserved1", 0))
        and _natural(get("reserved2", 0))
    )


def _natural(value: Any) -> bool:
    return type(value) is int and value >= 0


def check_order_shape(order: Any) -> None:
    """Raise L{BackendError} for a record XTP could not send."""
    if type(order) is dict and _plainly_well_formed(order):
        return

    def bad(message: str) -> BackendError:
        return BackendError(errors.error(errors.BAD_RECORD, message))

    if not isinstance(order, dict):
        raise bad(f"an order must be a record, got {type(order).__name__}")
    for name, types in _REQUIRED_FIELDS.items():
        if name not in order:
            raise bad(f"order record lacks {name!r}")
        value = order[name]
        if isinstance(value, bool) or not isinstance(value, types):
            kind = "a string" if types == (str,) else "a number" if float in types else "an integer"
            raise bad(f"order field {name!r} must be {kind}, got {value!r}")
    if not math.isfinite(order["price"]):
        raise bad(f"order field 'price' must be finite, got {order['price']!r}")
    for name in _OPTIONAL_INT_FIELDS:
        value = order.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad(f"order field {name!r} must be a non-negative integer, got {value!r}")


def ticker_text(ticker: Any) -> str:
    """C{600000 on SH} for a well-formed ticker, its repr otherwise."""
    try:
        exchange_id, code = ticker
    except (TypeError, ValueError):
        return repr(ticker)
    return f"{code} on {NAME_BY_EXCHANGE.get(exchange_id, f'exchange {exchange_id}')}"
