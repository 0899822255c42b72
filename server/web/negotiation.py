"""Content negotiation shared by every face: Accept q-values, a `format` override, suffixes.

Parsing of Accept is werkzeug's; this module only knows which media types
the service can write and the short names clients send in `format=`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import Request
from pyoxigraph import QueryResultsFormat, RdfFormat


@dataclass(frozen=True)
class Choice:
    media_type: str
    #: the pyoxigraph format to serialise with (None for HTML)
    format: RdfFormat | QueryResultsFormat | None


HTML = Choice("text/html", None)

#: What SELECT and ASK answers can be written as.
RESULTS = [
    Choice("application/sparql-results+json", QueryResultsFormat.JSON),
    Choice("application/sparql-results+xml", QueryResultsFormat.XML),
    Choice("text/csv", QueryResultsFormat.CSV),
    Choice("text/tab-separated-values", QueryResultsFormat.TSV),
]
#: What graphs (CONSTRUCT, DESCRIBE, resource descriptions) can be written as.
GRAPHS = [
    Choice("text/turtle", RdfFormat.TURTLE),
    Choice("application/n-triples", RdfFormat.N_TRIPLES),
    Choice("application/ld+json", RdfFormat.JSON_LD),
    Choice("application/rdf+xml", RdfFormat.RDF_XML),
    Choice("application/n-quads", RdfFormat.N_QUADS),
    Choice("application/trig", RdfFormat.TRIG),
]
#: Other media types clients send for the same formats.
ALIASES = {
    "application/json": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
    "text/xml": "application/sparql-results+xml",
    "text/plain": "application/n-triples",
    "application/x-turtle": "text/turtle",
    "application/json+ld": "application/ld+json",
    "text/n3": "text/turtle",  # Turtle is N3, as Fuseki and Virtuoso answer it
}
#: For pages that answer only graphs (resource descriptions): plain JSON is JSON-LD there,
#: as Fuseki and Virtuoso answer it.
GRAPH_ALIASES = {**ALIASES, "application/json": "application/ld+json"}
#: Short names accepted in `format=` / `output=` / `results=` (SPARQLWrapper sends all three).
SHORT_NAMES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "n3": "text/turtle",
    "nt": "application/n-triples",
    "ntriples": "application/n-triples",
    "n-triples": "application/n-triples",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "rdf": "application/rdf+xml",
    "rdfxml": "application/rdf+xml",
    "rdf+xml": "application/rdf+xml",
    "nq": "application/n-quads",
    "nquads": "application/n-quads",
    "trig": "application/trig",
    "html": "text/html",
}
#: Resource-page suffixes.
SUFFIXES = {
    ".ttl": "text/turtle",
    ".nt": "application/n-triples",
    ".jsonld": "application/ld+json",
    ".rdf": "application/rdf+xml",
    ".html": "text/html",
}


class NotAcceptable(Exception):
    """Nothing the client accepts can be produced (406)."""


def _by_type(choices: list[Choice]) -> dict[str, Choice]:
    return {c.media_type: c for c in choices}


def negotiate(
    request: Request,
    choices: list[Choice],
    *,
    override: str | None = None,
    aliases: Mapping[str, str] = ALIASES,
) -> Choice:
    """The best of `choices` for this request.

    `override` (a short name or media type from a `format` parameter or a
    suffix) wins when it names one of `choices`. A missing or `*/*` Accept
    gets the first choice. Raises NotAcceptable otherwise. `aliases` maps other
    media types to those of `choices` (the named-query API, which answers
    `application/json` itself, passes fewer).
    """
    by_type = _by_type(choices)
    if override:
        wanted = SHORT_NAMES.get(override.lower(), override.lower())
        wanted = aliases.get(wanted, wanted)
        if wanted in by_type:
            return by_type[wanted]
        raise NotAcceptable(
            f"format {override!r} is not available here; use one of " + ", ".join(by_type)
        )
    accept = request.accept_mimetypes
    if not accept or not accept.values():
        return choices[0]
    offered = list(by_type) + [a for a, target in aliases.items() if target in by_type]
    best = accept.best_match(offered)
    if best is None:
        raise NotAcceptable(
            "none of the accepted media types can be produced; available: " + ", ".join(by_type)
        )
    # best_match answers the first offer for */*; keep our order for that case.
    return by_type[aliases.get(best, best)]
