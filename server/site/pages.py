"""The human face of the service and its dataset-level documents.

Routes: the home page `/`; the ontology (`/ontology`, pyLODE HTML or Turtle; `/ontology.ttl`);
the SKOS schemes (`/vocab`, `/vocab/{scheme}`, `/vocab/{scheme}/{concept}`, which is where
`https://w3id.org/alliance/vocab/…` IRIs land); the VoID/DCAT description
(`/.well-known/void`); the dumps (`/dumps`, `/dumps/alliance.nq.gz`, `/dumps/alliance.ttl`).
The SHACL shapes (`/shapes`) are documented by `alliance.server.validation.routes`.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, render_template, request, send_file
from markupsafe import escape
from pyoxigraph import Quad

from alliance.namespaces import ALLI, DCTERMS, FOAF, IGEO, VOCAB, graph_iri, skos
from alliance.ontology import ONTOLOGY_FILE
from alliance.queries import named_queries
from alliance.server.context import current_settings, current_store
from alliance.server.linked_data import describe, ontology_doc
from alliance.server.linked_data.describe import Queryable, Statement
from alliance.server.linked_data.pages import answer, resolve
from alliance.server.linked_data.resource_view import Display
from alliance.server.site import dumps, void
from alliance.server.web.cache import memoised
from alliance.server.web.negotiation import (
    GRAPHS,
    HTML,
    SUFFIXES,
    Choice,
    NotAcceptable,
    negotiate,
)
from alliance.server.web.responses import (
    DATASET_TYPES,
    RDF_PREFIXES,
    content_type,
    link_header,
    not_acceptable,
    not_found,
    rdf_response,
    serialise,
)
from alliance.server.web.security_headers import csp_nonce
from alliance.store.base import GraphStore

log = logging.getLogger(__name__)

blueprint = Blueprint("site", __name__)

#: RDF answers of the documents below, which hold no named graphs (HTML comes first or last).
RDF_CHOICES = [c for c in GRAPHS if c.media_type not in DATASET_TYPES]


def _override(suffix: str | None) -> str | None:
    if suffix:
        return SUFFIXES.get(f".{suffix}", suffix)
    return request.args.get("format")


def _file_answer(
    path_doc: str, file_bytes: bytes, quads: Callable[[], Iterable[Quad]], choice: Choice
) -> Response:
    """A Turtle file as it is, or another syntax of the same triples via pyoxigraph."""
    if choice.media_type == "text/turtle":
        response = Response(file_bytes, content_type=content_type("text/turtle"))
    else:
        response = Response(
            serialise(quads(), choice.format, RDF_PREFIXES),
            content_type=content_type(choice.media_type),
        )
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = link_header(path_doc)
    return response


# -- home --------------------------------------------------------------------------------------


def _counts(store: GraphStore) -> dict[str, int]:
    """What the home page counts: communes, EPCI, contracts and pacts, graphs."""

    def count(cls: str) -> int:
        return describe.count(store, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a <{cls}> }}")

    return {
        "communes": count(f"{IGEO}Commune"),
        "epci": count(f"{ALLI}EPCI"),
        "contracts": count(f"{ALLI}ReciprocityContract"),
        "pacts": count(f"{ALLI}MetropolitanPact"),
        "graphs": len(store.graphs()),
    }


def _sources(store: GraphStore, display: Display) -> list[dict[str, object]]:
    """Each named graph with its title and primary sources (with their pages)."""
    graphs = store.graphs()
    primary = describe.primary_sources(store, graphs)
    display.load_labels(store, [*graphs, *(s for v in primary.values() for s in v)])
    found = []
    for graph in graphs:
        titles = store.query(
            f"SELECT ?t WHERE {{ GRAPH {graph} {{ {graph} <{DCTERMS}title> ?t }} }}"
        )
        sources = []
        for src in primary.get(graph, []):
            pages = store.query(f"SELECT ?page WHERE {{ {src} <{FOAF}page> ?page }}")
            page = next((row["page"].value for row in pages), None)
            shown = display.term(src)
            sources.append(
                {
                    "term": shown,
                    "page": page if page and page.startswith(("http://", "https://")) else None,
                }
            )
        found.append(
            {
                "graph": display.graph(graph),
                "title": next((row["t"].value for row in titles), graph.value),
                "size": store.graph_size(graph),
                "sources": sources,
            }
        )
    return found


def _examples() -> list[dict[str, str]]:
    """The named queries, read at each request (a new .rq file shows without a restart)."""
    try:
        queries = named_queries()
    except Exception:  # noqa: BLE001 - a broken query file must not take the home page down
        log.exception("could not read the named queries")
        return []
    root = request.script_root
    return [
        {
            "name": q.name,
            "title": q.title,
            "description": q.description,
            "href": f"{root}/sparql?query={quote(q.sparql(), safe='')}",
        }
        for q in queries.values()
    ]


@blueprint.get("/")
def home() -> Response:
    store = current_store()
    settings = current_settings()
    display = Display(settings.base, request.script_root)
    counts = memoised(store, "home-counts", lambda: _counts(store))
    sources = memoised(
        store, "home-sources", lambda: _sources(store, display), extra=request.script_root
    )
    body = render_template(
        "home.html",
        counts=counts,
        sources=sources,
        examples=_examples(),
        base=settings.base,
        lyon=f"{request.script_root}/id/commune/69123",
        metropole=f"{request.script_root}/id/epci/200046977",
    )
    return Response(body, content_type="text/html; charset=utf-8")


# -- ontology ----------------------------------------------------------------------------------


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


@blueprint.get("/ontology")
@blueprint.get("/ontology.<suffix>")
def ontology(suffix: str | None = None) -> Response:
    if suffix is not None and f".{suffix}" not in SUFFIXES:
        return not_found(f"No /ontology.{suffix} here; try /ontology.ttl.")
    try:
        choice = negotiate(request, [HTML, *RDF_CHOICES], override=_override(suffix))
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    path = f"{request.script_root}/ontology"
    if choice is not HTML:
        return _file_answer(
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


@blueprint.get("/vocab")
@blueprint.get("/vocab/")
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


@blueprint.get("/vocab/<path:rest>")
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


# -- VoID and dumps ----------------------------------------------------------------------------


def _void_info() -> void.VoidInfo:
    store = current_store()
    settings = current_settings()
    root = request.url_root
    return memoised(
        store,
        "void",
        lambda: void.build(store, base=settings.base, root=root, dumps=dumps.all_dumps(store)),
        extra=f"{root}|{settings.base}",
    )


@blueprint.get("/.well-known/void", endpoint="void")
def void_description() -> Response:
    try:
        choice = negotiate(request, [*RDF_CHOICES, HTML], override=request.args.get("format"))
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    info = _void_info()
    if choice is HTML:
        display = Display(current_settings().base, request.script_root)
        display.load_labels(current_store(), [s for sub in info.subsets for s in sub.sources])
        response = Response(
            render_template("void.html", info=info, display=display),
            content_type="text/html; charset=utf-8",
        )
        response.headers["Vary"] = "Accept"
        return response
    prefixes = {**RDF_PREFIXES, **void.PREFIXES}
    return rdf_response(void.triples(info), choice, prefixes=prefixes)


@blueprint.get("/dumps")
@blueprint.get("/dumps/")
def dump_list() -> Response:
    store = current_store()
    built = dumps.all_dumps(store)
    root = request.url_root
    listing = [
        {
            "name": b.dump.name,
            "url": f"{root}dumps/{b.dump.name}",
            "title": b.dump.title,
            "description": b.dump.description,
            "media_type": b.dump.rdf_media_type,
            "compress_format": b.dump.compress_format,
            "size": b.size,
            "sha256": b.sha256,
        }
        for b in built
    ]
    wanted = request.args.get("format") or request.accept_mimetypes.best_match(
        ["text/html", "application/json"], default="text/html"
    )
    if wanted in ("json", "application/json"):
        response = jsonify({"dumps": listing, "void": f"{root}.well-known/void"})
    else:
        response = Response(
            render_template("dumps.html", dumps=listing), content_type="text/html; charset=utf-8"
        )
    response.headers["Vary"] = "Accept"
    return response


@blueprint.get("/dumps/<name>")
def dump_file(name: str) -> Response:
    if name not in dumps.DUMPS:
        return not_found(f"No dump {name}; see /dumps.")
    built = dumps.ensure(current_store(), name)
    response = send_file(
        built.path,
        mimetype=built.dump.media_type,
        etag=built.sha256,
        conditional=True,
        download_name=name,
        max_age=0,
    )
    # RFC 9530: lets a client check the bytes it received without reading the VoID.
    digest = base64.b64encode(bytes.fromhex(built.sha256)).decode()
    response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return response
