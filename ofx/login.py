"""
Logins and authcodes.

L{LoginService} checks usernames and passwords against the store, routes each
user to the gateway of their XTP account and issues an authcode for that
gateway. An authcode is a random token that only this service can vouch for:
a gateway in the same process asks it directly (L{LocalAuthority}); a gateway
in another process asks it over the login port with the internal command
C{000002} (see L{ofx.authority.RemoteAuthority}).

Disabling or deleting a user (even from another process, with
C{python -m ofx users disable}) revokes their authcodes at the next poll of
the users table, every C{[login] recheck} seconds.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

import attr
from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import Interface, implementer

from ofx.config import Address, parse_gateway
from ofx.errors import unauthorized, unavailable
from ofx.passwords import check_password
from ofx.store.users import UserStore

BEIJING = timezone(timedelta(hours=8))
_CLOCK_TIME = re.compile(r"^(\d\d):(\d\d)$")
_DURATION = re.compile(r"^(\d+)([smh])$")


def expiry(now: float, spec: str) -> float:
    """
    When an authcode issued at C{now} expires: C{"15:30"} is the next 15:30
    Beijing time (the end of the trading day), C{"8h"} is eight hours later.
    """
    match = _DURATION.match(spec)
    if match:
        return now + int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]
    match = _CLOCK_TIME.match(spec)
    if not match:
        raise ValueError(f"bad expiry {spec!r}")
    local = datetime.fromtimestamp(now, BEIJING)
    end = local.replace(hour=int(match.group(1)), minute=int(match.group(2)), second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.timestamp()


def redact(authcode: str) -> str:
    """An authcode as it may appear in a log: its first four characters."""
    return authcode[:4] + "…"


class Caller(NamedTuple):
    """
    Who sent a command: on which port, from where, with which session. One
    is made per request, so it is a named tuple (made in C), not an attrs class.
    """

    port: str
    peer: str
    session: Session | None = None

    @property
    def user(self) -> str:
        return self.session.user if self.session else "-"


@attr.frozen
class Session:
    """One login: whose it is, for which gateway, until when."""

    authcode: str = attr.field(repr=redact)
    user: str
    gateway: str
    expires: float


class IAuthority(Interface):
    """Vouches for the authcodes sent to a gateway's trade port."""

    def check(authcode: Any) -> Session | Deferred[Session]:
        """
        The session of a valid authcode for this gateway, or raise (or fail
        with) L{OFXError} 401 saying what is wrong with it.
        """


RunBlocking = Callable[..., "Deferred[Any]"]


class LoginService(Service):
    """
    The login front's state: users, open sessions, routing.

    @param local_gateway: the (quote, trade) addresses of the gateway in this
        process, for users with no gateway of their own; C{None} for a login
        server that runs alone.
    @param run_blocking: runs a blocking function (password hashing) off the
        reactor thread and returns a Deferred of its result.
    """

    name = "sessions"
    log = Logger()

    def __init__(
        self,
        users: UserStore,
        clock: IReactorTime,
        run_blocking: RunBlocking,
        local_gateway: tuple[Address, Address] | None,
        expires: str = "15:30",
        recheck: float = 2.0,
    ) -> None:
        self._users = users
        self._clock = clock
        self._run_blocking = run_blocking
        self._local = local_gateway
        self._expires = expires
        self._recheck = recheck
        self._sessions: dict[str, Session] = {}
        self._users_version = users.version()
        self.journal: Any = None  # the gateway's journal, when one runs in this process
        self._poll = LoopingCall(self.revoke_stale)
        self._poll.clock = clock

    def startService(self) -> None:
        super().startService()
        self._poll.start(self._recheck, now=False)

    def stopService(self) -> None:
        if self._poll.running:
            self._poll.stop()
        return super().stopService()

    def sessions(self) -> list[Session]:
        """The open sessions, oldest first."""
        return list(self._sessions.values())

    def login(self, username: str, password: str, peer: str = "?") -> Deferred[dict[str, Any]]:
        """
        Check the password (in a thread: it is slow on purpose) and answer
        with the routing and a new authcode, or fail with 401.
        """
        user = self._users.get(username)
        d = self._run_blocking(check_password, user.password_hash if user else None, password)

        def checked(ok: bool) -> dict[str, Any]:
            current = self._users.get(username)
            if not ok or current is None or current.disabled:
                self.log.info("login refused user={user} peer={peer}", user=username, peer=peer)
                raise unauthorized("wrong username or password, or the user is disabled")
            quote, trade = self._route(current.gateway, username)
            now = self._clock.seconds()
            session = Session(secrets.token_hex(16), username, str(trade), expiry(now, self._expires))
            self._sessions[session.authcode] = session
            self._users.record_login(username, now)
            if self.journal is not None:
                self.journal.append("login", {"peer": peer, "gateway": session.gateway}, username)
            self.log.info(
                "login user={user} peer={peer} gateway={gateway} authcode={code}",
                user=username, peer=peer, gateway=session.gateway, code=redact(session.authcode),
            )  # fmt: skip
            return {
                "stat": 200,
                "quoteserver": quote.host,
                "quoteport": quote.port,
                "tradeserver": trade.host,
                "tradeport": trade.port,
                "authcode": session.authcode,
                "uname": username,
                "expires": session.expires,
            }

        return d.addCallback(checked)

    def verify(self, authcode: Any, gateway: str) -> Session:
        """The session of C{authcode} if it is valid for C{gateway}."""
        if authcode is None or authcode == "":
            raise unauthorized("authcode missing: log in on the login port to get one")
        if type(authcode) is not str:
            raise unauthorized("authcode must be a string")
        session = self._sessions.get(authcode)
        if session is None:
            raise unauthorized("unknown authcode: log in again")
        if session.expires <= self._clock.seconds():
            del self._sessions[authcode]
            raise unauthorized("authcode expired: log in again")
        if session.gateway != gateway:
            raise unauthorized("authcode was issued for another gateway")
        return session

    def revoke(self, authcode: str) -> bool:
        """End one session; true if it was open."""
        session = self._sessions.pop(authcode, None)
        if session is not None:
            self._logged_out(session, "revoked")
        return session is not None

    def _logged_out(self, session: Session, why: str) -> None:
        if self.journal is not None:
            self.journal.append("logout", {"why": why, "gateway": session.gateway}, session.user)

    def revoke_stale(self) -> None:
        """
        Drop sessions expired a day ago (until then a client is told its
        authcode "expired" rather than "unknown"), and those of users disabled
        or deleted since the last look (the store tells cheaply whether
        anything changed).
        """
        now = self._clock.seconds() - 86400
        version = self._users.version()
        if version != self._users_version:
            self._users_version = version
            allowed = {u.name for u in self._users.all() if not u.disabled}
        else:
            allowed = None
        for code, session in list(self._sessions.items()):
            if session.expires <= now or (allowed is not None and session.user not in allowed):
                del self._sessions[code]
                self._logged_out(session, "expired" if session.expires <= now else "user disabled")
                if allowed is not None and session.user not in allowed:
                    self.log.info(
                        "authcode revoked user={user} authcode={code}",
                        user=session.user, code=redact(code),
                    )  # fmt: skip

    def _route(self, gateway: str | None, username: str) -> tuple[Address, Address]:
        if gateway:
            try:
                return parse_gateway(gateway)
            except ValueError:
                self.log.error("user {user} has a bad gateway {gateway!r}", user=username, gateway=gateway)
                raise unavailable(f"user {username} has no usable gateway configured") from None
        if self._local is None:
            raise unavailable(f"user {username} has no gateway configured on this login server")
        return self._local

    # Command handlers (see ofx.commands).

    def cmd_login(self, caller: Caller, params: tuple[str, str]) -> Deferred[dict[str, Any]]:
        username, password = params
        return self.login(username, password, caller.peer)

    def cmd_verify(self, caller: Caller, params: tuple[str, str]) -> dict[str, Any]:
        authcode, gateway = params
        found = self.verify(authcode, gateway)
        return {"stat": 200, "uname": found.user, "gateway": found.gateway, "expires": found.expires}


@implementer(IAuthority)
class LocalAuthority:
    """A gateway's authority when the login service runs in the same process."""

    def __init__(self, login: LoginService, gateway: str) -> None:
        self._login = login
        self._gateway = gateway

    def check(self, authcode: Any) -> Session:
        return self._login.verify(authcode, self._gateway)


