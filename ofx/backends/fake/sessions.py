"""
The trading day of the Shanghai and Shenzhen exchanges, by the clock.

Times are Beijing time. A trading day is a weekday that is not in C{[fake]
holidays}; on it the phases are:

 ========= ============== =====================================================
 from      phase          what the fake counter does with orders and cancels
 ========= ============== =====================================================
 00:00     PRE_OPEN       holds orders (no event) and submits them at 09:15
 09:15     OPEN_AUCTION   opening call auction: takes limit orders (accepted
                          event), refuses market orders; cancels until 09:20
 09:25     PRE_CONTINUOUS the opening uncross has run; holds orders and
                          cancels until 09:30
 09:30     CONTINUOUS     continuous trading: orders match the book
 11:30     BREAK          lunch break: holds orders and cancels until 13:00
 13:00     CONTINUOUS
 14:57     CLOSE_AUCTION  closing call auction: takes limit orders, no cancels
 15:00     CLOSED         the closing uncross has run; orders are rejected,
                          cancels refused
 ========= ============== =====================================================

A day that is not a trading day is CLOSED_DAY all day. With C{[fake]
always_open} every moment is CONTINUOUS. L{ticker_status} gives the
C{ticker_status} an exchange publishes in each phase (per the XTP FAQ).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from ofx.backends.fake.timestamps import BEIJING, beijing
from ofx.xtp_types import XTP_EXCHANGE_SH


class Phase(enum.Enum):
    CLOSED_DAY = "closed day"
    PRE_OPEN = "pre-open"
    OPEN_AUCTION = "opening call auction"
    PRE_CONTINUOUS = "after the opening auction"
    CONTINUOUS = "continuous trading"
    BREAK = "lunch break"
    CLOSE_AUCTION = "closing call auction"
    CLOSED = "closed"

    # Members are singletons compared by identity: hash them the same way, in
    # C. Enum's own hash is a Python call, and every order asks which of
    # the phase sets below its phase is in.
    __hash__ = object.__hash__


# When each phase of a trading day begins (the day starts PRE_OPEN).
SCHEDULE: tuple[tuple[time, Phase], ...] = (
    (time(9, 15), Phase.OPEN_AUCTION),
    (time(9, 25), Phase.PRE_CONTINUOUS),
    (time(9, 30), Phase.CONTINUOUS),
    (time(11, 30), Phase.BREAK),
    (time(13, 0), Phase.CONTINUOUS),
    (time(14, 57), Phase.CLOSE_AUCTION),
    (time(15, 0), Phase.CLOSED),
)
NO_CANCELS_FROM = time(9, 20)  # the last five minutes of the opening auction

# The counter keeps orders (and cancels) in these phases and submits them
# when the next phase begins.
HOLDING = frozenset({Phase.PRE_OPEN, Phase.PRE_CONTINUOUS, Phase.BREAK})
AUCTIONS = frozenset({Phase.OPEN_AUCTION, Phase.CLOSE_AUCTION})
REFUSING = frozenset({Phase.CLOSED, Phase.CLOSED_DAY})
# Phases in which the exchanges publish snapshots (the fake publishes then).
PUBLISHING = frozenset({Phase.OPEN_AUCTION, Phase.PRE_CONTINUOUS, Phase.CONTINUOUS, Phase.CLOSE_AUCTION})

_STATUS = {
    # phase: (Shanghai, Shenzhen)
    Phase.CLOSED_DAY: ("E111", "E1"),
    Phase.PRE_OPEN: ("S 11", "S1"),
    Phase.OPEN_AUCTION: ("C111", "C1"),
    Phase.PRE_CONTINUOUS: ("T111", "B1"),
    Phase.CONTINUOUS: ("T111", "T1"),
    Phase.BREAK: ("T111", "B1"),
    Phase.CLOSE_AUCTION: ("U111", "C1"),
    Phase.CLOSED: ("E111", "E1"),
}


def ticker_status(phase: Phase, exchange_id: int) -> str:
    """What C{ticker_status} a stock that trades normally shows in C{phase}."""
    shanghai, shenzhen = _STATUS[phase]
    return shanghai if exchange_id == XTP_EXCHANGE_SH else shenzhen


def _at(day: date, moment: time) -> float:
    return datetime.combine(day, moment, BEIJING).timestamp()


class Sessions:
    """The phase at any clock reading, and when the next phase begins."""

    def __init__(self, always_open: bool = False, holidays: Iterable[str] = ()) -> None:
        self.always_open = always_open
        self.holidays = frozenset(holidays)

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day.strftime("%Y%m%d") not in self.holidays

    def phase(self, seconds: float) -> Phase:
        """The phase at clock reading C{seconds}; a phase begins at its start time."""
        if self.always_open:
            return Phase.CONTINUOUS
        moment = beijing(seconds)
        if not self.is_trading_day(moment.date()):
            return Phase.CLOSED_DAY
        current = Phase.PRE_OPEN
        for start, phase in SCHEDULE:
            if moment.time() >= start:
                current = phase
        return current

    def takes_cancels(self, seconds: float) -> bool:
        """Whether the exchange takes cancels now (not 09:20-09:25, not after 14:57)."""
        phase = self.phase(seconds)
        if phase is Phase.OPEN_AUCTION:
            return beijing(seconds).time() < NO_CANCELS_FROM
        return phase not in (Phase.CLOSE_AUCTION, Phase.CLOSED, Phase.CLOSED_DAY)

    def next_boundary(self, after: float) -> tuple[float, Phase] | None:
        """The first phase change strictly after C{after}: its time and the phase it begins."""
        if self.always_open:
            return None
        day = beijing(after).date()
        for _ in range(400):
            if self.is_trading_day(day):
                for start, phase in SCHEDULE:
                    at = _at(day, start)
                    if at > after:
                        return at, phase
            day += timedelta(days=1)
        return None
