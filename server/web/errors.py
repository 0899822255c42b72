"""How the service's own errors become HTTP answers: werkzeug HTTPExceptions.

Code anywhere under a request raises a `ServiceError` subclass with the status, a message
written for the reader, and headers (Retry-After, WWW-Authenticate…); Flask answers it with
the exception's own `get_response`, and the application's after-request hooks (CORS, security
headers, the access log) see it like any answer. Each face says how its errors are written:

- `ProtocolError`: plain text with the reason, for the SPARQL faces (/sparql,
  /sparql/update, /store), because protocol clients show the body to their user as is
  (a parser's message must reach them unchanged);
- `ApiError` (server/api/routes.py): a JSON object, for the named-query API.

werkzeug's own exceptions (404 for an unknown path, 405, 413) go through the handlers the
application registers (server/web/limits.py).
"""

from __future__ import annotations

from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException


class ServiceError(HTTPException):
    """An error answer: `status`, a `message` for the reader, and `headers`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(description=message)
        self.code = status
        self.message = message
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return self.code  # type: ignore[return-value]

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:  # noqa: ARG002
        return self.response_body()

    def response_body(self) -> Response:
        return plain_text(self.message, self.status, self.headers)


class ProtocolError(ServiceError):
    """An error of the SPARQL faces, answered in plain text."""


def plain_text(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(
        message.rstrip("\n") + "\n", status, content_type="text/plain; charset=utf-8"
    )
    response.headers.update(headers or {})
    return response


def no_content(status: int = 204) -> Response:
    """An answer without a body (and so without a Content-Type)."""
    response = Response(status=status)
    del response.headers["Content-Type"]
    return response
