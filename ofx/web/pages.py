"""
The console's pages: the sign-in page (the only thing that answers without
a session), one page shell per section that C{static/console.js} fills from
the JSON API, and the static files (HTML, CSS and one script, shipped in the
package; nothing is fetched from elsewhere).
"""

from __future__ import annotations

import html
import re
import secrets
from importlib import resources
from string import Template
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from ofx.web.api import ApiResource, Console
from ofx.web.auth import SESSION_COOKIE, SIGNIN_COOKIE, Refused, same
from ofx.web.http import arguments, cookie, peer, secure, set_cookie

PAGES = ("services", "info", "users", "settings", "data", "monitor")
STATIC = {
    "console.css": b"text/css; charset=utf-8",
    "console.js": b"text/javascript; charset=utf-8",
}
SIGNIN_SECONDS = 600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


def _static(name: str) -> bytes:
    return resources.files("ofx.web").joinpath("static", name).read_bytes()


class StaticResource(Resource):
    """C{/static/NAME}: the console's own CSS and script, nothing else (no listing)."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self._files = {name: (_static(name), kind) for name, kind in STATIC.items()}

    def render_GET(self, request: Any) -> bytes:
        secure(request)
        name = b"/".join(request.postpath).decode("utf-8", "replace")
        found = self._files.get(name)
        if found is None:
            request.setResponseCode(404)
            return b"not found"
        request.setHeader(b"content-type", found[1])
        request.setHeader(b"cache-control", b"no-cache")
        return found[0]


class SignInPage(Resource):
    """C{/signin}: the form (GET) and the sign-in itself (POST, a plain form: works without script)."""

    isLeaf = True

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self._template = Template(_static("signin.html").decode("utf-8"))

    def _form(self, request: Any, error: str = "", status: int = 200) -> bytes:
        # Keep the token a browser already holds: a second tab (or the
        # favicon's request) must not invalidate the form on the screen.
        token = cookie(request, SIGNIN_COOKIE) or ""
        if not _TOKEN.match(token):
            token = secrets.token_urlsafe(24)
        set_cookie(request, SIGNIN_COOKIE, token, SIGNIN_SECONDS)
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return self._template.substitute(csrf=token, error=html.escape(error)).encode("utf-8")

    def render_GET(self, request: Any) -> bytes:
        secure(request)
        if self.console.auth.session(cookie(request, SESSION_COOKIE)) is not None:
            return _redirect(request, b"/services")
        return self._form(request)

    def render_POST(self, request: Any) -> Any:
        secure(request)
        args = arguments(request)
        if not same(args.get("csrf"), cookie(request, SIGNIN_COOKIE)):
            return self._form(request, "请重新登录 / the form expired, sign in again", 403)
        try:
            d = self.console.auth.sign_in(args.get("user", ""), args.get("password", ""), peer(request))
        except Refused as e:
            return self._refused(request, e)

        def signed_in(session: Any) -> None:
            set_cookie(request, SIGNIN_COOKIE, "", 0)
            set_cookie(request, SESSION_COOKIE, session.sid, int(self.console.auth.session_seconds))
            request.write(_redirect(request, b"/services"))
            request.finish()

        def refused(failure: Any) -> None:
            request.write(self._refused(request, failure.trap(Refused) and failure.value))
            request.finish()

        d.addCallbacks(signed_in, refused)
        return NOT_DONE_YET

    def _refused(self, request: Any, refused: Refused) -> bytes:
        if refused.retry_after:
            request.setHeader(b"retry-after", str(int(refused.retry_after + 0.999)).encode())
        message = {401: "用户名或密码错误 / wrong user name or password"}.get(refused.status, refused.message)
        return self._form(request, message, refused.status)


class PageShell(Resource):
    """One section of the console: the shell page with this session's CSRF token."""

    isLeaf = True

    def __init__(self, console: Console, page: str) -> None:
        super().__init__()
        self.console = console
        self.page = page
        self._template = Template(_static("console.html").decode("utf-8"))

    def render_GET(self, request: Any) -> bytes:
        secure(request)
        session = self.console.auth.session(cookie(request, SESSION_COOKIE))
        if session is None:
            return _redirect(request, b"/signin")
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return self._template.substitute(
            csrf=html.escape(session.csrf), page=self.page, user=html.escape(session.user)
        ).encode("utf-8")


class ConsoleRoot(Resource):
    """C{/}: the pages, C{/signin}, C{/static/} and C{/api/}; anything else needs a session."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self.putChild(b"api", ApiResource(console))
        self.putChild(b"static", StaticResource())
        self.putChild(b"signin", SignInPage(console))
        for name in PAGES:
            self.putChild(name.encode(), PageShell(console, name))

    def getChild(self, path: bytes, request: Any) -> Resource:
        if path == b"":
            return self  # "/"
        return _Elsewhere()

    def render_GET(self, request: Any) -> bytes:
        secure(request)
        target = b"/services" if self.console.auth.session(cookie(request, SESSION_COOKIE)) else b"/signin"
        return _redirect(request, target)


class _Elsewhere(Resource):
    """Any other path: 404, with or without a session (it shows nothing)."""

    isLeaf = True

    def render(self, request: Any) -> bytes:
        secure(request)
        request.setResponseCode(404)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"not found"


def _redirect(request: Any, to: bytes) -> bytes:
    request.setResponseCode(303)
    request.setHeader(b"location", to)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    return b"see " + to
