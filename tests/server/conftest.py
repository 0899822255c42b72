"""Two real servers for the session (the bundled store read-only, and an empty writable one),
and headless Chromium for the browser tests."""

from __future__ import annotations

import importlib.util
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest


def load_module(name: str, path: Path) -> ModuleType:
    """A helper module of the test tree (pytest's importlib mode puts none on sys.path)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


live = load_module("alliance_tests_live", Path(__file__).with_name("live.py"))
chromium = load_module("alliance_tests_chromium", Path(__file__).with_name("chromium.py"))


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

    def start(*extra: str):
        return chromium.start(tmp_path_factory.mktemp("chromium-profile"), extra)

    return start


@pytest.fixture(scope="session")
def browser(start_chromium: Callable) -> Iterator:
    """One headless Chromium for the session's browser tests."""
    driver = start_chromium()
    yield driver
    driver.quit()
