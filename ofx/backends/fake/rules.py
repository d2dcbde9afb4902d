"""
What the exchange accepts: price types, lot sizes, ticks and price limits.

The price types are data (L{PRICE_RULES}): where each is available and how
it executes. L{validate} checks one order against them and against its
board's rules (lots, odd-lot sells, price limits, no market orders for ST
stocks), and raises L{Rejected} carrying the counter's error; it knows
nothing of money (the account checks that), of the book (the matcher) or of
the clock (the exchange checks the trading phase).
"""

from __future__ import annotations

from collections.abc import Callable

import attr

from ofx.backends.fake import errors
from ofx.backends.fake.orders import Order
from ofx.backends.fake.universe import Board, Instrument, Universe
from ofx.backends.interface import XTPError
from ofx.xtp_types import (
    NAME_BY_MARKET,
    XTP_BUSINESS_TYPE_CASH,
    XTP_EXCHANGE_SH,
    XTP_EXCHANGE_SZ,
    XTP_PRICE_ALL_OR_CANCEL,
    XTP_PRICE_BEST5_OR_CANCEL,
    XTP_PRICE_BEST5_OR_LIMIT,
    XTP_PRICE_BEST_OR_CANCEL,
    XTP_PRICE_FORWARD_BEST,
    XTP_PRICE_LIMIT,
    XTP_PRICE_LIMIT_OR_CANCEL,
    XTP_PRICE_REVERSE_BEST_LIMIT,
    XTP_SIDE_BUY,
    XTP_SIDE_SELL,
)

# How an order executes on arrival (see ofx.backends.fake.matching):
LIMIT = "limit"  # take levels up to its price, queue the rest at its price
IOC = "ioc"  # take up to `levels` levels, cancel the rest
FOK = "fok"  # take everything or nothing
BEST5_LIMIT = "best5-limit"  # take 5 levels, queue the rest at the last fill (or own best)
OWN_BEST = "own-best"  # queue at the own side's best price
OPPOSITE_BEST = "opposite-best"  # take the opposite best level, queue the rest at its price

_STAR = "star"


@attr.frozen
class PriceRule:
    """One C{XTP_PRICE_TYPE}: its name, where it is offered, how it executes."""

    name: str
    exchanges: frozenset[int]
    execution: str
    levels: int | None = None
    star: bool = False  # also offered on the STAR market (Shanghai)

    def offered(self, instrument: Instrument) -> bool:
        return instrument.exchange_id in self.exchanges or (self.star and instrument.board.name == _STAR)


_BOTH = frozenset({XTP_EXCHANGE_SH, XTP_EXCHANGE_SZ})
_SH = frozenset({XTP_EXCHANGE_SH})
_SZ = frozenset({XTP_EXCHANGE_SZ})

PRICE_RULES: dict[int, PriceRule] = {
    XTP_PRICE_LIMIT: PriceRule("LIMIT", _BOTH, LIMIT),
    XTP_PRICE_BEST_OR_CANCEL: PriceRule("BEST_OR_CANCEL", _SZ, IOC),
    XTP_PRICE_BEST5_OR_LIMIT: PriceRule("BEST5_OR_LIMIT", _SH, BEST5_LIMIT, 5),
    XTP_PRICE_BEST5_OR_CANCEL: PriceRule("BEST5_OR_CANCEL", _BOTH, IOC, 5),
    XTP_PRICE_ALL_OR_CANCEL: PriceRule("ALL_OR_CANCEL", _SZ, FOK),
    XTP_PRICE_FORWARD_BEST: PriceRule("FORWARD_BEST", _SZ, OWN_BEST, star=True),
    XTP_PRICE_REVERSE_BEST_LIMIT: PriceRule("REVERSE_BEST_LIMIT", _SZ, OPPOSITE_BEST, 1, star=True),
}
UNSUPPORTED_PRICE_TYPES = {
    XTP_PRICE_LIMIT_OR_CANCEL: "LIMIT_OR_CANCEL is for options, not stocks",
}


class Rejected(Exception):
    """An order the counter refuses, with the error to report."""

    def __init__(self, error: XTPError) -> None:
        super().__init__(error)
        self.error = error


def _reject(error_id: int, detail: str) -> Rejected:
    return Rejected(errors.error(error_id, detail))


def price_text(cents: int) -> str:
    return f"{cents / 100:.2f}"


def validate(
    order: Order, universe: Universe, sellable: Callable[[str], int]
) -> tuple[Instrument, PriceRule]:
    """
    Check an order against the exchange's rules; return its instrument and
    price rule, or raise L{Rejected}.
    """
    instrument = universe.by_market(order.market, order.ticker)
    if instrument is None:
        raise _reject(errors.UNKNOWN_TICKER, f"{order.ticker} on {_market_text(order.market)}")
    if order.business_type != XTP_BUSINESS_TYPE_CASH:
        raise _reject(errors.UNSUPPORTED, f"business_type {order.business_type}; the fake trades 0, cash")
    if order.side != XTP_SIDE_BUY and order.side != XTP_SIDE_SELL:
        raise _reject(errors.BAD_SIDE, f"side {order.side} (1 buy, 2 sell)")
    rule = PRICE_RULES.get(order.price_type)
    if rule is None:
        why = UNSUPPORTED_PRICE_TYPES.get(order.price_type, "unknown price type")
        raise _reject(errors.BAD_PRICE_TYPE, f"price_type {order.price_type}: {why}")
    if not rule.offered(instrument):
        raise _reject(
            errors.BAD_PRICE_TYPE,
            f"{rule.name} is not offered for {instrument.code} on {_market_text(order.market)}",
        )
    if rule.execution != LIMIT and instrument.is_st:
        raise _reject(errors.ST_MARKET_ORDER, f"{instrument.code} {instrument.name}")
    _check_quantity(order, instrument, rule, sellable)
    if rule.execution == LIMIT:
        _check_price(order, instrument)
    return instrument, rule


def _market_text(market: int) -> str:
    return NAME_BY_MARKET.get(market, f"market {market}")


def odd_lot_ok(qty: int, sellable: int, board: Board) -> bool:
    """
    Whether a sell of C{qty} that is not in whole lots is allowed: it must
    take the whole odd remainder. On the main board and ChiNext a sell of
    232 from 232 sellable may be 32, 132 or 232 (what is left is whole lots);
    on STAR, where 200 shares or more go in steps of one, a sell under 200
    must be everything sellable (the XTP FAQ, question 67).
    """
    if qty > sellable:
        return False
    if board.qty_step == board.min_qty:
        return qty % board.min_qty == sellable % board.min_qty
    return qty == sellable


def _check_quantity(
    order: Order, instrument: Instrument, rule: PriceRule, sellable_of: Callable[[str], int]
) -> None:
    board = instrument.board
    qty = order.quantity
    largest = board.max_limit_qty if rule.execution == LIMIT else board.max_market_qty
    if qty <= 0:
        raise _reject(errors.BAD_QUANTITY, f"quantity {qty} must be positive")
    if qty > largest:
        raise _reject(
            errors.BAD_QUANTITY,
            f"{qty} is over {largest}, the most one {rule.name} order takes on the {board.name} board",
        )
    if qty >= board.min_qty and (qty - board.min_qty) % board.qty_step == 0:
        return  # whole lots
    if order.side == XTP_SIDE_SELL:
        sellable = sellable_of(instrument.code)
        if odd_lot_ok(qty, sellable, board):
            return
        rule_text = f"odd lots sell only as the whole odd part of {sellable} sellable"
    elif board.qty_step == board.min_qty:
        rule_text = f"buys must be a multiple of {board.min_qty}"
    else:
        rule_text = f"buys must be at least {board.min_qty}"
    raise _reject(errors.BAD_LOT, f"{qty} x {instrument.code}: {rule_text}")


def _check_price(order: Order, instrument: Instrument) -> None:
    cents = round(order.price * 100)
    if abs(order.price * 100 - cents) > 1e-6 or cents <= 0:
        raise _reject(errors.BAD_PRICE, f"{order.price} is not a positive multiple of 0.01")
    if cents > instrument.upper:
        raise _reject(
            errors.PRICE_LIMIT,
            f"{price_text(cents)} is above the upper limit price "
            f"{price_text(instrument.upper)} of {instrument.code}",
        )
    if cents < instrument.lower:
        raise _reject(
            errors.PRICE_LIMIT,
            f"{price_text(cents)} is below the lower limit price "
            f"{price_text(instrument.lower)} of {instrument.code}",
        )


def worst_price(order: Order, instrument: Instrument, rule: PriceRule) -> int:
    """The limit an order starts with: its price, or the limit price it cannot pass."""
    if rule.execution == LIMIT:
        return round(order.price * 100)
    return instrument.upper if order.side == XTP_SIDE_BUY else instrument.lower
