"""The human face of the service and its dataset-level documents.

Routes: the home page `/`; the icon `/favicon.ico`; the ontology (`/ontology`, pyLODE HTML
or Turtle; `/ontology.ttl`); the SKOS schemes (`/vocab`, `/vocab/{scheme}`,
`/vocab/{scheme}/{concept}`, which is where `https://w3id.org/alliance/vocab/…` IRIs land);
the VoID/DCAT description (`/.well-known/void`); the dumps (`/dumps`,
`/dumps/alliance.nq.gz`, `/dumps/alliance.ttl`).
The SHACL shapes (`/shapes`) are documented by `alliance.server.validation.pages`.

This module holds the blueprint and the home page; `ontology_pages.py` and `dataset.py`
register the others on it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, Response, current_app, render_template, request, send_from_directory

from alliance.namespaces import ALLI, DCTERMS, FOAF, IGEO
from alliance.queries import named_queries
from alliance.server.context import current_settings, current_store
from alliance.server.linked_data import describe
from alliance.server.linked_data.resource_view import Display
from alliance.server.site import dataset, ontology_pages
from alliance.server.web.cache import memoised
from alliance.store.base import GraphStore

log = logging.getLogger(__name__)

blueprint = Blueprint("site", __name__)
#: Browsers ask for /favicon.ico on pages that name no icon (pyLODE's ontology page).
ICON_SECONDS = 86400


@blueprint.route("/favicon.ico")
def favicon() -> Response:
    """The site's icon (the pages name it in their <head> too)."""
    assert current_app.static_folder is not None
    return send_from_directory(
        current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=ICON_SECONDS
    )


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


ontology_pages.register(blueprint)
dataset.register(blueprint)
