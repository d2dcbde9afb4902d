"""
The benchmark's machinery (C{python -m ofx.bench}), never its speed.

One smoke test runs the real command for about a second against both real
processes (the gateway and the bare server); the rest check its pure parts
without sockets.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ofx.bench.bare import BareAnswers
from ofx.bench.children import ROOT
from ofx.bench.main import Options, parse_mix
from ofx.bench.report import format_report, paired_ratio, percentile, summarize
from tests.keys import CODEC

TARGETS = ("gateway", "bare")
SNAPSHOT = {"exchange_id": 1, "ticker": "600000", "last_price": 10.5, "bid": [10.49] * 10}


class SmokeTest(TestCase):
    timeout = 60

    def test_both_targets_measured(self) -> Any:
        """
        A short run (2 clients, 1 second) prints a JSON report with a
        positive rate, answers of both commands, no error answers and
        latencies for the gateway and for the bare server, their ratio, and
        the in-process hot path costs.
        """
        args = ["-m", "ofx.bench", "--json", "--clients", "2", "--window", "4",
                "--seconds", "1", "--warmup", "0.3", "--hotpath", "200"]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=ROOT)
        d = getProcessOutputAndValue(sys.executable, args, env=env, reactor=reactor)

        def check(result: tuple[bytes, bytes, int]) -> None:
            out, err, code = result
            self.assertEqual(code, 0, err.decode(errors="replace"))
            report = json.loads(out)
            for name in TARGETS:
                target = report["targets"][name]
                self.assertGreater(target["commands_per_s"], 0, name)
                self.assertEqual(target["errors"], 0, target["first_error"])
                self.assertEqual(set(target["by_cmd"]), {"100001", "210005"}, name)
                self.assertLessEqual(0, target["p50_ms"], name)
                self.assertLessEqual(target["p50_ms"], target["p99_ms"], name)
            self.assertGreater(report["ratio"], 0)
            self.assertEqual(set(report["hotpath_us"]), {"100001", "210005"})
            self.assertGreater(report["hotpath_us"]["210005"]["total"], 0)

        return d.addCallback(check)


class MixTests(SynchronousTestCase):
    def test_interleaved(self) -> None:
        """The mix is one cycle with each command's share, spread out rather than bunched."""
        self.assertEqual(parse_mix("100001:3,210005:1"), (100001, 100001, 210005, 100001))
        self.assertEqual(parse_mix("100001:2,210005:2"), (100001, 210005))

    def test_unknown_command(self) -> None:
        """A mix naming a command the bench does not send is refused."""
        self.assertRaises(ValueError, parse_mix, "100002:1")


class OptionsTests(SynchronousTestCase):
    def test_more_procs_than_clients(self) -> None:
        """Spreading fewer clients than worker processes is a usage error."""
        from twisted.python.usage import UsageError

        self.assertRaises(UsageError, Options().parseOptions, ["--clients", "1", "--load-procs", "2"])


class BareAnswersTests(SynchronousTestCase):
    def ask(self, message: dict[str, Any]) -> Any:
        answers = BareAnswers(CODEC, SNAPSHOT, port=4321)
        return CODEC.decode_answer(answers.answer(CODEC.encode_request(message)))

    def test_quote(self) -> None:
        """100001 is answered with the canned snapshot and stat 200."""
        self.assertEqual(self.ask({"cmd": 100001, "params": {}}), {**SNAPSHOT, "stat": 200})

    def test_order(self) -> None:
        """210005 is answered as an accepted order with a reqid and an order_xtp_id."""
        answer = self.ask({"CMD": "210005", "authcode": "x", "params": {}})
        self.assertEqual((answer["stat"], answer["reqid"]), (200, 1))
        self.assertIn("order_xtp_id", answer)

    def test_login_routes_back(self) -> None:
        """A login is routed to the bare server's own port for quotes and trades."""
        answer = self.ask({"cmd": 1, "params": {"username": "a", "password": "b"}})
        self.assertEqual((answer["quoteport"], answer["tradeport"]), (4321, 4321))

    def test_undecodable(self) -> None:
        """A line that is not a sealed request gets the codec's 400, as from the gateway."""
        answers = BareAnswers(CODEC, SNAPSHOT)
        self.assertEqual(CODEC.decode_answer(answers.answer(b"not base64!"))["stat"], 400)


def _worker(latencies: list[int], cpu: float, server: float) -> dict[str, Any]:
    return {
        "elapsed": 2.0, "latencies_us": latencies, "by_cmd": {"100001": len(latencies)},
        "errors": 0, "first_error": None, "cpu": cpu,
        "watch_cpu": {"123": server, "machine": server + cpu},
    }  # fmt: skip


class SummaryTests(SynchronousTestCase):
    def test_percentile(self) -> None:
        """Percentiles are nearest-rank over the sorted latencies."""
        values = list(range(1, 101))
        self.assertEqual((percentile(values, 50), percentile(values, 99)), (50.0, 99.0))

    def test_merged_workers(self) -> None:
        """Workers' answers add up to the rate; the server's CPU share names the bottleneck."""
        summary = summarize([_worker([1000] * 10, 0.2, 1.9), _worker([3000] * 10, 0.2, 0.0)])
        self.assertEqual(summary["commands_per_s"], 10.0)
        self.assertEqual(summary["p99_ms"], 3.0)
        self.assertEqual(summary["bound"], "server")

    def test_paired_ratio(self) -> None:
        """
        The ratio is the median of each round's gateway/bare, so a slow spell
        that slows both targets of a round does not move it; busy rounds are left out.
        """
        gateway = [{"commands_per_s": r, "other_cpu": o} for r, o in ((70, 0), (35, 0), (90, 0), (10, 0.5))]
        bare = [{"commands_per_s": r, "other_cpu": 0} for r in (100, 50, 100, 100)]
        self.assertAlmostEqual(paired_ratio(gateway, bare), 0.70)
        self.assertAlmostEqual(paired_ratio(gateway[:3], bare[:3]), 0.70)
        self.assertAlmostEqual(paired_ratio(gateway[:2], bare[:2]), 0.70)
        self.assertAlmostEqual(paired_ratio(gateway[2:3], bare[2:3]), 0.90)

    def test_table(self) -> None:
        """The text report has a row per target and the ratio."""
        target = summarize([_worker([1000], 0.1, 0.1)])
        report = {
            "machine": {"date": "d", "cpus": 2, "cpu_model": "m", "python": "3", "twisted": "t"},
            "settings": {"clients": 1, "window": 1, "mix": "m", "order": "ioc", "seconds": 1,
                         "warmup": 0, "load_procs": 1},
            "targets": {"gateway": target, "bare": target}, "ratio": 1.0, "hotpath_us": None,
        }  # fmt: skip
        text = format_report(report)
        self.assertIn("\ngateway ", text)
        self.assertIn("\nbare ", text)
        self.assertIn("gateway/bare: 1.00", text)
