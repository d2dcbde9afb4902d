"""The gateway process's collector settings: a frozen start-up heap and a higher young threshold."""

from __future__ import annotations

import gc

from twisted.trial.unittest import TestCase

from ofx.heap import THRESHOLD, CollectorTuning


def _cycle(freed: list[bool]) -> object:
    """Two objects that refer to each other: only the collector frees them, each adding to C{freed}."""

    class Node:
        other: Node

        def __del__(self) -> None:
            freed.append(True)

    a, b = Node(), Node()
    a.other, b.other = b, a
    return a


class CollectorTuningTests(TestCase):
    def setUp(self) -> None:
        before = gc.get_threshold()
        self.addCleanup(gc.set_threshold, *before)
        self.addCleanup(gc.unfreeze)

    def test_start_freezes_the_heap_and_raises_the_threshold(self) -> None:
        survivor = [{"order_xtp_id": 1}]  # alive at start-up, like the rebuilt views
        tuning = CollectorTuning()
        older = gc.get_threshold()[1:]
        tuning.startService()
        self.assertGreater(gc.get_freeze_count(), 0)
        self.assertEqual(gc.get_threshold(), (THRESHOLD, *older))
        self.assertFalse(any(survivor is o for o in gc.get_objects()), "a frozen object is still scanned")
        tuning.stopService()

    def test_stop_restores_the_settings(self) -> None:
        gc.set_threshold(700, 10, 10)
        tuning = CollectorTuning(threshold=5000)
        tuning.startService()
        self.assertEqual(gc.get_threshold(), (5000, 10, 10))
        tuning.stopService()
        self.assertEqual(gc.get_threshold(), (700, 10, 10))
        self.assertEqual(gc.get_freeze_count(), 0)

    def test_cycles_are_still_collected(self) -> None:
        tuning = CollectorTuning()
        tuning.startService()
        self.addCleanup(tuning.stopService)
        freed: list[bool] = []
        cycle = _cycle(freed)
        del cycle
        gc.collect()
        self.assertEqual(freed, [True, True])

    def test_survivors_of_a_full_collection_are_not_scanned_again(self) -> None:
        """
        What survives a full collection is frozen, so the next full
        collection does not scan the day again; a new day unfreezes,
        collects, and freezes again, freeing cycles that had frozen.
        """
        tuning = CollectorTuning()
        tuning.startService()
        self.addCleanup(tuning.stopService)
        day = [{"order": i} for i in range(10)]  # the day's records: alive all day
        held = [day]
        self.assertTrue(any(day is o for o in gc.get_objects()))
        gc.collect()
        self.assertFalse(any(day is o for o in gc.get_objects()), "a survivor is still scanned")
        freed: list[bool] = []
        cycle = _cycle(freed)
        gc.collect()  # the cycle is alive: it freezes
        del cycle
        gc.collect()
        self.assertEqual(freed, [])  # frozen garbage waits for the day's end
        tuning.new_day("20261125")
        self.assertEqual(freed, [True, True])
        self.assertFalse(any(day is o for o in gc.get_objects()))
        self.assertIs(held[0], day)
