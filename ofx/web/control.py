"""
Starting and stopping the gateway's services by name, as the original
manual's service table shows them (五、网关管理).

L{ServiceControl} knows each row's label, reports its state (running,
stopped, starting, stopping, failed) and the reason of its last failure.
L{SessionService} makes a counter session (L{ISessionControl}) a service, so
the two backend rows (C{quote-api}, C{trade-api}) stop and start like the
others.
"""

from __future__ import annotations

from typing import Any

import attr
from twisted.application.service import IServiceCollection, Service
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from ofx.queues import QUEUES


@attr.frozen
class Row:
    name: str
    zh: str
    en: str


ROWS: tuple[Row, ...] = (
    Row("login", "前端服务：单点登陆", "Front service: login"),
    Row("quote", "前端服务：行情查询", "Front service: quotes"),
    Row("trade", "前端服务：交易委托", "Front service: trading"),
    Row("quote-api", "后端服务：行情接口", "Backend: quote API"),
    Row("trade-api", "后端服务：交易接口", "Backend: trade API"),
    *(Row(q.name, f"队列服务：{q.label}", "Queue: " + q.name.replace("-", " ")) for q in QUEUES),
    Row("monitor", "管理服务：内存监控", "Admin: memory monitor"),
)


class SessionService(Service):
    """
    One counter session as a service: stopping it logs the session out
    (and keeps it out), starting it logs it in again.
    """

    def __init__(self, name: str, session: str, control: Any) -> None:
        self.name = name
        self.session = session
        self.control = control
        self._operator_stopped = False

    def startService(self) -> Any:
        super().startService()
        if self._operator_stopped:
            self._operator_stopped = False
            return self.control.start_session(self.session)
        return None

    def stopService(self) -> Any:
        super().stopService()
        parent = self.parent
        if parent is not None and not parent.running:
            return None  # the whole gateway stops: the backend logs out by itself
        self._operator_stopped = True
        return self.control.stop_session(self.session)

    def detail(self) -> dict[str, Any]:
        return dict(self.control.session_state(self.session))


class ServiceControl:
    """
    Start and stop the named children of C{parent} (the service tree of
    L{ofx.tap.build_service}); rows whose service is not configured here
    are left out.
    """

    log = Logger()

    def __init__(self, parent: IServiceCollection, rows: tuple[Row, ...] = ROWS) -> None:
        self._parent = parent
        self._rows = rows
        self._busy: dict[str, str] = {}  # name -> "starting" / "stopping"
        self._failed: dict[str, str] = {}

    def _service(self, name: str) -> Any:
        try:
            return self._parent.getServiceNamed(name)
        except KeyError:
            return None

    def names(self) -> list[str]:
        return [row.name for row in self._rows if self._service(row.name) is not None]

    def table(self) -> list[dict[str, Any]]:
        """Every configured row: name, labels, state, error, and detail where there is one."""
        found = []
        for i, row in enumerate(self._rows, 1):
            service = self._service(row.name)
            if service is None:
                continue
            state = self._busy.get(row.name) or ("running" if service.running else "stopped")
            error = self._failed.get(row.name)
            if error and not service.running and row.name not in self._busy:
                state = "failed"
            answer: dict[str, Any] = {"no": i, "name": row.name, "zh": row.zh, "en": row.en, "state": state, "error": error}
            detail = getattr(service, "detail", None)
            if detail is not None:
                answer["detail"] = detail()
                if service.running and answer["detail"].get("state") not in (None, "up"):
                    answer["state"] = "running"  # the session itself says why it is not up
            found.append(answer)
        return found

    def start(self, name: str) -> Deferred[dict[str, Any]]:
        return self._switch(name, True)

    def stop(self, name: str) -> Deferred[dict[str, Any]]:
        return self._switch(name, False)

    def start_all(self) -> Deferred[list[dict[str, Any]]]:
        return self._all(True)

    def stop_all(self) -> Deferred[list[dict[str, Any]]]:
        return self._all(False)

    def _all(self, start: bool) -> Deferred[list[dict[str, Any]]]:
        names = self.names() if start else list(reversed(self.names()))
        d: Deferred[Any] = succeed(None)
        for name in names:
            d.addCallback(self._switch_after, name, start)
        return d.addCallback(lambda _: self.table())

    def _switch_after(self, _: Any, name: str, start: bool) -> Deferred[dict[str, Any]]:
        return self._switch(name, start)

    def _switch(self, name: str, start: bool) -> Deferred[dict[str, Any]]:
        service = self._service(name)
        if service is None or name not in {row.name for row in self._rows}:
            raise KeyError(name)
        if bool(service.running) == start or name in self._busy:
            return succeed(self._row(name))
        self._busy[name] = "starting" if start else "stopping"
        self._failed.pop(name, None)
        if start and hasattr(service, "_raiseSynchronously"):
            # A StreamServerEndpointService listens again only if it forgets
            # its old port, and fails here (not only in the log) if it cannot.
            service._waitingForPort = None
            service._raiseSynchronously = True
        d = maybeDeferred(service.startService if start else service.stopService)

        def done(result: Any) -> dict[str, Any]:
            self._busy.pop(name, None)
            if isinstance(result, Failure):
                why = result.getErrorMessage() or repr(result.value)
                self._failed[name] = why
                if start:  # it did not start: show it stopped, ready to try again
                    service.running = 0
                    if hasattr(service, "_waitingForPort"):
                        service._waitingForPort = succeed(None)  # so a later stop has nothing to do
                self.log.warn(
                    "console: {action} {name} failed: {why}",
                    action="start" if start else "stop", name=name, why=why,
                )  # fmt: skip
            else:
                self.log.info("console: {name} {state}", name=name, state="started" if start else "stopped")
            return self._row(name)

        return d.addBoth(done)

    def _row(self, name: str) -> dict[str, Any]:
        return next(row for row in self.table() if row["name"] == name)
