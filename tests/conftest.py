"""Shared fixtures: a store built once per test session from the bundled sources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alliance.ingest.pipeline import Summary, ingest
from alliance.ingest.reference.certificate import certified_report
from alliance.ingest.sources import bundled_sources
from alliance.store import GraphStore, open_store

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def bundled_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store folder holding every bundled source, ingested once for the session."""
    path = tmp_path_factory.mktemp("bundled-store")
    with open_store(path) as store:
        summary = ingest(store, bundled_sources(), trusted=certified_report)
    assert {o.source for o in summary.outcomes} == {"ontology", "territories", "facts"}
    return path


@pytest.fixture(scope="session")
def bundled_summary(bundled_store_dir: Path) -> Summary:
    """The summary of re-running ingest on the bundled store (everything unchanged)."""
    with open_store(bundled_store_dir) as store:
        return ingest(store, bundled_sources(), trusted=certified_report)


@pytest.fixture(scope="session")
def store(bundled_store_dir: Path) -> Iterator[GraphStore]:
    """The bundled store, opened read-only: tests must not change it."""
    with open_store(bundled_store_dir, read_only=True) as opened:
        yield opened
