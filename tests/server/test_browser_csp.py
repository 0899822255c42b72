"""Headless Chromium reads every kind of page cut off from the network: under its
Content-Security-Policy, with no console error, asking nothing of any other host.

The policy must allow exactly what the pages use. Chromium reports each refused
script, style, image or fetch on the console, so each page is loaded and its
console read; its performance log records every request it sends, and each must go
to the test server. The browser resolves no host name but loopback's
(`chromium.OFFLINE`), as on a network that reaches only the server: a page that
needed anything else would show it here as a failed request. The query page's
YASGUI is served by the server itself and runs here too. The browsers come from
conftest.py (`offline_browser`), which keeps their console logs.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import pytest

pytest.importorskip("selenium", reason="selenium is not installed")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

chromium = sys.modules["alliance_tests_chromium"]

PAGES = [
    "/",
    "/sparql",
    "/sparql?query=SELECT+*+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+5&format=html",
    "/sparql?query=SELECT+*+WHERE+%7B+%3Fs+a+igeo%3ACommune+%7D&format=html",  # its error
    "/id/commune/69123",  # with its map
    "/id/epci/200046977",
    "/api",
    "/api/queries/find-territory?name=Lyon&format=html",
    "/ontology",
    "/vocab",
    "/shapes",
    "/validate",
    "/validate/latest",
    # /dumps and /.well-known/void are left out: their first load builds the dumps (a
    # minute), and they use nothing the pages above do not.
]
#: Statuses a page is answered with on purpose (a malformed query's page is a 400).
EXPECTED_STATUS = {PAGES[3]: 400}


def violations(messages: list[str]) -> list[str]:
    """The Content-Security-Policy messages among console messages."""
    return [m for m in messages if "Content Security Policy" in m or "Refused to" in m]


def elsewhere(server, urls: list[str]) -> list[str]:
    """The requests sent to any other host than the test server."""
    own = urlsplit(server.url).netloc
    return [
        url
        for url in urls
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != own
    ]


@pytest.mark.parametrize("path", PAGES)
def test_pages_run_offline_without_violations_or_errors(server, offline_browser, path):
    browser = offline_browser
    chromium.requested_urls(browser)  # forget what came before
    browser.get(f"{server.url}{path}")
    WebDriverWait(browser, 30).until(
        expected_conditions.presence_of_element_located((By.TAG_NAME, "nav"))
    )
    if path == "/sparql":  # YASGUI is up, from this server
        WebDriverWait(browser, 30).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#yasgui .yasqe"))
        )
    urls = chromium.requested_urls(browser)
    errors = chromium.console_errors(browser)
    if path in EXPECTED_STATUS:
        errors = [e for e in errors if not e.startswith(f"{server.url}{path}")]
    assert violations(errors) == []
    assert errors == []
    # The browser's own pages (chrome://…) ask for their resources too: only the network's.
    sent = [url for url in urls if urlsplit(url).scheme in ("http", "https", "ws", "wss")]
    assert sent and sent[0] == f"{server.url}{path}"
    assert elsewhere(server, sent) == []


def test_yasgui_runs_under_the_policy(server, offline_browser):
    browser = offline_browser
    browser.get(f"{server.url}/sparql")
    WebDriverWait(browser, 60).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#yasgui .yasqe"))
    )
    assert browser.execute_script("return typeof window.Yasgui") == "function"
    # Run the editor's query: it posts to this endpoint (connect-src 'self').
    browser.find_element(By.CSS_SELECTOR, "#yasgui .yasqe_queryButton").click()
    WebDriverWait(browser, 60).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#yasgui .yasr tbody tr"))
    )
    rows = browser.find_elements(By.CSS_SELECTOR, "#yasgui .yasr tbody tr")
    assert len(rows) == 15  # the métropoles of the Pacte, the page's first example
    errors = chromium.console_errors(browser)
    assert violations(errors) == [] and errors == []
    assert elsewhere(server, chromium.requested_urls(browser)) == []
