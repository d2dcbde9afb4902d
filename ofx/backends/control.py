"""
L{ISessionControl}: an operator's switch for each counter session.

The original manual's service table lists the two backend sessions (行情接口,
交易接口) as services an operator can stop and start. A backend that offers
that provides this optional interface next to L{IXTPBackend}; the console's
C{quote-api} and C{trade-api} services (L{ofx.web.control}) call it.
L{session_control} finds the implementation for a backend.
"""

from __future__ import annotations

from typing import Any

from zope.interface import Interface


class ISessionControl(Interface):
    """Log one counter session (C{"quote"} or C{"trade"}) out and back in."""

    def stop_session(name: str) -> Any:
        """
        Log the session out and keep it out (no reconnecting) until
        L{start_session}; the listener hears C{session_changed(name, False, ...)}.
        May return a Deferred.
        """

    def start_session(name: str) -> Any:
        """Log the session in again (asynchronously); a no-op when it is up or logging in."""

    def session_state(name: str) -> dict[str, Any]:
        """
        C{{"state": "up" | "down" | "connecting" | "reconnecting" | "stopped",
        "since": seconds, "last_error": None or {{"error_id": int, "error_msg": str}}}}
        """


def session_control(backend: Any) -> Any:
    """The L{ISessionControl} of C{backend}, or None when it has none."""
    if ISessionControl.providedBy(backend):
        return backend
    if getattr(backend, "kind", None) == "fake":
        from ofx.backends.fake.control import FakeSessionControl

        return FakeSessionControl(backend)
    return None
