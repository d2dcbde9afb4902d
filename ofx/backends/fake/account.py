"""
The account: cash, positions, and what live orders hold back.

Every live order holds the worst case of what it may still cost: a buy holds
C{limit * remaining} plus the fees that amount would add; a sell holds its
remaining shares plus the fees it may still add, reckoned at the upper limit
price (the highest it can trade at, so the hold never has to grow). After
every change of an order the hold is recomputed from the order's state, and a
final order holds nothing. Because fees only grow with the amount and fills
happen at or better than the order's limit, a fill never costs more than it
releases: buying power cannot go negative.

T+1: shares bought today add to the position but not to what can be sold;
only yesterday's shares (less those sold or held by sell orders) can be sold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attr

from ofx.backends.fake import errors
from ofx.backends.fake.fees import DEFAULT, Fees, FeeSchedule
from ofx.backends.fake.orders import Order
from ofx.backends.fake.universe import Instrument
from ofx.backends.interface import XTPError
from ofx.xtp_types import ASSET_FIELDS, XTP_ACCOUNT_NORMAL, XTP_SIDE_BUY, XTP_SIDE_SELL

Record = dict[str, Any]


@attr.s(auto_attribs=True, eq=False, slots=True)
class Hold:
    """What one live order holds back: cents and shares."""

    cash: int = 0
    shares: int = 0


_NOTHING = Hold()  # never changed: holds are replaced, not updated


@attr.s(auto_attribs=True, eq=False)
class Position:
    """
    One stock held. C{cost} is the cost basis of the shares held (average
    cost, fees included); C{profit_cost} is all money put in less all money
    taken out, XTP's "profit cost".
    """

    instrument: Instrument
    yesterday: int
    cost: int
    profit_cost: int
    bought: int = 0
    sold: int = 0
    frozen: int = 0

    @property
    def total(self) -> int:
        return self.yesterday + self.bought - self.sold

    @property
    def sellable(self) -> int:
        return self.yesterday - self.sold - self.frozen

    def to_record(self, last_price: int) -> Record:
        """The C{XTPQueryStkPositionRsp} record, valued at C{last_price} cents."""
        total = self.total
        return {
            "ticker": self.instrument.code,
            "ticker_name": self.instrument.name,
            "market": self.instrument.market,
            "total_qty": total,
            "sellable_qty": self.sellable,
            "avg_price": self.cost / total / 100 if total else 0.0,
            "unrealized_pnl": (last_price * total - self.cost) / 100,
            "yesterday_position": self.yesterday,
            "purchase_redeemable_qty": 0,
            "position_direction": 0,
            "position_security_type": 0,
            "executable_option": 0,
            "lockable_position": 0,
            "executable_underlying": 0,
            "locked_position": 0,
            "usable_locked_position": 0,
            "profit_price": self.profit_cost / total / 100 if total else 0.0,
            "buy_cost": self.cost / 100,
            "profit_cost": self.profit_cost / 100,
        }


def yuan(cents: int) -> str:
    """Money for messages: C{1,234.50}."""
    return f"{cents / 100:,.2f}"


class Account:
    """Cash in cents, positions by code, and holds by order id."""

    def __init__(
        self, cash: int, positions: Iterable[tuple[Instrument, int]], fees: FeeSchedule = DEFAULT
    ) -> None:
        self.fees = fees
        self.balance = cash
        self.fund_buy_amount = 0
        self.fund_buy_fee = 0
        self.fund_sell_amount = 0
        self.fund_sell_fee = 0
        self.positions: dict[str, Position] = {}
        for instrument, qty in positions:
            cost = instrument.pre_close * qty
            self.positions[instrument.code] = Position(instrument, qty, cost, cost)
        self._holds: dict[int, Hold] = {}
        self._held_cash = 0  # the sum of the holds' cash, kept as they change

    @property
    def withholding(self) -> int:
        return self._held_cash

    @property
    def buying_power(self) -> int:
        return self.balance - self.withholding

    def sellable(self, code: str) -> int:
        position = self.positions.get(code)
        return position.sellable if position else 0

    def required(self, order: Order) -> Hold:
        """The hold C{order} needs in its present state."""
        if order.is_final or order.instrument is None:
            return _NOTHING
        left = order.remaining
        if order.side == XTP_SIDE_BUY:
            worst = order.limit * left
            return Hold(worst + self.fees.increment_total(XTP_SIDE_BUY, order.amount, order.amount + worst))
        worst = order.instrument.upper * left
        return Hold(self.fees.increment_total(XTP_SIDE_SELL, order.amount, order.amount + worst), left)

    def reserve(self, order: Order) -> XTPError | None:
        """Hold what a new order needs, or say why it cannot be afforded (and hold nothing)."""
        need = self.required(order)
        refusal = self._refusal(order, need)
        if refusal is None:
            self._set_hold(order, need)
        return refusal

    def _refusal(self, order: Order, need: Hold) -> XTPError | None:
        code = order.ticker
        if need.shares > self.sellable(code):
            position = self.positions.get(code)
            why = f"{code}: selling {need.shares}, sellable {self.sellable(code)}"
            if position and position.bought:
                why += "; shares bought today sell from the next trading day"
            return errors.error(errors.INSUFFICIENT_SHARES, why)
        if need.cash > self.buying_power:
            what = "price x qty + fees" if order.is_buy else "fees"
            return errors.error(
                errors.INSUFFICIENT_FUNDS,
                f"insufficient funds: {code} needs {yuan(need.cash)} ({what}), "
                f"buying power {yuan(self.buying_power)}",
            )
        return None

    def hold(self, order: Order) -> None:
        """Set the order's hold to what its present state requires."""
        self._set_hold(order, self.required(order))

    def _set_hold(self, order: Order, new: Hold) -> None:
        old = self._holds.pop(order.xtp_id, _NOTHING)
        self._held_cash += new.cash - old.cash
        if new.shares != old.shares:
            self.positions[order.ticker].frozen += new.shares - old.shares
        if new.cash or new.shares:
            self._holds[order.xtp_id] = new

    def fill(self, order: Order, price: int, qty: int) -> Fees:
        """
        Settle a fill already applied by L{Order.fill}, then re-hold the
        rest; return the fees the fill paid.
        """
        assert order.instrument is not None
        amount = price * qty
        fees = self.fees.increment(order.side, order.amount - amount, order.amount)
        fee = fees.total
        position = self.positions.get(order.ticker)
        if order.is_buy:
            if position is None:
                position = self.positions[order.ticker] = Position(order.instrument, 0, 0, 0)
            self.balance -= amount + fee
            self.fund_buy_amount += amount
            self.fund_buy_fee += fee
            position.bought += qty
            position.cost += amount + fee
            position.profit_cost += amount + fee
        else:
            assert position is not None
            before = position.total
            self.balance += amount - fee
            self.fund_sell_amount += amount
            self.fund_sell_fee += fee
            position.sold += qty
            position.cost = (position.cost * position.total + before // 2) // before
            position.profit_cost -= amount - fee
        self.hold(order)
        return fees

    def asset_record(self) -> Record:
        """
        The C{XTPQueryAssetRsp} record. As the header says of a cash account,
        total asset = buying power + withholding (+ security asset, which the
        counter reports as 0).
        """
        record: Record = {name: 0.0 for name in ASSET_FIELDS}
        withholding = self.withholding
        record.update(
            total_asset=self.balance / 100,
            buying_power=(self.balance - withholding) / 100,
            security_asset=0.0,
            fund_buy_amount=self.fund_buy_amount / 100,
            fund_buy_fee=self.fund_buy_fee / 100,
            fund_sell_amount=self.fund_sell_amount / 100,
            fund_sell_fee=self.fund_sell_fee / 100,
            withholding_amount=withholding / 100,
            account_type=XTP_ACCOUNT_NORMAL,
        )
        return record

    def position_records(self, last_price: Callable[[Instrument], int]) -> list[Record]:
        """Every position of the day (sold-out ones too), valued by C{last_price}."""
        return [p.to_record(last_price(p.instrument)) for p in self.positions.values()]
