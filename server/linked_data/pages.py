"""Dereferenceable IRIs: every IRI minted under the public base answers at `/id/…` here.

The IRI looked up for path `/id/x` is `Settings.base + "x"`, so a deployment whose base is
`http://localhost:8000/id/` serves its own IRIs, and the default `https://w3id.org/alliance/id/`
ones are answered once w3id redirects to this server. Browsers get an HTML page; machines get
Turtle, JSON-LD, N-Triples, RDF/XML (or N-Quads / TriG, which keep each statement's graph) by
content negotiation or by suffix (`.ttl`, `.jsonld`, `.nt`, `.rdf`, `.html`).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, request, url_for
from pyoxigraph import NamedNode

from alliance.server.context import current_settings, current_store
from alliance.server.linked_data import describe
from alliance.server.linked_data.describe import Queryable, Statement
from alliance.server.linked_data.resource_view import Alternate, Display, Shown, build_page
from alliance.server.web.cache import memoised
from alliance.server.web.negotiation import (
    GRAPH_ALIASES,
    GRAPHS,
    HTML,
    SUFFIXES,
    NotAcceptable,
    negotiate,
)
from alliance.server.web.observability import timed_query
from alliance.server.web.responses import (
    RDF_PREFIXES,
    alternates,
    link_header,
    not_acceptable,
    not_found,
    rdf_response,
)

log = logging.getLogger(__name__)

blueprint = Blueprint("linked_data", __name__)

#: The VoID description answers for this IRI under the base when the store has no such resource.
DATASET = "dataset"


def candidates(rest: str) -> list[tuple[str, str | None]]:
    """(local name, media type forced by a suffix) pairs a path may stand for, whole path first.

    The whole path comes first because some minted IRIs end like a suffix would not
    (`…/input/sources.csv`) and one could in principle end with `.ttl`.
    """
    found: list[tuple[str, str | None]] = [(rest, None)]
    for suffix, media_type in SUFFIXES.items():
        if rest.endswith(suffix) and len(rest) > len(suffix):
            found.append((rest[: -len(suffix)], media_type))
    return found


def make_iri(base: str, name: str) -> NamedNode | None:
    """The IRI for a local name, or None when it cannot be one (fragments are never served)."""
    if "#" in name or not name:
        return None
    try:
        return NamedNode(base + name)
    except ValueError:
        return None


def resolve(source: Queryable, base: str, rest: str) -> tuple[NamedNode, str, str | None] | None:
    """The known resource a path names: (IRI, local name, media type of its suffix)."""
    for name, media_type in candidates(rest):
        iri = make_iri(base, name)
        if iri is not None and describe.exists(source, iri):
            return iri, name, media_type
    return None


def sparql_link(query: str) -> str:
    return f"{request.script_root}/sparql?query={quote(query, safe='')}"


def answer(
    source: Queryable,
    iri: NamedNode,
    *,
    path: str,
    override: str | None,
    base: str,
    extra: list[Statement] | None = None,
    facts: list[tuple[str, Shown]] | None = None,
) -> Response:
    """The HTML page or RDF description of `iri`, whose document lives at `path`.

    `extra` adds statements to the RDF (a named graph's PROV description of its ingest).
    """
    try:
        choice = negotiate(request, [HTML, *GRAPHS], override=override, aliases=GRAPH_ALIASES)
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    found = describe.statements(source, iri)
    if choice is HTML:
        display = Display(base, request.script_root)
        incoming_query = (
            "SELECT ?subject ?property ?graph WHERE {\n"
            f"  GRAPH ?graph {{ ?subject ?property {iri} }}\n}}"
        )
        page = build_page(source, iri, found, display, sparql_href=sparql_link(incoming_query))
        page.alternates = [Alternate(*alt) for alt in alternates(path)]
        page.facts = facts or []
        response = Response(
            render_template("resource.html", page=page), content_type="text/html; charset=utf-8"
        )
        response.headers["Link"] = link_header(path)
        response.headers["Vary"] = "Accept"
        return response
    known = {(s.subject, s.predicate, s.object, s.graph) for s in found}
    everything = found + [
        s for s in extra or [] if (s.subject, s.predicate, s.object, s.graph) not in known
    ]
    return rdf_response(
        describe.as_quads(everything),
        choice,
        prefixes=RDF_PREFIXES,
        path=path,
        negotiated=override is None,
    )


@blueprint.get("/id/")
def index() -> Response:
    return redirect(url_for("site.home"))


@blueprint.get("/id/<path:rest>")
@timed_query("resource")  # the page is built from many small queries, read as they run
def resource(rest: str) -> Response:
    settings = current_settings()
    store = current_store()
    found = resolve(store, settings.base, rest)
    if found is None:
        if any(name == DATASET for name, _ in candidates(rest)):
            return redirect(url_for("site.void"), code=303)
        # `/id/x.ttl` asked for Turtle: its 404 is text, whatever the Accept header says.
        rdf_suffix = any(media not in (None, "text/html") for _, media in candidates(rest))
        return not_found(f"No resource {settings.base}{rest} is known here.", plain=rdf_suffix)
    iri, name, suffix_type = found
    override = suffix_type or request.args.get("format")
    path = f"{request.script_root}/id/{name}"
    extra: list[Statement] = []
    facts: list[tuple[str, Shown]] = []
    if iri in store.graphs():
        extra = describe.graph_description(store, iri)
        # Counting the territories graph takes about a second: once per store content.
        size = memoised(store, "graph-size", lambda: store.graph_size(iri), extra=iri.value)
        facts.append(("Triples in this graph", Shown(f"{size:,}".replace(",", "\u202f"))))
        browse = f"SELECT ?s ?p ?o WHERE {{\n  GRAPH {iri} {{ ?s ?p ?o }}\n}}\nLIMIT 100"
        facts.append(("Browse", Shown("Query this graph", sparql_link(browse))))
    return answer(
        store,
        iri,
        path=path,
        override=override,
        base=settings.base,
        extra=extra,
        facts=facts,
    )
