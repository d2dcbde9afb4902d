"""
What a trade costs: commission, stamp tax and transfer fee, in cents.

Fees are charged per order on its cumulative traded amount, the way brokers
apply the 5-yuan minimum commission: an order's total fee is always
C{order_fee(side, its trade amount)}, and each fill pays the increase. Each
component is rounded half up to the cent. The fee grows with the amount,
which is what lets the account freeze a worst case and release the rest.
"""

from __future__ import annotations

from ofx.xtp_types import XTP_SIDE_SELL

COMMISSION = (25, 100_000)  # 0.025 %
MIN_COMMISSION = 500  # 5 yuan
STAMP_TAX = (5, 10_000)  # 0.05 %, sells only
TRANSFER_FEE = (1, 100_000)  # 0.001 %


def _rate(amount: int, rate: tuple[int, int]) -> int:
    num, den = rate
    return (amount * num * 2 + den) // (den * 2)


def order_fee(side: int, amount: int) -> int:
    """All fees on an order that has traded C{amount} cents so far."""
    if amount <= 0:
        return 0
    fee = max(MIN_COMMISSION, _rate(amount, COMMISSION)) + _rate(amount, TRANSFER_FEE)
    if side == XTP_SIDE_SELL:
        fee += _rate(amount, STAMP_TAX)
    return fee


def fee_increment(side: int, before: int, after: int) -> int:
    """The fee a fill pays that takes an order's trade amount from C{before} to C{after}."""
    return order_fee(side, after) - order_fee(side, before)
