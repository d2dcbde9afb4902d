"""
How a gateway process treats Python's cyclic garbage collector.

The gateway keeps the whole day in memory (every snapshot, order and trade
event, in the views) and that only grows. With CPython's default thresholds
(700, 10, 10) a collection runs every 700 new container objects, and every
retained record is scanned again in each older generation: under an order
burst that cost about 18 microseconds per order, one order in eight of the
gateway's time. So the twistd plugin (L{ofx.tap.makeService}) adds
L{CollectorTuning} after every other service:

  - at start-up, once the journal has rebuilt the day's views, it collects
    once and freezes what is alive (C{gc.freeze}): the rebuilt day is never
    scanned again;
  - it raises the first threshold to C{THRESHOLD}: a young collection runs
    every 10,000 new objects instead of 700, so most short-lived objects (a
    request's params, its Deferreds) are freed by reference counting before
    any collection sees them. Measured in process: 4 microseconds of
    collection per order instead of 18;
  - after each full collection it freezes what survived it: the day grows
    all day (an order leaves its records and the counter's order object),
    and without this every full collection would scan the whole day again,
    a pause that grows with it (the collector runs one each time the heap
    has grown by a quarter). Frozen, a full collection scans only what came
    since the last one.

Collections still run (cycles are still freed); they run less often. Memory
held by cyclic garbage can grow by at most the objects of one threshold. The
price of the freezing: a cycle of objects that had survived a full
collection (a closed connection's objects, say) is freed only when the
collector settings are restored (L{CollectorTuning.stopService}), or at
L{CollectorTuning.new_day}, which the gateway calls as a trading day
begins: it unfreezes, collects everything once, and freezes the survivors
again.
Programs that embed the gateway with L{ofx.tap.build_service} keep their own
collector settings unless they add this service too.
"""

from __future__ import annotations

import gc

from twisted.application.service import Service

THRESHOLD = 10_000


class CollectorTuning(Service):
    """Freezes the start-up heap and raises the young generation's threshold (see the module)."""

    name = "collector"

    def __init__(self, threshold: int = THRESHOLD) -> None:
        self._threshold = threshold
        self._before: tuple[int, int, int] | None = None

    def startService(self) -> None:
        super().startService()
        gc.collect()
        gc.freeze()
        self._before = gc.get_threshold()
        _, older, oldest = self._before
        gc.set_threshold(self._threshold, older, oldest)
        gc.callbacks.append(self._collected)

    def stopService(self) -> None:
        super().stopService()
        if self._collected in gc.callbacks:
            gc.callbacks.remove(self._collected)
        if self._before is not None:
            gc.set_threshold(*self._before)
            self._before = None
        gc.unfreeze()

    def new_day(self, day: str = "") -> None:
        """Free the cycles that froze with the days before: unfreeze, collect once, freeze what is alive."""
        if self.running:
            gc.unfreeze()
            gc.collect()
            gc.freeze()

    @staticmethod
    def _collected(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()  # what survived a full collection is not scanned by the next
