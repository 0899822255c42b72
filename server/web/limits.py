"""What a client is told when its query meets one of the server's limits.

The limits (flags of `alliance serve`, fields of Settings):

* **time** (`--query-timeout`, 30 s): the query is stopped (its query process is
  killed and replaced, see alliance.store.isolated) and the answer is **503
  Service Unavailable**, as Fuseki answers a timed-out query: the server would
  not finish this query now, and the body says which limit and how to ask for less.
  Never a 200 with a truncated body.
* **result size** (`--max-rows`, 100,000 rows or triples; `--max-result-bytes`,
  100 MB): the answer is **422 Unprocessable Content** with a plain-text message
  naming the limit and an `Alliance-Result-Limit: rows=100000` (or `bytes=…`)
  header. An error rather than a truncated answer with a flag, because CSV, TSV
  and N-Triples have no place for a flag and a client would take part of the
  answer for all of it; 422 rather than 400 so that clients can tell "ask for
  less" from "malformed query".
* **memory** (`--query-memory`, 2 GiB per query process): a query that needs more ends
  its query process (which is replaced) and gets **503**, naming the limit. A query that
  crashes its query process (as very deep text can) gets **500** saying so; the server
  and the other queries are unharmed either way.
* **request body** (Settings.max_body, 10 MiB): **413 Content Too Large**, in
  plain text, naming the limit, whether the body comes with a Content-Length or in
  chunks (`BodyLimit`).

The SPARQL endpoint answers with these texts itself (sparql/endpoint.py); `register`
gives every other page (linked data, named-query API, site) the same answers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from alliance.server.web.errors import ProtocolError, plain_text
from alliance.store.base import QueryProcessDied, QueryTimeout, ResultTooLarge

TIMEOUT_STATUS = 503
TOO_LARGE_STATUS = 422
#: The header naming the result limit an answer passed.
LIMIT_HEADER = "Alliance-Result-Limit"


def timeout_message(exc: QueryTimeout) -> str:
    what = str(exc)
    return (
        f"{what[:1].upper()}{what[1:]}: this server gives one query at most "
        f"{exc.seconds:g} s (alliance serve --query-timeout). Ask for less: add a LIMIT, "
        "bind more of the patterns' subjects, predicates or objects, and avoid ORDER BY, "
        "GROUP BY or DISTINCT over large intermediate results."
    )


def too_large_message(exc: ResultTooLarge) -> str:
    flag = "--max-rows" if exc.limit == "rows" else "--max-result-bytes"
    return (
        f"The answer was not sent: {exc} (alliance serve {flag}), and a truncated "
        "answer would look complete. Ask for less: add a LIMIT (with OFFSET to page through), "
        "select fewer variables or narrow the patterns."
    )


def process_died(exc: QueryProcessDied) -> ProtocolError:
    """The answer to a query whose query process ended while evaluating it."""
    if exc.memory:
        return ProtocolError(
            TIMEOUT_STATUS,
            f"The query was stopped: {exc.cause} (alliance serve --query-memory). Ask for "
            "less: add a LIMIT, bind more of the patterns, and avoid ORDER BY, GROUP BY or "
            "DISTINCT over large intermediate results.",
        )
    return ProtocolError(
        500,
        f"The query was not answered: the query process evaluating it {exc.cause}. Nothing "
        "else was affected; a query nested or chained less deeply may succeed.",
    )


def too_large_headers(exc: ResultTooLarge) -> dict[str, str]:
    return {LIMIT_HEADER: f"{exc.limit}={exc.value}"}


def body_too_large_message(limit: int | None, path: str = "/sparql") -> str:
    size = f" ({limit:,} bytes)" if limit else ""
    if path == "/store":
        hint = (
            "Send the data in several parts (POST adds to a graph), or ingest the file "
            "with `alliance ingest FILE`."
        )
    else:
        hint = (
            "Send the query text itself (application/sparql-query or a form field), without "
            "large inline data."
        )
    return f"The request body is larger than this server accepts{size}. {hint}"


def register(app: Flask) -> None:
    """Plain-text answers for the limits, for every page that has no handler of its own."""

    @app.errorhandler(QueryTimeout)
    def query_timeout(exc: QueryTimeout) -> Response:
        return plain_text(timeout_message(exc), TIMEOUT_STATUS)

    @app.errorhandler(QueryProcessDied)
    def query_process_died(exc: QueryProcessDied) -> Response:
        error = process_died(exc)
        return plain_text(error.message, error.status)

    @app.errorhandler(ResultTooLarge)
    def result_too_large(exc: ResultTooLarge) -> Response:
        return plain_text(too_large_message(exc), TOO_LARGE_STATUS, too_large_headers(exc))

    @app.errorhandler(RequestEntityTooLarge)
    def body_too_large(exc: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return plain_text(body_too_large_message(limit, request.path), 413)


#: Set in the WSGI environment when a chunked body passed the limit.
BODY_TOO_LARGE = "alliance.body_too_large"


class BodyLimit:
    """WSGI middleware: a chunked body is read here, up to the limit; past it, 413.

    Why: werkzeug reads a body that has no Content-Length only up to MAX_CONTENT_LENGTH
    and then stops without an error (its limited stream ends exactly at the limit), so a
    12 MB chunked upload was stored cut at 10 MiB. Here the body is read to one byte past
    the limit: under it, the application gets it with its Content-Length; over it, the
    request is answered 413 by the application's own handler (`register`). waitress, under
    `alliance serve`, de-chunks bodies and refuses those over the limit itself: this holds
    the limit on any other WSGI server too.
    """

    def __init__(self, app: object, limit: int | None):
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict, start_response: object) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        # With Transfer-Encoding: chunked, a Content-Length means nothing (RFC 9112 6.3).
        if self.limit is not None and chunked:
            stream, body = environ["wsgi.input"], bytearray()
            while len(body) <= self.limit:
                piece = stream.read(min(64 * 1024, self.limit + 1 - len(body)))
                if not piece:
                    break
                body += piece
            if len(body) > self.limit:
                environ[BODY_TOO_LARGE] = True
                body = bytearray()
            environ["wsgi.input"] = io.BytesIO(bytes(body))
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)  # type: ignore[operator]


def install_body_limit(app: Flask) -> None:
    """Hold MAX_CONTENT_LENGTH for chunked bodies too (see BodyLimit)."""
    app.wsgi_app = BodyLimit(app.wsgi_app, app.config.get("MAX_CONTENT_LENGTH"))  # type: ignore[method-assign]

    @app.before_request
    def refuse_too_large() -> None:
        if request.environ.get(BODY_TOO_LARGE):
            raise RequestEntityTooLarge()
