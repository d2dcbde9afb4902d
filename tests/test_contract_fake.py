"""
The backend contract (L{tests.contract}) on the fake counter, and what only
the fake promises: fees in each trade report, its error ids, its sample
replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from ofx.backends.fake import FakeBackend
from ofx.backends.interface import IXTPBackend
from ofx.config import FakeConfig
from tests.contract import BackendContract
from tests.desk import CASH, POSITIONS, Desk, money


def contract_config(**changes: object) -> FakeConfig:
    """The fake counter with the contract's starting account."""
    return FakeConfig(seed=3, cash=float(CASH), positions=POSITIONS, **changes)  # type: ignore[arg-type]


class FakeMarket:
    """The fake's market, driven by its clock and by injected books."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def advance(self, seconds: float) -> None:
        self.desk.clock.advance(seconds)

    def set_book(
        self, code: str, bids: Sequence[tuple[float, int]], asks: Sequence[tuple[float, int]]
    ) -> None:
        backend = self.desk.tap.backend
        assert isinstance(backend, FakeBackend)
        backend.inject_book((1 if code.startswith("6") else 2, code), bids, asks)
        self.desk.settle()


class FakeContractTests(BackendContract, TestCase):
    """The contract, on the fake counter keeping the exchanges' hours."""

    def make_backend(self, clock: Clock) -> IXTPBackend:
        return FakeBackend(clock, contract_config())

    def market(self) -> FakeMarket:
        return FakeMarket(self.desk)


class FakeOnlyTests(TestCase):
    """What the fake adds: fees in trade reports, and the asset's fee totals."""

    def setUp(self) -> None:
        clock = Clock()
        clock.advance(1795485600.0)
        self.desk = Desk(
            self, FakeBackend(clock, contract_config(commission=0.0003, min_commission=0.1)), clock
        )

    def test_fees_in_trade_reports(self) -> None:
        """
        Each trade report carries the commission, stamp tax and transfer fee
        that fill paid (as configured); they add up to the asset's fee totals.
        """
        quote = self.desk.quote("600000")
        buy = self.desk.order("600000", quote["ask"][2], sum(quote["ask_qty"][:3]))
        sell = self.desk.order("600000", quote["lower_limit_price"], 1000, side=2)
        trades = self.desk.trades("600000")
        self.assertEqual({t["order_xtp_id"] for t in trades}, {buy, sell})
        for t in trades:
            self.assertEqual(t["stamp_tax"] > 0, t["side"] == 2)
        cent = Decimal("0.01")
        for side in (1, 2):
            amount = sum((money(t["trade_amount"]) for t in trades if t["side"] == side), Decimal(0))
            paid = {
                k: sum((money(t[k]) for t in trades if t["side"] == side), Decimal(0))
                for k in ("commission", "stamp_tax", "transfer_fee")
            }
            self.assertEqual(
                paid["commission"],
                max(Decimal("0.10"), (amount * Decimal("0.0003")).quantize(cent, "ROUND_HALF_UP")),
            )
            self.assertEqual(
                paid["transfer_fee"], (amount * Decimal("0.00001")).quantize(cent, "ROUND_HALF_UP")
            )
            self.assertEqual(
                paid["stamp_tax"],
                (amount * Decimal("0.0005")).quantize(cent, "ROUND_HALF_UP") if side == 2 else 0,
            )
            asset = self.desk.asset()
            self.assertEqual(
                money(asset["fund_buy_fee" if side == 1 else "fund_sell_fee"]), sum(paid.values(), Decimal(0))
            )
