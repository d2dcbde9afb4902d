"""
C{python -m ofx.bench.journal}: the journal's sustained rate.

Market data: N snapshots from the fake counter are appended as fast as the
reactor thread can (what a burst of market data does), and the clock stops
when the writer process has committed the last one; the rate is N over that
time, so it is what the disk path sustains, not just the cost of queueing.
Orders: N order entries appended durably (each waits for its fsync'd batch),
as 210005 does before it goes to the counter, with C{--window} in flight.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

from twisted.internet import reactor
from twisted.internet.task import Clock

from ofx.backends.fake import FakeBackend
from ofx.config import FakeConfig
from ofx.store.journal import Journal

ORDER = {
    "order_xtp_id": 0, "order_client_id": 0, "ticker": "600000", "market": 2, "price": 10.5,
    "stop_price": 0.0, "quantity": 100, "price_type": 1, "side": 1, "position_effect": 0,
    "reserved1": 0, "reserved2": 0, "business_type": 0,
}  # fmt: skip


def _wait_written(journal: Journal, count: int) -> None:
    while journal.written < count:
        reactor.iterate(0.001)  # type: ignore[attr-defined]


def market_data(journal: Journal, count: int) -> dict[str, float]:
    snapshot = FakeBackend(Clock(), FakeConfig(always_open=True)).snapshot((1, "600000"))
    already = journal.written
    start = time.perf_counter()
    for _ in range(count):
        journal.append("market_data", snapshot)
    queued = time.perf_counter() - start
    _wait_written(journal, already + count)
    total = time.perf_counter() - start
    return {"events": count, "per_second": count / total, "append_us": queued / count * 1e6}


def orders(journal: Journal, count: int, window: int) -> dict[str, float]:
    done = 0
    sent = 0

    def one_done(_: Any) -> None:
        nonlocal done
        done += 1

    start = time.perf_counter()
    while done < count:
        while sent < count and sent - done < window:
            commit = journal.append("order", ORDER, "bench", sent + 1, durable=True)
            assert commit is not None
            commit.when_done(one_done)
            sent += 1
        reactor.iterate(0.0005)  # type: ignore[attr-defined]
    total = time.perf_counter() - start
    return {"events": count, "per_second": count / total, "window": window}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ofx.bench.journal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--market-data", type=int, default=300_000, help="snapshots to append")
    parser.add_argument("--orders", type=int, default=20_000, help="durable order entries to append")
    parser.add_argument(
        "--window", type=int, default=400, help="durable appends in flight (like 50 clients x 8)"
    )
    parser.add_argument("--folder", help="where to put the database (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    folder = args.folder or tempfile.mkdtemp(prefix="ofx-journal-bench-")
    journal = Journal(os.path.join(folder, "bench.db"), reactor)
    journal.startService()
    try:
        md = market_data(journal, args.market_data)
        od = orders(journal, args.orders, args.window)
    finally:
        stopped = journal.stopService()
        while stopped is not None and not stopped.called:  # the writer commits the rest, then exits
            reactor.iterate(0.01)  # type: ignore[attr-defined]
    if args.json:
        print(json.dumps({"market_data": md, "orders": od}))
    else:
        print(f"{'journal':<14}{'events':>10}{'events/s':>12}")
        print(f"{'market data':<14}{md['events']:>10,}{md['per_second']:>12,.0f}"
              f"   (queueing on the reactor thread: {md['append_us']:.1f} us each)")  # fmt: skip
        print(f"{'orders':<14}{od['events']:>10,}{od['per_second']:>12,.0f}"
              f"   (durable, fsync'd batches, {args.window} in flight)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
