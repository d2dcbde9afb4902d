"""
The memory monitor (管理服务：内存监控): a service that samples, every few
seconds, the process's memory (resident set size), the open connections of
each front service and the journal's events per second, and keeps the last
hours in a ring for the console's charts.
"""

from __future__ import annotations

import os
import resource
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import attr
from twisted.application.service import Service
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall


def rss_bytes() -> int:
    """The resident set size of this process now (peak size where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@attr.frozen
class Sample:
    at: float
    rss: int
    connections: dict[str, int]
    events_per_second: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "rss": self.rss,
            "connections": dict(self.connections),
            "events_per_second": round(self.events_per_second, 2),
        }


class MonitorService(Service):
    """
    @param fronts: front name -> its factory (anything with C{connections}).
    @param position: how many journal entries there have been so far.
    @param interval: seconds between samples; C{hours} of them are kept.
    """

    name = "monitor"

    def __init__(
        self,
        clock: IReactorTime,
        fronts: Mapping[str, Any],
        position: Callable[[], int],
        interval: float = 5.0,
        hours: float = 6.0,
        rss: Callable[[], int] = rss_bytes,
    ) -> None:
        self._clock = clock
        self._fronts = fronts
        self._position = position
        self._rss = rss
        self.interval = interval
        self.samples: deque[Sample] = deque(maxlen=max(2, int(hours * 3600 / interval)))
        self._last: tuple[float, int] | None = None
        self._loop = LoopingCall(self.sample)
        self._loop.clock = clock

    def startService(self) -> None:
        super().startService()
        self._last = None
        self._loop.start(self.interval, now=True)

    def stopService(self) -> None:
        super().stopService()
        if self._loop.running:
            self._loop.stop()

    def sample(self) -> Sample:
        """Take one sample now and keep it."""
        now, position = self._clock.seconds(), self._position()
        rate = 0.0
        if self._last is not None and now > self._last[0]:
            rate = (position - self._last[1]) / (now - self._last[0])
        self._last = (now, position)
        found = Sample(
            now,
            self._rss(),
            {name: len(factory.connections) for name, factory in self._fronts.items()},
            rate,
        )
        self.samples.append(found)
        return found

    def series(self, since: float | None = None) -> list[dict[str, Any]]:
        """The samples kept, oldest first (those after C{since} only)."""
        return [s.as_dict() for s in self.samples if since is None or s.at > since]
