"""What `alliance validate` validates: curated tables, RDF files or the store, each in its context.

The project's shapes read beyond a node's own triples: sh:class follows rdfs:subClassOf in the
ontology, a commitment's author must be a party of its agreement, a party may be a reference
territory. So, as the ingest gate does, each input is validated with the ontology and what the rest
of the dataset states about the nodes it mentions, and only results about its own subjects count:

* FILEs with a store: the rest is the store as ingest would leave it (`neighbourhood`);
* FILEs without a store: the bundled sources (ontology, territories, facts), as a fresh ingest
  would see them; a curated folder takes the place of the bundled facts;
* the store: each graph with the gate's logic; the territories graph reuses its certificate while
  it holds exactly the certified inputs (the full validation is proven equal, tests/test_gate.py).

With the user's own shapes (--shapes) nothing is added: the data graph is exactly the FILEs (or
every graph of the store), which makes the command a plain SHACL validator.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pyoxigraph import NamedNode, Triple
from rdflib import Graph, URIRef
from rdflib.term import Node

from alliance.ingest.curated import CuratedFacts
from alliance.ingest.published import CHUNK, neighbourhood, published_key, version_key
from alliance.ingest.rdf_files import file_source, ontology_source, parse_file
from alliance.ingest.reference.certificate import CERTIFICATES, certified_report
from alliance.ingest.source import SourceError
from alliance.ingest.sources import bundled_sources
from alliance.namespaces import PROV, graph_iri
from alliance.problems import Problem
from alliance.shapes.curator_report import LABEL_PREDICATES, Location, Run
from alliance.shapes.gate import results_graph, to_rdflib
from alliance.shapes.report import Report
from alliance.store.base import GraphStore

log = logging.getLogger(__name__)

ONTOLOGY_GRAPH = graph_iri("ontology")


@dataclass
class Loaded:
    """One FILE argument, built: its graph name, its triples, and where its subjects come from."""

    name: str  # the graph it would be ingested into (`id:graph/{name}`)
    shown: str  # the path as the user gave it
    triples: list[Triple]
    rows: dict[str, tuple[str, int]] = field(default_factory=dict)  # curated: IRI → (table, row)

    def locate(self, node: Node) -> Location:
        if str(node) in self.rows:
            table, row = self.rows[str(node)]
            return Location(file=str(Path(self.shown) / table), row=row)
        return Location(file=self.shown)


def load_inputs(paths: Iterable[Path]) -> tuple[list[Loaded], list[Problem]]:
    """Build every FILE: a folder (or a .csv) of curated tables, or an RDF file.

    The curated tables' problems are returned (the curator fixes them like shape results);
    a malformed or unknown RDF file raises SourceError (an error, not a validation result).
    """
    loaded: list[Loaded] = []
    problems: list[Problem] = []
    folders: set[Path] = set()
    for path in paths:
        if path.is_dir() or path.suffix.lower() == ".csv":
            folder = path if path.is_dir() else path.parent
            if folder.resolve() in folders:
                continue
            folders.add(folder.resolve())
            taken = sum(1 for item in loaded if item.name.startswith("facts"))
            source = CuratedFacts(folder, name="facts" if not taken else f"facts-{taken + 1}")
            try:
                triples = list(source.build())
            except SourceError as exc:
                problems += [_under(folder, p) for p in exc.problems]
                continue
            loaded.append(Loaded(source.name, str(folder), triples, dict(source.locations)))
        else:
            triples = list(parse_file(path))
            loaded.append(Loaded(file_source(path).name, str(path), triples))
    return loaded, problems


def _under(folder: Path, problem: Problem) -> Problem:
    """A curated table's problem, its file named with the folder the user gave."""
    return Problem(
        file=str(folder / problem.file),
        message=problem.message,
        row=problem.row,
        line=problem.line,
        column=problem.column,
        field=problem.field,
    )


def load_shapes(paths: Iterable[Path]) -> Graph:
    """The user's shapes graph: the union of the files (SourceError when one is malformed)."""
    return to_rdflib([t for path in paths for t in parse_file(path)])


# --- files ----------------------------------------------------------------------------------------


def _subjects(triples: Iterable[Triple]) -> set[Node]:
    return {URIRef(t.subject.value) for t in triples if isinstance(t.subject, NamedNode)}


@cache
def bundled_graphs() -> dict[NamedNode, list[Triple]]:
    """The bundled sources' triples by graph (built once per process: territories take ~4 s)."""
    return {graph_iri(s.name): list(s.build()) for s in bundled_sources()}


def _mentioned(triples: Iterable[Triple]) -> set[NamedNode]:
    nodes = {t.subject for t in triples if isinstance(t.subject, NamedNode)}
    return nodes | {t.object for t in triples if isinstance(t.object, NamedNode)}


def validate_files(
    loaded: list[Loaded], shapes: Graph | None = None, store: GraphStore | None = None
) -> list[Run]:
    """One run per FILE in its context (project's shapes), or one run over them all (`shapes`)."""
    if shapes is not None:
        owners = {str(s): item for item in loaded for s in _subjects(item.triples)}
        data = to_rdflib([t for item in loaded for t in item.triples])

        def locate(node: Node) -> Location | None:
            owner = owners.get(str(node))
            return owner.locate(node) if owner else None

        return [Run(results=results_graph(data, shapes), data=data, locate=locate)]
    pending = {graph_iri(item.name): item.triples for item in loaded}
    if store is not None:
        ontology = list(store.triples(ONTOLOGY_GRAPH)) or list(ontology_source().build())
    else:
        others = {g: ts for g, ts in bundled_graphs().items() if g not in pending}
        ontology = others.get(ONTOLOGY_GRAPH, [])
        everything = others | pending
    runs = []
    for item in loaded:
        own = graph_iri(item.name)
        if store is not None:
            context = neighbourhood(store, item.triples, pending=pending, own_graph=own)
        else:
            nodes = _mentioned(item.triples)
            context = [
                t for g, ts in everything.items() if g != own for t in ts if t.subject in nodes
            ]
        data = to_rdflib([*item.triples, *context, *ontology])
        runs.append(
            Run(
                results=results_graph(data),
                data=data,
                keep=_subjects(item.triples),
                locate=item.locate,
            )
        )
        log.info("%s: validated with %d context triples", item.shown, len(context))
    return runs


# --- the store ------------------------------------------------------------------------------------


def validate_store(store: GraphStore, shapes: Graph | None = None) -> list[Run]:
    """Runs covering every published graph: with the gate's logic, or all at once (`shapes`)."""
    if shapes is not None:
        data = to_rdflib([t for g in store.graphs() for t in store.triples(g)])
        return [Run(results=results_graph(data, shapes), data=data)]
    sources = primary_sources(store)
    ontology = list(store.triples(ONTOLOGY_GRAPH))
    runs = []
    for graph in store.graphs():
        where = Location(graph=graph.value, sources=sources.get(graph.value, ()))

        def locate(node: Node, where: Location = where) -> Location:
            return where

        certified = certified_graph(store, graph)
        if certified is not None:
            log.info("%s: certified validation reused", graph.value)
            runs.append(Run(report=certified, locate=locate))
            triples = description(store, graph)  # what ingest added: its PROV description
            pending: dict[NamedNode, list[Triple]] = {}  # so the graph's own triples are context
        else:
            triples = list(store.triples(graph))
            pending = {graph: triples}  # every own triple is already in the data graph
        if not triples:
            continue
        context = neighbourhood(store, triples, pending=pending, own_graph=graph)
        extra = ontology if graph != ONTOLOGY_GRAPH else []
        data = to_rdflib([*triples, *context, *extra])
        runs.append(
            Run(results=results_graph(data), data=data, keep=_subjects(triples), locate=locate)
        )
    return runs


def certified_graph(store: GraphStore, graph: NamedNode) -> Report | None:
    """A bundled source's certificate, if the store's graph holds exactly the certified inputs."""
    for source in bundled_sources():
        if source.name in CERTIFICATES and graph_iri(source.name) == graph:
            if published_key(store, graph) != version_key(source):
                return None
            return certified_report(source)
    return None


def description(store: GraphStore, graph: NamedNode) -> list[Triple]:
    """The PROV description ingest stores in a graph (the graph, its activity, inputs, agent)."""
    found = store.query(
        f"""SELECT DISTINCT ?s WHERE {{ GRAPH {graph} {{
            {{ {graph} ?p ?o BIND({graph} AS ?s) }}
            UNION {{ {graph} <{PROV}wasGeneratedBy>|<{PROV}wasDerivedFrom> ?s }}
            UNION {{ {graph} <{PROV}wasGeneratedBy>/<{PROV}wasAssociatedWith> ?s }}
        }} }}""",
        union_default_graph=False,
    )
    subjects = [row["s"] for row in found if isinstance(row["s"], NamedNode)]
    if not subjects:
        return []
    values = " ".join(str(s) for s in subjects)
    return list(
        store.query(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {values} }} "
            f"GRAPH {graph} {{ ?s ?p ?o }} }}",
            union_default_graph=False,
        )
    )


def primary_sources(store: GraphStore) -> dict[str, tuple[str, ...]]:
    """Each graph's prov:hadPrimarySource, as stored in the graph's own description."""
    found: dict[str, list[str]] = {}
    rows = store.query(
        f"SELECT ?g ?src WHERE {{ GRAPH ?g {{ ?g <{PROV}hadPrimarySource> ?src }} }}",
        union_default_graph=False,
    )
    for row in rows:
        found.setdefault(row["g"].value, []).append(row["src"].value)
    return {g: tuple(sorted(srcs)) for g, srcs in found.items()}


# --- look-ups for the report ----------------------------------------------------------------------


def _chunks(iris: list[URIRef]) -> Iterable[str]:
    for start in range(0, len(iris), CHUNK):
        yield " ".join(f"<{iri}>" for iri in iris[start : start + CHUNK])


def store_labels(store: GraphStore, iris: list[URIRef]) -> dict[URIRef, list[tuple[str, str]]]:
    """(language, label) pairs of each IRI in any graph, the preferred predicates first."""
    rank = {str(p): i for i, p in enumerate(LABEL_PREDICATES)}
    predicates = " ".join(f"<{p}>" for p in LABEL_PREDICATES)
    found: dict[URIRef, list[tuple[int, str, str]]] = {}
    for values in _chunks(iris):
        rows = store.query(
            f"SELECT ?s ?p ?l WHERE {{ VALUES ?s {{ {values} }} VALUES ?p {{ {predicates} }} "
            "?s ?p ?l FILTER(isLiteral(?l)) }"
        )
        for row in rows:
            literal = row["l"]
            found.setdefault(URIRef(row["s"].value), []).append(
                (rank[row["p"].value], literal.language or "", literal.value)
            )
    return {iri: [(lang, text) for _, lang, text in sorted(pairs)] for iri, pairs in found.items()}


def store_locations(store: GraphStore, iris: list[URIRef]) -> dict[URIRef, Location]:
    """The graph holding each IRI's triples (the first, by name) and that graph's sources."""
    sources = primary_sources(store)
    found: dict[URIRef, Location] = {}
    for values in _chunks(iris):
        rows = store.query(
            f"SELECT DISTINCT ?s ?g WHERE {{ VALUES ?s {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} "
            "ORDER BY ?g",
            union_default_graph=False,
        )
        for row in rows:
            graph = row["g"].value
            found.setdefault(
                URIRef(row["s"].value), Location(graph=graph, sources=sources.get(graph, ()))
            )
    return found
