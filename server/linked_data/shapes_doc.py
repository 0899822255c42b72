"""The SHACL shapes, documented for people: what each checks, on what, how severely, in which words.

Read from the same parsed shapes graph the validation uses (`alliance.shapes.gate.shapes_graph`),
so the page documents exactly what is enforced. Constraints are written the way a curator reads
them (a property path in SPARQL syntax, `minCount 1`, `in (pr:rural pr:periurban)`); shapes
referring to other shapes (sh:property, sh:or, sh:qualifiedValueShape…) link to them, and each
shape lists the shapes that use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD
from rdflib.term import BNode, Node

from alliance.shapes.gate import shapes_graph
from alliance.shapes.render import Namer, path_text

SHAPE_TYPES = (SH.NodeShape, SH.PropertyShape)
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
#: Parameters whose value is a single term, in the order they are shown.
VALUE_PARAMETERS = (
    SH["class"],
    SH.datatype,
    SH.nodeKind,
    SH.minCount,
    SH.maxCount,
    SH.minInclusive,
    SH.maxInclusive,
    SH.minExclusive,
    SH.maxExclusive,
    SH.minLength,
    SH.maxLength,
    SH.pattern,
    SH.flags,
    SH.uniqueLang,
    SH.hasValue,
    SH.equals,
    SH.disjoint,
    SH.lessThan,
    SH.lessThanOrEquals,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.qualifiedValueShapesDisjoint,
    SH.closed,
)
#: Parameters whose value is a list of terms.
LIST_PARAMETERS = (SH["in"], SH.languageIn, SH.ignoredProperties)
#: Parameters pointing to other shapes: one each, or a list.
SHAPE_PARAMETERS = (SH.node, SH.property, SH.qualifiedValueShape, SH["not"])
SHAPE_LIST_PARAMETERS = (SH["or"], SH["and"], SH.xone)
PLAIN_DATATYPES = {XSD.integer, XSD.decimal, XSD.double, XSD.boolean}


@dataclass
class Constraint:
    """One parameter of a shape, readable: `minCount` `1`, or the shapes it points to."""

    name: str
    text: str = ""
    shapes: list[str] = field(default_factory=list)  # anchors of shapes (links)
    sparql: str | None = None  # a SPARQL constraint's query, shown collapsed


@dataclass
class ShapeDoc:
    """Everything the /shapes page says about one shape."""

    iri: str
    anchor: str  # the local name: the page's fragment (`/shapes#LabelFr`)
    kind: str  # NodeShape or PropertyShape
    names: dict[str, str]  # language → sh:name
    descriptions: dict[str, str]
    messages: dict[str, str]
    severity: str  # sh:severity, SHACL's default Violation when absent
    targets: list[Constraint]
    constraints: list[Constraint]
    used_by: list[str] = field(default_factory=list)  # anchors of the shapes that use this one
    deactivated: bool = False

    def name(self, lang: str) -> str:
        for wanted in (lang, "en", "fr", ""):
            if wanted in self.names:
                return self.names[wanted]
        return self.anchor


def _texts(graph: Graph, node: Node, predicate: URIRef) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in graph.objects(node, predicate):
        if isinstance(value, Literal):
            found.setdefault(value.language or "", str(value))
    return found


def _local(iri: Node) -> str:
    text = str(iri)
    return text.rsplit("#", 1)[-1] if "#" in text else text.rsplit("/", 1)[-1]


class _Reader:
    """Turns the shapes graph's terms into the page's texts and links."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.namer = Namer(graph)
        self.shapes = {
            s for t in SHAPE_TYPES for s in graph.subjects(RDF.type, t) if isinstance(s, URIRef)
        }

    def term(self, node: Node) -> str:
        """Numbers and booleans as they are, strings quoted, IRIs with the project's prefixes."""
        if isinstance(node, Literal) and node.datatype in PLAIN_DATATYPES:
            return str(node)
        return self.namer.term(node)

    def items(self, node: Node) -> list[Node]:
        return list(Collection(self.graph, node)) if isinstance(node, BNode) else [node]

    def shape_refs(self, nodes: list[Node]) -> tuple[list[str], list[str]]:
        """(anchors of the named shapes, texts of the anonymous ones)."""
        anchors = [_local(n) for n in nodes if n in self.shapes]
        others = [self.term(n) for n in nodes if n not in self.shapes]
        return anchors, others

    def sparql(self, node: Node) -> Constraint:
        name = _texts(self.graph, node, SH.name)
        select = self.graph.value(node, SH.select) or self.graph.value(node, SH.ask)
        title = name.get("en") or name.get("fr")
        text = f"{title} ({self.term(node)})" if title else self.term(node)
        return Constraint("sparql", text, sparql=_dedent(str(select)) if select else None)

    def constraints(self, shape: URIRef) -> list[Constraint]:
        graph = self.graph
        found: list[Constraint] = []
        path = graph.value(shape, SH.path)
        if path is not None:
            found.append(Constraint("path", path_text(graph, path, self.namer.iri) or ""))
        for parameter in VALUE_PARAMETERS:
            for value in graph.objects(shape, parameter):
                found.append(Constraint(_local(parameter), self.term(value)))
        for parameter in LIST_PARAMETERS:
            for value in graph.objects(shape, parameter):
                terms = " ".join(self.term(item) for item in self.items(value))
                found.append(Constraint(_local(parameter), f"({terms})"))
        for parameter in SHAPE_PARAMETERS:
            values = sorted(graph.objects(shape, parameter), key=str)
            if values:
                anchors, others = self.shape_refs(values)
                found.append(Constraint(_local(parameter), " ".join(others), anchors))
        for parameter in SHAPE_LIST_PARAMETERS:
            for value in graph.objects(shape, parameter):
                anchors, others = self.shape_refs(self.items(value))
                found.append(Constraint(_local(parameter), " ".join(others), anchors))
        for value in graph.objects(shape, SH.sparql):
            found.append(self.sparql(value))
        return found

    def targets(self, shape: URIRef) -> list[Constraint]:
        return [
            Constraint(_local(parameter), self.term(value))
            for parameter in TARGETS
            for value in sorted(self.graph.objects(shape, parameter), key=str)
        ]


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text.strip("\n")).strip()


def document(graph: Graph) -> list[ShapeDoc]:
    """Every named node and property shape of `graph`, sorted by name, with its uses."""
    reader = _Reader(graph)
    docs: dict[str, ShapeDoc] = {}
    for shape in sorted(reader.shapes, key=lambda s: _local(s).casefold()):
        severity = graph.value(shape, SH.severity)
        kind = "NodeShape" if (shape, RDF.type, SH.NodeShape) in graph else "PropertyShape"
        docs[_local(shape)] = ShapeDoc(
            iri=str(shape),
            anchor=_local(shape),
            kind=kind,
            names=_texts(graph, shape, SH.name),
            descriptions=_texts(graph, shape, SH.description),
            messages=_texts(graph, shape, SH.message),
            severity=_local(severity) if severity is not None else "Violation",
            targets=reader.targets(shape),
            constraints=reader.constraints(shape),
            deactivated=str(graph.value(shape, SH.deactivated)).lower() == "true",
        )
    for doc in docs.values():
        for constraint in doc.constraints:
            for anchor in constraint.shapes:
                if anchor in docs and doc.anchor not in docs[anchor].used_by:
                    docs[anchor].used_by.append(doc.anchor)
    return list(docs.values())


@cache
def project_shapes() -> list[ShapeDoc]:
    """The project's shapes, documented once per process (the files do not change under it)."""
    return document(shapes_graph())
