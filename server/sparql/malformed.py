"""The answer to a malformed query: the parser's error explained (alliance/query_errors.py).

Protocol clients show an error body to their user as is, so the explanation is the body:
plain text by default (`Malformed query: line 1, column 27: the prefix igeo: is not
declared…`, then Oxigraph's own message), or a JSON object with the same message and its
parts (line, column, prefix, declaration, suggestions) for a client that asks for JSON, the
way the query page's editor and SPARQL clients asking for JSON results do. Browsers that
submit the plain form get the query page instead, with the error beside the query
(endpoint.py).
"""

from __future__ import annotations

import json

from flask import Response, request

from alliance.query_errors import QueryError
from alliance.server.web.errors import ProtocolError

#: Media types whose client reads a JSON error; the first is the default.
ERROR_TYPES = ["text/plain", "application/json", "application/sparql-results+json"]


class MalformedQuery(ProtocolError):
    """400 for a query the parser refused, with its explanation."""

    def __init__(self, error: QueryError):
        super().__init__(400, error.as_text())
        self.error = error

    def response_body(self) -> Response:
        if wants_json():
            body = json.dumps(self.error.as_json(), ensure_ascii=False)
            return Response(body, 400, content_type="application/json")
        return super().response_body()


def wants_json() -> bool:
    """Whether the client asks for JSON: `format=json`, or JSON first in its Accept header."""
    if request.values.get("format", "").strip().lower() in ("json", "application/json"):
        return True
    best = request.accept_mimetypes.best_match(ERROR_TYPES, default=ERROR_TYPES[0])
    return best != ERROR_TYPES[0]
