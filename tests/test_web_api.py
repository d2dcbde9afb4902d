"""
The console's pages and JSON API, without sockets: requests go through the
resource tree as C{DummyRequest}s, the gateway runs on a fake clock.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.trial.unittest import TestCase

from ofx.web.api import GET_ROUTES, POST_ROUTES
from ofx.web.auth import SESSION_COOKIE
from ofx.web.pages import PAGES
from tests.harness import PASSWORD_HASH
from tests.keys import SECRET
from tests.web import ADMIN_HASH, ADMIN_PASSWORD, SOFTWARE_KEY, XTP_PASSWORD, WebConsole

ORDER = {"ticker": "600000", "market": "SH", "price": 10.0, "quantity": 100, "side": 1, "price_type": 1}


class SignInTests(TestCase):
    def setUp(self) -> None:
        self.web = WebConsole(self)

    def test_pages_need_a_session(self) -> None:
        """Without a session every page sends the browser to the sign-in page, and the API answers 401."""
        for page in ("/", *(f"/{p}" for p in PAGES)):
            answer = self.web.request("GET", page)
            self.assertEqual((answer.status, answer.headers["location"]), (303, ["/signin"]), page)
        for path in GET_ROUTES:
            self.assertEqual(self.web.request("GET", f"/api/{path}").status, 401, path)

    def test_sign_in_page_answers(self) -> None:
        """The sign-in page answers without a session, with a form token in its HttpOnly SameSite=Strict cookie."""
        answer = self.web.request("GET", "/signin")
        self.assertEqual(answer.status, 200)
        self.assertIn(b'name="csrf"', answer.body)
        (cookie,) = answer.cookies
        for part in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="):
            self.assertIn(part, cookie)

    def test_session_cookie(self) -> None:
        """Signing in sets an HttpOnly, SameSite=Strict session cookie for the whole site that expires."""
        answer = self.web.sign_in()
        self.assertEqual((answer.status, answer.headers["location"]), (303, ["/services"]))
        (session,) = [c for c in answer.cookies if c.startswith("ofx_session=")]
        for part in ("HttpOnly", "SameSite=Strict", "Path=/", f"Max-Age={60 * 60}"):
            self.assertIn(part, session)
        self.assertEqual(self.web.request("GET", "/services").status, 200)

    def test_sign_in_form_needs_its_token(self) -> None:
        """A sign-in posted without the form's token (from another site) is refused."""
        answer = self.web.request("POST", "/signin", args={"user": "admin", "password": ADMIN_PASSWORD}, cookie="")
        self.assertEqual(answer.status, 403)
        self.assertFalse([c for c in answer.cookies if c.startswith("ofx_session=")])

    def test_failed_sign_ins_slow_down(self) -> None:
        """After a wrong password the next try must wait (429 with Retry-After), longer each time."""
        self.assertEqual(self.web.sign_in("wrong").status, 401)
        early = self.web.sign_in(ADMIN_PASSWORD)
        self.assertEqual((early.status, early.headers["retry-after"]), (429, ["1"]))
        self.web.clock.advance(1)
        self.assertEqual(self.web.sign_in("wrong").status, 401)
        self.web.clock.advance(1)
        self.assertEqual(self.web.sign_in(ADMIN_PASSWORD).status, 429)
        self.web.clock.advance(1)
        self.assertEqual(self.web.sign_in(ADMIN_PASSWORD).status, 303)

    def test_signed_out_session_refused(self) -> None:
        """After sign-out the old session cookie opens nothing."""
        self.web.sign_in()
        self.assertEqual(self.web.request("POST", "/api/signout").status, 200)
        self.assertEqual(self.web.request("GET", "/api/services").status, 401)
        self.assertEqual(self.web.request("GET", "/services").status, 303)

    def test_session_expires(self) -> None:
        """A session ends after [admin] session_minutes."""
        self.web.sign_in()
        self.web.clock.advance(60 * 60 + 1)
        self.assertEqual(self.web.request("GET", "/api/services").status, 401)


class RefusalTests(TestCase):
    """Every state-changing endpoint refuses a request without a session, with a stale one, or without CSRF."""

    def setUp(self) -> None:
        self.web = WebConsole(self)
        self.web.gateway.login_service._users.add("bob", PASSWORD_HASH, 0.0)

    def _refused_everywhere(self, status: int, **how: Any) -> None:
        before = self.web.request("GET", "/api/users", cookie=self.web.cookie).body if self.web.cookie else None
        for path in POST_ROUTES:
            if path == "signout":
                continue
            answer = self.web.request("POST", f"/api/{path}", body={"name": "bob", "password": "x"}, **how)
            self.assertEqual(answer.status, status, path)
        services = self.web.console.control.table()
        self.assertTrue(all(r["state"] == "running" for r in services))
        self.assertIsNotNone(self.web.console.users.get("bob"))
        if before is not None:
            self.assertEqual(self.web.request("GET", "/api/users", cookie=self.web.cookie).body, before)

    def test_without_session(self) -> None:
        """No cookie: 401 and nothing changes."""
        self._refused_everywhere(401, cookie="", csrf="")

    def test_with_stale_session(self) -> None:
        """A signed-out session, even with its CSRF token: 401 and nothing changes."""
        self.web.sign_in()
        cookie, csrf = self.web.cookie, self.web.csrf
        self.web.request("POST", "/api/signout")
        self.web.cookie = ""
        self._refused_everywhere(401, cookie=cookie, csrf=csrf)

    def test_without_csrf(self) -> None:
        """A good session without the CSRF token, or with another session's: 403 and nothing changes."""
        self.web.sign_in()
        self._refused_everywhere(403, csrf="")
        self._refused_everywhere(403, csrf="x" * 43)

    def test_get_does_not_change(self) -> None:
        """A state-changing endpoint called with GET is refused (405)."""
        self.web.sign_in()
        self.assertEqual(self.web.request("GET", "/api/services/stop?name=quote").status, 405)
        self.assertEqual(self.web.console.control.table()[1]["state"], "running")

    def test_api_token(self) -> None:
        """A script's API token works without a cookie or CSRF token; a forged one does not."""
        token = self.web.auth.make_token(1)
        bearer = {"Authorization": f"Bearer {token}"}
        self.assertEqual(self.web.request("GET", "/api/services", cookie="", headers=bearer).status, 200)
        stop = self.web.request("POST", "/api/services/stop", body={"name": "md-receiver"}, cookie="", headers=bearer)
        self.assertEqual(stop.json()["state"], "stopped")
        forged = {"Authorization": f"Bearer {token[:-1]}{'0' if token[-1] != '0' else '1'}"}
        self.assertEqual(self.web.request("GET", "/api/services", cookie="", headers=forged).status, 401)
        self.web.clock.advance(86401)
        self.assertEqual(self.web.request("GET", "/api/services", cookie="", headers=bearer).status, 401)


class ServicesTests(TestCase):
    def setUp(self) -> None:
        self.web = WebConsole(self)
        self.web.sign_in()

    def post(self, path: str, **body: Any) -> Any:
        answer = self.web.request("POST", f"/api/{path}", body=body)
        self.assertEqual(answer.status, 200, answer.body)
        return answer.json()

    def test_table_as_the_manual(self) -> None:
        """The services page lists the manual's thirteen services in its order, with Chinese and English names."""
        rows = self.web.request("GET", "/api/services").json()
        self.assertEqual(
            [r["name"] for r in rows],
            ["login", "quote", "trade", "quote-api", "trade-api", "md-receiver", "order-callbacks",
             "trade-callbacks", "order-query", "trade-query", "asset-query", "position-query", "monitor"],
        )  # fmt: skip
        self.assertEqual(rows[0]["zh"], "前端服务：单点登陆")
        self.assertEqual(rows[-1]["zh"], "管理服务：内存监控")
        self.assertTrue(all(r["state"] == "running" for r in rows))

    def test_stop_and_start_quote_front(self) -> None:
        """Stopping the quote front stops listening; starting it listens again."""
        ports = self.web.reactor.tcpServers
        listening = len(ports)
        self.assertEqual(self.post("services/stop", name="quote")["state"], "stopped")
        self.assertEqual(self.post("services/start", name="quote")["state"], "running")
        self.assertEqual(len(ports), listening + 1)  # a new listen

    def test_stop_quote_api_logs_out(self) -> None:
        """Stopping quote-api logs the counter's quote session out (quote commands answer 503); starting logs in."""
        self.post("services/stop", name="quote-api")
        self.web.clock.advance(0)
        self.assertFalse(self.web.gateway.service.is_up("quote"))
        self.assertEqual(self.web.gateway.ask("quote", 110001, [{"code": "600000", "market": "SH"}])["stat"], 503)
        rows = self.web.request("GET", "/api/services").json()
        self.assertEqual(rows[3]["detail"]["state"], "stopped")
        self.post("services/start", name="quote-api")
        self.web.clock.advance(0)
        self.assertTrue(self.web.gateway.service.is_up("quote"))
        self.assertEqual(self.web.gateway.ask("quote", 110001, [{"code": "600000", "market": "SH"}])["stat"], 200)

    def test_stop_queue_service(self) -> None:
        """A stopped queue service answers 503 to its commands and to the console's tables."""
        self.post("services/stop", name="order-callbacks")
        self.assertEqual(self.web.request("GET", "/api/orders").status, 503)
        self.post("services/start", name="order-callbacks")
        self.assertEqual(self.web.request("GET", "/api/orders").status, 200)

    def test_stop_all_start_all(self) -> None:
        """Stop all stops every service; start all starts them again."""
        rows = self.post("services/stop-all")
        self.assertEqual({r["state"] for r in rows}, {"stopped"})
        rows = self.post("services/start-all")
        self.assertEqual({r["state"] for r in rows}, {"running"})

    def test_failed_start_shows_why(self) -> None:
        """A front that cannot listen is shown failed, with the reason."""
        self.post("services/stop", name="trade")
        port = self.web.top.getServiceNamed("trade")

        def refuse(factory: Any) -> Any:
            raise OSError("Address already in use")

        self.patch(port.endpoint, "listen", refuse)
        row = self.post("services/start", name="trade")
        self.assertEqual(row["state"], "failed")
        self.assertIn("Address already in use", row["error"])

    def test_unknown_service(self) -> None:
        """Naming a service that does not exist answers 404."""
        self.assertEqual(self.web.request("POST", "/api/services/stop", body={"name": "gateway"}).status, 404)


class UsersTests(TestCase):
    def setUp(self) -> None:
        self.web = WebConsole(self)
        self.web.sign_in()

    def post(self, path: str, status: int = 200, **body: Any) -> Any:
        answer = self.web.request("POST", f"/api/{path}", body=body)
        self.assertEqual(answer.status, status, answer.body)
        return answer.json()

    def login(self, name: str, password: str) -> Any:
        return self.web.gateway.ask("login", 1, {"username": name, "password": password})

    def test_add_user_who_logs_in(self) -> None:
        """A user added in the console logs in through the login port, and shows their last login."""
        self.post("users/add", name="carol", password="c4rol-pw")
        answer = self.login("carol", "c4rol-pw")
        self.assertEqual(answer["stat"], 200)
        (carol,) = [u for u in self.web.request("GET", "/api/users").json() if u["name"] == "carol"]
        self.assertIsNotNone(carol["last_login"])
        (code,) = carol["authcodes"]
        self.assertEqual(code["shown"], answer["authcode"][:4] + "…")

    def test_disable_refuses_authcode(self) -> None:
        """Disabling a user refuses their authcode at once and their logins; enabling lets them log in again."""
        self.post("users/add", name="carol", password="c4rol-pw")
        self.web.gateway.authcode = self.login("carol", "c4rol-pw")["authcode"]
        self.assertEqual(self.web.gateway.ask("trade", 210001)["stat"], 200)
        self.assertEqual(self.post("users/disable", name="carol")["revoked"], 1)
        self.assertEqual(self.web.gateway.ask("trade", 210001)["stat"], 401)
        self.assertEqual(self.login("carol", "c4rol-pw")["stat"], 401)
        self.post("users/enable", name="carol")
        self.assertEqual(self.login("carol", "c4rol-pw")["stat"], 200)

    def test_reset_and_delete(self) -> None:
        """Reset sets a new password; delete removes the user."""
        self.post("users/add", name="carol", password="c4rol-pw")
        self.post("users/reset", name="carol", password="n3w-pw")
        self.assertEqual(self.login("carol", "c4rol-pw")["stat"], 401)
        self.assertEqual(self.login("carol", "n3w-pw")["stat"], 200)
        self.post("users/delete", name="carol")
        self.assertEqual(self.login("carol", "n3w-pw")["stat"], 401)
        self.post("users/delete", 404, name="carol")

    def test_revoke_authcode(self) -> None:
        """An open authcode can be revoked by its handle; the trade port then refuses it."""
        (alice,) = [u for u in self.web.request("GET", "/api/users").json() if u["name"] == "alice"]
        self.post("authcodes/revoke", id=alice["authcodes"][0]["id"])
        self.assertEqual(self.web.gateway.ask("trade", 210001)["stat"], 401)

    def test_bad_input(self) -> None:
        """A bad name, an empty password, a bad gateway or an existing name is refused with the reason."""
        self.post("users/add", 400, name="no spaces", password="x")
        self.post("users/add", 400, name="dave", password="")
        self.post("users/add", 400, name="dave", password="x", gateway="nowhere")
        self.post("users/add", 409, name="alice", password="x")


class DataTests(TestCase):
    def setUp(self) -> None:
        self.web = WebConsole(self)
        self.web.sign_in()
        gateway = self.web.gateway
        gateway.ask("quote", 110001, [{"code": "600000", "market": "SH"}, {"code": "000001", "market": "SZ"}])
        gateway.tick()
        for ticker, market in (("600000", "SH"), ("000001", "SZ")):
            answer = gateway.ask("trade", 210005, dict(ORDER, ticker=ticker, market=market))
            self.assertEqual(answer["stat"], 200, answer)
        gateway.tick()

    def get(self, path: str) -> Any:
        answer = self.web.request("GET", f"/api/{path}")
        self.assertEqual(answer.status, 200, answer.body)
        return answer.json()

    def test_orders_filtered_by_stock(self) -> None:
        """The day's orders filter by stock."""
        self.assertEqual({r["stock"] for r in self.get("orders")["rows"]}, {"600000.SH", "000001.SZ"})
        self.assertEqual({r["stock"] for r in self.get("orders?stock=600000.SH")["rows"]}, {"600000.SH"})
        self.assertEqual({r["stock"] for r in self.get("orders?stock=000001")["rows"]}, {"000001.SZ"})

    def test_orders_filtered_by_status(self) -> None:
        """The day's orders filter by status, by number or by name."""
        statuses = {r["order_status"] for r in self.get("orders")["rows"]}
        some = statuses.pop()
        self.assertEqual({r["order_status"] for r in self.get(f"orders?status={some}")["rows"]}, {some})
        self.assertEqual(self.get("orders?status=99")["rows"], [])

    def test_quotes_and_snapshots(self) -> None:
        """Latest quotes list each subscribed stock; snapshots are one stock's day."""
        self.assertEqual({r["stock"] for r in self.get("quotes")["rows"]}, {"600000.SH", "000001.SZ"})
        snapshots = self.get("snapshots?stock=600000.SH")["rows"]
        self.assertGreaterEqual(len(snapshots), 2)
        self.assertEqual({r["ticker"] for r in snapshots}, {"600000"})
        self.assertEqual(self.web.request("GET", "/api/snapshots").status, 400)

    def test_asset_and_positions(self) -> None:
        """Asset and positions show the counter's latest answers."""
        self.web.gateway.ask("trade", 210001)
        self.web.gateway.ask("trade", 210002)
        self.web.gateway.tick(0)
        self.assertEqual(len(self.get("asset")["rows"]), 1)
        self.assertIn("600000.SH", {r["stock"] for r in self.get("positions")["rows"]})

    def test_csv_download(self) -> None:
        """Any table downloads as CSV, with its columns as the header."""
        answer = self.web.request("GET", "/api/orders?format=csv&stock=600000.SH")
        self.assertEqual(answer.status, 200)
        self.assertEqual(answer.headers["content-type"], ["text/csv; charset=utf-8"])
        self.assertIn("attachment", answer.headers["content-disposition"][0])
        lines = answer.body.decode("utf-8-sig").splitlines()
        self.assertEqual(lines[0].split(",")[:2], ["stock", "order_xtp_id"])
        self.assertEqual(len(lines), 2)

    def test_journal_paging(self) -> None:
        """The journal reads page by page, each page continuing after the last one's sequence number."""
        first = self.get("journal?limit=3")
        self.assertEqual([r["seq"] for r in first["rows"]], [1, 2, 3])
        second = self.get(f"journal?limit=3&after={first['next']}")
        self.assertEqual([r["seq"] for r in second["rows"]], [4, 5, 6])
        orders = self.get("journal?kind=order_sent")["rows"]
        self.assertEqual([r["user"] for r in orders], ["alice", "alice"])

    def test_past_day(self) -> None:
        """A past day is read from the journal by date; a day with nothing answers 404."""
        today = self.web.gateway.journal.day
        self.assertEqual(len(self.get(f"orders?date={today}")["rows"]), 2)
        self.assertEqual(self.web.request("GET", "/api/orders?date=20200102").status, 404)
        self.assertEqual(self.web.request("GET", "/api/orders?date=2020-01-02").status, 400)


class SecretsTests(TestCase):
    def test_no_secret_in_any_answer(self) -> None:
        """No page or API answer contains the key, a password, a hash, the software key or a whole authcode."""
        web = WebConsole(self)
        web.sign_in()
        web.gateway.ask("quote", 110001, [{"code": "600000", "market": "SH"}])
        web.gateway.tick()
        web.request("POST", "/api/users/add", body={"name": "carol", "password": "c4rol-pw"})
        secrets = [SECRET, ADMIN_PASSWORD, ADMIN_HASH, XTP_PASSWORD, SOFTWARE_KEY, "c4rol-pw", web.gateway.authcode]
        secrets += [u.password_hash for u in web.console.users.all()]
        secrets.append(web.gateway.ask("login", 1, {"username": "carol", "password": "c4rol-pw"})["authcode"])
        answers = [web.request("GET", p) for p in ("/", "/signin", *(f"/{p}" for p in PAGES), "/static/console.js")]
        answers += [web.request("GET", f"/api/{p}?stock=600000.SH") for p in GET_ROUTES]
        answers += [web.request("GET", f"/api/{p}?stock=600000.SH&format=csv") for p in GET_ROUTES]
        answers.append(web.request("POST", "/api/services/stop", body={"name": "monitor"}))
        self.assertTrue(all(a.status in (200, 303) for a in answers), [a.status for a in answers])
        for answer in answers:
            text = answer.body.decode("utf-8") + json.dumps(answer.headers)
            for secret in secrets:
                self.assertNotIn(secret, text)
        settings = {(r["section"], r["key"]): r["value"] for r in web.request("GET", "/api/settings").json()}
        self.assertEqual(settings["xtp", "password"], "******")
        self.assertEqual(settings["admin", "password_hash"], "******")
        self.assertEqual(settings["ofx", "key"], "******")
        self.assertNotIn(SESSION_COOKIE.decode(), web.request("GET", "/api/session").body.decode())
