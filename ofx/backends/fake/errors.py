"""
The fake counter's error ids, one per reason, in one place.

These are the fake's own numbers (the 90000000 range keeps them apart from
the real counter's ids, which OFX passes through unchanged); what a client
reads is the message, which always names the thing that was wrong.
"""

from __future__ import annotations

from ofx.backends.interface import XTPError

NOT_LOGGED_IN = 90_000_001
BAD_RECORD = 90_000_002
UNKNOWN_TICKER = 90_000_010
UNSUPPORTED = 90_000_011
BAD_QUANTITY = 90_000_012
BAD_PRICE = 90_000_013
INSUFFICIENT_FUNDS = 90_000_020
INSUFFICIENT_SHARES = 90_000_021
UNKNOWN_ORDER = 90_000_030
ORDER_FINISHED = 90_000_031


def error(error_id: int, message: str) -> XTPError:
    """An L{XTPError} with one of the ids above."""
    return XTPError(error_id, message)
