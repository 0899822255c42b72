"""What the validation pages share: the report's format and language, links to our pages."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from flask import Response, request
from rdflib import URIRef

from alliance.namespaces import ID, SHAPES_NS
from alliance.problems import Problem
from alliance.server.web.negotiation import NotAcceptable
from alliance.shapes.curator_report import CuratorReport, Finding
from alliance.store.base import GraphStore

log = logging.getLogger(__name__)

REPORT_TYPES = {"text/turtle": "turtle", "application/json": "json", "text/html": "html"}
REPORT_NAMES = {"turtle": "text/turtle", "ttl": "text/turtle", "json": "application/json"}
REPORT_NAMES |= {"html": "text/html"}
LANGUAGES = ("fr", "en")
FORM_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}
UNSAFE_IRI = re.compile(r'[\s<>"{}|^`\\]')
#: RDF answers of /shapes (a single graph: no N-Quads or TriG).

# -- negotiation -------------------------------------------------------------------------------


def report_type() -> str:
    """The report's media type: `format=` (query or form), else Accept (`*/*`: Turtle)."""
    override = request.args.get("format") or (
        request.form.get("format") if request.mimetype in FORM_TYPES else None
    )
    if override:
        wanted = REPORT_NAMES.get(override.lower(), override.lower())
        if wanted not in REPORT_TYPES:
            raise NotAcceptable(f"format {override!r}: use turtle, json or html")
        return wanted
    accept = request.accept_mimetypes
    if not accept or not accept.values():
        return "text/turtle"
    best = accept.best_match(list(REPORT_TYPES))
    if best is None:
        raise NotAcceptable("a report is available as " + ", ".join(REPORT_TYPES))
    return best


def page_language() -> str:
    """`lang=` (query or form), else the browser's preference among fr and en, else fr."""
    given = request.args.get("lang") or (
        request.form.get("lang") if request.mimetype in FORM_TYPES else None
    )
    if given in LANGUAGES:
        return given
    return request.accept_languages.best_match(LANGUAGES, default="fr") or "fr"


# -- links in reports --------------------------------------------------------------------------


def known_nodes(store: GraphStore, iris: list[str]) -> set[str]:
    """The IRIs the store says something about (their /id/ pages exist)."""
    found: set[str] = set()
    iris = [iri for iri in iris if not UNSAFE_IRI.search(iri)]  # never into a query as is
    for start in range(0, len(iris), 500):
        values = " ".join(f"<{iri}>" for iri in iris[start : start + 500])
        rows = store.query(f"SELECT DISTINCT ?s WHERE {{ VALUES ?s {{ {values} }} ?s ?p ?o }}")
        found |= {row["s"].value for row in rows}
    return found


def page_of(iri: object) -> str | None:
    """The service's path for an Alliance IRI (`/id/…`)."""
    text = str(iri) if isinstance(iri, URIRef) else ""
    return f"/id/{text[len(ID) :]}" if text.startswith(ID) and len(text) > len(ID) else None


def report_links(report: CuratorReport, store: GraphStore) -> dict[str, Callable[..., str | None]]:
    """Nodes link to their /id/ page when the store knows them; shapes to /shapes#…."""
    root = request.script_root
    ours = {str(f.focus) for f in report.findings if page_of(f.focus)}
    ours |= {str(f.value) for f in report.findings if page_of(f.value)}
    known = known_nodes(store, sorted(ours)) if ours else set()

    def page(node: object) -> str | None:
        path = page_of(node)
        return f"{root}{path}" if path and str(node) in known else None

    def link(finding: Finding) -> str | None:
        return page(finding.focus)

    def value_link(finding: Finding) -> str | None:
        return page(finding.value)

    def shape_link(shape: object) -> str | None:
        text = str(shape) if isinstance(shape, URIRef) else ""
        return f"{root}/shapes#{text[len(SHAPES_NS) :]}" if text.startswith(SHAPES_NS) else None

    return {"link": link, "value_link": value_link, "shape_link": shape_link}


def problem_focus(problem: Problem) -> URIRef:
    """A curated table's problem in the Turtle report: focused on the table, by name."""
    from urllib.parse import quote

    return URIRef(f"urn:x-alliance:table:{quote(problem.file)}")


def html_page(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept, Accept-Language"
    return response
