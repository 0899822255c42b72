"""Incremental validation: after a change to one source, validate only what the change concerns.

The gate validates a source's subjects in the context of the dataset. When the source was
published before, its graph holds the report of that validation (`alli:lastValidation`).
If the shapes, the ontology and the software are those of that validation (the version key
says so), no other graph was published since (their `prov:generatedAtTime`) and no other
source changes now, then a subject's results can differ from the recorded ones only if its
shapes read a changed triple. `alliance.shapes.reach` lists the routes the shapes read along;
the focus nodes from which a route reaches a changed triple are validated again, over the
triples their routes read in the full gate's data graph, the others keep their recorded
results.

Whenever a condition fails, or the change is one the analysis cannot bound (a blank node, a
class hierarchy edit, an unbounded path), `incremental_report` answers None and the gate
validates the whole source as before. Graphs changed outside ingest (SPARQL Update, the graph
store protocol) are not traced: their changes leave no `prov:generatedAtTime`.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from alliance.ingest.published import published_key, version_key
from alliance.ingest.source import Source
from alliance.ingest.validate_inputs import description
from alliance.namespaces import ALLI, PROV, graph_iri
from alliance.shapes.gate import validate
from alliance.shapes.reach import Step, project_reach
from alliance.shapes.report import Report, report_from_record
from alliance.store.base import GraphStore

log = logging.getLogger(__name__)

CHUNK = 400  # nodes per VALUES clause


def incremental_report(
    source: Source,
    triples: list[Triple],
    store: GraphStore,
    pending: dict[NamedNode, list[Triple]],
    *,
    context: list[Triple],
    ontology: list[Triple],
) -> Report | None:
    """The gate's report for `triples`, validating only what changed; None: not applicable.

    `context` and `ontology` are what the full gate would add to the data graph.
    """
    graph = graph_iri(source.name)
    if set(pending) - {graph}:
        return None  # other sources change too: their effects on this one are not traced
    published = published_key(store, graph)
    if published is None or published.split(" ")[1:] != version_key(source).split(" ")[1:]:
        return None  # never published, or under other shapes, ontology or software
    recorded = _record(store, graph)
    if recorded is None or _published_since(store, graph):
        return None
    old = _source_triples(store, graph)
    removed, added = set(old) - set(triples), set(triples) - set(old)
    changed = removed | added
    if any(isinstance(t, BlankNode) for c in changed for t in (c.subject, c.object)):
        return None  # blank nodes have no identity across builds
    named = [
        (
            c.subject.value,
            c.predicate.value,
            c.object.value if isinstance(c.object, NamedNode) else None,
        )
        for c in changed
    ]
    try:
        affected = project_reach().affected(named, _Lookup([*old, *added], store, graph))
    except _GiveUp:
        return None
    if affected is None:
        return None
    subjects = {t.subject for t in triples if isinstance(t.subject, NamedNode)}
    focus = {s for s in subjects if s.value in affected}
    current = {str(s) for s in subjects}
    stale = {f"<{iri}>" for iri in affected}
    kept = [r for r in recorded.results if r.focus in current and r.focus not in stale]
    fresh = _validate(focus, [*triples, *context, *ontology]) if focus else Report()
    log.info(
        "%s: %d triple(s) changed, %d of %d subjects validated again",
        source.name,
        len(changed),
        len(focus),
        len(subjects),
    )
    return Report(sorted(set(kept) | set(fresh.results)))


def _validate(focus: set[NamedNode], data: list[Triple]) -> Report:
    """The focus nodes' results over `data`, given to pySHACL as just what they read.

    pySHACL validates every target of its data graph (its focus-node option changes results:
    it also skips nested shapes on values that are not focus nodes), so the data graph is cut
    down to the triples the focus nodes' routes read, and the class hierarchy.
    """
    out: dict[object, list[Triple]] = defaultdict(list)
    into: dict[object, list[Triple]] = defaultdict(list)
    for t in data:
        out[t.subject].append(t)
        into[t.object].append(t)

    def follow(nodes: set[object], steps: set[Step]) -> dict[tuple[object, Step], set]:
        found: dict[tuple[object, Step], set] = defaultdict(set)
        for x in nodes:
            for t in out.get(x, ()):
                if (t.predicate.value, True) in steps:
                    there = None if isinstance(t.object, Literal) else t.object
                    found[(x, (t.predicate.value, True))].add((t, there))
            for t in into.get(x, ()):
                if (t.predicate.value, False) in steps:
                    found[(x, (t.predicate.value, False))].add((t, t.subject))
        return found

    reach = project_reach()
    read = reach.read_by(focus, follow)
    hierarchy = [t for t in data if t.predicate.value in reach.everywhere]
    graph = list(dict.fromkeys([*read, *hierarchy]))  # type: ignore[list-item]
    log.debug("%d focus node(s) validated over %d of %d triples", len(focus), len(graph), len(data))
    return validate(graph, focus_nodes=focus)


def _record(store: GraphStore, graph: NamedNode) -> Report | None:
    rows = store.query(
        f"SELECT ?r WHERE {{ GRAPH {graph} {{ {graph} <{ALLI}lastValidation> ?r }} }}",
        union_default_graph=False,
    )
    for row in rows:
        try:
            return report_from_record(json.loads(row["r"].value))
        except (ValueError, TypeError, KeyError):
            log.warning("%s: unreadable validation record", graph.value)
            return None
    return None


def _published_since(store: GraphStore, graph: NamedNode) -> bool:
    """Whether another graph was published after `graph` (its record may not see it)."""
    return bool(
        store.query(
            f"""ASK {{ GRAPH {graph} {{ {graph} <{PROV}generatedAtTime> ?mine }}
                GRAPH ?g {{ ?g <{PROV}generatedAtTime> ?other }}
                FILTER(?g != {graph} && ?other > ?mine) }}""",
            union_default_graph=False,
        )
    )


def _source_triples(store: GraphStore, graph: NamedNode) -> list[Triple]:
    """The graph's triples as the source built them: without the PROV description."""
    described = set(description(store, graph))
    return [t for t in store.triples(graph) if t not in described]


class _GiveUp(Exception):
    """A route passes through a blank node of the store: it cannot be followed by name."""


class _Lookup:
    """One step back along routes: in this source's triples (old and new) and the store's."""

    def __init__(self, triples: list[Triple], store: GraphStore, own: NamedNode):
        self.store = store
        self.own = own
        self.into: dict[str, list[tuple[str, str]]] = defaultdict(list)  # x → (p, y): (y p x)
        self.out: dict[str, list[tuple[str, str]]] = defaultdict(list)  # x → (p, y): (x p y)
        for t in triples:
            if isinstance(t.object, NamedNode):
                self.into[t.object.value].append((t.predicate.value, t.subject.value))
                self.out[t.subject.value].append((t.predicate.value, t.object.value))

    def __call__(self, nodes: set[str], steps: set[Step]) -> dict[tuple[str, Step], set[str]]:
        forward = {p for p, ahead in steps if ahead}
        backward = {p for p, ahead in steps if not ahead}
        found: dict[tuple[str, Step], set[str]] = defaultdict(set)
        for x in nodes:
            for predicate, y in self.into.get(x, ()):
                if predicate in forward:
                    found[(x, (predicate, True))].add(y)
            for predicate, y in self.out.get(x, ()):
                if predicate in backward:
                    found[(x, (predicate, False))].add(y)
        for chunk in _chunks(sorted(nodes)):
            for x, step, y in self._in_store(chunk, forward, backward):
                found[(x, step)].add(y)
        return found

    def _in_store(
        self, nodes: list[str], forward: set[str], backward: set[str]
    ) -> Iterable[tuple[str, Step, str]]:
        parts = []
        if forward:
            parts.append(f"{{ ?y ?p ?x {_among('?p', forward)} BIND(true AS ?ahead) }}")
        if backward:
            parts.append(
                f"{{ ?x ?p ?y {_among('?p', backward)} FILTER(!isLiteral(?y)) "
                "BIND(false AS ?ahead) }"
            )
        if not parts:
            return
        values = " ".join(f"<{n}>" for n in nodes)
        rows = self.store.query(
            f"SELECT ?x ?p ?y ?ahead WHERE {{ VALUES ?x {{ {values} }} "
            f"GRAPH ?g {{ {' UNION '.join(parts)} }} FILTER(?g != {self.own}) }}",
            union_default_graph=False,
        )
        for row in rows:
            if not isinstance(row["y"], NamedNode):
                raise _GiveUp(row["y"])
            ahead = row["ahead"].value == "true"
            yield row["x"].value, (row["p"].value, ahead), row["y"].value


def _among(variable: str, predicates: Iterable[str]) -> str:
    return f"FILTER({variable} IN ({', '.join(f'<{p}>' for p in sorted(predicates))}))"


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
