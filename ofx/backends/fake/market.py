"""
Simulated market data: one seeded random walk per stock.

Each stock draws from its own C{random.Random(f"{seed}:{code}")} and draws the
same numbers at every step whether or not anyone looks, so a stock's prices
depend only on the seed, its code and the number of market steps taken, not
on what else is subscribed or when. Walks are created lazily and caught up to
the market's step on first use, which keeps an unwatched universe free.

The price follows a mean-reverting walk around the previous close (daily
spread about one per cent) on the 0.01 tick, clamped to the limit prices. The
book is rebuilt at every step around the last price: ten levels a side in lots
of 100, levels beyond a limit price left empty as the exchanges publish them.
Step 0 is the opening state (its price is the open, its volume what the
opening auction traded).

L{WalkSource} is the walk behind L{ofx.backends.fake.source.MarketSource}:
a market tick every C{[fake] interval} seconds, and a step only on ticks in
continuous trading, so prices stand still in auctions, breaks and nights.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection

import attr

from ofx.backends.fake.sessions import Phase
from ofx.backends.fake.snapshot import DEPTH, Level, Snapshot, phase_view
from ofx.backends.fake.timestamps import xtp_time
from ofx.backends.fake.universe import Instrument, Universe

REVERSION = 0.02  # share of the distance to the previous close recovered per step
VOLATILITY = 0.002  # standard deviation of a step, relative to the price


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

    def snapshot(self, data_time: int, seq: int) -> Snapshot:
        """The current state as a L{Snapshot}."""
        return Snapshot(
            instrument=self.instrument,
            tick=self.step_count,
            seq=seq,
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
    The whole market at the current step; L{advance} moves every stock on.

    Step 0 is the opening state. A snapshot is made on first look after
    each advance and stays the same object until the next one (or until
    L{replace} puts another in its place).
    """

    def __init__(self, universe: Universe, seed: int, data_time: int) -> None:
        self.universe = universe
        self.seed = seed
        self.tick = 0
        self.data_time = data_time
        self._walks: dict[str, StockWalk] = {}
        self._cache: dict[str, Snapshot] = {}
        self._seq = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def advance(self, steps: int, data_time: int) -> None:
        """Move the market C{steps} steps on; C{data_time} stamps the new state."""
        self.tick += steps
        self.data_time = data_time
        self._cache.clear()

    def snapshot(self, instrument: Instrument) -> Snapshot:
        """The stock's state at the current step."""
        snap = self._cache.get(instrument.code)
        if snap is None:
            walk = self._walks.get(instrument.code)
            if walk is None:
                walk = self._walks[instrument.code] = StockWalk(instrument, self.seed)
            while walk.step_count < self.tick:
                walk.step()
            snap = self._cache[instrument.code] = walk.snapshot(self.data_time, self.next_seq())
        return snap

    def replace(self, snap: Snapshot) -> None:
        """Show C{snap} for its stock until the next advance."""
        self._cache[snap.instrument.code] = snap


class WalkSource:
    """The random walk as a market source: a tick every C{interval} seconds from login."""

    follows_sessions = True

    def __init__(self, market: Market, interval: float) -> None:
        self.market = market
        self.universe = market.universe
        self.interval = interval
        self._origin: float | None = None
        self._ticks = 0

    def start(self, now: float) -> None:
        self._origin = now
        self._ticks = 0

    def _at(self, tick: int) -> float:
        assert self._origin is not None
        return self._origin + tick * self.interval

    def next_change(self) -> float | None:
        if self._origin is None:
            return None
        return self._at(self._ticks + 1)

    def skip_until(self, when: float) -> None:
        """Let the ticks before C{when} pass unseen (a quiet phase: nothing moves)."""
        if self._origin is not None:
            self._ticks = max(self._ticks, math.ceil((when - self._origin) / self.interval) - 1)

    def advance(
        self, until: float, moving: bool, before: bool = False
    ) -> tuple[float, Collection[str]] | None:
        """
        Take every tick due by C{until} (strictly before it if C{before}):
        one step each if C{moving}. Return the last tick's time and the codes
        with a new snapshot (all of them), or None if no tick was due.
        """
        if self._origin is None:
            return None
        last = max(self._ticks, math.floor((until - self._origin) / self.interval))
        while last > self._ticks and (self._at(last) >= until if before else self._at(last) > until):
            last -= 1
        while self._at(last + 1) < until or (not before and self._at(last + 1) == until):
            last += 1
        count = last - self._ticks
        if count <= 0:
            return None
        self._ticks = last
        when = self._at(last)
        self.market.advance(count if moving else 0, xtp_time(when))
        return when, [instrument.code for instrument in self.universe]

    def step(self, when: float) -> None:
        """One step outside the tick grid (the closing auction's price and volume)."""
        self.market.advance(1, xtp_time(when))

    def snapshot(self, instrument: Instrument) -> Snapshot:
        return self.market.snapshot(instrument)

    def view(self, instrument: Instrument, phase: Phase) -> Snapshot:
        return phase_view(self.market.snapshot(instrument), phase)

    def replace(self, snap: Snapshot) -> Snapshot:
        """Show C{snap}, as a new state, until the next tick; return it as shown."""
        new = attr.evolve(snap, seq=self.market.next_seq())
        self.market.replace(new)
        return new
