"""
Helpers for the console's unit tests: a console wired on the harness
gateway (fake clock, no sockets) and a way to send it HTTP requests with
C{DummyRequest}.
"""

from __future__ import annotations

import io
import json
from typing import Any

import attr
from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.defer import succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.testing import MemoryReactorClock
from twisted.web.resource import getChildForRequest
from twisted.web.server import NOT_DONE_YET
from twisted.web.test.requesthelper import DummyRequest

from ofx.backends.control import session_control
from ofx.config import config_from_string
from ofx.passwords import hash_password
from ofx.web.api import Console as ConsoleState
from ofx.web.auth import SESSION_COOKIE, SIGNIN_COOKIE, OperatorAuth, token_key
from ofx.web.control import ServiceControl, SessionService
from ofx.web.monitor import MonitorService
from ofx.web.pages import ConsoleRoot
from tests.harness import Gateway
from tests.keys import SECRET

ADMIN_PASSWORD = "op-pa55-word"
ADMIN_HASH = hash_password(ADMIN_PASSWORD)
XTP_PASSWORD = "xtp-secret-password-42"
SOFTWARE_KEY = "xtp-software-key-0123456789"

INI = f"""
[ofx]
key = {SECRET}
[login]
listen = tcp:0
[quote]
listen = tcp:0
advertise = 127.0.0.1:11025
[trade]
listen = tcp:0
advertise = 127.0.0.1:11026
[xtp]
backend = fake
account = 15001234
password = {XTP_PASSWORD}
software_key = {SOFTWARE_KEY}
[admin]
user = admin
password_hash = {ADMIN_HASH}
session_minutes = 60
customer = 测试基金
deployed = 2026-01-05
"""


@attr.define
class Answer:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def cookies(self) -> list[str]:
        return self.headers.get("set-cookie", [])


def synchronously(f: Any, *args: Any) -> Any:
    return succeed(f(*args))


class WebConsole:
    """A console over the harness gateway, with its own service tree."""

    def __init__(self, test: Any) -> None:
        self.gateway = Gateway(test)
        self.clock = self.gateway.clock
        self.config = config_from_string(INI, "/etc/ofx/ofx.ini")
        self.reactor = MemoryReactorClock()
        top = MultiService()
        self.top = top
        for name in ("login", "quote", "trade"):
            port = StreamServerEndpointService(serverFromString(self.reactor, "tcp:0"), self.gateway.factories[name])
            port.setName(name)
            port.setServiceParent(top)
        control = session_control(self.gateway.backend)
        for name, session in (("quote-api", "quote"), ("trade-api", "trade")):
            SessionService(name, session, control).setServiceParent(top)
        for queue in self.gateway.queues.values():
            queue.setServiceParent(top)
        self.monitor = MonitorService(self.clock, self.gateway.factories, lambda: self.gateway.journal.position, 5.0, 1.0, lambda: 50 << 20)
        self.monitor.setServiceParent(top)
        top.startService()
        test.addCleanup(top.stopService)
        admin = self.config.admin
        assert admin is not None
        self.auth = OperatorAuth(
            admin.user, admin.password_hash, self.clock, admin.session_minutes * 60.0,
            token_key(self.config.key, admin.password_hash), synchronously,
        )  # fmt: skip
        self.console = ConsoleState(
            config=self.config, auth=self.auth, control=ServiceControl(top), users=self.gateway.login_service._users,
            clock=self.clock, run_blocking=synchronously, sessions=self.gateway.login_service,
            gateway=self.gateway.service, journal=self.gateway.journal, monitor=self.monitor,
        )  # fmt: skip
        self.root = ConsoleRoot(self.console)
        self.cookie = ""
        self.csrf = ""

    def request(
        self, method: str, path: str, args: dict[str, str] | None = None, body: Any = None,
        cookie: str | None = None, csrf: str | None = None, headers: dict[str, str] | None = None,
    ) -> Answer:  # fmt: skip
        """One request through the console's resource tree; the answer once finished."""
        path, _, query = path.partition("?")
        request = DummyRequest(path.encode().split(b"/")[1:])
        request.method = method.encode()
        request.uri = path.encode()
        for pair in filter(None, query.split("&")):
            key, _, value = pair.partition("=")
            request.addArg(key.encode(), value.encode())
        for key, value in (args or {}).items():
            request.addArg(key.encode(), value.encode())
        request.content = io.BytesIO(json.dumps(body).encode() if body is not None else b"")
        if body is not None:
            request.requestHeaders.setRawHeaders(b"content-type", [b"application/json"])
        cookie = self.cookie if cookie is None else cookie
        if cookie:
            request.requestHeaders.setRawHeaders(b"cookie", [cookie.encode()])
        csrf = self.csrf if csrf is None else csrf
        if csrf and method == "POST":
            request.requestHeaders.setRawHeaders(b"x-csrf-token", [csrf.encode()])
        for key, value in (headers or {}).items():
            request.requestHeaders.setRawHeaders(key.lower().encode(), [value.encode()])
        resource = getChildForRequest(self.root, request)
        result = resource.render(request)
        if result is not NOT_DONE_YET:
            request.write(result)
            request.finish()
        assert request.finished, f"{method} {path} did not finish"
        found = {k.decode().lower(): [v.decode() for v in vs] for k, vs in request.responseHeaders.getAllRawHeaders()}
        return Answer(request.responseCode or 200, found, b"".join(request.written))

    def sign_in(self, password: str = ADMIN_PASSWORD, peer_cookie: str | None = None) -> Answer:
        """Sign in through the form, as a browser does; keeps the session cookie and CSRF token."""
        form = self.request("GET", "/signin", cookie="")
        token = next(c for c in form.cookies if c.startswith(SIGNIN_COOKIE.decode())).split(";")[0].split("=", 1)[1]
        answer = self.request(
            "POST", "/signin", args={"csrf": token, "user": "admin", "password": password},
            cookie=f"{SIGNIN_COOKIE.decode()}={token}",
        )  # fmt: skip
        for c in answer.cookies:
            if c.startswith(SESSION_COOKIE.decode() + "=") and "Max-Age=0" not in c:
                self.cookie = c.split(";")[0]
                self.csrf = self.request("GET", "/api/session").json()["csrf"]
        return answer
