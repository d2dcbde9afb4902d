"""The wiring made by ofx.tap: which services exist, named how, listening where."""

from __future__ import annotations

import io
import os
import sys
from typing import Any

from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import TestCase

from ofx.config import ConfigError, config_from_string
from ofx.fronts import FrontFactory
from ofx.service import GatewayService
from ofx.store import writer
from ofx.tap import Options, build_service, makeService
from ofx.users_cli import main as users_main
from tests.keys import SECRET

QUEUE_NAMES = ["md-receiver", "order-callbacks", "trade-callbacks", "order-query", "trade-query",
               "asset-query", "position-query"]  # fmt: skip

GATEWAY = f"""
[ofx]
key = {SECRET}
data = data
[login]
listen = tcp:11027:interface=127.0.0.1
demo_user = yes
[quote]
listen = tcp:11025:interface=127.0.0.1
advertise = 127.0.0.1:11025
[trade]
listen = tcp:11026:interface=127.0.0.1
advertise = 127.0.0.1:11026
[xtp]
backend = fake
"""


class ProcessReactor(MemoryReactorClock):
    """A memory reactor that records the processes it is asked to spawn, and ends each when its input closes."""

    def __init__(self) -> None:
        super().__init__()
        self.spawned: list[list[str]] = []

    def spawnProcess(self, protocol: Any, executable: str, args: list[str], **kwargs: Any) -> Any:
        self.spawned.append(args)
        transport = StringTransport()
        transport.closeStdin = lambda: [protocol.childConnectionLost(fd) for fd in (0, 1, 2)]  # type: ignore[attr-defined]
        protocol.makeConnection(transport)
        return transport


class WiringTests(TestCase):
    def build(self, text: str) -> tuple[object, ProcessReactor]:
        path = os.path.join(os.path.abspath(self.mktemp()), "ofx.ini")
        reactor = ProcessReactor()
        return build_service(config_from_string(text, path), reactor), reactor

    def test_gateway_children(self) -> None:
        """
        A gateway with its own login port has sessions and login, then the
        journal (first, so it rebuilds the views before anything reads them),
        the seven queue services, the gateway, quote and trade.
        """
        top, reactor = self.build(GATEWAY)
        names = [s.name for s in top]
        self.assertEqual(names[:3], ["sessions", "login", "journal"])
        self.assertEqual(sorted(names[3:]), sorted(QUEUE_NAMES + ["gateway", "quote", "trade"]))
        top.startService()
        self.addCleanup(top.stopService)
        ports = {port: (factory, interface) for port, factory, _, interface in reactor.tcpServers}
        self.assertEqual(set(ports), {11025, 11026, 11027})
        self.assertTrue(all(interface == "127.0.0.1" for _, interface in ports.values()))
        gateway = top.getServiceNamed("gateway")
        self.assertIsInstance(gateway, GatewayService)
        quote, trade = ports[11025][0], ports[11026][0]
        self.assertIsInstance(quote, FrontFactory)
        self.assertEqual((quote.port, trade.port), ("quote", "trade"))
        [writer] = reactor.spawned
        self.assertIn("from ofx.store.writer import main", writer[2])
        self.assertTrue(writer[3].endswith("ofx.db"))

    def test_login_server_alone(self) -> None:
        """Only [ofx] and [login]: a login server with no gateway and no counter."""
        top, _ = self.build(f"[ofx]\nkey = {SECRET}\n[login]\nlisten = tcp:0\n")
        self.assertEqual(sorted(s.name for s in top), ["login", "sessions"])

    def test_remote_login(self) -> None:
        """A gateway with [login] server has no login port of its own."""
        text = GATEWAY.replace("listen = tcp:11027:interface=127.0.0.1\ndemo_user = yes", "server = 127.0.0.1:11027")
        top, _ = self.build(text)
        self.assertEqual(sorted(s.name for s in top), sorted(QUEUE_NAMES + ["gateway", "journal", "quote", "trade"]))

    def test_bad_endpoint_names_key(self) -> None:
        """An endpoint string Twisted cannot parse is a config error naming [quote] listen."""
        with self.assertRaises(ConfigError) as caught:
            self.build(GATEWAY.replace("tcp:11025:interface=127.0.0.1", "nonsense:1"))
        self.assertIn("[quote] listen", str(caught.exception))

    def twistd(self, options: Options) -> Any:
        """C{makeService} as twistd calls it; the journal's writer lock is released after the test."""
        top = makeService(options)
        self.addCleanup(top.getServiceNamed("journal").stopService)
        return top

    def options(self, text: str) -> Options:
        """twistd's options for C{twistd ofx --config} an ini file holding C{text}."""
        path = os.path.join(os.path.abspath(self.mktemp()), "ofx.ini")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write(text)
        options = Options()
        options.parseOptions(["--config", path])
        return options

    def test_twistd_adds_the_collector_tuning_last(self) -> None:
        """twistd's service tree ends with the collector tuning, so it starts once the day is rebuilt."""
        top = self.twistd(self.options(GATEWAY))
        names = [s.name for s in top]
        self.assertEqual(names[-1], "collector")
        self.assertEqual(names[:-1], [s.name for s in self.build(GATEWAY)[0]])
        # A new trading day lets the collector free what froze with the day before.
        self.assertIn(top.getServiceNamed("collector").new_day, top.getServiceNamed("journal")._day_listeners)

    def test_second_gateway_on_the_same_data_one_line(self) -> None:
        """
        A second twistd on the data folder of a running gateway stops with one
        line naming the writer lock, not a traceback and not a second writer.
        """
        options = self.options(GATEWAY)
        self.twistd(options)
        self.patch(writer, "LOCK_WAIT", 0.05)
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit):
            makeService(options)
        self.assertEqual(err.getvalue().count("\n"), 1)
        self.assertIn("ofx.db.writer", err.getvalue())

    def test_twistd_options_one_line(self) -> None:
        """A bad config file stops twistd with one line on stderr, not a traceback."""
        path = os.path.join(os.path.abspath(self.mktemp()), "ofx.ini")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write(GATEWAY.replace(SECRET, "short"))
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit):
            Options().parseOptions(["--config", path])
        self.assertEqual(err.getvalue().count("\n"), 1)
        self.assertIn("[ofx] key", err.getvalue())


class UsersCommandTests(TestCase):
    def test_add_list_disable(self) -> None:
        """Users added from the command line are listed with their state; the password is never printed."""
        path = os.path.join(os.path.abspath(self.mktemp()), "ofx.ini")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write(GATEWAY)
        out = io.StringIO()
        self.assertEqual(users_main(["--config", path, "add", "carol"], stdin=io.StringIO("pa55word\n"), stdout=out), 0)
        self.assertEqual(users_main(["--config", path, "disable", "carol"], stdout=out), 0)
        listing = io.StringIO()
        users_main(["--config", path, "list"], stdout=listing)
        self.assertIn("carol\tdisabled", listing.getvalue())
        self.assertNotIn("pa55word", out.getvalue() + listing.getvalue())
        self.assertEqual(users_main(["--config", path, "add", "carol"], stdin=io.StringIO("x\n"), stdout=out), 1)
        self.assertEqual(users_main(["--config", path, "delete", "nobody"], stdout=out), 1)
