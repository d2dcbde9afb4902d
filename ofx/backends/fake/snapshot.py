"""
One stock's market state, and how it reads as an C{XTPMarketDataStruct}.

A L{Snapshot} is what every market source (the random walk, a replayed
recording) produces and what matching reads: prices in cents, the book as
C{(price, quantity)} levels, best first. L{phase_view} renders a snapshot as
the exchange shows it in a trading phase: nothing traded before the open,
only the indicative price (C{bid[0]} = C{ask[0]}) during the opening call
auction, the closing price after the close.
"""

from __future__ import annotations

from typing import Any

import attr

from ofx.backends.fake.sessions import Phase, ticker_status
from ofx.backends.fake.universe import Instrument
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


@attr.frozen
class Snapshot:
    """
    One stock's market state; prices in cents.

    C{bids} and C{asks} hold only the levels that exist, best first. C{seq}
    identifies this state (no two snapshots of a source share it): matching
    counts the liquidity used up per C{seq}. C{tick} counts the stock's
    market steps.
    """

    instrument: Instrument
    tick: int
    seq: int
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
    close: int = 0

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
            "close_price": self.close / 100,
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


def empty(instrument: Instrument, seq: int, data_time: int, status: str = "S1") -> Snapshot:
    """A stock before anything traded: reference prices only."""
    return Snapshot(instrument, 0, seq, data_time, 0, 0, 0, 0, 0, 0, 0, (), (), status)


def phase_view(snap: Snapshot, phase: Phase) -> Snapshot:
    """C{snap} (a market source's state) as the exchange publishes it in C{phase}."""
    status = ticker_status(phase, snap.instrument.exchange_id)
    if phase in (Phase.PRE_OPEN, Phase.CLOSED_DAY):
        return attr.evolve(
            snap, last=0, open=0, high=0, low=0, qty=0, turnover=0, trades_count=0,
            bids=(), asks=(), status=status,
        )  # fmt: skip
    if phase is Phase.OPEN_AUCTION:
        # The indicative opening price and matched volume, on bid[0] and ask[0] only.
        level = ((snap.last, snap.qty),) if snap.last else ()
        return attr.evolve(
            snap, last=0, open=0, high=0, low=0, qty=0, turnover=0, trades_count=0,
            bids=level, asks=level, status=status,
        )  # fmt: skip
    if phase is Phase.CLOSED:
        return attr.evolve(snap, status=status, close=snap.last)
    return attr.evolve(snap, status=status)
