"""
A headless Chromium for the console's browser tests, driven with selenium
(Debian's C{chromium} and C{chromium-driver}; C{.ci/run} installs them).

L{why_no_browser} says in one line why the tests must skip, or None.
L{start_browser} starts Chromium with a fresh profile, no network services
of its own, and a fixed window size (for screenshots). L{wait_for} polls a
condition a bounded number of times (no sleeps standing in for events).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = ("chromedriver",)
IMAGES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "images")


def _which(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/lib/chromium/{name}" if os.path.exists(f"/usr/lib/chromium/{name}") else None)
        if found:
            return found
    return None


def why_no_browser() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install .[test])"
    if _which(CHROMIUM) is None:
        return "chromium is not installed (apt-get install chromium chromium-driver)"
    if _which(DRIVER) is None:
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


def start_browser(downloads: str) -> Any:
    """A headless Chromium (selenium WebDriver) saving downloads to C{downloads}."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ofx-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = _which(CHROMIUM) or ""
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
        f"--user-data-dir={profile}", "--window-size=1280,860", "--lang=zh-CN",
    ):  # fmt: skip
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": downloads, "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(_which(DRIVER) or "chromedriver"), options=options)
    driver.set_page_load_timeout(20)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    driver._ofx_profile = profile
    return driver


def stop_browser(driver: Any) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(getattr(driver, "_ofx_profile", ""), ignore_errors=True)


def wait_for(condition: Callable[[], Any], what: str, tries: int = 100, every: float = 0.1) -> Any:
    """Poll C{condition} until it is true (at most C{tries} times); return its value."""
    last: Any = None
    for _ in range(tries):
        try:
            last = condition()
        except Exception as e:  # the page is still changing
            last = e
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}; last: {last!r}")


def screenshot(driver: Any, name: str) -> str:
    """Save the page as docs/images/console-NAME.png when C{OFX_SCREENSHOTS=1}, else in a temp folder."""
    folder = IMAGES if os.environ.get("OFX_SCREENSHOTS") == "1" else os.path.join(tempfile.gettempdir(), "ofx-screenshots")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"console-{name}.png")
    driver.save_screenshot(path)
    return path
