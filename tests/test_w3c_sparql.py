"""Conformance: the W3C SPARQL 1.1 tests through our real HTTP endpoint (see tests/w3c/).

Reference points on this kind of machine, on the same 235 query evaluation tests:
Oxigraph server 0.5.13 passed 223, rdflib 7.6's engine behind a small HTTP wrapper 208.
Our engine is Oxigraph too, so the bar is Oxigraph's score.
"""

from __future__ import annotations

import logging
import secrets
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MINIMUM_PASSED = 223

log = logging.getLogger(__name__)


suite = sys.modules["alliance_tests_sparql_suite"]  # loaded by conftest.py
live = sys.modules["alliance_tests_live"]


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
