"""The validation gate: pySHACL over the project's shapes, fast enough for every ingest.

A full pySHACL run over the territories takes 8–10 s here, so the gate
validates only what a change can affect, with results identical to a full
run over the whole published dataset:

* a source's own subjects are the focus nodes; the data graph holds the
  source, the ontology (for sub-class reasoning in sh:class and targets) and
  every triple the other graphs state about the nodes the source mentions;
* the territories snapshot is validated in full when it is rebuilt, and the
  outcome is recorded beside it (`ingest/reference/validation.json`) with the
  checksums it depends on; ingest trusts that record only while the snapshot,
  the shapes and the ontology are byte-identical, and validates in full otherwise.

tests/test_gate.py and bench/ingest.py compare the gate with a full run.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from pyoxigraph import NamedNode, RdfFormat, Triple, serialize
from rdflib import Graph

from alliance.shapes import shapes_files
from alliance.shapes.report import Report, read_report

log = logging.getLogger(__name__)


def files_checksum(paths: Iterable[Path]) -> str:
    """sha256 over the names and bytes of `paths`, in name order."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: (p.name, str(p))):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


@cache
def _shapes_graph(paths: tuple[Path, ...]) -> Graph:
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


def shapes_graph(paths: Iterable[Path] | None = None) -> Graph:
    """The shapes to validate with (the project's by default), parsed once."""
    return _shapes_graph(tuple(paths) if paths is not None else tuple(shapes_files()))


def to_rdflib(triples: Iterable[Triple]) -> Graph:
    """An rdflib Graph holding `triples` (through N-Triples, serialised by pyoxigraph)."""
    graph = Graph()
    data = serialize(list(triples), format=RdfFormat.N_TRIPLES)
    if data:
        graph.parse(data=data, format="nt")
    return graph


def results_graph(data: Graph, shapes: Graph | None = None) -> Graph:
    """pySHACL's `sh:ValidationReport` graph for `data` (SHACL Core and SHACL-SPARQL, no inference).

    The one place pySHACL's options are chosen, so that the gate and `alliance validate`
    agree. `data` may be changed in place (it is not copied, for speed).
    """
    import pyshacl  # slow to import; only paid when something is validated

    _conforms, graph, _text = pyshacl.validate(
        data,
        shacl_graph=shapes if shapes is not None else shapes_graph(),
        inference="none",
        advanced=True,
        allow_infos=True,
        allow_warnings=True,
        inplace=True,
    )
    return graph


def validate(
    data: Graph | Iterable[Triple],
    *,
    focus_nodes: Iterable[NamedNode] | None = None,
    shapes: Graph | None = None,
) -> Report:
    """Validate `data` with pySHACL (SHACL Core and SHACL-SPARQL, no inference).

    With `focus_nodes`, only results about those nodes are kept; the data
    graph must hold what their shapes read. (pySHACL's own focus-node option
    is quadratic in the number of nodes, so the filter is applied afterwards.)
    """
    focus = {str(n) for n in focus_nodes} if focus_nodes is not None else None
    if focus is not None and not focus:
        return Report()
    graph = data if isinstance(data, Graph) else to_rdflib(data)
    report = read_report(results_graph(graph, shapes))
    if focus is not None:
        report = Report([r for r in report.results if r.focus in focus])
    return report
