"""Answers shared by the linked-data and site faces: RDF bodies, alternates, 404 and 406.

RDF is always written by pyoxigraph's serialisers, never by hand, so that escaping of IRIs
and literals is the parser-tested one.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, render_template, request
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Triple, serialize

from alliance.formats import content_type
from alliance.namespaces import PREFIXES
from alliance.server.web.negotiation import SUFFIXES, Choice

#: Labels of the suffix alternates, for Link headers and the page's "download as" links.
SUFFIX_LABELS = {
    ".ttl": "Turtle",
    ".jsonld": "JSON-LD",
    ".nt": "N-Triples",
    ".rdf": "RDF/XML",
    ".html": "HTML",
}


#: Namespaces whose local names hold slashes: a prefixed name would need `\\/` escapes
#: (`id:commune\\/69123`), so these IRIs are written in full.
PATH_NAMESPACES = {"id", "vocab"}
#: Formats that keep the named graph of each statement.
DATASET_TYPES = {"application/n-quads", "application/trig"}


#: The project's prefixes for Turtle and RDF/XML answers.
RDF_PREFIXES = {p: iri for p, iri in PREFIXES.items() if p not in PATH_NAMESPACES}


def used_prefixes(items: list[Triple] | list[Quad], prefixes: dict[str, str]) -> dict[str, str]:
    """Only the prefixes that some IRI of `items` starts with (small answers stay small)."""
    iris: set[str] = set()
    for item in items:
        for term in (item.subject, item.predicate, item.object):
            if isinstance(term, NamedNode):
                iris.add(term.value)
            elif isinstance(term, Literal):
                iris.add(term.datatype.value)
    return {p: ns for p, ns in prefixes.items() if any(iri.startswith(ns) for iri in iris)}


def serialise(
    statements: Iterable[Triple] | Iterable[Quad], fmt: RdfFormat, prefixes: dict[str, str]
) -> bytes:
    """Triples or quads in `fmt`.

    Quads are reduced to distinct triples except for N-Quads and TriG: JSON-LD could hold
    named graphs too, but clients asking a resource for JSON-LD expect its plain description.
    """
    items = list(statements)
    if fmt.media_type not in DATASET_TYPES:
        seen: dict[Triple, None] = {}
        for item in items:
            seen.setdefault(item.triple if isinstance(item, Quad) else item, None)
        items = list(seen)
    else:
        items = [
            item if isinstance(item, Quad) else Quad(item.subject, item.predicate, item.object)
            for item in items
        ]
    return serialize(items, format=fmt, prefixes=used_prefixes(items, prefixes))


def alternates(path: str) -> list[tuple[str, str, str]]:
    """(label, href, media type) of each suffix form of the document at `path`."""
    return [(SUFFIX_LABELS[s], f"{path}{s}", media) for s, media in SUFFIXES.items()]


def link_header(path: str) -> str:
    return ", ".join(
        f'<{href}>; rel="alternate"; type="{media}"' for _, href, media in alternates(path)
    )


def rdf_response(
    statements: Iterable[Triple] | Iterable[Quad],
    choice: Choice,
    *,
    prefixes: dict[str, str],
    path: str | None = None,
    negotiated: bool = True,
) -> Response:
    """An RDF answer; `path` (the document without suffix) adds alternates."""
    assert isinstance(choice.format, RdfFormat)
    body = serialise(statements, choice.format, prefixes)
    response = Response(body, content_type=content_type(choice.media_type))
    response.headers["Vary"] = "Accept"
    if path is not None:
        response.headers["Link"] = link_header(path)
        if negotiated:
            suffix = next((s for s, m in SUFFIXES.items() if m == choice.media_type), None)
            if suffix:
                response.headers["Content-Location"] = f"{path}{suffix}"
    return response


def wants_html() -> bool:
    """Whether an error should be an HTML page (browsers) rather than plain text."""
    accept = request.accept_mimetypes
    if not accept or not accept.values():
        return False
    return accept.best_match(["text/html", "text/plain"]) == "text/html"


def error(status: int, title: str, message: str, *, plain: bool = False) -> Response:
    """An error answer, as an HTML page or plain text by negotiation (or `plain` text)."""
    if not plain and wants_html():
        body = render_template("error.html", status=status, title=title, message=message)
        response = Response(body, status=status, content_type="text/html; charset=utf-8")
    else:
        response = Response(
            f"{status} {title}\n{message}\n",
            status=status,
            content_type="text/plain; charset=utf-8",
        )
    response.headers["Vary"] = "Accept"
    return response


def not_found(message: str, *, plain: bool = False) -> Response:
    return error(404, "Not found", message, plain=plain)


def not_acceptable(message: str) -> Response:
    return error(406, "Not acceptable", message)
