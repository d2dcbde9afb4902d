"""
C{twistd ofx}: options, and the one place that builds OFX from its config.

L{build_service} is the public way to embed a gateway in another Twisted
program: read a L{Config} (L{ofx.config.read_config}) and hand it over,
then attach the returned service to your application::

    from ofx.config import read_config
    from ofx.tap import build_service
    build_service(read_config("etc/ofx.ini")).setServiceParent(application)

twistd's C{makeService} also adds L{ofx.heap.CollectorTuning} (the garbage
collector's settings are the process's, so an embedding program chooses).

The service tree: C{sessions} (logins and authcodes) and C{login} (its port)
when this process serves logins; when it holds an XTP account, C{journal}
(started first: it rebuilds the views), the seven queue services of
L{ofx.queues.QUEUES}, C{gateway} (the account) and C{quote} and C{trade}
(their ports).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import IService, MultiService
from twisted.internet import threads
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Factory
from twisted.python import usage

from ofx.authority import RemoteAuthority
from ofx.backends.interface import IXTPBackend
from ofx.config import Config, ConfigError, read_config
from ofx.dispatch import Dispatcher
from ofx.fronts import FrontFactory
from ofx.heap import CollectorTuning
from ofx.login import IAuthority, LocalAuthority, LoginService
from ofx.passwords import hash_password
from ofx.queues import QUEUES, QueueService
from ofx.service import GatewayService
from ofx.store.db import StoreError, open_database
from ofx.store.journal import Journal
from ofx.store.reqids import RequestIds
from ofx.store.users import UserStore
from ofx.wire import Codec, derive_key

DEMO_KEY = "ofx-demo-key-change-me"
DEMO_USER = ("demo", "demo")
DATABASE = "ofx.db"


class Options(usage.Options):
    optParameters = [
        ["config", "c", "etc/ofx.ini", "The OFX configuration file."],
    ]

    def postOptions(self) -> None:
        try:
            self["ofx"] = read_config(self["config"])
        except ConfigError as e:
            _stop(str(e))


def _stop(message: str) -> None:
    """Stop start-up with one line, not a traceback."""
    sys.stderr.write(f"ofx: {message}\n")
    raise SystemExit(1)


def makeService(options: Options) -> IService:
    """twistd's entry point: L{build_service}, plus the collector tuning of a gateway process."""
    try:
        top = build_service(options["ofx"])
        if options["ofx"].is_gateway:
            # Now, so that another gateway on the same data stops start-up with one line.
            top.getServiceNamed("journal").lock()
    except (ConfigError, StoreError) as e:
        _stop(str(e))
        raise  # not reached
    tuning = CollectorTuning()
    tuning.setServiceParent(top)  # last: it starts after the journal rebuilt the day
    if options["ofx"].is_gateway:
        top.getServiceNamed("journal").on_new_day(tuning.new_day)  # at midnight: a quiet moment for it
    return top


def _listen(parent: MultiService, name: str, section: str, description: str, factory: Factory, reactor: Any) -> None:
    try:
        endpoint = serverFromString(reactor, description)
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"[{section}] listen: not a usable endpoint {description!r}: {e}") from None
    service = StreamServerEndpointService(endpoint, factory)
    service.setName(name)
    service.setServiceParent(parent)


def make_backend(config: Config, reactor: Any) -> IXTPBackend:
    """The counter C{[xtp] backend} names."""
    if config.xtp.backend == "fake":
        from ofx.backends.fake import FakeBackend

        return FakeBackend(reactor, config.fake)
    from ofx.backends.xtp import CtypesBackend, refuse_demo, settings_from_config

    settings = settings_from_config(config.xtp, config.path)
    refuse_demo(settings, config.key, config.path, {DEMO_KEY})
    # A missing SDK raises SDKNotFound, a ConfigError saying how to fetch it.
    return CtypesBackend(settings, reactor, reactor.getThreadPool())


def build_service(config: Config, reactor: Any = None, backend: IXTPBackend | None = None) -> MultiService:
    """
    Build every OFX service the config asks for, under one parent.

    @param reactor: defaults to the global reactor.
    @param backend: a counter to use instead of the one C{[xtp] backend}
        names (tests and embedding programs).
    """
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    top = MultiService()
    top.setName("ofx")
    codec = Codec(derive_key(config.key), config.brotli_quality)
    db = open_database(os.path.join(config.data, DATABASE))
    users = UserStore(db)
    assert config.login is not None  # config_from_string guarantees it

    def run_blocking(f: Any, *args: Any) -> Any:
        return threads.deferToThreadPool(reactor, reactor.getThreadPool(), f, *args)

    sessions = None
    if config.login.listen is not None:
        local = (config.quote.advertise, config.trade.advertise) if config.is_gateway else None  # type: ignore[union-attr]
        sessions = LoginService(
            users, reactor, run_blocking, local, config.login.authcode_expires, config.login.recheck
        )
        sessions.setServiceParent(top)
        if config.login.demo_user and users.get(DEMO_USER[0]) is None:
            users.add(DEMO_USER[0], hash_password(DEMO_USER[1]), reactor.seconds())
        dispatcher = Dispatcher("login", codec, sessions)
        _listen(top, "login", "login", config.login.listen, FrontFactory("login", dispatcher, config.max_line), reactor)

    if config.is_gateway:
        assert config.quote is not None and config.trade is not None
        journal = Journal(os.path.join(config.data, DATABASE), reactor, config.keep_days, config.journal)
        journal.setServiceParent(top)
        queues = {spec.name: QueueService(spec, journal) for spec in QUEUES}
        for queue in queues.values():
            queue.setServiceParent(top)
        counter = backend or make_backend(config, reactor)
        restore = getattr(counter, "restore", None)
        if restore is not None:
            # A simulated counter dies with the process: rebuild its day from the journal.
            restore(journal.read_day(journal.day))
        gateway = GatewayService(counter, RequestIds(db, run_blocking=run_blocking), journal, queues, run_blocking)
        gateway.setServiceParent(top)
        if sessions is not None:
            sessions.journal = journal
        gateway_id = str(config.trade.advertise)
        authority: IAuthority
        if sessions is not None:
            authority = LocalAuthority(sessions, gateway_id)
        else:
            assert config.login.server is not None
            from ofx.authority import LoginServerLink

            link = LoginServerLink(reactor, config.login.server, codec)
            authority = RemoteAuthority(link.ask, gateway_id, reactor, config.login.recheck)
        for name, front, auth in (("quote", config.quote, None), ("trade", config.trade, authority)):
            dispatcher = Dispatcher(name, codec, gateway, auth, gateway.is_up)
            _listen(top, name, name, front.listen, FrontFactory(name, dispatcher, config.max_line), reactor)

    # -- the web console (ofx/web): quote-api, trade-api, monitor, admin ---
    if config.admin is not None:
        from ofx.web.site import add_console

        add_console(top, config, reactor, users, run_blocking, _listen)
    # -- end of the web console ---------------------------------------------
    return top
