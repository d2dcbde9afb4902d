"""
The stocks the fake counter knows, and the board rules that govern them.

A universe is read from a CSV file with the columns C{code,name,board,pre_close}
(the packaged C{universe.csv} unless C{[fake] universe} names another). The
exchange follows from the code (6xxxxx is Shanghai, 0xxxxx and 3xxxxx are
Shenzhen) and the price limits from the board and the ST flag, so the file
holds only what a person would look up.

Prices are kept as integer cents everywhere in the fake counter: limit prices,
ticks and fee arithmetic are then exact, and only records carry floats.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Sequence

import attr

from ofx.xtp_types import (
    MARKET_BY_EXCHANGE,
    XTP_EXCHANGE_SH,
    XTP_EXCHANGE_SZ,
)

PACKAGED_UNIVERSE = os.path.join(os.path.dirname(__file__), "universe.csv")


@attr.frozen
class Board:
    """
    One board's trading rules (SSE/SZSE rules for A shares).

    C{min_qty} and C{qty_step} govern buys: main board and ChiNext trade in
    lots of 100; the STAR market takes 200 shares or more in steps of one.
    """

    name: str
    limit_pct: int
    st_limit_pct: int
    min_qty: int
    qty_step: int
    max_limit_qty: int
    max_market_qty: int


BOARDS: dict[str, Board] = {
    "main": Board("main", 10, 5, 100, 100, 1_000_000, 1_000_000),
    "chinext": Board("chinext", 20, 20, 100, 100, 300_000, 150_000),
    "star": Board("star", 20, 20, 200, 1, 100_000, 50_000),
}


def exchange_of(code: str) -> int | None:
    """The XTP exchange of an A-share code, or None for codes OFX does not trade."""
    if len(code) != 6 or not code.isdigit():
        return None
    if code[0] == "6":
        return XTP_EXCHANGE_SH
    if code[0] in "03":
        return XTP_EXCHANGE_SZ
    return None


def board_of(code: str) -> Board:
    """The board an A-share code trades on: 688 is STAR, 300/301 ChiNext, else main."""
    if code.startswith("688"):
        return BOARDS["star"]
    if code.startswith(("300", "301")):
        return BOARDS["chinext"]
    return BOARDS["main"]


def limit_price(pre_close: int, pct: int, up: bool) -> int:
    """
    C{round(pre_close * (1 +/- pct%), 2)} rounded half up, in cents.

    Integer arithmetic, because float rounding of e.g. 1.425 is not half-up.
    """
    factor = 100 + pct if up else 100 - pct
    return (pre_close * factor + 50) // 100


@attr.frozen
class Instrument:
    """A stock: its code, name, board and the day's reference prices (cents)."""

    code: str
    name: str
    board: Board
    pre_close: int
    limits: tuple[int, int] | None = None  # (upper, lower) as published, else by the board's rule
    exchange_id: int = attr.field(init=False)
    market: int = attr.field(init=False)
    upper: int = attr.field(init=False)
    lower: int = attr.field(init=False)
    # Risk-warning stocks (ST, *ST) have narrower limits on the main board;
    # known once, as every market order asks.
    is_st: bool = attr.field(init=False)

    def __attrs_post_init__(self) -> None:
        exchange = exchange_of(self.code)
        if exchange is None:
            raise ValueError(f"{self.code!r} is not a Shanghai or Shenzhen A-share code")
        object.__setattr__(self, "is_st", self.name.lstrip("*").upper().startswith("ST"))
        pct = self.board.st_limit_pct if self.is_st else self.board.limit_pct
        object.__setattr__(self, "exchange_id", exchange)
        object.__setattr__(self, "market", MARKET_BY_EXCHANGE[exchange])
        upper, lower = self.limits or (
            limit_price(self.pre_close, pct, True),
            max(1, limit_price(self.pre_close, pct, False)),
        )
        object.__setattr__(self, "upper", upper)
        object.__setattr__(self, "lower", lower)


class Universe:
    """The instruments by code, with lookups by XTP exchange or market number."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._by_code: dict[str, Instrument] = {}
        for instrument in instruments:
            self._by_code[instrument.code] = instrument

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Instrument | None:
        """The instrument with this code, whatever its exchange."""
        return self._by_code.get(code)

    def by_exchange(self, exchange_id: int, code: str) -> Instrument | None:
        """Market data addressing: C{(XTP_EXCHANGE_TYPE, code)}."""
        instrument = self._by_code.get(code)
        if instrument is None or instrument.exchange_id != exchange_id:
            return None
        return instrument

    def by_market(self, market: int, code: str) -> Instrument | None:
        """Order addressing: C{(XTP_MARKET_TYPE, code)}."""
        instrument = self._by_code.get(code)
        if instrument is None or instrument.market != market:
            return None
        return instrument


def parse_cents(text: str) -> int:
    """A price with at most two decimals, as cents; ValueError otherwise."""
    whole, _, frac = text.strip().partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 2:
        raise ValueError(f"expected a price like 12.34, got {text.strip()!r}")
    return int(whole) * 100 + int(frac.ljust(2, "0") or 0)


def read_universe(path: str) -> list[Instrument]:
    """Read a universe CSV; errors name the file and line."""
    instruments = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"code", "name", "board", "pre_close"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns: {', '.join(sorted(missing))}")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            board = BOARDS.get(row["board"].strip())
            if board is None:
                raise ValueError(f"{where}: board must be one of {', '.join(BOARDS)}")
            try:
                pre_close = parse_cents(row["pre_close"])
                if pre_close <= 0:
                    raise ValueError("pre_close must be positive")
                instruments.append(Instrument(row["code"].strip(), row["name"].strip(), board, pre_close))
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
    return instruments


def load_universe(path: str | None = None, stocks: Sequence[str] = ()) -> Universe:
    """
    The configured universe: C{path} or the packaged list, restricted to
    C{stocks} when that is not empty (each must be in the list).
    """
    instruments = read_universe(path or PACKAGED_UNIVERSE)
    if stocks:
        by_code = {i.code: i for i in instruments}
        unknown = [code for code in stocks if code not in by_code]
        if unknown:
            where = path or PACKAGED_UNIVERSE
            raise ValueError(f"stocks not in the universe {where}: {', '.join(unknown)}")
        instruments = [by_code[code] for code in dict.fromkeys(stocks)]
    return Universe(instruments)
