"""The HTML face of /sparql: the query page and results shown as a table.

The page must work with no network beyond this server, and without JavaScript: its core is
a plain HTML form (GET to /sparql) that a browser submits as is; the result comes back as
an HTML table when the browser prefers HTML, the format menu offers the W3C formats as
downloads, and a query that fails comes back in the form, as typed, with the error beside
it. YASGUI, the usual SPARQL editor, runs on top when scripts run: served from this
server's static files (server/static/yasgui/, pinned, its licence beside it), set up by
server/static/sparql-editor.js with what editor.py gives it.

Everything shown is escaped by Jinja's autoescape; nothing is marked safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from flask import Response, render_template, request, url_for
from pyoxigraph import BlankNode, Literal, NamedNode, QueryBoolean, QuerySolutions

from alliance.namespaces import PREFIXES, XSD
from alliance.queries import named_queries
from alliance.server.context import current_settings, current_store
from alliance.server.sparql import editor
from alliance.server.sparql.malformed import MalformedQuery
from alliance.server.web import security_headers
from alliance.server.web.errors import ProtocolError
from alliance.store.base import QueryResult

if TYPE_CHECKING:
    from alliance.server.sparql.endpoint import QueryRequest

log = logging.getLogger(__name__)

#: Rows an HTML table shows; the downloads hold every row.
HTML_ROWS = 1000

#: YASGUI's files under server/static/ (see server/static/yasgui/NOTICE.md).
YASGUI_JS = "yasgui/yasgui.min.js"
YASGUI_CSS = "yasgui/yasgui.min.css"

#: (short name, label) of the format menu; "html" is the table page.
RESULT_FORMATS = [
    ("html", "Table (HTML)"),
    ("json", "SPARQL JSON"),
    ("xml", "SPARQL XML"),
    ("csv", "CSV"),
    ("tsv", "TSV"),
]
GRAPH_FORMATS = [
    ("html", "Table (HTML)"),
    ("turtle", "Turtle"),
    ("ntriples", "N-Triples"),
    ("jsonld", "JSON-LD"),
    ("rdfxml", "RDF/XML"),
    ("nquads", "N-Quads"),
    ("trig", "TriG"),
]

ALL_FORMATS = RESULT_FORMATS + GRAPH_FORMATS[1:]


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    sparql: str


BUILT_IN = [
    Example(
        "pact-metropoles",
        "The métropoles that signed the Pacte État-métropoles",
        """PREFIX alli: <https://w3id.org/alliance/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?metropole ?name WHERE {
  <https://w3id.org/alliance/id/agreement/pacte-etat-metropoles> alli:hasParty ?metropole .
  # the nature, not today's class: Lille's signatory of 2016 is a body gone since
  ?metropole alli:epciNature <https://w3id.org/alliance/vocab/territory-kind/metropole> ;
             rdfs:label ?name .
  FILTER(lang(?name) = "fr")
}
ORDER BY ?name
""",
    ),
    Example(
        "lyon-members",
        "How many communes belong to the Métropole de Lyon",
        """PREFIX alli: <https://w3id.org/alliance/ontology#>
SELECT (COUNT(?commune) AS ?communes) WHERE {
  ?commune alli:memberOf <https://w3id.org/alliance/id/epci/200046977> .
}
""",
    ),
    Example(
        "graphs",
        "The named graphs (one per source) and their sizes",
        """SELECT ?graph (COUNT(*) AS ?triples) WHERE {
  GRAPH ?graph { ?s ?p ?o }
}
GROUP BY ?graph
ORDER BY ?graph
""",
    ),
]


def examples() -> list[Example]:
    """The built-in examples, then the project's named queries (queries/*.rq)."""
    found = list(BUILT_IN)
    try:
        taken = {e.name for e in BUILT_IN}
        found += [
            Example(q.name, q.title, q.sparql())
            for q in named_queries().values()
            if q.name not in taken
        ]
    except Exception:  # a broken query file must not take the query page down with it
        log.warning("the named queries could not be read", exc_info=True)
    return found


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None
    note: str | None = None
    lang: str | None = None


def compact(iri: str) -> str | None:
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            local = iri[len(namespace) :]
            if all(c.isalnum() or c in "-_." for c in local):
                return f"{prefix}:{local}"
    return None


def link(iri: str) -> str | None:
    """Where an IRI leads: our own page for our IRIs, itself for http(s), nowhere otherwise."""
    base = current_settings().base
    if iri.startswith(base):
        return f"{request.script_root}/id/{iri[len(base) :]}"
    if iri.startswith(("http://", "https://")):
        return iri
    return None


def cell(term: object) -> Cell:
    if term is None:
        return Cell("")
    if isinstance(term, NamedNode):
        return Cell(compact(term.value) or term.value, link(term.value))
    if isinstance(term, BlankNode):
        return Cell(f"_:{term.value}")
    if isinstance(term, Literal):
        if term.language:
            return Cell(term.value, note=f"@{term.language}", lang=term.language)
        datatype = term.datatype.value
        note = None if datatype == XSD + "string" else compact(datatype) or datatype
        return Cell(term.value, note=note)
    return Cell(str(term))


def form_state(parsed: QueryRequest | None = None, query: str = "") -> dict[str, object]:
    return {
        "query": parsed.query if parsed else query,
        "plain": bool(parsed and parsed.plain),
        "endpoint": url_for("sparql.endpoint"),
        "endpoint_url": url_for("sparql.endpoint", _external=True),
    }


def query_page() -> Response:
    chosen = request.args.get("example")
    known = examples()
    text = next((e.sparql for e in known if e.name == chosen), BUILT_IN[0].sparql)
    return render_query_page(form_state(query=editor.with_prefixes(text)), known)


def error_page(parsed: QueryRequest, error: ProtocolError) -> Response:
    """The query page again, the query as it was sent and the error beside it."""
    details = error.error if isinstance(error, MalformedQuery) else None
    declaration = details.declaration if details else None
    shown: dict[str, object] = {
        "message": details.explained() if details else error.message,
        "declaration": declaration,
        "line": details.line if details else None,
        "column": details.column if details else None,
        # Without scripts, the declaration is offered as a link that runs the query with it.
        "fixed": query_href(parsed, f"{declaration}\n{parsed.query}") if declaration else None,
    }
    response = render_query_page(form_state(parsed), examples(), error=shown)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def render_query_page(
    form: dict[str, object], known: list[Example], error: dict[str, object] | None = None
) -> Response:
    # The page runs YASGUI's file and its own, from this server ('self'), and inline styles,
    # which YASGUI's result table writes at run time (see web/security_headers.py).
    security_headers.allow("script-src", "'self'")
    security_headers.allow("style-src", "'unsafe-inline'")
    words = editor.vocabulary(current_store())
    config = {
        "endpoint": form["endpoint_url"],
        "query": form["query"],
        "prefixes": PREFIXES,
        "classes": words.classes,
        "properties": words.properties,
        "examples": [{"name": e.name, "sparql": editor.with_prefixes(e.sparql)} for e in known],
        "base": current_settings().base,
        "pages": f"{request.script_root}/id/",
        "error": error,
    }
    html = render_template(
        "sparql.html",
        form=form,
        formats=ALL_FORMATS,
        examples=known,
        yasgui_js=YASGUI_JS,
        yasgui_css=YASGUI_CSS,
        editor_config=config,
        error=error,
        service_allow=current_settings().service_allow,
    )
    return Response(html, content_type="text/html; charset=utf-8")


def query_href(parsed: QueryRequest, query: str, short: str = "html") -> str:
    """The GET URL of `query` over the request's dataset, answered in format `short`."""
    params: list[tuple[str, str]] = [("query", query)]
    params += [("default-graph-uri", g.value) for g in parsed.default_graphs]
    params += [("named-graph-uri", g.value) for g in parsed.named_graphs]
    if parsed.plain:
        params.append(("default-graph", "plain"))
    return f"{url_for('sparql.endpoint')}?{urlencode([*params, ('format', short)])}"


def downloads(parsed: QueryRequest, formats: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(label, href) of the same query in each non-HTML format, by GET."""
    return [
        (label, query_href(parsed, parsed.query, short))
        for short, label in formats
        if short != "html"
    ]


def results_page(parsed: QueryRequest, result: QueryResult) -> Response:
    """A query's answer as an HTML page: a table of rows (or the boolean of an ASK)."""
    boolean: bool | None = None
    variables: list[str] = []
    rows: list[list[Cell]] = []
    if isinstance(result, QueryBoolean):
        boolean = bool(result)
        formats = RESULT_FORMATS
    elif isinstance(result, QuerySolutions):
        variables = [v.value for v in result.variables]
        rows = [[cell(s[v]) for v in variables] for s in islice(result, HTML_ROWS + 1)]
        formats = RESULT_FORMATS
    else:
        variables = ["subject", "predicate", "object"]
        rows = [
            [cell(t.subject), cell(t.predicate), cell(t.object)]
            for t in islice(result, HTML_ROWS + 1)
        ]
        formats = GRAPH_FORMATS
    truncated = len(rows) > HTML_ROWS
    html = render_template(
        "sparql_results.html",
        form=form_state(parsed),
        formats=ALL_FORMATS,
        boolean=boolean,
        variables=variables,
        rows=rows[:HTML_ROWS],
        truncated=truncated,
        limit=HTML_ROWS,
        downloads=downloads(parsed, formats),
    )
    return Response(html, content_type="text/html; charset=utf-8")
