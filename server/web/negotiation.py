"""Content negotiation shared by every face: Accept q-values, a `format` override, suffixes.

Parsing of Accept is werkzeug's; this module only knows which media types
the service can write and the short names clients send in `format=`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import Request
from pyoxigraph import QueryResultsFormat, RdfFormat

from alliance import formats


@dataclass(frozen=True)
class Choice:
    media_type: str
    #: the pyoxigraph format to serialise with (None for HTML)
    format: RdfFormat | QueryResultsFormat | None


HTML = Choice("text/html", None)

#: What SELECT and ASK answers can be written as (alliance.formats, in its order).
RESULTS = [Choice(f.media_type, f.pyoxigraph) for f in formats.RESULTS]
#: What graphs (CONSTRUCT, DESCRIBE, resource descriptions) can be written as.
GRAPHS = [Choice(f.media_type, f.pyoxigraph) for f in formats.WRITTEN_RDF]
#: Other media types clients send for the same formats.
ALIASES = dict(formats.MEDIA_TYPE_ALIASES)
#: For pages that answer only graphs (resource descriptions): plain JSON is JSON-LD there,
#: as Fuseki and Virtuoso answer it.
GRAPH_ALIASES = {**ALIASES, "application/json": "application/ld+json"}
#: Short names accepted in `format=` / `output=` / `results=` (SPARQLWrapper sends all three).
SHORT_NAMES = {name: f.media_type for name, f in formats.BY_NAME.items()} | {"html": "text/html"}
#: Resource-page suffixes: the usual file suffix of the RDF syntaxes pages offer, and HTML.
SUFFIXES = {
    formats.BY_NAME[name].suffixes[0]: formats.BY_NAME[name].media_type
    for name in ("turtle", "ntriples", "jsonld", "rdfxml")
} | {".html": "text/html"}


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
