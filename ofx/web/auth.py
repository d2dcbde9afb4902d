"""
The operator's sign-in, sessions, CSRF tokens and API tokens.

- Sign-in checks the one operator account of C{[admin]} (user and an
  Argon2id hash) in a thread. Each failed sign-in from a peer doubles the
  time that peer must wait before the next try (1 s, 2 s, 4 s ... up to
  L{MAX_WAIT}), measured with the injected clock; an early try is refused
  with 429 and C{Retry-After}.
- A session is a random id in an HttpOnly, SameSite=Strict cookie with
  C{Path=/} and an expiry (C{[admin] session_minutes}); it lives only in this
  process, so sign-out, expiry or a restart end it.
- Each session has its own CSRF token; every state-changing request must
  carry it (header C{X-CSRF-Token} or form field C{csrf}). The sign-in form
  carries a token bound to a short-lived C{ofx_signin} cookie (double
  submit), so a foreign page cannot sign a browser in either.
- API tokens for scripts (C{python -m ofx admin-token}) are
  C{ofx1.EXPIRES.NONCE.MAC}: an HMAC-SHA256 over expiry and nonce, keyed by
  a key derived from C{[ofx] key} and C{[admin] password_hash}. Nothing is
  stored; changing the operator's password revokes every token. A request
  with C{Authorization: Bearer TOKEN} needs no CSRF token (a browser never
  adds that header by itself).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

import attr
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from ofx.passwords import check_password

SESSION_COOKIE = b"ofx_session"
SIGNIN_COOKIE = b"ofx_signin"
CSRF_HEADER = b"x-csrf-token"
MAX_WAIT = 60.0
TOKEN_PREFIX = "ofx1"


class Refused(Exception):
    """A sign-in that did not succeed: HTTP status, message, and seconds to wait."""

    def __init__(self, status: int, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


@attr.frozen
class OperatorSession:
    sid: str = attr.field(repr=False)
    csrf: str = attr.field(repr=False)
    user: str
    expires: float


def token_key(ofx_key: str, password_hash: str) -> bytes:
    """The HMAC key of API tokens: changes when the key or the operator's password does."""
    return hmac.new(ofx_key.encode(), b"ofx-admin-token\0" + password_hash.encode(), hashlib.sha256).digest()


def make_token(key: bytes, expires: float, nonce: str | None = None) -> str:
    """An API token valid until C{expires} (Unix time)."""
    nonce = nonce or secrets.token_hex(8)
    body = f"{int(expires)}.{nonce}"
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{TOKEN_PREFIX}.{body}.{mac}"


def check_token(key: bytes, token: str, now: float) -> bool:
    """Whether C{token} was made with C{key} and has not expired."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX or not parts[1].isdigit():
        return False
    mac = hmac.new(key, f"{parts[1]}.{parts[2]}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts[3]) and int(parts[1]) > now


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens; a missing one never matches."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


class OperatorAuth:
    """
    @param run_blocking: runs the (slow on purpose) password check off the
        reactor thread; returns a Deferred.
    """

    def __init__(
        self,
        user: str,
        password_hash: str,
        clock: IReactorTime,
        session_seconds: float,
        api_key: bytes,
        run_blocking: Callable[..., Deferred[Any]],
        check: Callable[[str | None, str], bool] = check_password,
    ) -> None:
        self.user = user
        self._hash = password_hash
        self._clock = clock
        self.session_seconds = session_seconds
        self._api_key = api_key
        self._run_blocking = run_blocking
        self._check = check
        self._sessions: dict[str, OperatorSession] = {}
        self._failures: dict[str, tuple[int, float]] = {}  # peer -> (failures, may try again at)

    # Sign-in and its slow-down

    def wait(self, peer: str) -> float:
        """Seconds C{peer} must still wait before trying to sign in again."""
        _, until = self._failures.get(peer, (0, 0.0))
        return max(0.0, until - self._clock.seconds())

    def sign_in(self, user: str, password: str, peer: str) -> Deferred[OperatorSession]:
        """A new session, or fail with L{Refused} (401 wrong, 429 too soon)."""
        waiting = self.wait(peer)
        if waiting > 0:
            raise Refused(429, f"too many failed sign-ins: try again in {int(waiting + 0.999)} s", waiting)
        expected = self._hash if hmac.compare_digest(user.encode(), self.user.encode()) else None
        d = self._run_blocking(self._check, expected, password)

        def checked(ok: bool) -> OperatorSession:
            if not ok:
                failures = self._failures.get(peer, (0, 0.0))[0] + 1
                delay = min(2.0 ** (failures - 1), MAX_WAIT)
                self._failures[peer] = (failures, self._clock.seconds() + delay)
                raise Refused(401, "wrong user name or password", delay)
            self._failures.pop(peer, None)
            session = OperatorSession(
                secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.user,
                self._clock.seconds() + self.session_seconds,
            )  # fmt: skip
            self._sessions[session.sid] = session
            return session

        return d.addCallback(checked)

    # Sessions

    def session(self, sid: str | None) -> OperatorSession | None:
        """The open, unexpired session with id C{sid}, if any."""
        if not sid:
            return None
        found = self._sessions.get(sid)
        if found is not None and found.expires <= self._clock.seconds():
            del self._sessions[sid]
            return None
        return found

    def sign_out(self, sid: str) -> None:
        self._sessions.pop(sid, None)

    def sessions(self) -> list[OperatorSession]:
        now = self._clock.seconds()
        return [s for s in self._sessions.values() if s.expires > now]

    # API tokens

    def make_token(self, days: float) -> str:
        return make_token(self._api_key, self._clock.seconds() + days * 86400)

    def check_token(self, token: str) -> bool:
        return check_token(self._api_key, token, self._clock.seconds())
