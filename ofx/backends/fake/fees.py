"""
What a trade costs: commission, stamp tax and transfer fee, in cents.

Fees are charged per order on its cumulative traded amount, the way brokers
apply the minimum commission: an order's fees are always
C{schedule.fees(side, its trade amount)}, and each fill pays the increase.
Each component is rounded half up to the cent on its own. Every component
grows with the amount, which is what lets the account freeze a worst case
and release the rest.

Rates come from C{[fake] commission}, C{min_commission}, C{stamp_tax} and
C{transfer_fee}; they are kept as exact fractions (0.00025 is 1/4000, not
the nearest binary float), so a fee never depends on float rounding.
"""

from __future__ import annotations

from fractions import Fraction

import attr

from ofx.xtp_types import XTP_SIDE_SELL


def rate(value: float | str) -> Fraction:
    """A rate written in decimal (C{0.00025}) as the exact fraction it says."""
    return Fraction(str(value))


@attr.frozen
class Fees:
    """Fees in cents, by component."""

    commission: int = 0
    stamp_tax: int = 0
    transfer_fee: int = 0

    @property
    def total(self) -> int:
        return self.commission + self.stamp_tax + self.transfer_fee

    def __sub__(self, other: Fees) -> Fees:
        return Fees(
            self.commission - other.commission,
            self.stamp_tax - other.stamp_tax,
            self.transfer_fee - other.transfer_fee,
        )

    def to_record(self) -> dict[str, float]:
        """The fee keys the fake adds to a trade report, in yuan."""
        return {
            "commission": self.commission / 100,
            "stamp_tax": self.stamp_tax / 100,
            "transfer_fee": self.transfer_fee / 100,
        }


FEE_KEYS = ("commission", "stamp_tax", "transfer_fee")


def _half_up(amount: int, fraction: Fraction) -> int:
    """C{amount * fraction} rounded half up, in integers: exact, and ten times faster than Fraction arithmetic."""
    return _half_up_by(amount, fraction.numerator, fraction.denominator)


def _half_up_by(amount: int, p: int, q: int) -> int:
    return (2 * amount * p + q) // (2 * q)


@attr.frozen
class FeeSchedule:
    """
    Commission (both sides, with a minimum per order), stamp tax (sells) and
    transfer fee (both sides); rates are fractions of the amount, the
    minimum is in cents.
    """

    commission: Fraction = Fraction(25, 100_000)  # 0.025 %
    min_commission: int = 500  # 5 yuan
    stamp_tax: Fraction = Fraction(5, 10_000)  # 0.05 %, sells only
    transfer_fee: Fraction = Fraction(1, 100_000)  # 0.001 %
    # The rates as (numerator, denominator), for L{total}: every order's hold asks.
    _terms: tuple[int, ...] = attr.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        terms = (self.commission, self.transfer_fee, self.stamp_tax)
        object.__setattr__(self, "_terms", tuple(n for f in terms for n in (f.numerator, f.denominator)))

    @classmethod
    def from_config(
        cls, commission: float, min_commission: float, stamp_tax: float, transfer_fee: float
    ) -> FeeSchedule:
        """From the C{[fake]} values: rates as decimals, the minimum in yuan."""
        return cls(rate(commission), round(rate(min_commission) * 100), rate(stamp_tax), rate(transfer_fee))

    def fees(self, side: int, amount: int) -> Fees:
        """All fees on an order that has traded C{amount} cents so far."""
        if amount <= 0:
            return Fees()
        commission = max(self.min_commission, _half_up(amount, self.commission))
        stamp = _half_up(amount, self.stamp_tax) if side == XTP_SIDE_SELL else 0
        return Fees(commission, stamp, _half_up(amount, self.transfer_fee))

    def increment(self, side: int, before: int, after: int) -> Fees:
        """The fees a fill pays that takes an order's trade amount from C{before} to C{after}."""
        return self.fees(side, after) - self.fees(side, before)

    def total(self, side: int, amount: int) -> int:
        """C{fees(side, amount).total}, without the L{Fees}: the account's holds need only the sum."""
        if amount <= 0:
            return 0
        cp, cq, tp, tq, sp, sq = self._terms
        total = max(self.min_commission, _half_up_by(amount, cp, cq)) + _half_up_by(amount, tp, tq)
        if side == XTP_SIDE_SELL:
            total += _half_up_by(amount, sp, sq)
        return total

    def increment_total(self, side: int, before: int, after: int) -> int:
        """C{increment(side, before, after).total}, without the L{Fees}."""
        return self.total(side, after) - self.total(side, before)


DEFAULT = FeeSchedule()


def order_fee(side: int, amount: int) -> int:
    """All fees, in cents, under the default schedule."""
    return DEFAULT.fees(side, amount).total


def fee_increment(side: int, before: int, after: int) -> int:
    """A fill's fees, in cents, under the default schedule."""
    return DEFAULT.increment(side, before, after).total
