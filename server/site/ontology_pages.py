"""The ontology and its SKOS schemes as pages: `/ontology` (pyLODE), `/vocab/…`.

`register` adds their routes to the site blueprint.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, render_template, request
from markupsafe import escape

from alliance.namespaces import VOCAB, graph_iri, skos
from alliance.ontology import ONTOLOGY_FILE
from alliance.server.context import current_settings, current_store
from alliance.server.linked_data import describe, ontology_doc
from alliance.server.linked_data.describe import Queryable, Statement
from alliance.server.linked_data.pages import answer, resolve
from alliance.server.linked_data.resource_view import Display
from alliance.server.site.documents import RDF_CHOICES, file_answer, format_override
from alliance.server.web.negotiation import (
    HTML,
    SUFFIXES,
    NotAcceptable,
    negotiate,
)
from alliance.server.web.responses import (
    RDF_PREFIXES,
    link_header,
    not_acceptable,
    not_found,
    rdf_response,
)
from alliance.server.web.security_headers import csp_nonce

log = logging.getLogger(__name__)


def _nav_bar() -> str:
    """Our site links, put at the top of pyLODE's page (fixed text, the root escaped).

    Styled by a <style> element with the request's CSP nonce: the policy admits no
    style attributes.
    """
    root = escape(request.script_root)
    links = [("/", "Home"), ("/sparql", "Query"), ("/vocab", "Vocabularies"), ("/dumps", "Dumps")]
    items = " · ".join(f'<a href="{root}{path}">{name}</a>' for path, name in links)
    return (
        f'<style nonce="{csp_nonce()}">nav.alliance-nav {{ padding: 0.5rem 1rem;'
        " background: #1d2430; font-family: sans-serif; color: #fff; }"
        " nav.alliance-nav a { color: #dfe7f3; }</style>"
        f'<nav class="alliance-nav"><strong>Alliance</strong> · {items}</nav>'
    )


def _with_nonces(html: str) -> str:
    """pyLODE's page with this request's CSP nonce on its inline <style> and <script> elements."""
    nonce = csp_nonce()
    html = re.sub(r"<style(?=[\s>])", f'<style nonce="{nonce}"', html)
    return re.sub(r"<script(?=[\s>])", f'<script nonce="{nonce}"', html)


def ontology(suffix: str | None = None) -> Response:
    if suffix is not None and f".{suffix}" not in SUFFIXES:
        return not_found(f"No /ontology.{suffix} here; try /ontology.ttl.")
    try:
        choice = negotiate(request, [HTML, *RDF_CHOICES], override=format_override(suffix))
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    path = f"{request.script_root}/ontology"
    if choice is not HTML:
        return file_answer(
            path,
            ONTOLOGY_FILE.read_bytes(),
            lambda: ontology_doc.ontology_only().quads_for_pattern(None, None, None, None),
            choice,
        )
    html = ontology_doc.pylode_html()
    if html is not None:
        html = _with_nonces(html).replace("<body>", "<body>" + _nav_bar(), 1)
        response = Response(html, content_type="text/html; charset=utf-8")
    else:
        response = Response(
            render_template("ontology.html", terms=ontology_doc.ontology_terms()),
            content_type="text/html; charset=utf-8",
        )
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = link_header(path)
    return response


# -- vocabularies ------------------------------------------------------------------------------


def _vocab_source() -> Queryable:
    """The store when it holds the ontology graph, else the scheme files themselves."""
    store = current_store()
    if graph_iri("ontology") in store.graphs():
        return store
    return ontology_doc.ontology_source()


def vocab_index() -> Response:
    try:
        choice = negotiate(request, [HTML, *RDF_CHOICES], override=request.args.get("format"))
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    if choice is not HTML:
        store = ontology_doc.vocab_store()
        return rdf_response(
            list(store.quads_for_pattern(None, None, None, None)),
            choice,
            prefixes=RDF_PREFIXES,
        )
    source = _vocab_source()
    rows = source.query(
        f"SELECT ?s (COUNT(DISTINCT ?c) AS ?n) WHERE {{ ?s a {skos.ConceptScheme} "
        f"OPTIONAL {{ ?c {skos.inScheme} ?s }} }} GROUP BY ?s ORDER BY ?s"
    )
    found = [(row["s"], int(row["n"].value)) for row in rows]
    display = Display(current_settings().base, request.script_root)
    display.load_labels(source, [s for s, _ in found])
    schemes = []
    for scheme, size in found:
        definitions = source.query(
            f"SELECT ?d WHERE {{ {scheme} {skos.definition} ?d FILTER(lang(?d) = 'en') }}"
        )
        labels = display.labels.get(scheme)
        schemes.append(
            {
                "term": display.term(scheme),
                "label_en": labels.en if labels else None,
                "definition": next((row["d"].value for row in definitions), ""),
                "size": size,
            }
        )
    return Response(
        render_template("vocab_index.html", schemes=schemes),
        content_type="text/html; charset=utf-8",
    )


def vocab(rest: str) -> Response:
    source = _vocab_source()
    found = resolve(source, VOCAB, rest)
    if found is None:
        return not_found(f"No concept scheme or concept {VOCAB}{rest} is known here.")
    iri, name, media_type = found
    extra: list[Statement] = []
    # A scheme's RDF carries its concepts, like the scheme's file does.
    rows = source.query(f"SELECT ?c WHERE {{ ?c {skos.inScheme} {iri} }}")
    for row in rows:
        extra.extend(describe.statements(source, row["c"]))
    return answer(
        source,
        iri,
        path=f"{request.script_root}/vocab/{name}",
        override=media_type or request.args.get("format"),
        base=current_settings().base,
        extra=extra,
    )


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/ontology", "ontology", ontology, methods=["GET"])
    blueprint.add_url_rule("/ontology.<suffix>", "ontology", ontology, methods=["GET"])
    blueprint.add_url_rule("/vocab", "vocab_index", vocab_index, methods=["GET"])
    blueprint.add_url_rule("/vocab/", "vocab_index", vocab_index, methods=["GET"])
    blueprint.add_url_rule("/vocab/<path:rest>", "vocab", vocab, methods=["GET"])
