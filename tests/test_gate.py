"""The validation gate gives exactly the results of one full pySHACL run over the dataset."""

from __future__ import annotations

import pytest

from alliance.ingest.pipeline import gate
from alliance.ingest.reference.certificate import certified_report
from alliance.ingest.sources import bundled_sources
from alliance.store import GraphStore


@pytest.mark.slow
def test_gate_equals_full_pyshacl_over_the_published_dataset(
    store: GraphStore,
    full_validation,  # noqa: ANN001 - tests/conftest.py
) -> None:
    full = full_validation
    combined = set()
    for source in bundled_sources():
        triples = list(source.build())
        report = gate(source, triples, store, {}, certified_report)
        combined |= set(report.results)
    assert combined == set(full.results)
    assert not full.blocking
