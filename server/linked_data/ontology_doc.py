"""Documentation of the ontology, the SKOS schemes and the shapes, read from their files.

The ontology page is pyLODE's rendering of `ontology/alliance.ttl`. pyLODE takes a few
seconds, so it runs once per process and its HTML is kept; if it fails (a pyLODE release
that breaks on import or on our file), the error is logged and a plain listing of the
classes and properties, rendered by our own template, is served instead.

The files are also loaded into small in-memory stores: the vocabulary pages use them when
the store holds no ontology graph yet, and the shapes page always does (shapes are not data).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Store, parse

from alliance.namespaces import ALLI, OWL, PREFIXES, RDF, RDFS, SH, graph_iri
from alliance.ontology import ONTOLOGY_FILE, ontology_files, vocab_files
from alliance.server.linked_data.describe import MemorySource
from alliance.shapes import shapes_files

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pylode_html: str | None = None
_pylode_failed = False


def pylode_html() -> str | None:
    """pyLODE's page for the ontology, generated at the first call; None if pyLODE failed."""
    global _pylode_html, _pylode_failed
    with _lock:
        if _pylode_html is None and not _pylode_failed:
            try:
                from pylode import OntPub

                _pylode_html = OntPub(ontology=str(ONTOLOGY_FILE)).make_html()
            except Exception:  # noqa: BLE001 - any pyLODE failure falls back to our listing
                log.exception(
                    "pyLODE could not document %s; serving the plain listing", ONTOLOGY_FILE
                )
                _pylode_failed = True
        return _pylode_html


def _load(files: list[Path], graph: NamedNode) -> Store:
    store = Store()
    for path in files:
        with open(path, "rb") as handle:
            store.bulk_extend(
                Quad(t.subject, t.predicate, t.object, graph)
                for t in parse(handle, format=RdfFormat.TURTLE, base_iri=path.as_uri())
            )
    return store


@cache
def ontology_source() -> MemorySource:
    """The ontology and SKOS scheme files, as the `id:graph/ontology` graph would hold them."""
    return MemorySource(_load(ontology_files(), graph_iri("ontology")))


@cache
def ontology_only() -> Store:
    """`alliance.ttl` alone (the document served at /ontology)."""
    return _load([ONTOLOGY_FILE], graph_iri("ontology"))


@cache
def vocab_store() -> Store:
    return _load(vocab_files(), graph_iri("ontology"))


@cache
def shapes_store() -> Store:
    return _load(shapes_files(), NamedNode("https://w3id.org/alliance/shapes"))


def texts(store: Store, subject: NamedNode, predicate: str) -> dict[str, str]:
    """Literal values of one predicate, by language ('' for none)."""
    found: dict[str, str] = {}
    for quad in store.quads_for_pattern(subject, NamedNode(predicate), None, None):
        if isinstance(quad.object, Literal):
            found.setdefault(quad.object.language or "", quad.object.value)
    return found


@dataclass(frozen=True)
class Term:
    """A class or property for the plain listing."""

    iri: str
    name: str
    label_fr: str | None
    label_en: str | None
    comment_fr: str | None
    comment_en: str | None
    kind: str


KINDS = {
    f"{OWL}Class": "class",
    f"{OWL}ObjectProperty": "object property",
    f"{OWL}DatatypeProperty": "datatype property",
    f"{OWL}AnnotationProperty": "annotation property",
    f"{RDF}Property": "property",
}


def ontology_terms() -> list[Term]:
    """Classes and properties declared in the ontology's own namespace, sorted by kind, name."""
    store = ontology_only()
    found: dict[str, Term] = {}
    for kind_iri, kind in KINDS.items():
        for quad in store.quads_for_pattern(None, NamedNode(f"{RDF}type"), NamedNode(kind_iri)):
            subject = quad.subject
            if not isinstance(subject, NamedNode) or not subject.value.startswith(ALLI):
                continue
            if subject.value in found:
                continue
            labels = texts(store, subject, f"{RDFS}label")
            comments = texts(store, subject, f"{RDFS}comment")
            found[subject.value] = Term(
                iri=subject.value,
                name=subject.value[len(ALLI) :],
                label_fr=labels.get("fr"),
                label_en=labels.get("en"),
                comment_fr=comments.get("fr"),
                comment_en=comments.get("en"),
                kind=kind,
            )
    order = {kind: i for i, kind in enumerate(KINDS.values())}
    return sorted(found.values(), key=lambda t: (order[t.kind], t.name.casefold()))


@dataclass(frozen=True)
class Shape:
    iri: str
    name: str
    kind: str
    title_fr: str | None
    title_en: str | None
    severity: str
    message_fr: str | None
    message_en: str | None
    description_en: str | None
    targets: list[str]
    path: str | None


def shapes() -> list[Shape]:
    """Every node and property shape of the shapes file, with its messages."""
    store = shapes_store()
    found: dict[str, Shape] = {}
    for kind in ("NodeShape", "PropertyShape"):
        for quad in store.quads_for_pattern(None, NamedNode(f"{RDF}type"), NamedNode(SH + kind)):
            subject = quad.subject
            if not isinstance(subject, NamedNode) or subject.value in found:
                continue
            names = texts(store, subject, f"{SH}name")
            messages = texts(store, subject, f"{SH}message")
            descriptions = texts(store, subject, f"{SH}description")
            severity = next(
                (
                    q.object.value.rsplit("#", 1)[-1]
                    for q in store.quads_for_pattern(subject, NamedNode(f"{SH}severity"), None)
                ),
                "Violation",  # SHACL's default severity
            )
            targets = sorted(
                _short(q.object.value)
                for p in ("targetClass", "targetSubjectsOf", "targetObjectsOf", "targetNode")
                for q in store.quads_for_pattern(subject, NamedNode(SH + p), None)
            )
            path = next(
                (
                    _short(q.object.value)
                    for q in store.quads_for_pattern(subject, NamedNode(f"{SH}path"), None)
                    if isinstance(q.object, NamedNode)
                ),
                None,
            )
            found[subject.value] = Shape(
                iri=subject.value,
                name=subject.value.rsplit("#", 1)[-1],
                kind=kind,
                title_fr=names.get("fr"),
                title_en=names.get("en"),
                severity=severity,
                message_fr=messages.get("fr"),
                message_en=messages.get("en"),
                description_en=descriptions.get("en"),
                targets=targets,
                path=path,
            )
    return sorted(found.values(), key=lambda s: s.name.casefold())


def _short(iri: str) -> str:
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda i: -len(i[1])):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri
