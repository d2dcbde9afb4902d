"""
What both OFX/1 clients share: the ports, the errors, how a stock is
written, how a login answer routes, and one method per gateway command
(L{Commands}), written once over an abstract C{_call}.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeAlias, TypeVar

import brotli

from ofx.wire import derive_key

LOGIN_PORT = 11027
QUOTE_PORT = 11025
TRADE_PORT = 11026

LOGIN, QUOTE, TRADE = "login", "quote", "trade"

# Answers can be large (every snapshot of the day for one stock); the line
# limit only guards against a peer that never sends a line ending.
MAX_ANSWER_LINE = 256 * 1024 * 1024

# A stock as callers like to write it: "600000.SH", ("600000", "SH") or
# {"code": "600000", "market": "SH"}.
StockRef: TypeAlias = str | tuple[str, str] | Mapping[str, str]


class OFXClientError(Exception):
    """
    The gateway answered C{{"stat": stat, "error": error}}: the request was
    read but refused, so retrying the same request will not help.
    """

    def __init__(self, stat: int, error: str) -> None:
        super().__init__(stat, error)
        self.stat = stat
        self.error = error

    def as_answer(self) -> dict[str, Any]:
        """The answer as the gateway sent it, for printing or logging."""
        return {"stat": self.stat, "error": self.error}

    def __str__(self) -> str:
        return f"{self.stat} {self.error}"


class OFXProtocolError(Exception):
    """
    What came back was not an OFX/1 answer (undecodable, unexpected, or a
    login answer without routing): the client and the gateway disagree about
    the protocol or the connection is damaged.
    """


class NotLoggedIn(Exception):
    """A quote or trade command was sent before a successful login."""


def check_answer(answer: Any) -> Any:
    """
    Return C{answer}, or raise L{OFXClientError} if it is an error answer.

    Only objects carry a status; arrays are data by construction.
    """
    if isinstance(answer, dict) and "stat" in answer and answer["stat"] != 200:
        stat = answer["stat"]
        raise OFXClientError(stat if isinstance(stat, int) else -1, str(answer.get("error", "")))
    return answer


def stock(ref: StockRef, market: str | None = None) -> dict[str, str]:
    """
    Normalise a stock reference to the C{{"code", "market"}} the gateway
    reads, so every method accepts the spellings people actually type.
    """
    code: object
    if market is not None:
        code = ref
    elif isinstance(ref, str):
        code, dot, market = ref.rpartition(".")
        if not dot:
            raise ValueError(f"expected CODE.MARKET such as 600000.SH, got {ref!r}")
    elif isinstance(ref, Mapping):
        lowered = {str(k).lower(): v for k, v in ref.items()}
        code, market = lowered.get("code"), lowered.get("market")
    else:
        code, market = ref
    if not isinstance(code, str) or not isinstance(market, str) or not code or not market:
        raise ValueError(f"a stock needs a code and a market, got {ref!r}")
    return {"code": code, "market": market.upper()}


def codec_key(secret: str | None, box_key: bytes | None) -> bytes:
    """Exactly one of the secret (derived here, once) or an already derived key."""
    if (secret is None) == (box_key is None):
        raise TypeError("give either secret or box_key, not both or neither")
    return box_key if box_key is not None else derive_key(secret)  # type: ignore[arg-type]


def routing(
    answer: Mapping[str, Any], login_host: str
) -> tuple[tuple[str, int], tuple[str, int], str]:
    """
    Read the quote address, trade address and authcode from a login answer.

    A gateway that listens on every interface may advertise C{0.0.0.0} (or
    nothing); the login host is the only sensible place to go then.
    """

    def address(host_key: str, port_key: str) -> tuple[str, int]:
        host, port = answer.get(host_key), answer.get(port_key)
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        if not isinstance(port, int) or not 0 < port < 65536:
            raise OFXProtocolError(f"login answer has no usable {port_key}: {port!r}")
        if not host or host in ("0.0.0.0", "::"):
            host = login_host
        return str(host), port

    authcode = answer.get("authcode")
    if authcode is None:
        raise OFXProtocolError("login answer has no authcode")
    return address("quoteserver", "quoteport"), address("tradeserver", "tradeport"), str(authcode)


R = TypeVar("R")

# What decoding a damaged answer line can raise (binascii, JSON and Unicode
# errors are all ValueErrors).
UNDECODABLE = (ValueError, brotli.error)


class Commands(Generic[R]):
    """
    One method per gateway command, written once for both clients.

    Subclasses supply L{_call}, which sends to the connection for C{port} and
    returns the answer (blocking) or a Deferred of it (Twisted).
    """

    def _call(self, port: str, cmd: int, params: Any = None) -> R:
        raise NotImplementedError

    def subscribe(self, stocks: Iterable[StockRef]) -> R:
        """110001: ask the counter to push market data for these stocks."""
        return self._call(QUOTE, 110001, [stock(s) for s in stocks])

    def quote(self, code: StockRef, market: str | None = None) -> R:
        """100001: the latest snapshot of one stock."""
        return self._call(QUOTE, 100001, stock(code, market))

    def quotes_today(self, code: StockRef, market: str | None = None) -> R:
        """100002: every snapshot of the day for one stock, oldest first."""
        return self._call(QUOTE, 100002, stock(code, market))

    def quotes(self, stocks: Iterable[StockRef]) -> R:
        """100003: the latest snapshot of each of several stocks."""
        return self._call(QUOTE, 100003, [stock(s) for s in stocks])

    def request_asset(self) -> R:
        """210001: ask the counter for the asset; read it later with L{asset}."""
        return self._call(TRADE, 210001)

    def request_positions(self) -> R:
        """210002: ask the counter for positions; read them with L{positions}."""
        return self._call(TRADE, 210002)

    def request_orders(self) -> R:
        """210003: ask the counter for orders; read them with L{orders}."""
        return self._call(TRADE, 210003)

    def request_trades(self) -> R:
        """210004: ask the counter for trades; read them with L{trades}."""
        return self._call(TRADE, 210004)

    def order_events(self, code: StockRef, market: str | None = None) -> R:
        """200001: the order events pushed today for one stock."""
        return self._call(TRADE, 200001, stock(code, market))

    def trade_events(self, code: StockRef, market: str | None = None) -> R:
        """200002: the trade reports pushed today for one stock."""
        return self._call(TRADE, 200002, stock(code, market))

    def asset(self) -> R:
        """200003: the latest asset the counter returned."""
        return self._call(TRADE, 200003)

    def positions(self, reqid: int | None = None) -> R:
        """200004: positions the counter returned, for one request or all."""
        return self._call(TRADE, 200004, _reqid(reqid))

    def orders(self, reqid: int | None = None) -> R:
        """200005: orders the counter returned, for one request or all."""
        return self._call(TRADE, 200005, _reqid(reqid))

    def trades(self, reqid: int | None = None) -> R:
        """200006: trades the counter returned, for one request or all."""
        return self._call(TRADE, 200006, _reqid(reqid))

    def insert_order(self, order: Mapping[str, Any] | None = None, /, **fields: Any) -> R:
        """
        210005: send an XTPOrderInsertInfo, given as a mapping, as keyword
        arguments, or both (keywords win). The answer carries C{order_xtp_id}.
        """
        return self._call(TRADE, 210005, {**(order or {}), **fields})

    def cancel_order(self, order_xtp_id: int) -> R:
        """210006: cancel an order; the answer carries C{order_cancel_xtp_id}."""
        return self._call(TRADE, 210006, {"order_xtp_id": order_xtp_id})


def _reqid(reqid: int | None) -> dict[str, int] | None:
    return None if reqid is None else {"reqid": reqid}


def request_message(cmd: int | str, params: Any, authcode: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"cmd": cmd}
    if authcode is not None:
        message["authcode"] = authcode
    if params is not None:
        message["params"] = params
    return message
