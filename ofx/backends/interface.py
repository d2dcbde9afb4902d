"""
The seam between the gateway and a counter.

L{IXTPBackend} is the only way the gateway talks to XTP; L{IBackendListener}
is the only way a counter talks back. Both mirror the SDK: calls are the
C{XTP::API::TraderApi} / C{QuoteApi} methods the gateway needs, events are the
C{TraderSpi} / C{QuoteSpi} callbacks, and records are dicts keyed by the XTP
struct field names listed in L{ofx.xtp_types}.

Threading contract: every method of both interfaces is called on the reactor
thread. A backend whose library calls back from its own threads (the ctypes
binding) hands each callback to the reactor before it reaches the listener.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attr
from zope.interface import Attribute, Interface

Record = dict[str, Any]
Ticker = tuple[int, str]  # (XTP_EXCHANGE_TYPE, ticker code)

QUOTE_SESSION = "quote"
TRADE_SESSION = "trade"

QUERY_KINDS = ("asset", "position", "order", "trade")


@attr.frozen
class XTPError:
    """An C{XTPRI}: the counter's error id and message."""

    error_id: int
    error_msg: str


class BackendError(Exception):
    """
    A call the counter refused at once (XTP returned 0 or -1 and
    C{GetApiLastError} says why), or a session that is not logged in.
    """

    def __init__(self, error: XTPError) -> None:
        super().__init__(error.error_id, error.error_msg)
        self.error = error


class IBackendListener(Interface):
    """
    Receives a counter's events, on the reactor thread, in the order the
    counter produced them.
    """

    def session_changed(session: str, up: bool, reason: str) -> None:
        """
        The quote or trade session (C{QUOTE_SESSION}, C{TRADE_SESSION}) went
        up or down; C{reason} says why in words an operator understands.
        """

    def market_data(record: Record) -> None:
        """C{OnDepthMarketData}: one C{XTPMarketDataStruct} snapshot."""

    def subscribe_answer(ticker: Ticker, error: XTPError | None, is_last: bool) -> None:
        """C{OnSubMarketData}: the counter's answer to a subscription."""

    def order_event(record: Record, error: XTPError | None) -> None:
        """C{OnOrderEvent}: an C{XTPOrderInfo} changed state (never on a partial fill)."""

    def trade_event(record: Record) -> None:
        """C{OnTradeEvent}: one C{XTPTradeReport}."""

    def cancel_error(record: Record, error: XTPError) -> None:
        """C{OnCancelOrderError}: an C{XTPOrderCancelInfo} the counter refused."""

    def query_answer(
        kind: str, request_id: int, record: Record | None, error: XTPError | None, is_last: bool
    ) -> None:
        """
        One callback of C{OnQueryAsset}, C{OnQueryPosition}, C{OnQueryOrder}
        or C{OnQueryTrade} (C{kind} is one of L{QUERY_KINDS}). An empty answer
        is a single callback with C{record} None and C{is_last} true.
        """


class IXTPBackend(Interface):
    """
    One XTP account's quote and trade sessions.
    """

    kind = Attribute("The configured name of this backend: 'fake' or 'ctypes'.")

    def start(listener: IBackendListener) -> None:
        """
        Log both sessions in (asynchronously) and deliver every event to
        C{listener} from now on. Session state changes are reported through
        L{IBackendListener.session_changed}.
        """

    def stop() -> Any:
        """Log out and release the sessions; may return a Deferred."""

    def is_up(session: str) -> bool:
        """Whether the quote or trade session is logged in now."""

    def trading_day() -> str:
        """The counter's trading day, C{YYYYMMDD}."""

    def subscribe(tickers: Sequence[Ticker]) -> None:
        """C{SubscribeMarketData} for these (exchange_id, ticker) pairs."""

    def unsubscribe(tickers: Sequence[Ticker]) -> None:
        """C{UnSubscribeMarketData} for these pairs."""

    def insert_order(order: Record) -> int:
        """
        C{InsertOrder}: send an C{XTPOrderInsertInfo} record and return the
        C{order_xtp_id} the counter assigned. Raises L{BackendError} where XTP
        returns 0.
        """

    def cancel_order(order_xtp_id: int) -> int:
        """
        C{CancelOrder}: return the C{order_cancel_xtp_id}. Raises
        L{BackendError} where XTP returns 0.
        """

    def query_asset(request_id: int) -> None:
        """C{QueryAsset}; answers arrive as C{query_answer('asset', ...)}."""

    def query_positions(request_id: int) -> None:
        """C{QueryPosition} for every ticker; answers as C{query_answer('position', ...)}."""

    def query_orders(request_id: int) -> None:
        """C{QueryOrders} for the day; answers as C{query_answer('order', ...)}."""

    def query_trades(request_id: int) -> None:
        """C{QueryTrades} for the day; answers as C{query_answer('trade', ...)}."""
