"""
The one timer that drives the fake counter.

L{Clockwork} wakes at the next market change (the source's next tick or
recorded row) or phase change (L{Sessions}), whichever comes first, and runs
everything due by then in time order: a phase change lets the exchange run
its auction or submit what it held; market changes between two phase
changes are taken together, queued orders trade through them in continuous
trading, and the subscribed stocks that changed are published once at the
end, as they stand. So a clock advanced in one jump (tests) sees every
phase change and every stretch of trading in turn, each stamped with its own
time, and a clock advanced tick by tick sees each tick.

While nothing can move (before the open, over lunch, at night) the walk's
ticks are skipped until the next phase begins, so an idle counter sleeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from ofx.backends.fake.exchange import Exchange
from ofx.backends.fake.sessions import PUBLISHING, Phase, Sessions
from ofx.backends.fake.source import MarketSource

Publish = Callable[[Collection[str] | None, Phase], None]  # codes (None: every subscribed one), phase


class Clockwork:
    """Runs the market and the trading day on C{clock}; C{publish} sends snapshots."""

    def __init__(
        self,
        clock: IReactorTime,
        sessions: Sessions,
        source: MarketSource,
        exchange: Exchange,
        publish: Publish,
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._source = source
        self._exchange = exchange
        self._publish = publish
        self._last = clock.seconds()
        self._call: IDelayedCall | None = None

    def start(self) -> None:
        """The market begins now."""
        self._last = self._clock.seconds()
        self._source.start(self._last)
        self._schedule()

    def stop(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def _schedule(self) -> None:
        """Wake at the next market change or phase change, whichever comes first."""
        times = []
        boundary = self._sessions.next_boundary(self._last)
        if boundary is not None:
            times.append(boundary[0])
            if self._source.follows_sessions and self._sessions.phase(self._last) not in PUBLISHING:
                self._source.skip_until(boundary[0])  # nothing moves until the next phase
        change = self._source.next_change()
        if change is not None:
            times.append(change)
        if times:
            delay = max(0.0, min(times) - self._clock.seconds())
            self._call = self._clock.callLater(delay, self._wake)

    def _wake(self) -> None:
        """Run every phase change and market change due by now, in time order; then publish."""
        self._call = None
        horizon = self._clock.seconds()
        changed: dict[str, None] = {}
        everything = False
        sessions, source = self._sessions, self._source
        while True:
            boundary = sessions.next_boundary(self._last)
            change = source.next_change()
            boundary_at = boundary[0] if boundary is not None else math.inf
            change_at = change if change is not None else math.inf
            if min(boundary_at, change_at) > horizon:
                break
            if boundary is not None and boundary_at <= change_at:
                self._exchange.begin(boundary[1], boundary_at)
                everything |= boundary[1] is Phase.CLOSED and source.follows_sessions  # the closing prices
                self._last = boundary_at
                continue
            phase = sessions.phase(change_at)
            if source.follows_sessions and phase not in PUBLISHING and boundary is not None:
                source.skip_until(boundary_at)  # a quiet phase: nothing moves until it ends
                continue
            before = boundary_at <= horizon
            done = source.advance(boundary_at if before else horizon, phase is Phase.CONTINUOUS, before)
            if done is None:
                break
            self._last, codes = done
            if phase in PUBLISHING or not source.follows_sessions:
                changed.update(dict.fromkeys(codes))
            if phase is Phase.CONTINUOUS:
                self._exchange.trade(codes, self._last)
        if everything or changed:
            self._publish(None if everything else changed, sessions.phase(self._last))
        self._schedule()
