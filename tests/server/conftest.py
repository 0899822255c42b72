"""Two real servers for the session: the bundled store read-only, and an empty writable one."""

from __future__ import annotations

import importlib.util
import secrets
import sys
from collections.abc import Iterator
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
