"""
The fake counter's error ids and messages, in one place.

Every reason the fake gives has the id a real XTP counter uses for it (the
vendor's error code table, C{XTP错误代码速查表}, and its API FAQ), and its
message starts with the real counter's own words; the rest of the message
says what exactly was wrong (the stock, the price, the limit). Where the
real counter's choice of id for a case is not documented, the closest id in
the table is used; docs/fake-counter.md lists which is which.

An C{XTPRI} message holds at most 123 bytes: L{error} shortens a longer
detail (on a character boundary) so a message survives the SDK's struct.
"""

from __future__ import annotations

from ofx.backends.interface import XTPError

# Real XTP ids, with the real counter's message for each.
QUOTE_NOT_LOGGED_IN = 10_200_301
TRADE_NOT_LOGGED_IN = 10_210_302
BAD_RECORD = 10_210_301
UNKNOWN_TICKER = 11_000_010
BAD_QUANTITY = 11_000_107
BAD_PRICE_TYPE = 11_000_109
BAD_PRICE = 11_000_110
BAD_SIDE = 11_000_114
UNKNOWN_ORDER = 11_000_305
UNSUPPORTED = 11_000_306
ST_MARKET_ORDER = 11_000_314
CANCEL_PENDING = 11_000_342
ORDER_FINISHED = 11_000_343
BAD_LOT = 11_010_111
INSUFFICIENT_FUNDS = 11_010_120
INSUFFICIENT_SHARES = 11_010_121
PRICE_LIMIT = 11_010_122
NOT_IN_TRADE_TIME = 11_110_005
SUBSCRIBE_BAD_EXCHANGE = 11_200_002
SUBSCRIBE_UNKNOWN_TICKER = 11_200_003

MESSAGES: dict[int, str] = {
    QUOTE_NOT_LOGGED_IN: "Session failed: no connection.",
    TRADE_NOT_LOGGED_IN: "Session failed: no connection.",
    BAD_RECORD: "Invalid parameters.",
    UNKNOWN_TICKER: "Failed to get ticker quotes, ticker does not exist or cannot be traded!",
    BAD_QUANTITY: "Parameter quantity invalid!",
    BAD_PRICE_TYPE: "Parameter price type invalid!",
    BAD_PRICE: "Parameter price invalid!",
    BAD_SIDE: "Parameter side invalid!",
    UNKNOWN_ORDER: "Failed to find original order!",
    UNSUPPORTED: "Service not supported!",
    ST_MARKET_ORDER: "ST stock can not be traded by market order!",
    CANCEL_PENDING: "Cancel order request already received!",
    ORDER_FINISHED: "Target order already finished!",
    BAD_LOT: "Invalid quantity parameter in withholding the capital of new order.",
    INSUFFICIENT_FUNDS: "Failed to check amount.",
    INSUFFICIENT_SHARES: "Failed to check security quantity.",
    PRICE_LIMIT: "Failed to check price.",
    NOT_IN_TRADE_TIME: "Not in trade time!",
    SUBSCRIBE_BAD_EXCHANGE: "unknown exchange type",
    SUBSCRIBE_UNKNOWN_TICKER: "unknown ticker id",
}

MAX_MESSAGE_BYTES = 123  # XTP_ERR_MSG_LEN less the terminating NUL


def clip(text: str, limit: int = MAX_MESSAGE_BYTES) -> str:
    """C{text} cut to at most C{limit} UTF-8 bytes, never inside a character."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "..."


def error(error_id: int, detail: str = "") -> XTPError:
    """
    An L{XTPError}: the real counter's message for C{error_id} (when known)
    followed by C{detail}, at most 123 bytes.
    """
    base = MESSAGES.get(error_id, "")
    if base and detail:
        separator = " " if base[-1] in ".!" else ": "
        message = base + separator + detail
    else:
        message = base or detail
    return XTPError(error_id, clip(message))
