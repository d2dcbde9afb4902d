"""
The console's JSON API under C{/api/} (documented in docs/admin-api.md).

L{ApiResource} only authenticates, checks the CSRF token of state-changing
requests, routes and writes answers; each endpoint is a plain function of a
L{Call} (the console's objects, the arguments, who is calling) that returns
a value or a Deferred, so it can be tested without a socket. Reading is
C{GET}; everything that changes something is C{POST}.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import attr
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from ofx.config import Config, parse_gateway
from ofx.errors import OFXError
from ofx.login import redact
from ofx.passwords import hash_password
from ofx.store.users import NoSuchUser, UserExists, UserStore
from ofx.web import data
from ofx.web.auth import CSRF_HEADER, SESSION_COOKIE, OperatorAuth, OperatorSession, same
from ofx.web.control import ServiceControl
from ofx.web.http import arguments, cookie, secure, write_json
from ofx.web.info import basic_info, settings

_DAY = re.compile(r"^\d{8}$")
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
JOURNAL_PAGE_MAX = 1000


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


@attr.define
class Console:
    """Everything the console reads and switches (built by L{ofx.web.site.build_admin})."""

    config: Config
    auth: OperatorAuth
    control: ServiceControl
    users: UserStore
    clock: Any
    run_blocking: Callable[..., Deferred[Any]]
    sessions: Any = None  # LoginService, when this process serves logins
    gateway: Any = None  # GatewayService, when it holds an XTP account
    journal: Any = None
    monitor: Any = None
    hash_password: Callable[[str], str] = hash_password


@attr.frozen
class Call:
    console: Console
    args: dict[str, str]
    session: OperatorSession | None  # None when called with an API token

    def arg(self, name: str, default: str | None = None) -> str:
        value = self.args.get(name, default)
        if value is None:
            raise ApiError(400, f"missing argument {name!r}")
        return value

    def day(self) -> str:
        day = self.args.get("date") or ""
        journal = self.console.journal
        if not day:
            if journal is None:
                raise ApiError(404, "this process holds no XTP account and keeps no journal")
            return str(journal.day)
        if not _DAY.match(day):
            raise ApiError(400, f"date must be YYYYMMDD, got {day!r}")
        return day


# -- session and services -------------------------------------------------


def get_session(call: Call) -> dict[str, Any]:
    if call.session is None:
        return {"user": "api-token", "csrf": None, "expires": None}
    return {"user": call.session.user, "csrf": call.session.csrf, "expires": call.session.expires}


def post_signout(call: Call) -> dict[str, Any]:
    if call.session is not None:
        call.console.auth.sign_out(call.session.sid)
    return {"signed_out": True}


def get_services(call: Call) -> list[dict[str, Any]]:
    return call.console.control.table()


def _switch(action: str) -> Callable[[Call], Any]:
    def endpoint(call: Call) -> Any:
        control = call.console.control
        if action in ("start-all", "stop-all"):
            return control.start_all() if action == "start-all" else control.stop_all()
        name = call.arg("name")
        if name not in control.names():
            raise ApiError(404, f"no service {name!r} (known: {', '.join(control.names())})")
        return control.start(name) if action == "start" else control.stop(name)

    return endpoint


def get_info(call: Call) -> dict[str, Any]:
    return basic_info(call.console.config)


def get_settings(call: Call) -> list[dict[str, Any]]:
    return settings(call.console.config)


def get_monitor(call: Call) -> dict[str, Any]:
    monitor = call.console.monitor
    if monitor is None:
        return {"running": False, "interval": None, "samples": []}
    since = call.args.get("since")
    return {
        "running": bool(monitor.running),
        "interval": monitor.interval,
        "samples": monitor.series(float(since) if since else None),
    }


# -- client accounts --------------------------------------------------------


def authcode_id(authcode: str) -> str:
    """A public handle of an authcode: names it for revoking without showing it."""
    return hashlib.sha256(b"ofx-authcode\0" + authcode.encode()).hexdigest()[:16]


def _open_authcodes(console: Console) -> list[Any]:
    return console.sessions.sessions() if console.sessions is not None else []


def get_users(call: Call) -> list[dict[str, Any]]:
    codes: dict[str, list[dict[str, Any]]] = {}
    now = call.console.clock.seconds()
    for session in _open_authcodes(call.console):
        if session.expires > now:
            codes.setdefault(session.user, []).append(
                {"id": authcode_id(session.authcode), "shown": redact(session.authcode),
                 "expires": session.expires, "gateway": session.gateway}
            )  # fmt: skip
    return [
        {"name": u.name, "disabled": u.disabled, "gateway": u.gateway, "created": u.created,
         "last_login": u.last_login, "authcodes": codes.get(u.name, [])}
        for u in call.console.users.all()
    ]  # fmt: skip


def _revoke_user(console: Console, name: str) -> int:
    """End every open authcode of C{name} now (the store's own poll would not see our own writes)."""
    count = 0
    for session in _open_authcodes(console):
        if session.user == name:
            count += console.sessions.revoke(session.authcode)
    return count


def _user_name(call: Call) -> str:
    name = call.arg("name").strip()
    if not _NAME.match(name):
        raise ApiError(400, "a user name is 1 to 64 letters, digits or _.@-")
    return name


def _password(call: Call) -> str:
    password = call.arg("password")
    if not password:
        raise ApiError(400, "the password must not be empty")
    return password


def post_user_add(call: Call) -> Deferred[dict[str, Any]]:
    name, password = _user_name(call), _password(call)
    gateway = call.args.get("gateway", "").strip() or None
    if gateway:
        try:
            parse_gateway(gateway)
        except ValueError as e:
            raise ApiError(400, f"gateway: {e}") from None
    if call.console.users.get(name) is not None:
        raise ApiError(409, f"user {name} already exists")
    console = call.console

    def hashed(password_hash: str) -> dict[str, Any]:
        try:
            console.users.add(name, password_hash, console.clock.seconds(), gateway)
        except UserExists:
            raise ApiError(409, f"user {name} already exists") from None
        return {"added": name}

    return console.run_blocking(console.hash_password, password).addCallback(hashed)


def _existing(call: Call) -> str:
    name = _user_name(call)
    if call.console.users.get(name) is None:
        raise ApiError(404, f"no user {name}")
    return name


def post_user_disable(call: Call) -> dict[str, Any]:
    name = _existing(call)
    call.console.users.set_disabled(name, True)
    return {"disabled": name, "revoked": _revoke_user(call.console, name)}


def post_user_enable(call: Call) -> dict[str, Any]:
    name = _existing(call)
    call.console.users.set_disabled(name, False)
    return {"enabled": name}


def post_user_reset(call: Call) -> Deferred[dict[str, Any]]:
    name, password = _existing(call), _password(call)
    console = call.console

    def hashed(password_hash: str) -> dict[str, Any]:
        try:
            console.users.set_password(name, password_hash)
        except NoSuchUser:
            raise ApiError(404, f"no user {name}") from None
        return {"reset": name}

    return console.run_blocking(console.hash_password, password).addCallback(hashed)


def post_user_delete(call: Call) -> dict[str, Any]:
    name = _existing(call)
    call.console.users.delete(name)
    return {"deleted": name, "revoked": _revoke_user(call.console, name)}


def post_authcode_revoke(call: Call) -> dict[str, Any]:
    wanted = call.arg("id")
    for session in _open_authcodes(call.console):
        if same(authcode_id(session.authcode), wanted):
            call.console.sessions.revoke(session.authcode)
            return {"revoked": wanted, "user": session.user}
    raise ApiError(404, "no open authcode with that id")


# -- the day's data ---------------------------------------------------------


def _views(call: Call, names: tuple[str, ...], day: str) -> Deferred[dict[str, Any]]:
    gateway = call.console.gateway
    if gateway is None:
        raise ApiError(404, "this process holds no XTP account")
    queues = {name: gateway.queues[name] for name in names}
    try:
        for queue in queues.values():
            queue.current()  # a stopped queue service answers 503, for past days too
    except OFXError as e:
        raise ApiError(e.stat, e.message) from None
    if day == call.console.journal.day:
        return succeed({name: queue.view for name, queue in queues.items()})

    def built(entries: list[Any]) -> dict[str, Any]:
        if not entries:
            raise ApiError(404, f"no journal for {day}")
        return {name: queue.view_of(entries) for name, queue in queues.items()}

    return call.console.run_blocking(call.console.journal.thd_read_day, day).addCallback(built)


def _table(name: str, build: Callable[[Call, dict[str, Any]], list[dict[str, Any]]]) -> Callable[[Call], Any]:
    def endpoint(call: Call) -> Deferred[dict[str, Any]]:
        day = call.day()

        def answer(views: dict[str, Any]) -> dict[str, Any]:
            rows = data.filter_rows(build(call, views), call.args.get("stock", ""), call.args.get("status", ""))
            return {"table": name, "date": day, "columns": data.columns(name, rows), "rows": rows}

        return _views(call, data.TABLE_QUEUES[name], day).addCallback(answer)

    endpoint.table = name  # type: ignore[attr-defined]
    return endpoint


def _snapshots(call: Call, views: dict[str, Any]) -> list[dict[str, Any]]:
    stock = call.args.get("stock", "").strip()
    if not stock:
        raise ApiError(400, "name a stock, e.g. stock=600000.SH")
    return data.snapshots(views["md-receiver"], stock)


TABLES: dict[str, Callable[[Call], Any]] = {
    "orders": _table("orders", lambda c, v: data.orders(v["order-callbacks"], v["order-query"])),
    "order-events": _table("order-events", lambda c, v: data.order_events(v["order-callbacks"])),
    "trades": _table("trades", lambda c, v: data.trades(v["trade-callbacks"], v["trade-query"])),
    "trade-events": _table("trade-events", lambda c, v: data.trade_events(v["trade-callbacks"])),
    "quotes": _table("quotes", lambda c, v: data.quotes(v["md-receiver"])),
    "snapshots": _table("snapshots", _snapshots),
    "asset": _table("asset", lambda c, v: data.asset(v["asset-query"])),
    "positions": _table("positions", lambda c, v: data.positions(v["position-query"])),
}


def get_days(call: Call) -> dict[str, Any]:
    journal = call.console.journal
    if journal is None:
        return {"today": None, "days": []}
    return {"today": journal.day, "days": journal.days()}


def get_journal(call: Call) -> Deferred[dict[str, Any]]:
    day = call.day()
    try:
        after = int(call.args.get("after") or 0)
        limit = min(int(call.args.get("limit") or 100), JOURNAL_PAGE_MAX)
    except ValueError:
        raise ApiError(400, "after and limit are whole numbers") from None
    kinds = [k.strip() for k in call.args.get("kind", "").split(",") if k.strip()]
    journal = call.console.journal

    def page(entries: list[Any]) -> dict[str, Any]:
        rows = [
            {"seq": e.seq, "ts": e.ts, "kind": e.kind, "user": e.user, "reqid": e.reqid, "body": e.body}
            for e in entries
        ]
        more = len(rows) == limit and limit > 0
        return {
            "table": "journal", "date": day, "columns": ["seq", "ts", "kind", "user", "reqid", "body"],
            "rows": rows, "next": rows[-1]["seq"] if more else None,
        }  # fmt: skip

    return call.console.run_blocking(journal.thd_page, day, after, limit, kinds or None).addCallback(page)


GET_ROUTES: dict[str, Callable[[Call], Any]] = {
    "session": get_session,
    "services": get_services,
    "info": get_info,
    "settings": get_settings,
    "monitor": get_monitor,
    "users": get_users,
    "days": get_days,
    "journal": get_journal,
    **TABLES,
}

POST_ROUTES: dict[str, Callable[[Call], Any]] = {
    "signout": post_signout,
    "services/start": _switch("start"),
    "services/stop": _switch("stop"),
    "services/start-all": _switch("start-all"),
    "services/stop-all": _switch("stop-all"),
    "users/add": post_user_add,
    "users/disable": post_user_disable,
    "users/enable": post_user_enable,
    "users/reset": post_user_reset,
    "users/delete": post_user_delete,
    "authcodes/revoke": post_authcode_revoke,
}

CSV_ROUTES = frozenset({*TABLES, "journal"})


class ApiResource(Resource):
    """C{/api/...}: authenticate, check CSRF, route, answer JSON (or CSV with C{format=csv})."""

    isLeaf = True
    log = Logger()

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def render(self, request: Any) -> Any:
        secure(request)
        path = "/".join(p.decode("utf-8", "replace") for p in request.postpath).strip("/")
        method = request.method.decode("ascii", "replace")
        if path not in GET_ROUTES and path not in POST_ROUTES:
            return _fail(request, 404, f"no API endpoint /api/{path}")
        routes = GET_ROUTES if method in ("GET", "HEAD") else POST_ROUTES if method == "POST" else {}
        if path not in routes:
            request.setHeader(b"allow", b"GET" if path in GET_ROUTES else b"POST")
            return _fail(request, 405, f"/api/{path} takes {'GET' if path in GET_ROUTES else 'POST'}")
        try:
            args = arguments(request)
        except ValueError as e:
            return _fail(request, 400, str(e))
        authorization = (request.getHeader(b"authorization") or b"").decode("latin-1")
        session = None
        if authorization.lower().startswith("bearer "):
            if not self.console.auth.check_token(authorization[7:].strip()):
                return _fail(request, 401, "the API token is not valid (expired, or the password changed)")
        else:
            session = self.console.auth.session(cookie(request, SESSION_COOKIE))
            if session is None:
                return _fail(request, 401, "sign in first (no session, or it expired or was signed out)")
            if method == "POST":
                token = (request.getHeader(CSRF_HEADER) or b"").decode("latin-1") or args.get("csrf")
                if not same(token, session.csrf):
                    return _fail(request, 403, "missing or wrong CSRF token (X-CSRF-Token)")
        args.pop("csrf", None)
        call = Call(self.console, args, session)
        want_csv = args.get("format") == "csv" and path in CSV_ROUTES
        d = maybeDeferred(routes[path], call)
        d.addCallbacks(lambda value: _answer(request, path, value, want_csv), lambda f: _error(request, f, self.log))
        return NOT_DONE_YET


def _fail(request: Any, status: int, message: str) -> Any:
    write_json(request, status, {"error": message, "status": status})
    return NOT_DONE_YET


def _answer(request: Any, path: str, value: Any, want_csv: bool) -> None:
    if getattr(request, "_disconnected", False):
        return
    if want_csv and isinstance(value, dict) and "rows" in value:
        body = data.to_csv(value["table"], value["rows"])
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"text/csv; charset=utf-8")
        filename = f"{value['table']}-{value.get('date', '')}.csv"
        request.setHeader(b"content-disposition", f'attachment; filename="{filename}"'.encode())
        request.write(body)
        request.finish()
        return
    write_json(request, 200, value)


def _error(request: Any, failure: Failure, log: Logger) -> None:
    if getattr(request, "_disconnected", False):
        return
    error = failure.value
    if isinstance(error, ApiError):
        write_json(request, error.status, {"error": error.message, "status": error.status})
    elif isinstance(error, OFXError):
        write_json(request, error.stat, {"error": error.message, "status": error.stat})
    else:
        log.failure("console API failed", failure)
        write_json(request, 500, {"error": "internal error (see the gateway's log)", "status": 500})
