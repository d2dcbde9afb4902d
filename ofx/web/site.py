"""
L{add_console}: the web console's services, added to the gateway's service
tree by L{ofx.tap.build_service} when C{[admin]} is configured:

- C{quote-api}, C{trade-api}: the counter sessions as services
  (L{ofx.web.control.SessionService}), when the backend can switch them;
- C{monitor}: the memory monitor (L{ofx.web.monitor.MonitorService});
- C{admin}: the console's port, a C{twisted.web} site (L{ofx.web.pages}).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.application.service import MultiService
from twisted.web.server import Site

from ofx.backends.control import session_control
from ofx.backends.interface import QUOTE_SESSION, TRADE_SESSION
from ofx.config import Config
from ofx.store.users import UserStore
from ofx.web.api import Console
from ofx.web.auth import OperatorAuth, token_key
from ofx.web.control import ServiceControl, SessionService
from ofx.web.monitor import MonitorService
from ofx.web.pages import ConsoleRoot

FRONTS = ("login", "quote", "trade")


class ConsoleSite(Site):
    """The console's site; its port logs as C{ofx-admin}."""

    displayTracebacks = False

    def logPrefix(self) -> str:
        return "ofx-admin"


def _child(top: MultiService, name: str) -> Any:
    try:
        return top.getServiceNamed(name)
    except KeyError:
        return None


def add_console(
    top: MultiService,
    config: Config,
    reactor: Any,
    users: UserStore,
    run_blocking: Callable[..., Any],
    listen: Callable[[MultiService, str, str, str, Any, Any], None],
) -> Console:
    """Add C{quote-api}, C{trade-api}, C{monitor} and C{admin} to C{top}; returns the console's state."""
    admin = config.admin
    assert admin is not None
    gateway = _child(top, "gateway")
    journal = _child(top, "journal")
    if gateway is not None:
        control = session_control(gateway.backend)
        if control is not None:
            for name, session in (("quote-api", QUOTE_SESSION), ("trade-api", TRADE_SESSION)):
                SessionService(name, session, control).setServiceParent(top)
    fronts = {name: _child(top, name).factory for name in FRONTS if _child(top, name) is not None}
    monitor = MonitorService(
        reactor, fronts, (lambda: journal.position) if journal is not None else (lambda: 0),
        admin.monitor_interval, admin.monitor_hours,
    )  # fmt: skip
    monitor.setServiceParent(top)
    auth = OperatorAuth(
        admin.user, admin.password_hash, reactor, admin.session_minutes * 60.0,
        token_key(config.key, admin.password_hash), run_blocking,
    )  # fmt: skip
    console = Console(
        config=config, auth=auth, control=ServiceControl(top), users=users, clock=reactor,
        run_blocking=run_blocking, sessions=_child(top, "sessions"), gateway=gateway,
        journal=journal, monitor=monitor,
    )  # fmt: skip
    listen(top, "admin", "admin", admin.listen, ConsoleSite(ConsoleRoot(console)), reactor)
    return console
