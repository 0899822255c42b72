"""Headless Chromium for the browser tests, driven by selenium.

Needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) and
selenium. Both paths are given to selenium, so it never downloads a browser or a driver; and
the flags keep Chromium off the network beyond what a page asks for.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1024",
)
PAGE_LOAD_SECONDS = 60
#: No host name resolves but loopback's: the browser is cut off from every network but this
#: machine's, as on an intranet that reaches only the server (pages fail on any other host).
OFFLINE = (
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    "--proxy-server=127.0.0.1:9",  # nothing listens there: an IP literal fails too
    "--proxy-bypass-list=127.0.0.1;localhost",
)


def missing() -> str | None:
    """Why headless Chromium cannot run here, or None when it can."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed"
    absent = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if absent:
        return (
            f"headless Chromium needs {' and '.join(absent)} "
            "(apt-get install chromium chromium-driver)"
        )
    return None


def start(profile: Path, extra: tuple[str, ...] = (), *, record: bool = False) -> Chrome:
    """A headless Chromium with a fresh profile in `profile`, its console log kept; with
    `record`, also its performance log, where every request it makes is written
    (`requested_urls`)."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *extra, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    logs = {"browser": "ALL", "performance": "ALL"} if record else {"browser": "ALL"}
    options.set_capability("goog:loggingPrefs", logs)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
    return driver


def requested_urls(driver: Chrome) -> list[str]:
    """The URL of every request the browser sent since the last call (a `record` browser)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def console_errors(driver: Chrome) -> list[str]:
    """The console's SEVERE entries since the last call: errors, refused loads, failed
    requests."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
