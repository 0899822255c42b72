"""The named-query API: the queries of queries/ as web resources with typed parameters.

Routes: `/api` (a page for people), `/api/queries` (the catalogue, JSON or HTML),
`/api/queries/NAME?param=…` (the rows), `/api/openapi.json` (OpenAPI 3.1, generated from the
query files). Parameter values are parsed as their declared type into RDF terms and bound by
the engine (see alliance.queries); a wrong one is a 400 that names it, in JSON.

Formats of the rows: `application/json` is plain rows of values (`{"query", "parameters",
"columns", "rows", "count"}`) and the default; the W3C SPARQL results formats (JSON, XML,
CSV, TSV) and an HTML table by the Accept header or `format=` (json, sparql-json, xml, csv,
tsv, html).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, render_template, request, url_for
from pyoxigraph import QuerySolutions
from werkzeug.routing import BaseConverter

from alliance.formats import content_type
from alliance.queries import NamedQuery, ParameterError, QueryFileError, named_queries
from alliance.queries.output import plain_value
from alliance.queries.parameters import Term
from alliance.server.api import openapi_doc
from alliance.server.context import current_settings, current_store
from alliance.server.linked_data.resource_view import Display
from alliance.server.web import limits
from alliance.server.web.cache import memoised
from alliance.server.web.errors import ServiceError
from alliance.server.web.negotiation import ALIASES, HTML, RESULTS, Choice, NotAcceptable, negotiate
from alliance.server.web.observability import timed_query
from alliance.store import StoreError
from alliance.store.base import QueryTimeout, ResultTooLarge

log = logging.getLogger(__name__)
T = TypeVar("T")

blueprint = Blueprint("api", __name__)


class AnyText(BaseConverter):
    """Any non-empty text, slashes and line breaks included (werkzeug's `path` stops at a line
    break): every path under /api/ reaches a view, so that every error is JSON."""

    regex = r"(?s:.+)"
    part_isolating = False


blueprint.record_once(lambda state: state.app.url_map.converters.setdefault("any_text", AnyText))

ROWS = Choice("application/json", None)
#: What a query's rows can be written as, the default first.
ROW_CHOICES = [ROWS, *RESULTS, HTML]
LIST_CHOICES = [ROWS, HTML]
#: `format=` values (see openapi_doc.FORMATS for their media types).
BY_NAME = {
    name: next(c for c in ROW_CHOICES if c.media_type == media)
    for name, media in openapi_doc.FORMATS.items()
}
#: Here `application/json` is the plain rows, not an alias of the W3C JSON.
API_ALIASES = {alias: target for alias, target in ALIASES.items() if alias != "application/json"}


class ApiError(ServiceError):
    """An answer other than 200, written as JSON `{"error": …, other fields…}`."""

    def __init__(self, status: int, error: str, **fields: str):
        super().__init__(status, error)
        self.body = {"error": error, **fields}

    def response_body(self) -> Response:
        return json_response(self.body, status=self.status)


def json_response(body: object, *, status: int = 200) -> Response:
    # json.dumps keeps the columns' order (Flask's JSON provider would sort the keys).
    text = json.dumps(body, ensure_ascii=False)
    return Response(text, status=status, content_type="application/json")


def library() -> dict[str, NamedQuery]:
    """The named queries, read at each request (a new .rq file shows without a restart)."""
    try:
        return named_queries()
    except (QueryFileError, OSError) as exc:
        log.error("cannot read the named queries: %s", exc)
        raise ApiError(500, "a named-query file is broken", reason=str(exc)) from None


def choose(choices: list[Choice]) -> Choice:
    """The answer's format: `format=` if given (json, sparql-json, xml, csv, tsv, html), else
    the Accept header, else the first choice."""
    values = request.args.getlist("format")
    if len(values) > 1:
        raise bad_parameter(ParameterError("format", "give one value"))
    if values:
        wanted = BY_NAME.get(values[0])
        if wanted is None or wanted not in choices:
            names = ", ".join(n for n, c in BY_NAME.items() if c in choices)
            raise bad_parameter(ParameterError("format", f"{values[0]!r}: use one of {names}"))
        return wanted
    try:
        return negotiate(request, choices, aliases=API_ALIASES)
    except NotAcceptable as exc:
        raise ApiError(406, "not acceptable", reason=str(exc)) from None


def bad_parameter(exc: ParameterError) -> ApiError:
    return ApiError(
        400,
        f"invalid parameter {exc.parameter!r}: {exc.reason}",
        parameter=exc.parameter,
        reason=exc.reason,
    )


def given_parameters() -> dict[str, str]:
    """The query string's values by name, `format` aside; a repeated name is a 400."""
    given: dict[str, str] = {}
    for name, values in request.args.lists():
        if name == "format":
            continue
        if len(values) > 1:
            raise bad_parameter(ParameterError(name, "give one value, not several"))
        given[name] = values[0]
    return given


def example_values(query: NamedQuery) -> dict[str, str]:
    """Example values worth putting in a link: required ones and those unlike the default."""
    return {
        p.name: str(p.as_json()["example"]).lower() if p.type == "boolean" else p.example
        for p in query.parameters
        if p.example is not None and (p.required or p.example != p.default)
    }


def links(query: NamedQuery) -> dict[str, str]:
    path = url_for("api.run_query", name=query.name)
    examples = example_values(query)

    def with_format(fmt: str | None) -> str:
        params = {**examples, **({"format": fmt} if fmt else {})}
        return f"{path}?{urlencode(params)}" if params else path

    return {
        "self": path,
        "example": with_format(None),
        "csv": with_format("csv"),
        "sparql-json": with_format("sparql-json"),
        "html": with_format("html"),
        "sparql": f"{request.script_root}/sparql?query={quote(query.sparql(), safe='')}",
    }


def describe(query: NamedQuery) -> dict[str, object]:
    """One entry of the catalogue."""
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "question": query.header.get("question"),
        "note": query.header.get("note"),
        "parameters": [p.as_json() for p in query.parameters],
        "columns": list(openapi_doc.columns_of(query.sparql())),
        "links": links(query),
        "sparql": query.text,
    }


def catalogue_page(entries: list[dict[str, object]]) -> Response:
    body = render_template(
        "api.html",
        queries=entries,
        host=request.host_url.rstrip("/"),
        formats=openapi_doc.FORMATS,
    )
    return Response(body, content_type="text/html; charset=utf-8")


@blueprint.get("/api")
def page() -> Response:
    return catalogue_page([describe(q) for q in library().values()])


@blueprint.get("/api/queries")
def list_queries() -> Response:
    choice = choose(LIST_CHOICES)
    entries = [describe(q) for q in library().values()]
    if choice is HTML:
        return catalogue_page(entries)
    return json_response({"queries": entries})


@blueprint.get("/api/openapi.json")
def openapi() -> Response:
    return json_response(openapi_doc.openapi_document(library(), request.script_root))


@blueprint.get("/api/<any_text:rest>")
def unknown(rest: str) -> Response:
    raise ApiError(
        404,
        f"nothing at /api/{rest}",
        reason=f"the API is described at {url_for('api.page')} and {url_for('api.openapi')}",
    )


@blueprint.get("/api/queries/<any_text:name>")
def run_query(name: str) -> Response:
    query = library().get(name)
    if query is None:
        raise ApiError(
            404,
            f"no query named {name!r}",
            query=name,
            reason=f"the named queries are listed at {url_for('api.list_queries')}",
        )
    given = given_parameters()
    try:
        terms = query.bind(given)
    except ParameterError as exc:
        raise bad_parameter(exc) from None
    choice = choose(ROW_CHOICES)
    values = {
        p.name: plain_value(terms[p.var]) if p.var in terms else None for p in query.parameters
    }

    def remembered(kind: str, compute: Callable[[], T]) -> T:
        # Without client values the answers are few (queries × formats) and some take
        # seconds (cq7): keep them for as long as the store's content is the same.
        if given:
            return compute()
        digest = hashlib.sha256(query.text.encode()).hexdigest()
        return memoised(current_store(), f"api:{name}:{kind}", compute, extra=digest)

    if choice is HTML:
        columns, rows = remembered("rows", lambda: plain_rows(evaluate(query, terms)))
        return results_page(query, values, columns, rows)
    body = remembered(choice.media_type, lambda: answer_body(query, terms, values, choice))
    media = choice.media_type
    return Response(body, content_type=content_type(media))


@timed_query("api")
def evaluate(query: NamedQuery, terms: dict[str, Term]) -> QuerySolutions:
    """The solutions of `query` with `terms` bound by the engine."""
    started = time.perf_counter()
    try:
        result = current_store().query(query.sparql(), substitutions=dict(terms))
    except QueryTimeout as exc:
        raise ApiError(
            limits.TIMEOUT_STATUS,
            f"the query {query.name!r} ran past the time limit",
            query=query.name,
            reason=limits.timeout_message(exc),
        ) from None
    except ResultTooLarge as exc:
        raise ApiError(
            limits.TOO_LARGE_STATUS,
            f"the answer of {query.name!r} is over a result limit",
            query=query.name,
            reason=limits.too_large_message(exc),
        ) from None
    except (StoreError, RuntimeError, ValueError) as exc:
        log.exception("named query %s failed", query.name)
        raise ApiError(
            500, f"the query {query.name!r} failed", query=query.name, reason=str(exc)
        ) from None
    if not isinstance(result, QuerySolutions):
        raise ApiError(500, f"the query {query.name!r} is not a SELECT query", query=query.name)
    log.debug("api %s: evaluated in %.3f s", query.name, time.perf_counter() - started)
    return result


@timed_query("api")  # reading the rows is when the engine evaluates
def plain_rows(result: QuerySolutions) -> tuple[list[str], list[dict[str, object]]]:
    columns = [v.value for v in result.variables]
    return columns, [{c: plain_value(solution[c]) for c in columns} for solution in result]


@timed_query("api")
def answer_body(
    query: NamedQuery, terms: dict[str, Term], values: dict[str, object], choice: Choice
) -> bytes:
    """The answer in a W3C format (pyoxigraph's serialiser) or as plain JSON rows."""
    result = evaluate(query, terms)
    if choice.format is not None:
        return result.serialize(format=choice.format)
    columns, rows = plain_rows(result)
    body = {
        "query": query.name,
        "parameters": values,
        "columns": columns,
        "rows": rows,
        "count": len(rows),
    }
    return json.dumps(body, ensure_ascii=False).encode()


def results_page(
    query: NamedQuery,
    values: dict[str, object],
    columns: list[str],
    rows: list[dict[str, object]],
) -> Response:
    display = Display(current_settings().base, request.script_root)
    given = {k: v for k, v in request.args.items() if k != "format"}
    path = url_for("api.run_query", name=query.name)

    def link_as(fmt: str) -> str:
        return f"{path}?{urlencode({**given, 'format': fmt})}"

    body = render_template(
        "api_results.html",
        query=query,
        values=values,
        columns=columns,
        rows=rows,
        href=lambda v: display.href(v) if isinstance(v, str) else None,
        short=display.prefixed,
        formats={name: link_as(name) for name in openapi_doc.FORMATS if name != "html"},
    )
    return Response(body, content_type="text/html; charset=utf-8")
