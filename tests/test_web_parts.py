"""
The console's parts on their own: operator auth and API tokens, the memory
monitor, the fake counter's session switches, the [admin] config, the
command line, and the service tree with a console.
"""

from __future__ import annotations

import io
import os
from typing import Any

from twisted.internet.defer import succeed
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from ofx.backends.control import ISessionControl, session_control
from ofx.backends.fake import FakeBackend
from ofx.config import ConfigError, FakeConfig, config_from_string
from ofx.passwords import check_password
from ofx.tap import build_service
from ofx.web import password_cli, token_cli
from ofx.web.auth import OperatorAuth, Refused, check_token, make_token, token_key
from ofx.web.monitor import MonitorService
from tests.harness import OPEN
from tests.keys import SECRET
from tests.web import ADMIN_HASH, INI


def sync(f: Any, *a: Any) -> Any:
    return succeed(f(*a))


class AuthTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.auth = OperatorAuth("admin", ADMIN_HASH, self.clock, 600, b"k" * 32, sync, lambda h, p: h is not None and p == "right")

    def sign_in(self, password: str, user: str = "admin") -> Any:
        result: list[Any] = []
        self.auth.sign_in(user, password, "10.0.0.1").addBoth(result.append)
        return result[0]

    def test_wrong_user_refused(self) -> None:
        """A wrong user name is refused like a wrong password."""
        failure = self.sign_in("right", user="root")
        self.assertEqual(failure.value.status, 401)

    def test_waits_double(self) -> None:
        """Each failed sign-in from a peer doubles its wait, up to a minute; success clears it."""
        waits = []
        for _ in range(8):
            self.sign_in("wrong")
            waits.append(self.auth.wait("10.0.0.1"))
            self.clock.advance(waits[-1])
        self.assertEqual(waits, [1, 2, 4, 8, 16, 32, 60, 60])
        self.assertFalse(isinstance(self.sign_in("right"), Exception))
        self.assertEqual(self.auth.wait("10.0.0.1"), 0)

    def test_early_try_refused_without_checking(self) -> None:
        """A try before the wait is over is refused with 429 even with the right password."""
        self.sign_in("wrong")
        with self.assertRaises(Refused) as caught:
            self.auth.sign_in("admin", "right", "10.0.0.1")
        self.assertEqual(caught.exception.status, 429)
        self.assertEqual(self.auth.wait("10.0.0.2"), 0)  # another peer is not slowed

    def test_session_expiry(self) -> None:
        """A session is found until it expires, and not after sign-out."""
        session = self.sign_in("right")
        self.assertIs(self.auth.session(session.sid), session)
        self.clock.advance(599)
        self.assertIs(self.auth.session(session.sid), session)
        self.clock.advance(1)
        self.assertIsNone(self.auth.session(session.sid))
        again = self.sign_in("right")
        self.auth.sign_out(again.sid)
        self.assertIsNone(self.auth.session(again.sid))

    def test_tokens(self) -> None:
        """A token checks with its key until it expires; another key (a changed password) refuses it."""
        key = token_key(SECRET, ADMIN_HASH)
        token = make_token(key, 1000)
        self.assertTrue(check_token(key, token, 999))
        self.assertFalse(check_token(key, token, 1000))
        self.assertFalse(check_token(token_key(SECRET, ADMIN_HASH + "x"), token, 0))
        self.assertFalse(check_token(key, token.replace("ofx1.1000", "ofx1.9999"), 0))
        self.assertFalse(check_token(key, "garbage", 0))


class MonitorTests(TestCase):
    def test_samples(self) -> None:
        """The monitor samples memory, connections per front and events per second every interval."""
        clock = Clock()
        position = [0]

        class Front:
            connections = {1, 2}

        monitor = MonitorService(clock, {"quote": Front()}, lambda: position[0], 5.0, 1.0, lambda: 123)
        monitor.startService()
        self.addCleanup(monitor.stopService)
        position[0] = 50
        clock.advance(5)
        first, second = monitor.series()
        self.assertEqual((second["rss"], second["connections"], second["events_per_second"]), (123, {"quote": 2}, 10.0))
        self.assertEqual(monitor.series(since=first["at"]), [second])

    def test_ring(self) -> None:
        """Only the last hours are kept."""
        clock = Clock()
        monitor = MonitorService(clock, {}, lambda: 0, 60.0, 1.0, lambda: 1)
        monitor.startService()
        self.addCleanup(monitor.stopService)
        clock.pump([60.0] * 200)
        self.assertEqual(len(monitor.series()), 60)


class FakeSessionControlTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(OPEN)
        self.backend = FakeBackend(self.clock, FakeConfig(seed=1, always_open=True))
        self.events: list[Any] = []

        class Listener:
            def __getattr__(me, name: str) -> Any:
                return lambda *a: self.events.append((name, *a))

        self.backend.start(Listener())
        self.clock.advance(0)
        self.control = session_control(self.backend)

    def test_interface(self) -> None:
        """The fake counter's switches provide ISessionControl."""
        verifyObject(ISessionControl, self.control)

    def test_stop_and_start_quote(self) -> None:
        """Stopping the quote session reports it down and keeps it down; starting reports it up."""
        self.events.clear()
        self.control.stop_session("quote")
        self.assertEqual(self.events[-1][:3], ("session_changed", "quote", False))
        self.assertFalse(self.backend.is_up("quote"))
        self.assertTrue(self.backend.is_up("trade"))
        self.assertEqual(self.control.session_state("quote")["state"], "stopped")
        self.control.start_session("quote")
        self.clock.advance(0)
        self.assertEqual(self.events[-1][:3], ("session_changed", "quote", True))
        self.assertEqual(self.control.session_state("quote")["state"], "up")


class ConfigTests(TestCase):
    def test_admin_section(self) -> None:
        """[admin] is read with its defaults; the console listens on loopback by default."""
        admin = config_from_string(INI).admin
        assert admin is not None
        self.assertEqual((admin.listen, admin.user, admin.session_minutes), ("tcp:11028:interface=127.0.0.1", "admin", 60))
        self.assertIsNone(config_from_string(INI.split("[admin]")[0]).admin)

    def test_plain_password_refused(self) -> None:
        """A password_hash that is not an Argon2id hash stops start-up, naming the key."""
        text = INI.replace(ADMIN_HASH, "admin")
        with self.assertRaises(ConfigError) as caught:
            config_from_string(text, "ofx.ini")
        self.assertIn("[admin] password_hash", str(caught.exception))

    def test_shipped_ini(self) -> None:
        """The shipped etc/ofx.ini has a console whose demo password is admin."""
        from tests.process import ROOT

        with open(os.path.join(ROOT, "etc", "ofx.ini"), encoding="utf-8") as f:
            admin = config_from_string(f.read()).admin
        assert admin is not None
        self.assertTrue(check_password(admin.password_hash, "admin"))


class CommandLineTests(TestCase):
    def test_admin_password(self) -> None:
        """admin-password prints a hash of stdin's first line, never the password."""
        out = io.StringIO()
        self.assertEqual(password_cli.main([], stdin=io.StringIO("s3cret\n"), stdout=out), 0)
        printed = out.getvalue().strip()
        self.assertNotIn("s3cret", printed)
        self.assertTrue(check_password(printed, "s3cret"))

    def test_admin_token(self) -> None:
        """admin-token prints a token the console accepts."""
        path = os.path.join(os.path.abspath(self.mktemp()), "ofx.ini")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write(INI)
        out = io.StringIO()
        self.assertEqual(token_cli.main(["--config", path, "--days", "2"], stdout=out, now=1000.0), 0)
        key = token_key(SECRET, ADMIN_HASH)
        self.assertTrue(check_token(key, out.getvalue().strip(), 1000 + 86400))
        self.assertFalse(check_token(key, out.getvalue().strip(), 1000 + 2 * 86400))


class TreeTests(TestCase):
    def test_children_with_console(self) -> None:
        """With [admin] the gateway also has quote-api, trade-api, monitor and admin (the console's port)."""
        folder = os.path.abspath(self.mktemp())
        text = INI.replace("[ofx]\n", f"[ofx]\ndata = {folder}\n")
        top = build_service(config_from_string(text), reactor=MemoryReactorClock())
        names = [s.name for s in top]
        self.assertEqual(names[-4:], ["quote-api", "trade-api", "monitor", "admin"])
