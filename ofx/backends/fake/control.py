"""
L{ISessionControl} for the fake counter, as a small adapter.

Logging the fake's quote session out drops its subscriptions, as XTP does
(the gateway subscribes again when the session is back); logging the trade
session out makes orders and queries fail as on the real counter.
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from ofx.backends.control import ISessionControl
from ofx.backends.interface import QUOTE_SESSION, TRADE_SESSION


@implementer(ISessionControl)
class FakeSessionControl:
    """Switches the sessions of one L{ofx.backends.fake.FakeBackend}."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._held: set[str] = set()
        now = backend._clock.seconds()
        self._since = {QUOTE_SESSION: now, TRADE_SESSION: now}

    def _check(self, name: str) -> None:
        if name not in (QUOTE_SESSION, TRADE_SESSION):
            raise ValueError(f"no session {name!r}")

    def stop_session(self, name: str) -> None:
        self._check(name)
        backend = self._backend
        self._held.add(name)
        if backend._up.get(name):
            backend._up[name] = False
            if name == QUOTE_SESSION:
                backend._subscriptions.clear()
            self._since[name] = backend._clock.seconds()
            backend._deliver("session_changed", (name, False, f"{name} session logged out by the operator"))

    def start_session(self, name: str) -> None:
        self._check(name)
        backend = self._backend
        self._held.discard(name)
        if not backend._up.get(name) and backend._listener is not None:
            backend._up[name] = True
            self._since[name] = backend._clock.seconds()
            backend._emit("session_changed", name, True, f"{name} session logged in to the fake counter")

    def session_state(self, name: str) -> dict[str, Any]:
        self._check(name)
        up = bool(self._backend._up.get(name))
        state = "up" if up else ("stopped" if name in self._held else "down")
        return {"state": state, "since": self._since[name], "last_error": None}
