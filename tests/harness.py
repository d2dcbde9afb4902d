"""
A gateway wired as ofx.tap wires it -- journal, queue services, gateway
service, login service, three dispatchers -- on a fake clock, driven over
StringTransport: every command as a client sees it, without sockets.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import succeed
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase

from ofx.backends.fake import FakeBackend
from ofx.backends.interface import IXTPBackend, Ticker
from ofx.config import Address, FakeConfig
from ofx.dispatch import Dispatcher
from ofx.fronts import FrontFactory, FrontProtocol
from ofx.login import LocalAuthority, LoginService
from ofx.passwords import hash_password
from ofx.queues import QUEUES, QueueService
from ofx.service import GatewayService
from ofx.store.db import open_database
from ofx.store.journal import Journal
from ofx.store.reqids import RequestIds
from ofx.store.users import UserStore
from tests.keys import CODEC

QUOTE, TRADE = Address("127.0.0.1", 11025), Address("127.0.0.1", 11026)
# 2026-11-24 10:00:00 Beijing time, a Tuesday in continuous trading.
OPEN = 1795485600.0
PASSWORD_HASH = hash_password("s3cret-pw")


class CountingFake(FakeBackend):
    """The fake counter, remembering what the gateway asked it to subscribe."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.subscribed: list[Ticker] = []

    def subscribe(self, tickers: Sequence[Ticker]) -> None:
        self.subscribed.extend(tickers)
        super().subscribe(tickers)


class Gateway:
    """A gateway and its login service wired as tap.build_service wires them."""

    def __init__(
        self,
        test: TestCase,
        backend: IXTPBackend | None = None,
        folder: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        """
        @param folder: the store's folder; give the same one twice to see a
            gateway started again on the day's journal.
        """
        if clock is None:
            clock = Clock()
            clock.advance(OPEN)
        self.clock = clock
        path = os.path.join(folder or os.path.abspath(test.mktemp()), "ofx.db")
        db = open_database(path)
        users = UserStore(db)
        if users.get("alice") is None:
            users.add("alice", PASSWORD_HASH, 0.0)
        self.backend = backend or CountingFake(
            self.clock, FakeConfig(seed=3, interval=3.0, positions=(("600000", 1000),))
        )
        # Not started: the journal writes synchronously, so tests need no thread.
        self.journal = Journal(path, self.clock)
        self.queues = {spec.name: QueueService(spec, self.journal) for spec in QUEUES}
        for queue in self.queues.values():
            queue.startService()
        self.service = GatewayService(
            self.backend, RequestIds(db), self.journal, self.queues, lambda f, *a: succeed(f(*a))
        )
        self.journal.replay_today()  # what Journal.startService does before anything reads
        self.login_service = LoginService(
            users, self.clock, lambda f, *a: succeed(f(*a)), (QUOTE, TRADE)
        )
        authority = LocalAuthority(self.login_service, str(TRADE))
        self.factories = {
            "login": FrontFactory("login", Dispatcher("login", CODEC, self.login_service)),
            "quote": FrontFactory("quote", Dispatcher("quote", CODEC, self.service, None, self.service.is_up)),
            "trade": FrontFactory(
                "trade", Dispatcher("trade", CODEC, self.service, authority, self.service.is_up)
            ),
        }
        self.login_service.startService()
        self.service.startService()
        test.addCleanup(lambda: self.service.running and self.service.stopService())
        test.addCleanup(lambda: self.login_service.running and self.login_service.stopService())
        self.clock.advance(0)
        self.connections: dict[str, tuple[FrontProtocol, StringTransport]] = {}
        self.authcode = self.ask("login", 1, {"username": "alice", "password": "s3cret-pw"})["authcode"]

    def ask(self, port: str, cmd: int, params: Any = None, authcode: Any = "mine") -> Any:
        """Send one request on a connection to C{port}; return the decoded answer."""
        if port not in self.connections:
            protocol = self.factories[port].buildProtocol(None)
            transport = StringTransport()
            protocol.makeConnection(transport)
            self.connections[port] = (protocol, transport)
        protocol, transport = self.connections[port]
        transport.clear()
        message: dict[str, Any] = {"cmd": cmd, "params": params}
        if port == "trade":
            message["authcode"] = self.authcode if authcode == "mine" else authcode
        protocol.dataReceived(CODEC.encode_request(message) + b"\r\n")
        (line,) = transport.value().split(b"\r\n")[:-1]
        return CODEC.decode_answer(line)

    def stop(self) -> None:
        """Stop the gateway as a shutdown would (the counter's sessions end)."""
        self.service.stopService()
        self.login_service.stopService()

    def tick(self, seconds: float = 3.0) -> None:
        self.clock.advance(seconds)
