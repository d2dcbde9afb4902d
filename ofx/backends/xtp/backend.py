"""
L{CtypesBackend}: L{IXTPBackend} over the XTP SDK, with reconnection.

Threads. Every public method runs on the reactor thread. C{Login} blocks
(it connects and waits for the counter), so it runs in a thread pool via
C{deferToThreadPool}; the functions that run there are named C{thd...}. The
SDK calls back from its own threads; L{ofx.backends.xtp.api} copies each
callback into Python values and hands it to the reactor with
C{callFromThread}, so the C{_TradeEvents} / C{_QuoteEvents} methods below
also run on the reactor thread.

Reconnection. The SDK never reconnects by itself. When a session drops
(C{OnDisconnected}) or a login fails, the session waits and logs in again,
the wait doubling from C{backoff_initial} up to C{backoff_cap}. After the
quote session comes back it subscribes again to every ticker still held;
after the trade session comes back it reconciles what it may have missed:
it queries the day's orders and trades and hands each answer to the
listener as an C{order_event} / C{trade_event} (so listeners must take a
repeated event for an order or trade they already know as an update), and
queries the positions, answered as C{query_answer("position", ...)} with a
negative request id (L{is_reconcile_request}). The listener hears
C{session_changed(session, False, reason)} when a session goes down and
C{session_changed(session, True, ...)} when it is back.

L{CtypesBackend.session_states} gives the per-session state (up, down,
connecting, reconnecting, stopped), the last error and the retry count for
the admin view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attr
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from zope.interface import implementer

from ofx.backends.control import ISessionControl
from ofx.backends.interface import (
    QUOTE_SESSION,
    TRADE_SESSION,
    BackendError,
    IBackendListener,
    IXTPBackend,
    Record,
    Ticker,
    XTPError,
)
from ofx.backends.xtp import api
from ofx.backends.xtp.settings import XTPSettings

log = Logger()

# What XTP itself answers for a call on a session that is not connected.
TRADE_NOT_UP = XTPError(10210302, "Session failed: no connection. (trade session is not logged in)")
QUOTE_NOT_UP = XTPError(10200301, "Session failed: no connection. (quote session is not logged in)")
BAD_PARAMETER = 11000100  # XTP's "Parameter error!"
TRADE_DISCONNECTED = 10210006  # XTP's ids for "disconnected from the server"
QUOTE_DISCONNECTED = 10200006

UP, DOWN, CONNECTING, RECONNECTING, STOPPED = "up", "down", "connecting", "reconnecting", "stopped"


def is_reconcile_request(request_id: int) -> bool:
    """Whether a query answer belongs to the backend's own reconciliation."""
    return request_id < 0


@attr.s(auto_attribs=True)
class SessionState:
    """One session's state as the admin console shows it."""

    name: str
    state: str = DOWN
    since: float = 0.0
    last_error: XTPError | None = None
    attempts: int = 0
    retry_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        error = self.last_error
        return {
            "state": self.state,
            "since": self.since,
            "last_error": None if error is None else attr.asdict(error),
            "attempts": self.attempts,
            "retry_at": self.retry_at,
        }


def open_apis(settings: XTPSettings) -> tuple[api.TraderApi, api.QuoteApi]:
    """Create the SDK's TraderApi and QuoteApi from the configured SDK directory."""
    paths = api.find_sdk(settings.sdk)
    trader = api.TraderApi.create(paths, settings.client_id, settings.log_dir, settings.log_level)
    quote = api.QuoteApi.create(paths, settings.client_id, settings.log_dir, settings.log_level)
    return trader, quote


class _Session:
    """
    The login / backoff state machine of one session. C{thd_login} runs in
    the thread pool and returns C{(login, None)} on success (C{login} is the
    SDK's session id, or True) or C{(None, error)};
    C{after_login(reconnected)} runs on the reactor thread once logged in.
    C{login} holds the current login (None when not logged in), also after
    a login that finished once C{stop} had begun, so it can be logged out.
    """

    def __init__(
        self,
        backend: CtypesBackend,
        name: str,
        thd_login: Callable[[], tuple[Any, XTPError | None]],
        after_login: Callable[[bool], None],
    ) -> None:
        self.backend = backend
        self.state = SessionState(name, since=backend.clock.seconds())
        self._thd_login = thd_login
        self._after_login = after_login
        self._retry: IDelayedCall | None = None
        self.pending: Deferred[Any] | None = None
        self.login: Any = None
        self._reported: bool | None = None
        self._was_up = False

    @property
    def up(self) -> bool:
        return self.state.state == UP

    def _set(self, state: str) -> None:
        self.state.state = state
        self.state.since = self.backend.clock.seconds()

    def _report(self, up: bool, reason: str) -> None:
        if self._reported is up:
            log.info("{session} session still down: {reason}", session=self.state.name, reason=reason)
            return
        log.info(
            "{session} session {state}: {reason}",
            session=self.state.name,
            state="up" if up else "down",
            reason=reason,
        )
        self._reported = up
        listener = self.backend.listener
        if listener is not None:
            listener.session_changed(self.state.name, up, reason)

    def connect(self) -> None:
        """Log in (in the thread pool) unless stopped, up or already trying."""
        self._retry = None
        self.state.retry_at = None
        if self.backend.stopped or self.pending is not None or self.up:
            return
        self._set(RECONNECTING if self._was_up or self.state.attempts else CONNECTING)
        d = deferToThreadPool(self.backend.reactor, self.backend.threadpool, self._thd_login)
        d.addErrback(self._login_crashed)
        d.addCallback(self._logged_in)
        if not d.called:
            self.pending = d

    def _login_crashed(self, failure: Any) -> tuple[None, XTPError]:
        log.failure("{session} login raised", failure, session=self.state.name)
        return None, XTPError(-1, f"login raised {failure.getErrorMessage()}")

    def _logged_in(self, result: tuple[Any, XTPError | None]) -> None:
        self.pending = None
        login, error = result
        if error is None:
            self.login = login
        if self.backend.stopped:
            return
        if error is not None:
            self.state.last_error = error
            self._set(DOWN)
            self._report(False, f"login failed: {error.error_id} {error.error_msg}")
            self._schedule()
            return
        reconnected = self._was_up
        self._was_up = True
        self.state.attempts = 0
        self._set(UP)
        self._report(True, "reconnected" if reconnected else "logged in")
        self._after_login(reconnected)

    def disconnected(self, error_id: int, reason: str) -> None:
        """The SDK said the session dropped: report it and start retrying."""
        if not self.up or self.backend.stopped:
            return
        self.login = None
        self._set(DOWN)
        self.state.last_error = XTPError(error_id, reason)
        self._report(False, reason)
        self._schedule()

    def _schedule(self) -> None:
        backend = self.backend
        delay = min(backend.backoff_initial * 2**self.state.attempts, backend.backoff_cap)
        self.state.attempts += 1
        self.state.retry_at = backend.clock.seconds() + delay
        self._set(RECONNECTING)
        log.info("{session} session: logging in again in {delay}s", session=self.state.name, delay=delay)
        self._retry = backend.clock.callLater(delay, self.connect)

    def stop(self) -> None:
        """Stop retrying; report the session down if it was up."""
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        self.state.retry_at = None
        was_up = self.up
        self._set(STOPPED)
        if was_up:
            self._report(False, "stopped")


class _TradeEvents:
    """TraderSpi callbacks, already on the reactor thread."""

    def __init__(self, backend: CtypesBackend) -> None:
        self.backend = backend

    def on_disconnected(self, reason: int) -> None:
        self.backend._trade.disconnected(
            TRADE_DISCONNECTED, f"disconnected from the trade server (reason {reason})"
        )

    def on_error(self, error: XTPError | None) -> None:
        if error is not None:
            log.warn("trade session error {id}: {msg}", id=error.error_id, msg=error.error_msg)
            self.backend._trade.state.last_error = error

    def on_order_event(self, record: Record, error: XTPError | None) -> None:
        if self.backend.listener is not None:
            self.backend.listener.order_event(record, error)

    def on_trade_event(self, record: Record) -> None:
        if self.backend.listener is not None:
            self.backend.listener.trade_event(record)

    def on_cancel_error(self, record: Record, error: XTPError | None) -> None:
        if self.backend.listener is not None:
            self.backend.listener.cancel_error(record, error or XTPError(0, ""))

    def on_query(
        self, kind: str, request_id: int, record: Record | None, error: XTPError | None, is_last: bool
    ) -> None:
        listener = self.backend.listener
        if listener is None:
            return
        if is_reconcile_request(request_id):
            if error is not None:
                log.warn(
                    "reconcile {kind} query failed: {id} {msg}",
                    kind=kind,
                    id=error.error_id,
                    msg=error.error_msg,
                )
            if kind == "order":
                if record is not None:
                    listener.order_event(record, None)
                return
            if kind == "trade":
                if record is not None:
                    listener.trade_event(record)
                return
        listener.query_answer(kind, request_id, record, error, is_last)


class _QuoteEvents:
    """QuoteSpi callbacks, already on the reactor thread."""

    def __init__(self, backend: CtypesBackend) -> None:
        self.backend = backend

    def on_disconnected(self, reason: int) -> None:
        self.backend._quote.disconnected(
            QUOTE_DISCONNECTED, f"disconnected from the quote server (reason {reason})"
        )

    def on_error(self, error: XTPError | None) -> None:
        if error is not None:
            log.warn("quote session error {id}: {msg}", id=error.error_id, msg=error.error_msg)
            self.backend._quote.state.last_error = error

    def on_subscribe(self, ticker: Ticker, error: XTPError | None, is_last: bool) -> None:
        if self.backend.listener is not None:
            self.backend.listener.subscribe_answer(ticker, error, is_last)

    def on_unsubscribe(self, ticker: Ticker, error: XTPError | None, is_last: bool) -> None:
        if error is not None:
            log.warn(
                "unsubscribe {ticker} failed: {id} {msg}",
                ticker=ticker,
                id=error.error_id,
                msg=error.error_msg,
            )

    def on_market_data(self, record: Record) -> None:
        if self.backend.listener is not None:
            self.backend.listener.market_data(record)


@implementer(IXTPBackend, ISessionControl)
class CtypesBackend:
    """
    One XTP account over the SDK. C{reactor} delivers callbacks
    (C{callFromThread}) and runs logins in C{threadpool} (default: the
    reactor's); C{clock} times the retries (default: C{reactor}). C{apis}
    makes the (TraderApi, QuoteApi) pair (default: L{open_apis}, the real
    SDK); tests pass fakes.
    """

    kind = "ctypes"

    def __init__(
        self,
        settings: XTPSettings,
        reactor: Any,
        threadpool: Any = None,
        *,
        clock: Any = None,
        apis: Callable[[XTPSettings], tuple[Any, Any]] | None = None,
        software_version: str = "ofx",
        backoff_initial: float = 1.0,
        backoff_cap: float = 60.0,
    ) -> None:
        if apis is None:
            api.find_sdk(settings.sdk)  # fail at build time, with the fetch hint
            apis = open_apis
        self.settings = settings
        self.reactor = reactor
        self.threadpool = threadpool if threadpool is not None else reactor.getThreadPool()
        self.clock = clock if clock is not None else reactor
        self.backoff_initial = backoff_initial
        self.backoff_cap = backoff_cap
        self.software_version = software_version
        self.listener: IBackendListener | None = None
        self.stopped = False
        self._apis = apis
        self._trader: Any = None
        self._quote_api: Any = None
        self._subscriptions: set[Ticker] = set()
        self._next_reconcile = -1
        self._trade = _Session(self, TRADE_SESSION, self._thd_trade_login, self._trade_up)
        self._quote = _Session(self, QUOTE_SESSION, self._thd_quote_login, self._quote_up)

    # -- life cycle ------------------------------------------------------

    def start(self, listener: IBackendListener) -> None:
        self.listener = listener
        self.stopped = False
        if self._trader is None:
            self._trader, self._quote_api = self._apis(self.settings)
            self._trader.attach(_TradeEvents(self), self.reactor.callFromThread)
            self._quote_api.attach(_QuoteEvents(self), self.reactor.callFromThread)
            self._trader.set_software_version(self.software_version)
            self._trader.set_software_key(self.settings.software_key)
            self._trader.set_heartbeat_interval(self.settings.heartbeat)
            self._quote_api.set_heartbeat_interval(self.settings.heartbeat)
        self._trade.connect()
        self._quote.connect()

    def stop(self) -> Deferred[Any]:
        """
        Stop retrying, wait for a login in progress, log out whatever is
        logged in and release the SDK objects (in the thread pool).
        """
        self.stopped = True
        sessions = (self._trade, self._quote)
        for session in sessions:
            session.stop()
        trader, quote = self._trader, self._quote_api
        if trader is None:
            return succeed(None)

        # Each Release blocks for several seconds (the SDK joins its threads),
        # so the two sessions shut down side by side.
        def thd_stop_trade() -> None:
            if self._trade.login:
                trader.logout(self._trade.login)
            trader.release()

        def thd_stop_quote() -> None:
            if self._quote.login:
                quote.logout()
            quote.release()

        def release(_: Any) -> Deferred[Any]:
            return DeferredList(
                [
                    deferToThreadPool(self.reactor, self.threadpool, thd_stop_trade),
                    deferToThreadPool(self.reactor, self.threadpool, thd_stop_quote),
                ],
                consumeErrors=True,
            )

        def logged_out(result: Any) -> Any:
            for ok, value in result if isinstance(result, list) else ():
                if not ok:
                    log.failure("stopping the XTP sessions failed", value)
            self._trade.login = self._quote.login = None
            self._trader = self._quote_api = None
            return result

        pending = [s.pending for s in sessions if s.pending is not None]
        d: Deferred[Any] = DeferredList(pending, consumeErrors=True) if pending else succeed(None)
        d.addCallback(release)
        d.addBoth(logged_out)
        return d

    def session_states(self) -> dict[str, dict[str, Any]]:
        """Per session: state, since, last_error, attempts, retry_at (for the admin view)."""
        return {s.state.name: s.state.as_dict() for s in (self._quote, self._trade)}

    def is_up(self, session: str) -> bool:
        return {TRADE_SESSION: self._trade, QUOTE_SESSION: self._quote}[session].up

    # -- ISessionControl (ofx.backends.control): the console's switches ---

    def stop_session(self, name: str) -> Deferred[Any]:
        """Log one session out and keep it out (no retries) until L{start_session}."""
        session = {TRADE_SESSION: self._trade, QUOTE_SESSION: self._quote}[name]
        session.stop()
        done: Deferred[Any] = Deferred()

        def logout(_: Any = None) -> None:
            session.stop()  # a login that finished meanwhile
            login, session.login = session.login, None
            trader, quote = self._trader, self._quote_api
            if not login or trader is None or quote is None:
                done.callback(None)
                return
            if name == TRADE_SESSION:
                d = deferToThreadPool(self.reactor, self.threadpool, trader.logout, login)
            else:
                d = deferToThreadPool(self.reactor, self.threadpool, quote.logout)
            d.addErrback(lambda f: log.failure("{session} logout failed", f, session=name))
            d.addBoth(lambda _: done.callback(None))

        def after_login(result: Any) -> Any:
            logout()
            return result

        if session.pending is not None:
            session.pending.addBoth(after_login)
        else:
            logout()
        return done

    def start_session(self, name: str) -> None:
        """Log one session in again (a no-op when it is up or logging in)."""
        session = {TRADE_SESSION: self._trade, QUOTE_SESSION: self._quote}[name]
        if self._trader is not None and not self.stopped:
            session.connect()

    def session_state(self, name: str) -> dict[str, Any]:
        return {TRADE_SESSION: self._trade, QUOTE_SESSION: self._quote}[name].state.as_dict()

    def trading_day(self) -> str:
        for sdk_api in (self._trader, self._quote_api):
            if sdk_api is not None:
                day = sdk_api.trading_day()
                if day:
                    return str(day)
        return ""

    # -- logins (thread pool) and what follows them (reactor) ------------

    def _thd_trade_login(self) -> tuple[int | None, XTPError | None]:
        s = self.settings
        trader = self._trader
        trader.subscribe_public_topic(api.XTP_TERT_QUICK)
        session_id = trader.login(s.trade_host, s.trade_port, s.account, s.password, api.XTP_PROTOCOL_TCP)
        if not session_id:
            return None, trader.last_error()
        return session_id, None

    def _thd_quote_login(self) -> tuple[bool | None, XTPError | None]:
        s = self.settings
        quote = self._quote_api
        if quote.login(s.quote_host, s.quote_port, s.account, s.password, s.quote_protocol) != 0:
            return None, quote.last_error()
        return True, None

    def _trade_up(self, reconnected: bool) -> None:
        if reconnected:
            self._reconcile()

    def _quote_up(self, reconnected: bool) -> None:
        try:
            self._send_subscriptions(sorted(self._subscriptions), subscribe=True)
        except BackendError as e:
            log.warn("subscribing again failed: {id} {msg}", id=e.error.error_id, msg=e.error.error_msg)
            self._quote.state.last_error = e.error

    def _reconcile(self) -> None:
        """Query orders, trades and positions after a reconnect (negative request ids)."""
        for query in (self._trader.query_orders, self._trader.query_trades):
            request_id, self._next_reconcile = self._next_reconcile, self._next_reconcile - 1
            if query(self._trade.login, request_id) != 0:
                log.warn("reconcile query failed: {error}", error=self._trader.last_error())
        request_id, self._next_reconcile = self._next_reconcile, self._next_reconcile - 1
        if self._trader.query_position("", self._trade.login, request_id, 0) != 0:
            log.warn("reconcile query failed: {error}", error=self._trader.last_error())

    # -- quote -----------------------------------------------------------

    def _send_subscriptions(self, tickers: Sequence[Ticker], subscribe: bool) -> None:
        by_exchange: dict[int, list[str]] = {}
        for exchange_id, code in tickers:
            by_exchange.setdefault(exchange_id, []).append(code)
        for exchange_id, codes in sorted(by_exchange.items()):
            call = self._quote_api.subscribe if subscribe else self._quote_api.unsubscribe
            if call(codes, exchange_id) != 0:
                raise BackendError(self._quote_api.last_error())

    def subscribe(self, tickers: Sequence[Ticker]) -> None:
        """Hold these tickers; send them now if the quote session is up, else on login."""
        new = [(int(e), str(c)) for e, c in tickers if (int(e), str(c)) not in self._subscriptions]
        self._subscriptions.update(new)
        if self._quote.up and new:
            self._send_subscriptions(new, subscribe=True)

    def unsubscribe(self, tickers: Sequence[Ticker]) -> None:
        held = [(int(e), str(c)) for e, c in tickers if (int(e), str(c)) in self._subscriptions]
        self._subscriptions.difference_update(held)
        if self._quote.up and held:
            self._send_subscriptions(held, subscribe=False)

    # -- trade -----------------------------------------------------------

    def _require_trade(self) -> Any:
        if not self._trade.up or self._trader is None:
            raise BackendError(TRADE_NOT_UP)
        return self._trader

    def insert_order(self, order: Record) -> int:
        trader = self._require_trade()
        try:
            order_xtp_id = trader.insert_order(order, self._trade.login)
        except (ValueError, TypeError) as e:
            raise BackendError(XTPError(BAD_PARAMETER, f"bad order: {e}")) from None
        if not order_xtp_id:
            raise BackendError(trader.last_error())
        return int(order_xtp_id)

    def cancel_order(self, order_xtp_id: int) -> int:
        trader = self._require_trade()
        cancel_id = trader.cancel_order(int(order_xtp_id), self._trade.login)
        if not cancel_id:
            raise BackendError(trader.last_error())
        return int(cancel_id)

    def _query(self, method: str, *args: Any) -> None:
        trader = self._require_trade()
        if getattr(trader, method)(*args) != 0:
            raise BackendError(trader.last_error())

    def query_asset(self, request_id: int) -> None:
        self._query("query_asset", self._trade.login, request_id)

    def query_positions(self, request_id: int) -> None:
        self._query("query_position", "", self._trade.login, request_id, 0)

    def query_orders(self, request_id: int) -> None:
        self._query("query_orders", self._trade.login, request_id)

    def query_trades(self, request_id: int) -> None:
        self._query("query_trades", self._trade.login, request_id)
