"""
Matching our orders against the simulated book.

The book a snapshot shows is the rest of the market. An arriving order takes
from the opposite side level by level at each level's price, no more than the
level shows, and what it takes is used up for the rest of that snapshot, so
two orders cannot take the same shares. What is left rests at a price (per
its price type, see L{ofx.backends.fake.rules}) and, on each later snapshot
whose opposite side reaches that price, trades as the resting order at its own
price, in time priority, against the quantity on the crossing levels.

Our own orders never trade with each other, and do not show in the book.

A call auction (L{Matcher.uncross}) trades every queued order that crosses
the auction price at that one price, in time priority, against no more than
the volume the market traded in the auction.

The matcher only decides fills; the backend applies them to the order, the
account and the blotter.
"""

from __future__ import annotations

from typing import NamedTuple

from ofx.backends.fake.orders import Order
from ofx.backends.fake.rules import (
    BEST5_LIMIT,
    FOK,
    IOC,
    LIMIT,
    OPPOSITE_BEST,
    OWN_BEST,
    PriceRule,
)
from ofx.backends.fake.snapshot import Level, Snapshot

Fill = tuple[int, int]  # (price in cents, quantity)


class Arrival(NamedTuple):
    """What an arriving order does: its fills, and the price to rest the rest at (None: cancel it)."""

    fills: list[Fill]
    rest_at: int | None


def crosses(order: Order, price: int) -> bool:
    """Whether C{order} may trade at C{price}."""
    return price <= order.limit if order.is_buy else price >= order.limit


class Matcher:
    """Resting orders by stock, and the liquidity used up on each stock's current snapshot."""

    def __init__(self) -> None:
        self._resting: dict[str, list[Order]] = {}
        # Per stock: the snapshot's seq, the shares taken from each (side, price)
        # level of it, and per side (by is_buy) how many of its best levels
        # are known to be used up (a lower bound: levels are taken best first).
        self._used: dict[str, tuple[int, dict[tuple[bool, int], int], list[int]]] = {}

    def _taken_on(self, snap: Snapshot) -> tuple[dict[tuple[bool, int], int], list[int]]:
        code = snap.instrument.code
        known = self._used.get(code)
        if known is None or known[0] != snap.seq:
            known = self._used[code] = (snap.seq, {}, [0, 0])
        return known[1], known[2]

    def _used_on(self, snap: Snapshot) -> dict[tuple[bool, int], int]:
        return self._taken_on(snap)[0]

    def opposite(self, snap: Snapshot, buy: bool) -> list[Level]:
        """The levels a buy (or sell) can still take on this snapshot, best first."""
        used = self._used_on(snap)
        levels = snap.asks if buy else snap.bids
        if not used:
            return list(levels)  # nothing taken yet; a snapshot shows only levels with shares
        return [(price, left) for price, qty in levels if (left := qty - used.get((buy, price), 0)) > 0]

    def _take(self, snap: Snapshot, order: Order, qty: int, levels: int | None) -> list[Fill]:
        """
        Take up to C{qty} from the opposite side, best first, at most
        C{levels} levels that still show shares (None: any number), while
        the price crosses. The fast path of every arriving order: one pass
        over the book, no intermediate lists.
        """
        used, used_up = self._taken_on(snap)
        buy = order.is_buy
        limit = order.limit
        book = snap.asks if buy else snap.bids
        fills: list[Fill] = []
        for i in range(used_up[buy], len(book)):
            if qty == 0 or len(fills) == levels:
                break
            price, shown = book[i]
            taken = used.get((buy, price), 0)
            if shown <= taken:
                continue  # used up on this snapshot: not a level any more
            if (price > limit) if buy else (price < limit):
                break
            take = min(qty, shown - taken)
            fills.append((price, take))
            used[(buy, price)] = taken + take
            if take == shown - taken:
                used_up[buy] = i + 1  # every better level was used up already
            qty -= take
        return fills

    def arrive(self, order: Order, rule: PriceRule, snap: Snapshot) -> Arrival:
        """Execute an accepted order on arrival, per its price rule."""
        qty = order.remaining
        kind = rule.execution
        if kind == LIMIT:
            return Arrival(self._take(snap, order, qty, None), order.limit)
        if kind == IOC:
            return Arrival(self._take(snap, order, qty, rule.levels), None)
        if kind == FOK:
            reachable = sum(q for p, q in self.opposite(snap, order.is_buy) if crosses(order, p))
            return Arrival(self._take(snap, order, qty, None) if reachable >= qty else [], None)
        own = snap.bids if order.is_buy else snap.asks
        own_best = own[0][0] if own else None
        if kind == OWN_BEST:
            return Arrival([], own_best)
        if kind == BEST5_LIMIT:
            fills = self._take(snap, order, qty, rule.levels)
            return Arrival(fills, fills[-1][0] if fills else own_best)
        if kind == OPPOSITE_BEST:
            opposite = self.opposite(snap, order.is_buy)
            if not opposite:
                return Arrival([], None)
            return Arrival(self._take(snap, order, qty, 1), opposite[0][0])
        raise ValueError(f"unknown execution {kind!r}")

    def rest(self, order: Order) -> None:
        """Queue an order (its C{limit} set to the resting price)."""
        self._resting.setdefault(order.ticker, []).append(order)

    def remove(self, order: Order) -> None:
        """Take an order off the queue (filled or cancelled)."""
        queue = self._resting.get(order.ticker, [])
        if order in queue:
            queue.remove(order)
        if not queue:
            self._resting.pop(order.ticker, None)

    def resting_codes(self) -> list[str]:
        return list(self._resting)

    def on_snapshot(self, snap: Snapshot) -> list[tuple[Order, Fill]]:
        """
        Fills of resting orders on a new snapshot: each order, oldest first,
        trades at its own price against the opposite levels that reach it.
        """
        fills = []
        used = self._used_on(snap)
        for order in list(self._resting.get(snap.instrument.code, ())):
            want = order.remaining
            taken = 0
            for price, available in self.opposite(snap, order.is_buy):
                if taken == want or not crosses(order, price):
                    break
                take = min(want - taken, available)
                used[(order.is_buy, price)] = used.get((order.is_buy, price), 0) + take
                taken += take
            if taken:
                fills.append((order, (order.limit, taken)))
        return fills

    def uncross(self, code: str, price: int, volume: int) -> list[tuple[Order, Fill]]:
        """
        Fills of a call auction: queued orders of C{code} that cross C{price},
        oldest first, at C{price}; buys and sells each take at most C{volume}.
        """
        left = {True: volume, False: volume}
        fills = []
        for order in list(self._resting.get(code, ())):
            take = min(order.remaining, left[order.is_buy])
            if price <= 0 or take <= 0 or not crosses(order, price):
                continue
            left[order.is_buy] -= take
            fills.append((order, (price, take)))
        return fills
