"""The SPARQL 1.1 Graph Store HTTP Protocol at /store: whole graphs in, out and away.

Only with a write token (see write_access.py), reads included: the store is the
service's source of truth and its raw graphs are an operator's tool; the public
reads it through /sparql and the dumps.

    GET|HEAD /store?graph=IRI | ?default     the graph (content negotiation)
    GET      /store                          the whole dataset (N-Quads or TriG)
    PUT      /store?graph=IRI | ?default     replace the graph: 201 new, 204 replaced
    POST     /store?graph=IRI | ?default     add to the graph:  201 new, 204 merged
    DELETE   /store?graph=IRI | ?default     remove the graph:  204, 404 if absent

Bodies are parsed by pyoxigraph in a parsing process (web/sandbox.py: a hostile body
ends that process, not a worker), in Turtle, N-Triples, RDF/XML without entity
declarations, JSON-LD, and N-Quads or TriG without named graphs; their blank nodes
are renamed so that two uploads never share one by accident. Each write is one atomic
store publish. A PUT to a named graph replaces it; a POST, and every write to the
default graph, adds and removes quads, which the store applies as the small change
they are (store/union_index.py).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from urllib.parse import urljoin

from flask import Blueprint, Response, request
from pyoxigraph import DefaultGraph, NamedNode, Quad, RdfFormat, Triple, serialize

from alliance.formats import content_type
from alliance.namespaces import PREFIXES
from alliance.server.context import current_store
from alliance.server.sparql.write_access import check_write_access, writing
from alliance.server.web import sandbox
from alliance.server.web.errors import ProtocolError, no_content
from alliance.server.web.input_guards import check_rdf_document
from alliance.server.web.negotiation import GRAPHS, Choice, NotAcceptable, negotiate
from alliance.store import StoreError

Target = NamedNode | DefaultGraph
DATASETS = [c for c in GRAPHS if isinstance(c.format, RdfFormat) and c.format.supports_datasets]


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule(
        "/store",
        "graph_store",
        graph_store,
        methods=["GET", "PUT", "POST", "DELETE", "OPTIONS"],
        provide_automatic_options=False,
    )


def target_graph() -> Target | None:
    """The graph the request names (None: the whole store)."""
    has_default, iri = "default" in request.args, request.args.get("graph")
    if has_default and iri is not None:
        raise ProtocolError(400, "Give either ?default or ?graph=IRI, not both.")
    if has_default:
        return DefaultGraph()
    if iri is None:
        return None
    try:
        return NamedNode(urljoin(request.base_url, iri))
    except ValueError as exc:
        raise ProtocolError(400, f"graph: {iri!r} is not a valid IRI ({exc}).") from None


def graph_store() -> Response:
    check_write_access()
    target = target_graph()
    if request.method in ("GET", "HEAD"):
        return read(target)
    if target is None:
        raise ProtocolError(400, "Name the graph: ?graph=IRI or ?default.")
    if request.method == "DELETE":
        return delete(target)
    return write(target, replace=request.method == "PUT")


def rdf_response(body: bytes, choice: Choice) -> Response:
    return Response(body, content_type=content_type(choice.media_type))


def read(target: Target | None) -> Response:
    store = current_store()
    try:
        choice = negotiate(request, DATASETS if target is None else GRAPHS)
    except NotAcceptable as exc:
        raise ProtocolError(406, str(exc)) from None
    if target is None:
        out = io.BytesIO()
        store.dump(out, choice.media_type)
        return rdf_response(out.getvalue(), choice)
    if isinstance(target, NamedNode):
        if target not in store.graphs():
            raise ProtocolError(404, f"No graph {target} in the store.")
        triples: Iterable[Triple] = store.triples(target)
    else:
        triples = store.query(
            "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", union_default_graph=False
        )
    prefixes = PREFIXES if choice.format in (RdfFormat.TURTLE, RdfFormat.TRIG) else None
    return rdf_response(serialize(triples, format=choice.format, prefixes=prefixes), choice)


def body_triples(target: Target) -> list[Triple]:
    """The body's triples, parsed in a parsing process (see web/sandbox.py)."""
    media_type = request.mimetype
    fmt = RdfFormat.from_media_type(media_type) if media_type else None
    if fmt is None:
        raise ProtocolError(
            415, f"Unsupported media type {media_type or '(none)'!r} for an RDF graph."
        )
    base = target.value if isinstance(target, NamedNode) else request.base_url
    data = request.get_data()
    check_rdf_document(data, media_type)
    try:
        quads = sandbox.parse_rdf(data, fmt, base=base, memory=sandbox.app_memory())
    except SyntaxError as exc:
        raise ProtocolError(400, f"The {fmt.name} body could not be parsed: {exc}") from None
    except sandbox.ParseFailed as exc:
        raise ProtocolError(exc.status, exc.message) from None
    except ValueError as exc:
        raise ProtocolError(400, f"The {fmt.name} body could not be read: {exc}") from None
    return [quad.triple for quad in quads]


def write(target: Target, *, replace: bool) -> Response:
    """PUT replaces the graph, POST adds to it; small changes stay small for the store."""
    triples = body_triples(target)
    store = current_store()
    added = [Quad(t.subject, t.predicate, t.object, target) for t in triples]
    try:
        with writing() as writer:
            if isinstance(target, NamedNode):
                existed = target in store.graphs()
                if replace:
                    writer.replace_graph(target, triples)
                else:
                    writer.add_quads(added)
            else:
                existed = True
                if replace:
                    writer.clear_default_graph()
                writer.add_quads(added)
    except StoreError as exc:
        raise ProtocolError(500, f"The store could not be written: {exc}") from exc
    return no_content(204 if existed else 201)


def delete(target: Target) -> Response:
    store = current_store()
    with writing() as writer:
        if isinstance(target, NamedNode):
            if target not in store.graphs():
                raise ProtocolError(404, f"No graph {target} in the store.")
            writer.drop_graph(target)
        else:
            writer.clear_default_graph()
    return no_content()
