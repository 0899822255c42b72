"""What the validation of a focus node reads: which focus nodes a changed triple can concern.

Incremental validation (`alliance.ingest.incremental`) validates again, after a change, only
the focus nodes whose results the change can alter. A focus node's results depend only on
the triples its shapes read, and shapes read along known routes from the focus node: its
target triple, a property path to the values, a value's rdf:type (sh:class, then
rdfs:subClassOf upwards), nested shapes on the values, the triple patterns of a SHACL-SPARQL
query, joined to `$this`. `reach(shapes)` lists those routes once, as sequences of steps
(a predicate read forward, subject to object, or backward); every prefix of a route is one.

A changed triple (s, p, o) then concerns a focus node only if some route ends by reading it,
from s (p forward) or from o (p backward), and the rest of the route leads from the focus
node to there: `Reach.affected` walks the routes backwards from the changed triples over the
data (as it was and as it will be), one step for all of them at a time.

What cannot be bounded this way (`*` and `+` paths, SPARQL patterns not joined to `$this`,
variable predicates, sub-queries, SHACL features not known here, recursive shapes) leaves
the routes unknown, and a change to rdfs:subClassOf may change any node's classes: `affected`
answers None then and the caller validates everything, as before. For SPARQL, every simple
route through the query's patterns counts (UNION branches are not told apart: more routes,
never fewer). tests/test_incremental_validation.py compares the results with full pySHACL runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import TypeVar

from rdflib import Graph, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.term import BNode, Literal, Node

from alliance.shapes.gate import shapes_graph

log = logging.getLogger(__name__)

#: (predicate IRI, read forward): forward reads (x, p, y) from x, backward reads (y, p, x) from x.
Step = tuple[str, bool]
Route = tuple[Step, ...]
#: Longer routes are taken as unbounded (recursive shapes).
MAX_STEPS = 16
#: Parameters that read nothing beyond the value nodes themselves (or are not constraints).
NO_READ = {
    SH.datatype, SH.nodeKind, SH.minCount, SH.maxCount, SH.minExclusive, SH.minInclusive,
    SH.maxExclusive, SH.maxInclusive, SH.minLength, SH.maxLength, SH.pattern, SH.flags,
    SH.languageIn, SH.uniqueLang, SH["in"], SH.hasValue, SH.qualifiedMinCount,
    SH.qualifiedMaxCount, SH.qualifiedValueShapesDisjoint, SH.ignoredProperties,
    SH.name, SH.description, SH.message, SH.severity, SH.deactivated, SH.order, SH.group,
    SH.defaultValue, SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf,
    SH.path, SH.prefixes, SH.declare,
}  # fmt: skip
NESTED = {SH.node, SH.property, SH.qualifiedValueShape, SH["not"]}
NESTED_LISTS = {SH["or"], SH["and"], SH.xone}
COMPARED = {SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals}
TYPE = str(RDF.type)


@dataclass
class _Trie:
    """Routes read backwards: a node is reached after walking back some last steps."""

    children: dict[Step, _Trie] = field(default_factory=dict)
    start: bool = False  # some route begins here: the position reached is a focus node


#: `lookup(nodes, steps)` → for each (x, step) the nodes y from which `step` leads to x:
#: (y, p, x) for a forward step, (x, p, y) for a backward one; over the data before and after.
Lookup = Callable[[set[str], set[Step]], dict[tuple[str, Step], set[str]]]
N = TypeVar("N")
#: `follow(nodes, steps)` → for each (x, step) the (triple read, node reached) pairs.
Follow = Callable[[set[N], set[Step]], dict[tuple[N, Step], set[tuple[object, N | None]]]]


@dataclass(frozen=True)
class Reach:
    """Every route a focus node's validation reads along (None: not bounded)."""

    routes: frozenset[Route] | None
    everywhere: frozenset[str] = frozenset({str(RDFS.subClassOf)})  # a change here: all nodes

    def predicates(self) -> set[str]:
        return {p for route in self.routes or () for p, _ in route}

    def affected(
        self, changed: Iterable[tuple[str, str, str | None]], lookup: Lookup
    ) -> set[str] | None:
        """The nodes (IRIs) whose results the changed triples can alter; None: possibly any.

        `changed` holds (subject, predicate, object) IRIs, the object None for a literal.
        """
        if self.routes is None:
            return None
        root = _trie(self.routes)
        states: set[tuple[int, str]] = set()
        tries: dict[int, _Trie] = {}

        def add(node: _Trie | None, position: str | None, into: set[tuple[int, str]]) -> None:
            if node is not None and position is not None:
                tries[id(node)] = node
                into.add((id(node), position))

        for subject, predicate, obj in changed:
            if predicate in self.everywhere:
                return None
            add(root.children.get((predicate, True)), subject, states)
            add(root.children.get((predicate, False)), obj, states)
        found: set[str] = set()
        seen: set[tuple[int, str]] = set()
        while states:
            states -= seen
            seen |= states
            found |= {x for node, x in states if tries[node].start}
            steps = {s for node, _ in states for s in tries[node].children}
            if not steps:
                break
            before = lookup({x for _, x in states}, steps)
            following: set[tuple[int, str]] = set()
            for node, x in states:
                for step, child in tries[node].children.items():
                    for y in before.get((x, step), ()):
                        add(child, y, following)
            states = following
        return found

    def read_by(self, focus: Iterable[N], follow: Follow[N]) -> set[object]:
        """Every triple the given focus nodes' validation reads, walking the routes forward.

        `follow(nodes, steps)` answers, for each (x, step), the (triple, next node) pairs:
        (x, p, y) for a forward step, (y, p, x) for a backward one (next node None for a
        literal). Add rdfs:subClassOf triples for the classes (`everywhere`).
        """
        assert self.routes is not None
        states = {(id(_trie(self.routes, reverse=False)), node) for node in focus}
        tries = {id(_trie(self.routes, reverse=False)): _trie(self.routes, reverse=False)}
        read: set[object] = set()
        seen: set[tuple[int, N]] = set()
        while states:
            states -= seen
            seen |= states
            steps = {s for trie, _ in states for s in tries[trie].children}
            if not steps:
                break
            found = follow({x for _, x in states}, steps)
            following: set[tuple[int, N]] = set()
            for trie, x in states:
                for step, child in tries[trie].children.items():
                    for triple, there in found.get((x, step), ()):
                        read.add(triple)
                        if there is not None and child.children:
                            tries[id(child)] = child
                            following.add((id(child), there))
            states = following
        return read


@cache
def _trie(routes: frozenset[Route], reverse: bool = True) -> _Trie:
    """The routes as a tree of steps, read from their end (reverse) or their start."""
    root = _Trie()
    for route in routes:
        node = root
        for step in reversed(route) if reverse else route:
            node = node.children.setdefault(step, _Trie())
        node.start = True
    return root


class _Unbounded(Exception):
    """Something the analysis cannot bound: every node may be concerned."""


class _Walker:
    """Walks the shapes from their targets, collecting the routes they read along."""

    def __init__(self, shapes: Graph):
        self.shapes = shapes
        self.routes: set[Route] = set()
        self.seen: set[tuple[Node, Route]] = set()

    def read(self, route: Route) -> None:
        if len(route) > MAX_STEPS:
            raise _Unbounded(f"routes longer than {MAX_STEPS} steps (recursive shapes?)")
        for end in range(1, len(route) + 1):
            self.routes.add(route[:end])

    def targets(self, shape: Node) -> None:
        """A shape with targets: reading the target triple is a route of its own."""
        shapes = self.shapes
        implicit = any((shape, RDF.type, cls) in shapes for cls in (RDFS.Class, OWL.Class))
        if implicit or any(True for _ in shapes.objects(shape, SH.targetClass)):
            self.read(((TYPE, True),))
        for predicate in shapes.objects(shape, SH.targetSubjectsOf):
            self.read(((str(predicate), True),))
        for predicate in shapes.objects(shape, SH.targetObjectsOf):
            self.read(((str(predicate), False),))
        self.shape(shape, ())

    def shape(self, shape: Node, at: Route) -> None:
        """`shape` applied to the nodes reached from the focus node along `at`."""
        if (shape, at) in self.seen:
            return
        self.seen.add((shape, at))
        if len(at) > MAX_STEPS:
            raise _Unbounded(f"routes longer than {MAX_STEPS} steps (recursive shapes?)")
        shapes = self.shapes
        path = shapes.value(shape, SH.path)
        to_values = [at + extra for extra in self.path(path)] if path is not None else [at]
        for route in to_values:
            self.read(route)
        for parameter, value in shapes.predicate_objects(shape):
            if parameter in NO_READ or not str(parameter).startswith(str(SH)):
                continue
            if parameter == SH["class"]:  # and rdfs:subClassOf upwards: `everywhere`
                for route in to_values:
                    self.read((*route, (TYPE, True)))
            elif parameter in COMPARED:
                self.read((*at, (str(value), True)))
            elif parameter in NESTED:
                for route in to_values:
                    self.shape(value, route)
            elif parameter in NESTED_LISTS:
                for item in Collection(shapes, value):
                    for route in to_values:
                        self.shape(item, route)
            elif parameter == SH.sparql:
                self.sparql(value, at, path)
            elif parameter == SH.closed and value != Literal(True):
                continue
            else:
                raise _Unbounded(f"{parameter} is not analysed")

    def path(self, path: Node) -> list[Route]:
        """The routes of a SHACL property path (several for sh:alternativePath)."""
        shapes = self.shapes
        if isinstance(path, URIRef):
            return [((str(path), True),)]
        inverse = shapes.value(path, SH.inversePath)
        if isinstance(inverse, URIRef):
            return [((str(inverse), False),)]
        if inverse is not None:
            return [_reverse(route) for route in self.path(inverse)]
        alternatives = shapes.value(path, SH.alternativePath)
        if alternatives is not None:
            return [r for p in Collection(shapes, alternatives) for r in self.path(p)]
        optional = shapes.value(path, SH.zeroOrOnePath)
        if optional is not None:
            return [(), *self.path(optional)]
        if isinstance(path, BNode) and shapes.value(path, RDF.first) is not None:
            routes: list[Route] = [()]
            for part in Collection(shapes, path):
                routes = [r + extra for r in routes for extra in self.path(part)]
            return routes
        raise _Unbounded("a path of unbounded length (sh:zeroOrMorePath, sh:oneOrMorePath…)")

    def sparql(self, constraint: Node, at: Route, path: Node | None) -> None:
        """A SHACL-SPARQL constraint on the focus node: every simple route through its patterns."""
        from rdflib.plugins.sparql import prepareQuery

        text = self.shapes.value(constraint, SH.select) or self.shapes.value(constraint, SH.ask)
        if text is None:
            raise _Unbounded("a SPARQL constraint without sh:select or sh:ask")
        header = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in self.declared(constraint))
        path_mark = URIRef("urn:x-alliance:path")
        try:
            query = prepareQuery(header + str(text).replace("$PATH", f"<{path_mark}>"))
        except Exception as exc:  # noqa: BLE001 - an unreadable query is not analysed
            raise _Unbounded(f"SPARQL not analysed: {exc}") from exc
        edges: list[tuple[Node, list[Route], Node]] = []
        for subject, predicate, obj in _patterns(query.algebra):
            if predicate == path_mark:  # $PATH: the shape's own path
                if path is None:
                    raise _Unbounded("$PATH in a node shape's SPARQL constraint")
                edges.append((subject, self.path(path), obj))
            else:
                edges.append((subject, _sparql_routes(predicate), obj))
        this = Variable("this")
        reached = {this}
        grew = True
        while grew:  # every pattern must be joined to $this
            grew = False
            for subject, _, obj in edges:
                if (subject in reached) != (obj in reached):
                    reached |= {subject, obj}
                    grew = True
        if any(s not in reached for s, _, _ in edges):
            raise _Unbounded("a SPARQL pattern not joined to $this")

        def walk(node: Node, used: frozenset[int], route: Route) -> None:
            for index, (subject, routes, obj) in enumerate(edges):
                if index in used:
                    continue
                for forward, there in ((True, obj), (False, subject)):
                    if (subject if forward else obj) != node:
                        continue
                    for part in routes:
                        extended = route + (part if forward else _reverse(part))
                        self.read(extended)
                        walk(there, used | {index}, extended)

        walk(this, frozenset(), at)

    def declared(self, constraint: Node) -> list[tuple[str, str]]:
        found = []
        for owner in self.shapes.objects(constraint, SH.prefixes):
            for declaration in self.shapes.objects(owner, SH.declare):
                prefix = self.shapes.value(declaration, SH.prefix)
                namespace = self.shapes.value(declaration, SH.namespace)
                if prefix is not None and namespace is not None:
                    found.append((str(prefix), str(namespace)))
        return found


def _reverse(route: Route) -> Route:
    return tuple((predicate, not forward) for predicate, forward in reversed(route))


def _patterns(algebra: object) -> list[tuple[Node, Node, Node]]:
    """Every triple pattern of a query's algebra, EXISTS and NOT EXISTS included."""
    from rdflib.plugins.sparql.parserutils import CompValue

    found: list[tuple[Node, Node, Node]] = []
    stack = [algebra]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name in ("SubSelect", "ServiceGraphPattern", "GraphGraphPattern", "Graph"):
                raise _Unbounded(f"SPARQL {node.name} not analysed")
            if node.name in ("BGP", "TriplesBlock"):
                for triple in node.get("triples") or ():
                    subject, predicate, obj = triple
                    if isinstance(predicate, Variable):
                        raise _Unbounded("a SPARQL pattern with a variable predicate")
                    found.append((subject, predicate, obj))
            stack.extend(dict.values(node))
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return found


def _sparql_routes(predicate: object) -> list[Route]:
    """The routes of a SPARQL predicate or property path."""
    if isinstance(predicate, URIRef):
        return [((str(predicate), True),)]
    if isinstance(predicate, SequencePath):
        routes: list[Route] = [()]
        for arg in predicate.args:
            routes = [r + extra for r in routes for extra in _sparql_routes(arg)]
        return routes
    if isinstance(predicate, AlternativePath):
        return [r for arg in predicate.args for r in _sparql_routes(arg)]
    if isinstance(predicate, InvPath):
        return [_reverse(r) for r in _sparql_routes(predicate.arg)]
    if isinstance(predicate, MulPath) and predicate.mod == "?":
        return [(), *_sparql_routes(predicate.path)]
    raise _Unbounded(f"SPARQL predicate {predicate!r} not analysed")


def reach(shapes: Graph) -> Reach:
    """The routes the shapes read along, from every shape with a target."""
    walker = _Walker(shapes)
    targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
    tops = {s for t in targets for s in shapes.subjects(t, None)}
    tops |= {  # a shape that is also a class targets its instances
        s
        for c in (RDFS.Class, OWL.Class)
        for s in shapes.subjects(RDF.type, c)
        if any((s, RDF.type, k) in shapes for k in (SH.NodeShape, SH.PropertyShape))
    }
    try:
        for shape in sorted(tops, key=str):
            walker.targets(shape)
    except _Unbounded as exc:
        log.info("incremental validation off: %s", exc)
        return Reach(None)
    return Reach(frozenset(walker.routes))


@cache
def project_reach() -> Reach:
    """The routes of the project's shapes, analysed once per process."""
    return reach(shapes_graph())
