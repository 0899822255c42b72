"""Two real servers for the session (the bundled store read-only, and an empty writable one),
headless Chromium for the browser tests, and the bundled store's app with a test client for
modules that need no settings of their own (a module may define its own `app`)."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from alliance.server.app import create_app
from alliance.server.settings import Settings

live = sys.modules["alliance_tests_live"]  # loaded by tests/conftest.py
chromium = sys.modules["alliance_tests_chromium"]


@pytest.fixture(scope="module")
def app(bundled_store_dir: Path) -> Flask:
    """The web app on the bundled store, as `alliance serve` creates it."""
    return create_app(Settings(store=str(bundled_store_dir)))


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def server(bundled_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """`alliance serve` over the bundled store, without a write token."""
    logs = tmp_path_factory.mktemp("server-logs")
    running = live.start_server(bundled_store_dir, logs / "read-only.log")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def write_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """`alliance serve` over a fresh empty store, with a write token."""
    store_dir = tmp_path_factory.mktemp("writable-store")
    logs = tmp_path_factory.mktemp("server-logs")
    running = live.start_server(store_dir, logs / "writable.log", token=secrets.token_urlsafe(16))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def start_chromium(tmp_path_factory: pytest.TempPathFactory) -> Callable:
    """Start a headless Chromium (extra flags as arguments) with a fresh profile; the caller
    quits it. Skips, with the reason, when Chromium, its driver or selenium is missing."""
    reason = chromium.missing()
    if reason is not None:
        pytest.skip(reason)

    def start(*extra: str, record: bool = False):
        return chromium.start(tmp_path_factory.mktemp("chromium-profile"), extra, record=record)

    return start


@pytest.fixture(scope="session")
def browser(start_chromium: Callable) -> Iterator:
    """One headless Chromium for the session's browser tests."""
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def offline_browser(start_chromium: Callable) -> Iterator:
    """A headless Chromium that reaches no host but this machine, and records every request
    it makes (`chromium.requested_urls`)."""
    driver = start_chromium(*chromium.OFFLINE, record=True)
    yield driver
    driver.quit()
