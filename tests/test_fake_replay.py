"""
Replaying a recorded market (C{[fake] replay}): the shipped sample, both
file formats, the pace, errors that name the line, and the same events on
every run.
"""

from __future__ import annotations

import csv
import json
from typing import Any

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from ofx.backends.fake import FakeBackend
from ofx.backends.fake.replay import SAMPLE, read_recording, recording_path
from ofx.backends.fake.timestamps import xtp_time
from ofx.config import FakeConfig
from ofx.xtp_types import XTP_SIDE_SELL
from tests.test_fake_backend import SH600000, RecordingListener, order

T0 = 1795485600.0  # 2026-11-24 10:00 Beijing time, a Tuesday


def replaying(path: str = "sample", **config: Any) -> tuple[FakeBackend, Clock, RecordingListener]:
    clock = Clock()
    clock.advance(T0)
    backend = FakeBackend(clock, FakeConfig(replay=path, positions=(("600000", 1000),), **config))
    listener = RecordingListener()
    backend.start(listener)
    clock.advance(0)
    return backend, clock, listener


def sample_rows() -> list[dict[str, str]]:
    with open(SAMPLE, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


class SampleTests(TestCase):
    """The shipped recording."""

    def test_sample_is_shipped_and_named(self) -> None:
        """C{[fake] replay = sample} names the shipped file: three stocks, a few minutes of 3-second snapshots."""
        self.assertEqual(recording_path("/srv/etc/sample"), SAMPLE)
        recording = read_recording(SAMPLE)
        self.assertEqual(sorted(i.code for i in recording.universe), ["000001", "300750", "600000"])
        self.assertEqual(len(recording.rows), len(sample_rows()))

    def test_replays_the_books_at_the_recorded_pace(self) -> None:
        """
        A subscriber gets the recorded snapshots, one every 3 s as recorded
        (1.5 s at speed 2), stamped with the clock; the books are the file's.
        """
        backend, clock, listener = replaying(speed=2.0)
        backend.subscribe([SH600000])
        for _ in range(4):
            clock.advance(1.5)
        published = listener.records("market_data")
        rows = [r for r in sample_rows() if r["ticker"] == "600000"][:5]
        self.assertEqual([p["data_time"] for p in published], [xtp_time(T0 + 1.5 * i) for i in range(5)])
        self.assertEqual([p["last_price"] for p in published], [float(r["last_price"]) for r in rows])
        self.assertEqual([p["ask_qty"][0] for p in published], [int(r["ask_qty1"]) for r in rows])
        self.assertEqual(published[0]["upper_limit_price"], float(rows[0]["upper_limit_price"]))

    def test_orders_trade_against_the_recording(self) -> None:
        """An order trades against the recorded book; the universe is the recording's stocks."""
        backend, clock, listener = replaying(always_open=True)
        book = backend.snapshot(SH600000)
        backend.insert_order(order("600000", book["ask"][1], book["ask_qty"][0] + 100))
        backend.insert_order(order("600036", 35.00, 100))
        clock.advance(0)
        trades = listener.records("trade_event")
        self.assertEqual(
            [(t["price"], t["quantity"]) for t in trades],
            [(book["ask"][0], book["ask_qty"][0]), (book["ask"][1], 100)],
        )
        self.assertIn("600036", listener.named("order_event")[-1][1].error_msg)

    def test_same_events_every_run(self) -> None:
        """The sample replayed twice with the same orders at the same times gives the same events."""

        def run() -> list[Any]:
            backend, clock, listener = replaying(always_open=True, speed=5.0)
            backend.subscribe([SH600000, (2, "000001")])
            for step in range(40):
                book = backend.snapshot(SH600000)
                if step % 7 == 0:
                    backend.insert_order(order("600000", book["bid"][0], 300))
                if step % 11 == 0:
                    backend.insert_order(order("600000", book["bid"][1], 200, side=XTP_SIDE_SELL))
                clock.advance(0.6)
            return listener.events

        first, second = run(), run()
        self.assertGreater(len([e for e in first if e[0] == "trade_event"]), 0)
        self.assertEqual(first, second)

    def test_replay_ends(self) -> None:
        """When the recording runs out the market stands still and nothing stays scheduled."""
        backend, clock, listener = replaying(speed=100.0, always_open=True)
        clock.advance(60)
        self.assertEqual(clock.getDelayedCalls(), [])


class FormatTests(TestCase):
    """JSON lines and CSV, and the errors a bad file gets."""

    def write(self, text: str, suffix: str) -> str:
        path = self.mktemp() + suffix
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_json_lines_equal_csv(self) -> None:
        """The gateway's own records (100002 answers) saved as JSON lines replay like the CSV."""
        backend, clock, listener = replaying(speed=10.0)
        backend.subscribe([SH600000])
        for _ in range(30):
            clock.advance(0.3)
        lines = [json.dumps(dict(r, stat=200, data_time=int(row["data_time"])))
                 for r, row in zip(listener.records("market_data"), [x for x in sample_rows() if x["ticker"] == "600000"], strict=False)]  # fmt: skip
        path = self.write("\n".join(lines) + "\n", ".jsonl")
        from_json = read_recording(path).rows
        from_csv = [row for row in read_recording(SAMPLE).rows if row[1].instrument.code == "600000"][
            : len(from_json)
        ]
        self.assertEqual([(t, s.last, s.bids, s.asks, s.qty, s.data_time) for t, s in from_json],
                         [(t, s.last, s.bids, s.asks, s.qty, s.data_time) for t, s in from_csv])  # fmt: skip

    def test_errors_name_the_line(self) -> None:
        """An off-tick price, a price outside the limits, time going back, a missing field: file:line and why."""
        header = "data_time,exchange_id,ticker,pre_close_price,last_price\n"
        good = "20240102093000000,1,600000,9.85,9.86\n"
        cases = {
            "20240102093000000,1,600000,9.85,9.865\n": "0.01",
            "20240102093000000,1,600000,9.85,11.00\n": "outside its limits",
            "20240102092900000,1,600000,9.85,9.86\n": "earlier",
            "20240102093000000,2,600000,9.85,9.86\n": "exchange",
        }
        for bad, why in cases.items():
            path = self.write(header + good + bad, ".csv")
            error = self.assertRaises(ValueError, read_recording, path)
            self.assertIn(f"{path}:3", str(error))
            self.assertIn(why, str(error))
        path = self.write(
            "data_time,exchange_id,ticker,pre_close_price\n20240102093000000,1,600000,9.85\n", ".csv"
        )
        self.assertIn("missing 'last_price'", str(self.assertRaises(ValueError, read_recording, path)))

    def test_stock_outside_the_universe_file(self) -> None:
        """A recorded stock the universe file lacks gets its board from its code and its recorded name."""
        path = self.write(json.dumps({"data_time": 20240102093000000, "exchange_id": 1, "ticker": "688111",
                                      "ticker_name": "金山办公", "pre_close_price": 300.0, "last_price": 301.5}) + "\n", ".jsonl")  # fmt: skip
        [instrument] = read_recording(path).universe
        self.assertEqual(
            (instrument.name, instrument.board.name, instrument.upper), ("金山办公", "star", 36000)
        )
