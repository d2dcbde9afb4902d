"""
Simulated market data: one seeded random walk per stock.

Each stock draws from its own C{random.Random(f"{seed}:{code}")} and draws the
same numbers at every step whether or not anyone looks, so a stock's prices
depend only on the seed, its code and the number of market ticks elapsed, not
on what else is subscribed or when. Walks are created lazily and caught up to
the market's tick on first use, which keeps an unwatched universe free.

The price follows a mean-reverting walk around the previous close (daily
spread about one per cent) on the 0.01 tick, clamped to the limit prices. The
book is rebuilt at every step around the last price: ten levels a side in lots
of 100, levels beyond a limit price left empty as the exchanges publish them.

A later replay of recorded data only needs to provide L{Snapshot}s: matching
and the backend read nothing else.
"""

from __future__ import annotations

import random
from typing import Any

import attr

from ofx.backends.fake.universe import Instrument, Universe
from ofx.xtp_types import XTP_MARKETDATA_ACTUAL, XTP_MARKETDATA_V2_ACTUAL

DEPTH = 10
Level = tuple[int, int]  # (price in cents, quantity in shares)

STK_FIELDS = (
    "total_bid_qty", "total_ask_qty", "ma_bid_price", "ma_ask_price",
    "ma_bond_bid_price", "ma_bond_ask_price", "yield_to_maturity", "iopv",
    "etf_buy_count", "etf_sell_count", "etf_buy_qty", "etf_buy_money",
    "etf_sell_qty", "etf_sell_money", "total_warrant_exec_qty",
    "warrant_lower_price", "warrant_upper_price", "cancel_buy_count",
    "cancel_sell_count", "cancel_buy_qty", "cancel_sell_qty", "cancel_buy_money",
    "cancel_sell_money", "total_buy_count", "total_sell_count",
    "duration_after_buy", "duration_after_sell", "num_bid_orders",
    "num_ask_orders", "pre_iopv", "r1", "r2",
)  # fmt: skip
_STK_INTS = frozenset(
    {"total_bid_qty", "total_ask_qty", "etf_buy_count", "etf_sell_count", "cancel_buy_count",
     "cancel_sell_count", "total_buy_count", "total_sell_count", "duration_after_buy",
     "duration_after_sell", "num_bid_orders", "num_ask_orders", "r1", "r2"}
)  # fmt: skip

REVERSION = 0.02  # share of the distance to the previous close recovered per step
VOLATILITY = 0.002  # standard deviation of a step, relative to the price


@attr.frozen
class Snapshot:
    """
    One stock's market state at one market tick; prices in cents.

    C{bids} and C{asks} hold only the levels that exist, best first.
    """

    instrument: Instrument
    tick: int
    data_time: int
    last: int
    open: int
    high: int
    low: int
    qty: int
    turnover: int
    trades_count: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    status: str = "T111"

    def to_record(self) -> dict[str, Any]:
        """The C{XTPMarketDataStruct} record, every field present."""
        inst = self.instrument
        stk: dict[str, Any] = {k: (0 if k in _STK_INTS else 0.0) for k in STK_FIELDS}
        stk.update(
            total_bid_qty=sum(q for _, q in self.bids),
            total_ask_qty=sum(q for _, q in self.asks),
            ma_bid_price=_weighted(self.bids),
            ma_ask_price=_weighted(self.asks),
            num_bid_orders=len(self.bids),
            num_ask_orders=len(self.asks),
        )
        return {
            "exchange_id": inst.exchange_id,
            "ticker": inst.code,
            "last_price": self.last / 100,
            "pre_close_price": inst.pre_close / 100,
            "open_price": self.open / 100,
            "high_price": self.high / 100,
            "low_price": self.low / 100,
            "close_price": 0.0,
            "pre_total_long_positon": 0,
            "total_long_positon": 0,
            "pre_settl_price": 0.0,
            "settl_price": 0.0,
            "upper_limit_price": inst.upper / 100,
            "lower_limit_price": inst.lower / 100,
            "pre_delta": 0.0,
            "curr_delta": 0.0,
            "data_time": self.data_time,
            "qty": self.qty,
            "turnover": self.turnover / 100,
            "avg_price": round(self.turnover / 100 / self.qty, 3) if self.qty else 0.0,
            "bid": _prices(self.bids),
            "ask": _prices(self.asks),
            "bid_qty": _quantities(self.bids),
            "ask_qty": _quantities(self.asks),
            "trades_count": self.trades_count,
            "ticker_status": self.status,
            "stk": stk,
            "data_type": XTP_MARKETDATA_ACTUAL,
            "data_type_v2": XTP_MARKETDATA_V2_ACTUAL,
        }


def _prices(levels: tuple[Level, ...]) -> list[float]:
    return [p / 100 for p, _ in levels] + [0.0] * (DEPTH - len(levels))


def _quantities(levels: tuple[Level, ...]) -> list[int]:
    return [q for _, q in levels] + [0] * (DEPTH - len(levels))


def _weighted(levels: tuple[Level, ...]) -> float:
    total = sum(q for _, q in levels)
    return round(sum(p * q for p, q in levels) / total / 100, 3) if total else 0.0


class StockWalk:
    """One stock's random walk; L{step} draws the same numbers every time."""

    def __init__(self, instrument: Instrument, seed: int) -> None:
        self.instrument = instrument
        self._rng = random.Random(f"{seed}:{instrument.code}")
        rng = self._rng
        self._level = instrument.pre_close * (1 + rng.gauss(0, 0.005))
        self.last = self._clamp(round(self._level))
        self.open = self.high = self.low = self.last
        self.qty = rng.randint(10, 200) * 100
        self.turnover = self.last * self.qty
        self.trades_count = rng.randint(5, 80)
        self.bids, self.asks = self._book()
        self.step_count = 0

    def _clamp(self, price: int) -> int:
        return min(self.instrument.upper, max(self.instrument.lower, price))

    def _max_lots(self) -> int:
        # About half a million yuan a level at most, and at least a few lots.
        return max(3, min(80, 50_000_000 // (self.last * 100)))

    def _book(self) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        rng = self._rng
        inst = self.instrument
        ask = self.last + rng.randint(0, 1)
        bid = ask - 1
        widest = max(1, self.last // 2000)
        bids, asks = [], []
        for _ in range(DEPTH):
            bids.append((bid, rng.randint(1, self._max_lots()) * 100))
            asks.append((ask, rng.randint(1, self._max_lots()) * 100))
            bid -= rng.randint(1, widest)
            ask += rng.randint(1, widest)
        return (
            tuple(lv for lv in bids if inst.lower <= lv[0] <= inst.upper),
            tuple(lv for lv in asks if inst.lower <= lv[0] <= inst.upper),
        )

    def step(self) -> None:
        """Advance one market tick: move the price, add volume, rebuild the book."""
        rng = self._rng
        pre_close = self.instrument.pre_close
        noise = rng.gauss(0, VOLATILITY * self._level)
        self._level += REVERSION * (pre_close - self._level) + noise
        self._level = min(self.instrument.upper, max(self.instrument.lower, self._level))
        self.last = self._clamp(round(self._level))
        self.high = max(self.high, self.last)
        self.low = min(self.low, self.last)
        volume = rng.randint(1, self._max_lots()) * 100
        self.qty += volume
        self.turnover += self.last * volume
        self.trades_count += rng.randint(1, 30)
        self.bids, self.asks = self._book()
        self.step_count += 1

    def snapshot(self, data_time: int) -> Snapshot:
        """The current state as a L{Snapshot}."""
        return Snapshot(
            instrument=self.instrument,
            tick=self.step_count,
            data_time=data_time,
            last=self.last,
            open=self.open,
            high=self.high,
            low=self.low,
            qty=self.qty,
            turnover=self.turnover,
            trades_count=self.trades_count,
            bids=self.bids,
            asks=self.asks,
        )


class Market:
    """
    The whole market at the current tick; L{advance} moves every stock on.

    Tick 0 is the opening state; the backend advances the market once per
    C{[fake] interval}.
    """

    def __init__(self, universe: Universe, seed: int, data_time: int) -> None:
        self.universe = universe
        self.seed = seed
        self.tick = 0
        self.data_time = data_time
        self._walks: dict[str, StockWalk] = {}
        self._cache: dict[str, Snapshot] = {}

    def advance(self, steps: int, data_time: int) -> None:
        """Move the market C{steps} ticks on; C{data_time} stamps the new state."""
        self.tick += steps
        self.data_time = data_time
        self._cache.clear()

    def snapshot(self, instrument: Instrument) -> Snapshot:
        """The stock's state at the current tick (the same object until L{advance})."""
        snap = self._cache.get(instrument.code)
        if snap is None:
            walk = self._walks.get(instrument.code)
            if walk is None:
                walk = self._walks[instrument.code] = StockWalk(instrument, self.seed)
            while walk.step_count < self.tick:
                walk.step()
            snap = self._cache[instrument.code] = walk.snapshot(self.data_time)
        return snap
