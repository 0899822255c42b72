"""The one way the SPARQL faces (/sparql, /sparql/update, /store) answer an error.

Plain text with the reason, because protocol clients show the body to their user
as is (a parser's message must reach them unchanged); the app adds CORS headers
to these answers like to any other, so browser clients can read them.
"""

from __future__ import annotations

from flask import Response


class ProtocolError(Exception):
    """A request answered with an error status and a plain-text message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        return plain_text(self.message, self.status, self.headers)


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
