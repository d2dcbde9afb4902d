"""Logins, authcodes and their expiry, revocation and routing."""

from __future__ import annotations

import os
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from ofx.authority import RemoteAuthority
from ofx.config import Address
from ofx.errors import OFXError
from ofx.login import IAuthority, LocalAuthority, LoginService, expiry
from ofx.passwords import hash_password
from ofx.store.db import open_database
from ofx.store.users import UserStore

QUOTE, TRADE = Address("127.0.0.1", 11025), Address("127.0.0.1", 11026)
HASH = hash_password("secret")
# 2026-11-24 09:30:00 Beijing time
MORNING = 1795483800.0


def run_now(f: Any, *args: Any) -> Deferred[Any]:
    """Run 'blocking' work synchronously, as a test stand-in for the thread pool."""
    return succeed(f(*args))


def make_login(test: TestCase, clock: Clock, local: Any = (QUOTE, TRADE), **kw: Any) -> tuple[LoginService, UserStore]:
    path = os.path.join(test.mktemp(), "ofx.db")
    users = UserStore(open_database(path))
    users.add("alice", HASH, 0.0)
    service = LoginService(users, clock, run_now, local, **kw)
    service.startService()
    test.addCleanup(service.stopService)
    return service, users


class ExpiryTests(TestCase):
    def test_end_of_day(self) -> None:
        """By default an authcode issued in the morning expires at 15:30 Beijing time that day."""
        self.assertEqual(expiry(MORNING, "15:30") - MORNING, 6 * 3600)

    def test_after_close(self) -> None:
        """An authcode issued after 15:30 lasts until 15:30 the next day."""
        evening = MORNING + 10 * 3600
        self.assertEqual(expiry(evening, "15:30") - evening, 20 * 3600)

    def test_duration(self) -> None:
        """A duration like 8h counts from the login."""
        self.assertEqual(expiry(MORNING, "8h") - MORNING, 8 * 3600)


class LoginTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(MORNING)
        self.login, self.users = make_login(self, self.clock)

    def test_login_answer(self) -> None:
        """A good login answers the manual's routing fields and an authcode."""
        answer = self.successResultOf(self.login.login("alice", "secret"))
        self.assertEqual(answer["stat"], 200)
        self.assertEqual((answer["quoteserver"], answer["quoteport"]), ("127.0.0.1", 11025))
        self.assertEqual((answer["tradeserver"], answer["tradeport"]), ("127.0.0.1", 11026))
        self.assertEqual(answer["uname"], "alice")
        self.assertGreaterEqual(len(answer["authcode"]), 32)
        self.assertIsNotNone(self.users.get("alice").last_login)

    def test_wrong_password_and_unknown_user(self) -> None:
        """A wrong password and an unknown user get the same 401, revealing nothing."""
        wrong = self.failureResultOf(self.login.login("alice", "nope"), OFXError).value
        unknown = self.failureResultOf(self.login.login("bob", "secret"), OFXError).value
        self.assertEqual((wrong.stat, wrong.message), (unknown.stat, unknown.message))
        self.assertEqual(wrong.stat, 401)

    def test_authcode_checks(self) -> None:
        """The trade port accepts the authcode it issued, and refuses missing, unknown and foreign ones."""
        code = self.successResultOf(self.login.login("alice", "secret"))["authcode"]
        authority = LocalAuthority(self.login, str(TRADE))
        verifyObject(IAuthority, authority)
        self.assertEqual(authority.check(code).user, "alice")
        for bad, why in ((None, "missing"), ("", "missing"), ("f00", "unknown"), (42, "string")):
            with self.assertRaises(OFXError) as caught:
                authority.check(bad)
            self.assertEqual(caught.exception.stat, 401)
            self.assertIn(why, caught.exception.message)
        other = LocalAuthority(self.login, "10.1.1.1:11026")
        with self.assertRaises(OFXError) as caught:
            other.check(code)
        self.assertIn("another gateway", caught.exception.message)

    def test_expired(self) -> None:
        """After 15:30 the morning's authcode is refused as expired."""
        code = self.successResultOf(self.login.login("alice", "secret"))["authcode"]
        self.clock.advance(6 * 3600)
        with self.assertRaises(OFXError) as caught:
            self.login.verify(code, str(TRADE))
        self.assertIn("expired", caught.exception.message)

    def test_disabled_user_refused_within_seconds(self) -> None:
        """
        Disabling a user from another process (another connection to the
        store) revokes their authcode at the next recheck, 2 s by default.
        """
        code = self.successResultOf(self.login.login("alice", "secret"))["authcode"]
        other = UserStore(open_database(self.users._db.execute("PRAGMA database_list").fetchone()[2]))
        other.set_disabled("alice", True)
        self.login.verify(code, str(TRADE))
        self.clock.advance(2)
        with self.assertRaises(OFXError) as caught:
            self.login.verify(code, str(TRADE))
        self.assertEqual(caught.exception.stat, 401)
        self.failureResultOf(self.login.login("alice", "secret"), OFXError)

    def test_routed_user(self) -> None:
        """A user with a gateway of their own is sent there, with an authcode for that gateway."""
        self.users.set_gateway("alice", "10.0.0.2:11025, 10.0.0.2:11026")
        answer = self.successResultOf(self.login.login("alice", "secret"))
        self.assertEqual((answer["tradeserver"], answer["tradeport"]), ("10.0.0.2", 11026))
        self.assertEqual(self.login.verify(answer["authcode"], "10.0.0.2:11026").user, "alice")

    def test_login_server_alone_needs_route(self) -> None:
        """A login server without a gateway of its own cannot route a user with none configured."""
        login, _ = make_login(self, self.clock, local=None)
        self.assertEqual(self.failureResultOf(login.login("alice", "secret"), OFXError).value.stat, 503)


class RemoteAuthorityTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(MORNING)
        self.questions: list[tuple[int, Any]] = []
        self.answers: list[Deferred[Any]] = []

        def ask(cmd: int, params: Any) -> Deferred[Any]:
            self.questions.append((cmd, params))
            d: Deferred[Any] = Deferred()
            self.answers.append(d)
            return d

        self.authority = RemoteAuthority(ask, "gw:11026", self.clock, recheck=2.0)

    def good(self) -> dict[str, Any]:
        return {"stat": 200, "uname": "alice", "gateway": "gw:11026", "expires": MORNING + 3600}

    def test_asks_once_then_trusts_for_recheck(self) -> None:
        """Concurrent checks of one authcode ask the login server once; the answer is trusted for 2 s."""
        verifyObject(IAuthority, self.authority)
        first, second = self.authority.check("abc"), self.authority.check("abc")
        self.assertEqual(self.questions, [(2, {"authcode": "abc", "gateway": "gw:11026"})])
        self.answers[0].callback(self.good())
        self.assertEqual(self.successResultOf(first).user, "alice")
        self.assertEqual(self.successResultOf(second).user, "alice")
        self.assertEqual(self.authority.check("abc").user, "alice")
        self.clock.advance(2)
        self.authority.check("abc")
        self.assertEqual(len(self.questions), 2)

    def test_refused_after_disable(self) -> None:
        """When the login server stops vouching (user disabled), the next recheck refuses with 401."""
        d = self.authority.check("abc")
        self.answers[0].callback(self.good())
        self.successResultOf(d)
        self.clock.advance(2)
        d = self.authority.check("abc")
        self.answers[1].callback({"stat": 401, "error": "unknown authcode: log in again"})
        self.assertEqual(self.failureResultOf(d, OFXError).value.stat, 401)

    def test_login_server_down(self) -> None:
        """Unreachable login server: known authcodes keep working, new ones get 503."""
        d = self.authority.check("abc")
        self.answers[0].callback(self.good())
        self.successResultOf(d)
        self.clock.advance(2)
        d = self.authority.check("abc")
        self.answers[1].errback(ConnectionRefusedError())
        self.assertEqual(self.successResultOf(d).user, "alice")
        d = self.authority.check("new")
        self.answers[2].errback(ConnectionRefusedError())
        self.assertEqual(self.failureResultOf(d, OFXError).value.stat, 503)

    def test_missing(self) -> None:
        """A missing authcode is refused without asking anyone."""
        with self.assertRaises(OFXError):
            self.authority.check(None)
        self.assertEqual(self.questions, [])


