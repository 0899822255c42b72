"""What the site's documents share: how a Turtle file answers in another syntax."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Response, request
from pyoxigraph import Quad

from alliance.formats import content_type
from alliance.server.web.negotiation import (
    GRAPHS,
    SUFFIXES,
    Choice,
)
from alliance.server.web.responses import (
    DATASET_TYPES,
    RDF_PREFIXES,
    link_header,
    serialise,
)

#: RDF answers of the documents below, which hold no named graphs (HTML comes first or last).
RDF_CHOICES = [c for c in GRAPHS if c.media_type not in DATASET_TYPES]


def format_override(suffix: str | None) -> str | None:
    if suffix:
        return SUFFIXES.get(f".{suffix}", suffix)
    return request.args.get("format")


def file_answer(
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
