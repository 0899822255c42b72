"""The HTML face of /sparql: the query page and results shown as a table.

The page must work with no network at all, so its core is a plain HTML form
(GET to /sparql) that a browser submits without JavaScript; the result comes
back as an HTML table when the browser prefers HTML, and the format menu offers
the W3C formats as downloads. YASGUI, the usual SPARQL editor, is loaded on top
from a CDN, pinned to one version and checked by subresource integrity, so a
changed or unreachable CDN leaves the plain form working.

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
from alliance.server.context import current_settings
from alliance.server.web import security_headers
from alliance.store.base import QueryResult

if TYPE_CHECKING:
    from alliance.server.sparql.endpoint import QueryRequest

log = logging.getLogger(__name__)

#: Rows an HTML table shows; the downloads hold every row.
HTML_ROWS = 1000

#: YASGUI 4.2.28 from jsDelivr (the npm package's own files). The hashes are the SHA-384
#: of build/yasgui.min.js and build/yasgui.min.css in the registry tarball
#: @triply/yasgui-4.2.28.tgz (tarball integrity sha512-HN1neZqERSGoDyk/Fg40nI+F0tHnaBxjqizhN0mur2
#: Kj0oJsklBsFMRk/M+wW+ohy8dSEn7AgX3H0pPrV/wmVg==): `npm pack @triply/yasgui@4.2.28`, then
#: `openssl dgst -sha384 -binary FILE | openssl base64 -A`. Bumping the version means redoing it.
YASGUI_JS = (
    "https://cdn.jsdelivr.net/npm/@triply/yasgui@4.2.28/build/yasgui.min.js",
    "sha384-QmjBmzRqk7JDGhGYmjP89IdwnsVo/+1by9ZDF50Nc1rgDCte3t6US8lSCPoS1/bx",
)
YASGUI_CSS = (
    "https://cdn.jsdelivr.net/npm/@triply/yasgui@4.2.28/build/yasgui.min.css",
    "sha384-EC5HLUY/3wgJiDkRgDRkUNjG7+YD6CIw8Ba7ew5GtmQlMYf1yfT5+Sg7sii3SRFO",
)

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
  ?metropole a alli:Metropole ;
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
    # The page's Content-Security-Policy admits YASGUI's two pinned files, and only them.
    security_headers.allow("script-src", YASGUI_JS[0])
    # YASGUI's table plugin writes <style> elements at run time (see web/security_headers.py).
    security_headers.allow("style-src", YASGUI_CSS[0], "'unsafe-inline'")
    html = render_template(
        "sparql.html",
        form=form_state(query=text),
        formats=ALL_FORMATS,
        examples=known,
        yasgui_js=YASGUI_JS,
        yasgui_css=YASGUI_CSS,
        service_allow=current_settings().service_allow,
    )
    return Response(html, content_type="text/html; charset=utf-8")


def downloads(parsed: QueryRequest, formats: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(label, href) of the same query in each non-HTML format, by GET."""
    params: list[tuple[str, str]] = [("query", parsed.query)]
    params += [("default-graph-uri", g.value) for g in parsed.default_graphs]
    params += [("named-graph-uri", g.value) for g in parsed.named_graphs]
    if parsed.plain:
        params.append(("default-graph", "plain"))
    endpoint = url_for("sparql.endpoint")
    return [
        (label, f"{endpoint}?{urlencode([*params, ('format', short)])}")
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
