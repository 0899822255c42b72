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
import threading
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import rdflib
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize
from rdflib import BNode, Graph, URIRef
from rdflib.term import Node

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


XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
PREPARED_LIMIT = 256  # distinct SPARQL texts kept per thread (the shapes hold a handful)
_prepared = threading.local()


class PreparedQueryGraph(Graph):
    """An rdflib Graph that parses each SPARQL text once per thread, then reuses it.

    pySHACL runs a SHACL-SPARQL constraint once per focus node, and rdflib parses the query
    text at each call: over the curated facts that parsing was more than half of the gate's
    time. A prepared query is evaluated exactly as its text would be (same namespaces, same
    bindings); the cache is per thread because rdflib does not promise that evaluating one
    query object is thread-safe.
    """

    def query(self, query_object: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query_object, str):
            query_object = self._prepare(query_object, args, kwargs)
        return super().query(query_object, *args, **kwargs)

    def _prepare(self, text: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        from rdflib.plugins.sparql.algebra import translateQuery
        from rdflib.plugins.sparql.parser import parseQuery

        given = args[2] if len(args) > 2 else kwargs.get("initNs")
        namespaces = dict(given or self.namespaces())  # what Graph.query would parse with
        base = kwargs.get("base")
        key = (text, tuple(sorted((k, str(v)) for k, v in namespaces.items())), base)
        cache: dict[object, Any] | None = getattr(_prepared, "queries", None)
        if cache is None or len(cache) >= PREPARED_LIMIT:
            cache = _prepared.queries = {}
        found = cache.get(key)
        if found is None:
            found = cache[key] = translateQuery(parseQuery(text), base, namespaces)
        return found


def _rdflib_term(term: object, memo: dict[object, Node]) -> Node:
    found = memo.get(term)
    if found is not None:
        return found
    if isinstance(term, NamedNode):
        found = URIRef(term.value)
    elif isinstance(term, BlankNode):
        found = BNode(term.value)
    elif isinstance(term, Literal):
        if term.language:
            found = rdflib.Literal(term.value, lang=term.language)
        else:
            datatype = term.datatype.value
            found = rdflib.Literal(
                term.value, datatype=None if datatype == XSD_STRING else URIRef(datatype)
            )
    else:
        raise TypeError(f"no rdflib term for {term!r}")
    memo[term] = found
    return found


def to_rdflib(triples: Iterable[Triple]) -> Graph:
    """An rdflib Graph holding `triples`, ready for pySHACL (see PreparedQueryGraph).

    Terms are converted one by one, as rdflib's N-Triples parser would build them (a plain
    literal has no datatype), which is about twice as fast as serialising and parsing.
    """
    graph = PreparedQueryGraph()
    items = list(triples)
    memo: dict[object, Node] = {}
    try:
        converted = [
            (
                _rdflib_term(t.subject, memo),
                _rdflib_term(t.predicate, memo),
                _rdflib_term(t.object, memo),
            )
            for t in items
        ]
    except TypeError:  # e.g. an RDF-star quoted triple: let rdflib's parser say what it makes of it
        data = serialize(items, format=RdfFormat.N_TRIPLES)
        if data:
            graph.parse(data=data, format="nt")
        return graph
    add = graph.add
    for triple in converted:
        add(triple)
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

    With `focus_nodes`, only results about those nodes are kept; the data graph must hold
    what their shapes read. (pySHACL's own focus-node option is not used: it is quadratic in
    the number of nodes, and it also skips nested shapes on values that are not focus nodes,
    such as sh:qualifiedValueShape on literals, which changes results.)
    """
    focus = {str(n) for n in focus_nodes} if focus_nodes is not None else None
    if focus is not None and not focus:
        return Report()
    graph = data if isinstance(data, Graph) else to_rdflib(data)
    report = read_report(results_graph(graph, shapes))
    if focus is not None:
        report = Report([r for r in report.results if r.focus in focus])
    return report
