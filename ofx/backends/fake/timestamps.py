"""
Clock readings as the counter writes them: Beijing time, fixed UTC+8.

China has not observed daylight saving since 1991, so a fixed offset is
exact and needs no tz database.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from ofx.xtp_types import data_time

BEIJING = timezone(timedelta(hours=8), "CST")


def beijing(seconds: float) -> datetime:
    """A clock reading (POSIX seconds) as a Beijing wall-clock time."""
    return datetime.fromtimestamp(seconds, BEIJING)


def xtp_time(seconds: float) -> int:
    """A clock reading as an XTP C{YYYYMMDDHHMMSSsss} integer."""
    # The epsilon keeps 1.001 (999.99... ms after 1.0 in binary) at 1 ms.
    total_ms = math.floor(seconds * 1000 + 1e-6)
    t = beijing(total_ms // 1000)
    return data_time(t.year, t.month, t.day, t.hour, t.minute, t.second, total_ms % 1000)


def trading_day(seconds: float) -> str:
    """The Beijing calendar day of a clock reading, C{YYYYMMDD}."""
    return beijing(seconds).strftime("%Y%m%d")
