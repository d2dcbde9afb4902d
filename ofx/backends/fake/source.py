"""
Where the fake counter's market comes from: one interface, two sources.

L{MarketSource} is what the backend drives and matching reads. The random
walk (L{ofx.backends.fake.market.WalkSource}) ticks every C{[fake] interval}
seconds and moves only in continuous trading; a recording
(L{ofx.backends.fake.replay.ReplaySource}, C{[fake] replay}) plays its rows
at C{[fake] speed}. L{build_source} picks one from the configuration.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from ofx.backends.fake.market import Market, WalkSource
from ofx.backends.fake.replay import ReplaySource, read_recording, recording_path
from ofx.backends.fake.sessions import Phase
from ofx.backends.fake.snapshot import Snapshot
from ofx.backends.fake.timestamps import xtp_time
from ofx.backends.fake.universe import Instrument, Universe, load_universe
from ofx.config import FakeConfig


class MarketSource(Protocol):
    """A market: snapshots per stock that change at times the source says."""

    universe: Universe
    # True when the source keeps the exchange's hours (moves only in
    # continuous trading, quiet outside the publishing phases).
    follows_sessions: bool

    def start(self, now: float) -> None:
        """The counter logged in at clock reading C{now}: the market begins."""

    def next_change(self) -> float | None:
        """When the market changes next (clock seconds), or None if it never will."""

    def advance(
        self, until: float, moving: bool, before: bool = False
    ) -> tuple[float, Collection[str]] | None:
        """
        Apply every change due by C{until} (strictly before it if C{before});
        prices move only if C{moving}. Return the time of the last change
        applied and the codes whose snapshot changed, or None if nothing was
        due. Several changes due at once (a clock that jumped) are one.
        """

    def skip_until(self, when: float) -> None:
        """Nothing moves before C{when}: changes due earlier may be passed over."""

    def step(self, when: float) -> None:
        """One move outside the source's own pace (the closing auction), if it moves itself."""

    def snapshot(self, instrument: Instrument) -> Snapshot:
        """The stock's current state, as matching reads it."""

    def view(self, instrument: Instrument, phase: Phase) -> Snapshot:
        """The stock's current state as the exchange publishes it in C{phase}."""

    def replace(self, snap: Snapshot) -> Snapshot:
        """Show C{snap} as the stock's state (a new one) until the next change; return it."""


def build_source(config: FakeConfig, now: float) -> MarketSource:
    """The random walk, or the recording C{[fake] replay} names."""
    if config.replay:
        recording = read_recording(recording_path(config.replay), config.universe, config.stocks)
        return ReplaySource(recording, config.speed)
    universe = load_universe(config.universe, config.stocks)
    return WalkSource(Market(universe, config.seed, xtp_time(now)), config.interval)
