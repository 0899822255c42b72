"""Shared fixtures: a store of the bundled sources, built once for the inputs and reused.

Also loads the test tree's helper modules (pytest's importlib mode puts none of
the test folders on sys.path): test files take them from `sys.modules` by name.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alliance.ingest.pipeline import Summary, ingest
from alliance.ingest.reference.certificate import certified_report
from alliance.ingest.sources import bundled_sources
from alliance.store import GraphStore, open_store

SHARED = Path(__file__).resolve().parents[2] / "shared"
HERE = Path(__file__).resolve().parent

#: Helper modules of the test tree, by the name test files find them under in sys.modules.
HELPERS = {
    "alliance_tests_live": HERE / "server" / "live.py",
    "alliance_tests_chromium": HERE / "server" / "chromium.py",
    "alliance_tests_engines": HERE / "backends" / "engines.py",
    "alliance_tests_sparql_suite": HERE / "w3c" / "sparql_suite.py",
}


def _load_helper(name: str, path: Path) -> None:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


for _name, _path in HELPERS.items():
    if _name not in sys.modules:
        _load_helper(_name, _path)


#: Session fixtures that cost tens of seconds each (a server filled with the bundled data, a
#: full pySHACL run): under pytest-xdist, the tests sharing one run in the same worker
#: (`--dist loadgroup`), so that it is built once rather than once per worker.
COSTLY_FIXTURES = {
    "oxigraph_summary": "remote-engines",
    "oxigraph_engine": "remote-engines",
    "virtuoso_engine": "remote-engines",
    "full_validation": "full-validation",
}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        groups = {COSTLY_FIXTURES[n] for n in item.fixturenames if n in COSTLY_FIXTURES}  # type: ignore[attr-defined]
        callspec = getattr(item, "callspec", None)
        # tests/backends: the `backend` fixture takes its engine by name, out of sight here
        if callspec is not None and callspec.params.get("backend") in ("oxigraph", "virtuoso"):
            groups.add("remote-engines")
        for group in sorted(groups):
            item.add_marker(pytest.mark.xdist_group(group))
        if groups:  # their fixture alone takes tens of seconds: not for the quick loop
            item.add_marker(pytest.mark.slow)


#: Where built stores are kept between test runs (ALLIANCE_TEST_CACHE overrides it): one
#: folder per checkout, so that two work trees do not remove each other's store as stale.
STORE_CACHE = (
    Path(os.environ.get("ALLIANCE_TEST_CACHE") or Path.home() / ".cache" / "alliance-tests")
    / hashlib.sha256(str(HERE.parent.resolve()).encode()).hexdigest()[:12]
)
#: The folders whose files decide what an ingest of the bundled sources publishes.
STORE_INPUTS = ("alliance", "ingest", "ontology", "shapes", "store")


def bundled_store_key() -> str:
    """A digest of everything an ingest of the bundled sources depends on: the code and data
    of the folders above, and the pyoxigraph that writes the store."""
    digest = hashlib.sha256(importlib.metadata.version("pyoxigraph").encode())
    root = HERE.parent
    for folder in STORE_INPUTS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def built_bundled_store() -> Path:
    """The bundled sources ingested into a store of the cache, built on the first run with
    these inputs and reused by later ones (each session works on a copy)."""
    STORE_CACHE.mkdir(parents=True, exist_ok=True)
    built = STORE_CACHE / f"bundled-store-{bundled_store_key()}"
    with open(STORE_CACHE / ".lock", "w") as lock:  # the other xdist worker may be building it
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.is_dir():
            for stale in STORE_CACHE.glob("bundled-store-*"):
                shutil.rmtree(stale, ignore_errors=True)
            building = STORE_CACHE / f".building-{os.getpid()}"
            shutil.rmtree(building, ignore_errors=True)
            with open_store(building) as store:
                summary = ingest(store, bundled_sources(), trusted=certified_report)
            assert {o.source for o in summary.outcomes} == {
                "ontology",
                "territories",
                "territory-history",
                "facts",
            }
            building.rename(built)
    return built


@pytest.fixture(scope="session")
def bundled_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store folder holding every bundled source: a copy, for this session, of the store
    built once for these inputs (see `built_bundled_store`)."""
    path = tmp_path_factory.mktemp("bundled") / "store"
    shutil.copytree(built_bundled_store(), path)
    return path


@pytest.fixture(scope="session")
def bundled_summary(bundled_store_dir: Path) -> Summary:
    """The summary of re-running ingest on the bundled store (everything unchanged)."""
    with open_store(bundled_store_dir) as store:
        return ingest(store, bundled_sources(), trusted=certified_report)


@pytest.fixture(scope="session")
def oxigraph_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """An Oxigraph server started for the session (tests/backends/engines.py)."""
    engines = sys.modules["alliance_tests_engines"]
    if engines.oxigraph_binary() is None:
        pytest.skip("the oxigraph binary is not installed (pip install oxigraph, the test extra)")
    engine = engines.start_oxigraph(tmp_path_factory.mktemp("oxigraph"))
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def oxigraph_summary(oxigraph_engine) -> Summary:  # noqa: ANN001
    """The bundled sources ingested into the session's Oxigraph server, as `alliance serve`
    does it. Publishing them there takes most of a minute, so the backend suite and the
    deployment tests share this one store; a test that changes it must leave it as it was."""
    access = {"update": oxigraph_engine.update, "gsp": oxigraph_engine.gsp}
    with open_store(oxigraph_engine.query, **access) as remote:
        return ingest(remote, bundled_sources(), trusted=certified_report)


@pytest.fixture(scope="session")
def store(bundled_store_dir: Path) -> Iterator[GraphStore]:
    """The bundled store, opened read-only: tests must not change it."""
    with open_store(bundled_store_dir, read_only=True) as opened:
        yield opened


@pytest.fixture(scope="session")
def full_validation(store: GraphStore):  # noqa: ANN201 - pyshacl's report type
    """A plain pySHACL run over every published triple, the reference that Alliance's own
    validations must equal. It takes tens of seconds, so the session runs it once."""
    from alliance.shapes.gate import validate

    return validate([t for g in store.graphs() for t in store.triples(g)])
