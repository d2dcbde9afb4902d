"""
Clock readings as the counter writes them: Beijing time, fixed UTC+8.

China has not observed daylight saving since 1991, so a fixed offset is
exact and needs no tz database.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from ofx.xtp_types import data_time

BEIJING = timezone(timedelta(hours=8), "CST")


def beijing(seconds: float) -> datetime:
    """A clock reading (POSIX seconds) as a Beijing wall-clock time."""
    return datetime.fromtimestamp(seconds, BEIJING)


@lru_cache(maxsize=4)
def _second_stamp(second: int) -> int:
    """C{YYYYMMDDHHMMSS000} of a whole second; cached, as orders come many to a second."""
    t = beijing(second)
    return data_time(t.year, t.month, t.day, t.hour, t.minute, t.second, 0)


def xtp_time(seconds: float) -> int:
    """A clock reading as an XTP C{YYYYMMDDHHMMSSsss} integer."""
    # The epsilon keeps 1.001 (999.99... ms after 1.0 in binary) at 1 ms.
    second, ms = divmod(math.floor(seconds * 1000 + 1e-6), 1000)
    return _second_stamp(second) + ms


def trading_day(seconds: float) -> str:
    """The Beijing calendar day of a clock reading, C{YYYYMMDD}."""
    return beijing(seconds).strftime("%Y%m%d")
