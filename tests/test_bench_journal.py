"""The journal benchmark runs and reports rates (it asserts no speed)."""

from __future__ import annotations

import io
import json
import sys

from twisted.trial.unittest import TestCase

from ofx.bench import journal


class JournalBenchTests(TestCase):
    def test_reports_both_rates(self) -> None:
        """A short run reports a positive rate for market data and for durable orders."""
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        folder = self.mktemp()
        import os

        os.makedirs(folder)
        journal.main(["--market-data", "2000", "--orders", "200", "--window", "20", "--folder", folder, "--json"])
        report = json.loads(out.getvalue())
        self.assertEqual(report["market_data"]["events"], 2000)
        self.assertGreater(report["market_data"]["per_second"], 0)
        self.assertEqual(report["orders"]["events"], 200)
        self.assertGreater(report["orders"]["per_second"], 0)
