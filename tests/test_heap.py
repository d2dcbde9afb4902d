"""The gateway process's collector settings: a frozen start-up heap and a higher young threshold."""

from __future__ import annotations

import gc

from twisted.trial.unittest import TestCase

from ofx.heap import THRESHOLD, CollectorTuning


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
        freed = []

        class Node:
            def __del__(self) -> None:
                freed.append(True)

        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        del a, b
        gc.collect()
        self.assertEqual(freed, [True, True])
