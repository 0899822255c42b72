"""Conformance: the W3C SPARQL 1.1 tests through our real HTTP endpoint (see tests/w3c/).

Reference points on this kind of machine, on the same 235 query evaluation tests:
Oxigraph server 0.5.13 passed 223, rdflib 7.6's engine behind a small HTTP wrapper 208.
Our engine is Oxigraph too, so the bar is Oxigraph's score.
"""

from __future__ import annotations

import importlib.util
import logging
import secrets
import sys
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
MINIMUM_PASSED = 223

log = logging.getLogger(__name__)


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


suite = load_module("alliance_tests_sparql_suite", HERE / "w3c" / "sparql_suite.py")
live = load_module("alliance_tests_live", HERE / "server" / "live.py")


@pytest.mark.slow
def test_w3c_sparql11(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not suite.SUITE.is_dir():
        pytest.skip(f"the W3C SPARQL 1.1 suite is not at {suite.SUITE}")
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    server = live.start_server(store_dir, tmp_path / "server.log", token=secrets.token_urlsafe(16))
    try:
        report = suite.run_suite(server.url, server.token)
    finally:
        server.stop()
    with capsys.disabled():
        print("\n" + report.text())
    log.info("%s", report.text())
    passed = report.passed(report.queries)
    assert len(report.queries) == 235
    assert passed >= MINIMUM_PASSED, report.text()
    bad_requests = [o for o in report.protocol if o.name.startswith("bad_")]
    assert bad_requests and all(o.passed for o in bad_requests), report.text()
    assert all(o.passed for o in report.protocol), report.text()
