"""
Authcodes checked with a login server in another process.

In a distributed deployment the login server issues authcodes and each
gateway asks it, with the internal login-port command C{000002}, whether an
authcode is valid for this gateway. A positive answer is trusted for
C{recheck} seconds, so a busy client costs the login server one question per
authcode every few seconds, and disabling a user takes effect within that
time. If the login server cannot be reached, authcodes it already vouched for
keep working until they expire (trading goes on without the login box); new
ones are refused with 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from ofx.errors import OFXError, unauthorized, unavailable
from ofx.login import IAuthority, Session

# Sends one request to the login server: (cmd, params) -> Deferred[answer].
Ask = Callable[[int, Any], "Deferred[Any]"]


@implementer(IAuthority)
class RemoteAuthority:
    log = Logger()

    def __init__(self, ask: Ask, gateway: str, clock: IReactorTime, recheck: float = 2.0) -> None:
        self._ask = ask
        self._gateway = gateway
        self._clock = clock
        self._recheck = recheck
        self._known: dict[str, tuple[Session, float]] = {}
        self._asking: dict[str, list[Deferred[Session]]] = {}

    def check(self, authcode: Any) -> Session | Deferred[Session]:
        if authcode is None or authcode == "":
            raise unauthorized("authcode missing: log in on the login port to get one")
        if type(authcode) is not str:
            raise unauthorized("authcode must be a string")
        now = self._clock.seconds()
        known = self._known.get(authcode)
        if known is not None:
            session, checked = known
            if session.expires <= now:
                del self._known[authcode]
                raise unauthorized("authcode expired: log in again")
            if now - checked < self._recheck:
                return session
        waiters = self._asking.get(authcode)
        if waiters is None:
            waiters = self._asking[authcode] = []
            self._ask_server(authcode, known).addBoth(self._settle, authcode)
        result: Deferred[Session] = Deferred()
        waiters.append(result)
        return result

    def _settle(self, result: Any, authcode: str) -> None:
        """Give every request that waited on this authcode the one answer."""
        for waiter in self._asking.pop(authcode, []):
            waiter.callback(result)

    def _ask_server(self, authcode: str, known: tuple[Session, float] | None) -> Deferred[Session]:
        d = self._ask(2, {"authcode": authcode, "gateway": self._gateway})

        def answered(answer: Any) -> Session:
            if not isinstance(answer, dict) or answer.get("stat") != 200:
                self._known.pop(authcode, None)
                message = answer.get("error") if isinstance(answer, dict) else None
                raise unauthorized(message or "the login server refused the authcode")
            session = Session(authcode, answer["uname"], answer["gateway"], float(answer["expires"]))
            self._known[authcode] = (session, self._clock.seconds())
            return session

        def unreachable(failure: Any) -> Session:
            if failure.check(OFXError):
                return failure  # type: ignore[no-any-return]
            if known is not None:
                self.log.warn("login server unreachable; honouring a known authcode: {f}", f=failure.value)
                return known[0]
            raise unavailable("the login server cannot be reached to check the authcode")

        return d.addCallback(answered).addErrback(unreachable)



class LoginServerLink:
    """
    One lazily opened connection from a gateway to its login server, for
    L{RemoteAuthority}. A lost connection is opened again at the next
    question; an error answer is returned as the answer, not as a failure,
    so the authority can tell "refused" (401) from "unreachable".
    """

    def __init__(self, reactor: Any, address: Any, codec: Any, timeout: float = 5.0) -> None:
        self._reactor = reactor
        self._address = address
        self._codec = codec
        self._timeout = timeout
        self._protocol: Any = None
        self._waiting: list[Deferred[Any]] | None = None

    def ask(self, cmd: int, params: Any) -> Deferred[Any]:
        from ofx.client import OFXClientError

        d = self._connected().addCallback(lambda protocol: protocol.request(cmd, params))
        d.addTimeout(self._timeout, self._reactor)
        def refused(failure: Failure) -> Any:
            if isinstance(failure.value, OFXClientError):
                return failure.value.as_answer()
            return failure

        return d.addErrback(refused)

    def _connected(self) -> Deferred[Any]:
        from twisted.internet.defer import succeed

        if self._protocol is not None:
            return succeed(self._protocol)
        d: Deferred[Any] = Deferred()
        if self._waiting is None:
            self._waiting = []
            self._connect().addBoth(self._opened)
        self._waiting.append(d)
        return d

    def _opened(self, result: Any) -> None:
        from twisted.python.failure import Failure

        if not isinstance(result, Failure):
            self._protocol = result
        waiting, self._waiting = self._waiting or [], None
        for d in waiting:
            d.callback(result)

    def _lost(self) -> None:
        self._protocol = None

    def _connect(self) -> Deferred[Any]:
        from twisted.internet.endpoints import TCP4ClientEndpoint
        from twisted.internet.protocol import Factory

        from ofx.client import OFXClientProtocol

        link = self

        class Protocol(OFXClientProtocol):
            def connectionLost(self, reason: Any = None) -> None:
                super().connectionLost(reason)
                link._lost()

        endpoint = TCP4ClientEndpoint(
            self._reactor, self._address.host, self._address.port, timeout=self._timeout
        )
        return endpoint.connect(Factory.forProtocol(lambda: Protocol(self._codec)))
