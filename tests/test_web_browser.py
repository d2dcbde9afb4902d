"""
The console in a real headless Chromium against C{twistd -n ofx} as a real
process: sign in, stop and start the quote service and see its port close
and open, add a user who logs in through the login port, disable them and
see their authcode refused, filter the day's orders, download a CSV, sign
out and be refused. Screenshots of each page go to docs/images/.

Skips with one line when Chromium, chromedriver or selenium is missing.
The browser is driven in a thread so the reactor keeps reading twistd's output.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from twisted.internet import threads
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import SkipTest, TestCase

from ofx.client import BlockingClient, OFXClientError
from tests.browser import screenshot, start_browser, stop_browser, wait_for, why_no_browser
from tests.keys import SECRET
from tests.process import free_port, gateway_ini, run_twistd
from tests.web import ADMIN_HASH, ADMIN_PASSWORD


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class BrowserTests(TestCase):
    timeout = 120

    @inlineCallbacks
    def test_console_in_chromium(self) -> Any:
        """An operator runs, watches and administers the gateway from a browser, end to end."""
        why = why_no_browser()
        if why:
            raise SkipTest(f"browser tests skipped: {why}")
        ports = {name: free_port() for name in ("login", "quote", "trade", "admin")}
        ini = gateway_ini(ports["quote"], ports["trade"], login=ports["login"], admin=ports["admin"], admin_hash=ADMIN_HASH)
        yield run_twistd(self, ini, ["login", "quote", "trade", "admin"])
        downloads = os.path.abspath(self.mktemp())
        os.makedirs(downloads)
        driver = yield threads.deferToThread(start_browser, downloads)
        self.addCleanup(threads.deferToThread, stop_browser, driver)
        yield threads.deferToThread(self.drive, driver, ports, downloads)

    def drive(self, driver: Any, ports: dict[str, int], downloads: str) -> None:
        base = f"http://127.0.0.1:{ports['admin']}"
        css = "css selector"

        def find(selector: str) -> Any:
            return wait_for(lambda: driver.find_element(css, selector), selector)

        def row_state(name: str, state: str) -> None:
            wait_for(lambda: driver.find_element(css, f'#services tr[data-name="{name}"]').get_attribute("data-state") == state, f"{name} {state}")

        # Sign in (nothing but the sign-in page answers before).
        driver.get(base + "/services")
        wait_for(lambda: driver.current_url.endswith("/signin"), "the sign-in page")
        find("input[name=user]")
        screenshot(driver, "signin")
        driver.find_element(css, "input[name=user]").send_keys("admin")
        driver.find_element(css, "input[name=password]").send_keys(ADMIN_PASSWORD)
        driver.find_element(css, "#signin-submit").click()
        row_state("quote", "running")
        screenshot(driver, "services")

        # Stop the quote service: its port closes; start it: it opens again.
        self.assertTrue(listening(ports["quote"]))
        find('button[data-action="stop"][data-name="quote"]').click()
        row_state("quote", "stopped")
        wait_for(lambda: not listening(ports["quote"]), "the quote port to close")
        find('button[data-action="start"][data-name="quote"]').click()
        row_state("quote", "running")
        wait_for(lambda: listening(ports["quote"]), "the quote port to open")

        # The demo user trades a little, so the day has orders and quotes.
        with BlockingClient("127.0.0.1", ports["login"], secret=SECRET) as demo:
            demo.login("demo", "demo")
            demo.subscribe(["600000.SH", "000001.SZ"])
            for ticker, market in (("600000", "SH"), ("000001", "SZ")):
                demo.insert_order(ticker=ticker, market=market, price=9.0, quantity=100, side=1, price_type=1)

        # Add a user who logs in through the login port, then disable them.
        driver.get(base + "/users")
        form = find("#add-user")
        form.find_element(css, "input[name=name]").send_keys("erin")
        form.find_element(css, "input[name=password]").send_keys("er1n-pw")
        form.find_element(css, "button[type=submit]").click()
        find('#users tr[data-user="erin"]')
        with BlockingClient("127.0.0.1", ports["login"], secret=SECRET) as erin:
            erin.login("erin", "er1n-pw")
            self.assertEqual(erin.request_asset()["stat"], 200)
            driver.refresh()
            find('#users tr[data-user="erin"] [data-authcode]')
            screenshot(driver, "users")
            find('#users tr[data-user="erin"] button[data-action="disable"]').click()
            find('#users tr[data-user="erin"][data-disabled="yes"]')
            with self.assertRaises(OFXClientError) as refused:
                erin.request_asset()
            self.assertEqual(refused.exception.stat, 401)

        # Filter the day's orders by stock, and download them as CSV.
        driver.get(base + "/data")
        find("#table option[value=orders]")
        find("#stock").send_keys("600000.SH")
        driver.find_element(css, "#query").click()

        def stocks() -> list[str]:
            return [c.text for c in driver.find_elements(css, '#data td[data-col="stock"]')]

        wait_for(lambda: stocks() == ["600000.SH"], "the filtered orders")
        screenshot(driver, "data")
        driver.find_element(css, "#csv").click()
        path = os.path.join(downloads, wait_for(lambda: [n for n in os.listdir(downloads) if n.endswith(".csv")], "the CSV")[0])
        with open(path, encoding="utf-8-sig") as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0].split(",")[0], "stock")
        self.assertEqual([line.split(",")[0] for line in lines[1:]], ["600000.SH"])

        # The day's snapshots of one stock, as a chart.
        find("#table option[value=snapshots]").click()
        driver.find_element(css, "#query").click()
        find("#price-chart polyline")
        screenshot(driver, "snapshots")

        for page, ready in (("info", "#info td"), ("settings", "#settings td"), ("monitor", "#chart-rss polyline")):
            driver.get(base + "/" + page)
            find(ready)
            screenshot(driver, page)
        driver.get(base + "/services")
        find("#lang").click()
        wait_for(lambda: "Start all" in driver.find_element(css, "#start-all").text, "English labels")
        screenshot(driver, "services-en")
        find("#lang").click()

        # Sign out, and be refused.
        find("#signout").click()
        wait_for(lambda: driver.current_url.endswith("/signin"), "the sign-in page after sign-out")
        driver.get(base + "/api/services")
        self.assertIn("sign in first", driver.find_element(css, "body").text)
        driver.get(base + "/users")
        wait_for(lambda: driver.current_url.endswith("/signin"), "refused after sign-out")
