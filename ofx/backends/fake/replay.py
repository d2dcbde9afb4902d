"""
Replaying a recorded market (C{[fake] replay}) instead of the random walk.

A recording is a CSV file or a JSON-lines file of snapshots, oldest first
(docs/fake-counter.md has the format):

 - JSON lines (C{.jsonl}, C{.ndjson}, C{.json}): one C{XTPMarketDataStruct}
   record per line, as the gateway answers C{100001}/C{100002}; keys it does
   not know (C{stat}, C{stk}, ...) are ignored.
 - CSV (any other name): a header row, then one snapshot per row, with the
   record's scalar fields as columns and the book as C{bid1}..C{bid10},
   C{bid_qty1}..C{bid_qty10}, C{ask1}..C{ask10}, C{ask_qty1}..C{ask_qty10}.

Required: C{data_time}, C{exchange_id}, C{ticker}, C{last_price}, and on a
stock's first row C{pre_close_price}. The recorded C{upper_limit_price} and
C{lower_limit_price}, when present, are the stock's limits; otherwise its
board's rule gives them. Stocks in the universe file keep their name and
board; others get the board their code implies.

L{ReplaySource} plays the rows at the recorded pace divided by C{[fake]
speed}, starting when the counter logs in; each snapshot is stamped with the
clock's time when it is published, so quotes, orders and trades share one
timeline. The recording is the market: its rows are published whatever the
trading phase, and matching reads their books as it reads the walk's.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

import attr

from ofx.backends.fake.sessions import Phase
from ofx.backends.fake.snapshot import DEPTH, Level, Snapshot, empty
from ofx.backends.fake.timestamps import BEIJING, xtp_time
from ofx.backends.fake.universe import Instrument, Universe, board_of, load_universe

SAMPLE = os.path.join(os.path.dirname(__file__), "replay-sample.csv")
SAMPLE_NAME = "sample"  # [fake] replay = sample names the shipped recording
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


def recording_path(value: str) -> str:
    """The file C{[fake] replay} names: the shipped sample for the word C{sample}."""
    return SAMPLE if os.path.basename(value) == SAMPLE_NAME and not os.path.exists(value) else value


def seconds_of(data_time: int) -> float:
    """An XTP C{YYYYMMDDHHMMSSsss} time as clock seconds (Beijing time)."""
    text = f"{data_time:017d}"
    moment = datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=BEIJING)
    return moment.timestamp() + int(text[14:]) / 1000


def _cents(value: Any) -> int:
    number = float(value)
    cents = round(number * 100)
    if abs(number * 100 - cents) > 1e-4 or cents < 0:
        raise ValueError(f"price {value!r} is not a non-negative multiple of 0.01")
    return cents


def _levels(prices: Sequence[Any], quantities: Sequence[Any]) -> tuple[Level, ...]:
    levels = []
    for price, qty in zip(prices, quantities, strict=False):
        if price in ("", None) or qty in ("", None):
            continue
        level = (_cents(price), int(float(qty)))
        if level[0] > 0 and level[1] > 0:
            levels.append(level)
    return tuple(levels)


def _rows(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for every snapshot of the file, books as lists."""
    with open(path, encoding="utf-8", newline="") as f:
        if path.endswith(JSON_SUFFIXES):
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except ValueError as e:
                        raise ValueError(f"{path}:{number}: not a JSON object: {e}") from None
            return
        reader = csv.DictReader(f)
        for row in reader:
            record: dict[str, Any] = {k: v for k, v in row.items() if v not in ("", None)}
            for side in ("bid", "ask", "bid_qty", "ask_qty"):
                record[side] = [row.get(f"{side}{i}") for i in range(1, DEPTH + 1)]
            yield reader.line_num, record


@attr.frozen
class Recording:
    """A recording read and checked: its stocks and its snapshots (recorded time, snapshot)."""

    universe: Universe
    rows: tuple[tuple[float, Snapshot], ...]


def read_recording(path: str, universe_path: str | None = None, stocks: Sequence[str] = ()) -> Recording:
    """Read and check a recording; errors name the file and line."""
    known = {i.code: i for i in load_universe(universe_path)}
    instruments: dict[str, Instrument] = {}
    rows: list[tuple[float, Snapshot]] = []
    ticks: dict[str, int] = {}
    previous = 0.0
    for number, record in _rows(path):
        where = f"{path}:{number}"
        try:
            snap = _snapshot(record, instruments, known, ticks)
            seconds = seconds_of(snap.data_time)
        except (KeyError, TypeError, ValueError) as e:
            what = f"missing {e}" if isinstance(e, KeyError) else str(e)
            raise ValueError(f"{where}: {what}") from None
        if seconds < previous:
            raise ValueError(f"{where}: data_time {snap.data_time} is earlier than the row before")
        previous = seconds
        rows.append((seconds, snap))
    if not rows:
        raise ValueError(f"{path}: the recording holds no snapshot")
    if stocks:
        unknown = [code for code in stocks if code not in instruments]
        if unknown:
            raise ValueError(f"stocks not in the recording {path}: {', '.join(unknown)}")
        rows = [row for row in rows if row[1].instrument.code in stocks]
        instruments = {code: instruments[code] for code in dict.fromkeys(stocks)}
    return Recording(Universe(instruments.values()), tuple(rows))


def _snapshot(
    record: dict[str, Any], instruments: dict[str, Instrument], known: dict[str, Instrument],
    ticks: dict[str, int],
) -> Snapshot:  # fmt: skip
    code = str(record["ticker"]).strip()
    instrument = instruments.get(code)
    if instrument is None:
        instrument = instruments[code] = _instrument(code, record, known)
    if int(record["exchange_id"]) != instrument.exchange_id:
        raise ValueError(f"exchange_id {record['exchange_id']} is not the exchange of {code}")
    ticks[code] = ticks.get(code, 0) + 1
    snap = Snapshot(
        instrument=instrument,
        tick=ticks[code],
        seq=0,
        data_time=int(record["data_time"]),
        last=_cents(record["last_price"]),
        open=_cents(record.get("open_price", 0)),
        high=_cents(record.get("high_price", 0)),
        low=_cents(record.get("low_price", 0)),
        qty=int(float(record.get("qty", 0))),
        turnover=round(float(record.get("turnover", 0)) * 100),
        trades_count=int(float(record.get("trades_count", 0))),
        bids=_levels(record.get("bid", ()), record.get("bid_qty", ())),
        asks=_levels(record.get("ask", ()), record.get("ask_qty", ())),
        status=str(record.get("ticker_status", "T111")),
    )
    prices = [p for p, _ in snap.bids + snap.asks] + [snap.last]
    for price in prices:
        if price and not instrument.lower <= price <= instrument.upper:
            raise ValueError(
                f"price {price / 100:.2f} of {code} is outside its limits "
                f"{instrument.lower / 100:.2f}..{instrument.upper / 100:.2f}"
            )
    return snap


def _instrument(code: str, record: dict[str, Any], known: dict[str, Instrument]) -> Instrument:
    base = known.get(code)
    pre_close = _cents(record["pre_close_price"])
    if pre_close <= 0:
        raise ValueError(f"pre_close_price of {code} must be positive")
    upper = _cents(record.get("upper_limit_price", 0))
    lower = _cents(record.get("lower_limit_price", 0))
    limits = (upper, lower) if upper and lower else None
    if base is not None:
        return Instrument(code, base.name, base.board, pre_close, limits)
    return Instrument(code, str(record.get("ticker_name", code)), board_of(code), pre_close, limits)


class ReplaySource:
    """A recording as a market source (see the module docstring)."""

    follows_sessions = False

    def __init__(self, recording: Recording, speed: float = 1.0) -> None:
        self.universe = recording.universe
        self._rows = recording.rows
        self._speed = speed
        self._next = 0
        self._start: float | None = None
        self._current: dict[str, Snapshot] = {}
        self._seq = 0

    def _due(self, index: int) -> float:
        assert self._start is not None
        return self._start + (self._rows[index][0] - self._rows[0][0]) / self._speed

    def start(self, now: float) -> None:
        """Begin the replay: the first rows are due now."""
        self._start = now
        self.advance(now, True)

    def next_change(self) -> float | None:
        if self._start is None or self._next >= len(self._rows):
            return None
        return self._due(self._next)

    def skip_until(self, when: float) -> None:
        """A recording plays through quiet phases too."""

    def step(self, when: float) -> None:
        """A recording takes no steps of its own."""

    def advance(
        self, until: float, moving: bool, before: bool = False
    ) -> tuple[float, Collection[str]] | None:
        """
        Publish every row due by C{until} (strictly before it if C{before}),
        each stamped with its due time; the last one's time and the stocks
        whose snapshot changed, or None if no row was due.
        """
        changed: dict[str, None] = {}
        when = None
        while self._next < len(self._rows):
            due = self._due(self._next)
            if due > until + 1e-9 or (before and due >= until - 1e-9):
                break
            snap = self._rows[self._next][1]
            self._next += 1
            self._seq += 1
            code = snap.instrument.code
            self._current[code] = attr.evolve(snap, seq=self._seq, data_time=xtp_time(due))
            changed[code] = None
            when = due
        return None if when is None else (when, list(changed))

    def snapshot(self, instrument: Instrument) -> Snapshot:
        current = self._current.get(instrument.code)
        if current is None:
            return empty(instrument, 0, 0)
        return current

    def view(self, instrument: Instrument, phase: Phase) -> Snapshot:
        return self.snapshot(instrument)

    def replace(self, snap: Snapshot) -> Snapshot:
        self._seq += 1
        new = attr.evolve(snap, seq=self._seq)
        self._current[snap.instrument.code] = new
        return new
