"""The SPARQL 1.1 Protocol endpoint at /sparql: read-only queries over the store.

One route serves three audiences. A protocol client (SPARQLWrapper, rdflib's
SPARQLStore, Comunica, YASGUI) sends a query by GET, form POST or direct POST and
gets W3C result formats by content negotiation. A browser submitting the query
page's form gets an HTML table. A GET without a query gets the service
description, or the query page when the client prefers HTML.

The dataset a query sees: by default the union of the named graphs (one per
source), which is what users expect from `SELECT * { ?s ?p ?o }`; the embedded
store answers it from its union index (store/union_index.py). The standard
`default-graph-uri` / `named-graph-uri` parameters and the query's own FROM /
FROM NAMED set it explicitly; our `default-graph=plain` parameter gives the plain
default graph, as the W3C tests expect.

Answers in a W3C format are written by the store itself (`query_serialized`: in
a query process for the embedded store), under the time and result limits of
limits.py: 503 past --query-timeout, 422 past --max-rows or
--max-result-bytes, never a truncated 200. HTML tables go the long way (a result
object, then the page).

Updates are refused here (they go to /sparql/update, see update.py), and
so is SERVICE, which would make the server fetch URLs, unless the operator lists
its endpoint (see web/outbound.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urljoin

from flask import Blueprint, Response, request
from pyoxigraph import NamedNode, QueryTriples, RdfFormat, serialize
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from alliance.formats import content_type
from alliance.namespaces import PREFIXES
from alliance.query_errors import explain
from alliance.server.context import current_settings, current_store
from alliance.server.sparql import graph_store, query_page, service_description, update
from alliance.server.sparql.malformed import ERROR_TYPES, MalformedQuery
from alliance.server.web import limits, outbound
from alliance.server.web.errors import ProtocolError, no_content
from alliance.server.web.input_guards import check_sparql_nesting, check_utf8_parameters
from alliance.server.web.negotiation import GRAPHS, HTML, RESULTS, Choice, NotAcceptable, negotiate
from alliance.server.web.observability import timed_query
from alliance.sparql_text import declares_dataset
from alliance.store import StoreError
from alliance.store.base import (
    Answer,
    Dataset,
    QueryProcessDied,
    QueryResult,
    QueryTimeout,
    ResultTooLarge,
    SerializedResult,
)

log = logging.getLogger(__name__)

blueprint = Blueprint("sparql", __name__)
T = TypeVar("T")

FORM = "application/x-www-form-urlencoded"
QUERY_BODY = "application/sparql-query"
UPDATE_BODY = "application/sparql-update"
#: Names clients use for the format override (SPARQLWrapper sends all three).
FORMAT_PARAMS = ("format", "output", "results")
#: `default-graph` values: what a query without GRAPH sees.
DEFAULT_GRAPH_MODES = ("union", "plain")
UPDATES_REFUSED = (
    "SPARQL Update is not accepted at /sparql, which is read-only; "
    "POST updates to /sparql/update (enabled when the server has a write token)."
)
#: Short names that mean the RDF counterpart when the answer is a graph.
GRAPH_SYNONYMS = {
    "json": "application/ld+json",
    "application/json": "application/ld+json",
    "xml": "application/rdf+xml",
    "application/xml": "application/rdf+xml",
    "text/xml": "application/rdf+xml",
}


@dataclass
class QueryRequest:
    """What a protocol request asks: the query, its dataset and the wanted formats."""

    query: str
    default_graphs: list[NamedNode] = field(default_factory=list)
    named_graphs: list[NamedNode] = field(default_factory=list)
    plain: bool = False
    formats: list[str] = field(default_factory=list)

    @property
    def protocol_dataset(self) -> bool:
        return bool(self.default_graphs or self.named_graphs)


@blueprint.before_request
def preflight() -> Response | None:
    # CORS preflight: the headers themselves are added to every answer by the app.
    if request.method == "OPTIONS":
        return no_content()
    return None


@blueprint.route("/sparql", methods=["GET", "POST", "OPTIONS"], provide_automatic_options=False)
def endpoint() -> Response:
    parsed = read_request()
    if parsed is None:
        return describe_or_page()
    try:
        return answer(parsed)
    except ProtocolError as exc:
        # A browser's form gets the query page back, its query as typed and the error beside
        # it; protocol clients get the error's own body.
        if exc.status < 500 and prefers_html(parsed):
            return query_page.error_page(parsed, exc)
        raise


def prefers_html(parsed: QueryRequest) -> bool:
    """Whether an error goes to a person in a browser: the table was asked for, or the
    browser's navigation asks for HTML first (the form sent with "Answer as: CSV" too)."""
    results, _ = negotiated([*RESULTS, HTML], parsed.formats, graph=False)
    if results is HTML:
        return True
    return request.accept_mimetypes.best_match([*ERROR_TYPES, "text/html"]) == "text/html"


def format_values(params: MultiDict) -> list[str]:
    return [v.strip() for name in FORMAT_PARAMS for v in params.getlist(name) if v.strip()]


def read_request() -> QueryRequest | None:
    """The query request this HTTP request makes (None: no query, show the service)."""
    check_utf8_parameters(request.query_string)
    if request.method == "POST" and request.mimetype == FORM:
        check_utf8_parameters(request.get_data(), "form")
    args = request.args
    params: MultiDict = args
    if request.method == "POST":
        media_type = request.mimetype
        if media_type == FORM:
            if "update" in request.form:
                raise ProtocolError(400, UPDATES_REFUSED)
            params = CombinedMultiDict([args, request.form])
            queries = params.getlist("query")
            if not queries:
                raise ProtocolError(400, "The form has no 'query' parameter.")
        elif media_type == QUERY_BODY:
            queries = [read_body()] + args.getlist("query")
        elif media_type == UPDATE_BODY:
            raise ProtocolError(400, UPDATES_REFUSED)
        else:
            raise ProtocolError(
                415,
                f"Unsupported request media type {media_type or '(none)'!r}: POST a query as "
                f"{FORM} (query=...) or as {QUERY_BODY}.",
            )
    else:
        if "update" in args:
            raise ProtocolError(400, UPDATES_REFUSED)
        queries = args.getlist("query")
        if not queries:
            return None
    if len(queries) > 1:
        raise ProtocolError(400, "Send one query per request (several 'query' values given).")
    check_sparql_nesting(queries[0])
    modes = params.getlist("default-graph")
    if any(mode not in DEFAULT_GRAPH_MODES for mode in modes):
        raise ProtocolError(400, "default-graph must be 'union' (the default) or 'plain'.")
    return QueryRequest(
        query=queries[0],
        default_graphs=graph_iris(params, "default-graph-uri"),
        named_graphs=graph_iris(params, "named-graph-uri"),
        plain=bool(modes) and modes[-1] == "plain",
        formats=format_values(params),
    )


def read_body() -> str:
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ProtocolError(415, f"Send the query in UTF-8, not {charset}.")
    try:
        return request.get_data().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, f"The query is not valid UTF-8: {exc}") from None


def graph_iris(params: MultiDict, name: str) -> list[NamedNode]:
    iris = []
    for value in params.getlist(name):
        try:
            iris.append(NamedNode(value))
        except ValueError as exc:
            raise ProtocolError(400, f"{name}: {value!r} is not an absolute IRI ({exc}).") from None
    return iris


def choose(choices: list[Choice], formats: list[str], *, graph: bool) -> Choice:
    """The answer's format: the first usable `format` value, else the Accept header."""
    if not formats:
        return negotiate(request, choices)
    failure: NotAcceptable | None = None
    for value in formats:
        wanted = GRAPH_SYNONYMS.get(value.lower(), value) if graph else value
        try:
            return negotiate(request, choices, override=wanted)
        except NotAcceptable as exc:
            failure = failure or exc
    assert failure is not None
    raise failure


@timed_query("sparql")
def run(parsed: QueryRequest) -> QueryResult:
    """Run the query on the dataset the request names (see the module docstring)."""
    store = current_store()
    return evaluate(parsed, lambda text, dataset: store.query(text, **dataset))


@timed_query("sparql")
def run_serialized(
    parsed: QueryRequest, results: Choice | None, graph: Choice | None
) -> SerializedResult:
    """Run the query and have the store write the answer, under the server's limits."""
    store, settings = current_store(), current_settings()

    answer = Answer(
        results_format=results.format if results else None,  # type: ignore[arg-type]
        graph_format=graph.format if graph else None,  # type: ignore[arg-type]
        prefixes=prefixes_for(graph) if graph else None,
        max_rows=settings.max_rows or None,
        max_bytes=settings.max_result_bytes or None,
    )

    def ask(text: str, dataset: dict[str, object]) -> SerializedResult:
        return store.query_serialized(
            text,
            answer,
            dataset=Dataset(**dataset),  # type: ignore[arg-type]
            timeout=settings.query_timeout,
        )

    return evaluate(parsed, ask)


def evaluate(parsed: QueryRequest, ask: Callable[[str, dict[str, object]], T]) -> T:
    """`ask(text, dataset)` for the request's query, its checks and failures made protocol
    errors."""
    try:  # SERVICE would make the server fetch URLs: only listed ones (see web/outbound.py)
        outbound.check_query(parsed.query, current_settings().service_allow)
    except outbound.Refused as exc:
        raise ProtocolError(400, str(exc)) from None
    dataset: dict[str, object] = {}
    if parsed.protocol_dataset:
        dataset = {"default_graphs": parsed.default_graphs, "named_graphs": parsed.named_graphs}
    dataset["union_default_graph"] = not parsed.plain and not declares_dataset(parsed.query)
    try:
        return ask(parsed.query, dataset)
    except StoreError as exc:
        if isinstance(exc.__cause__, SyntaxError):
            # Relative IRIs resolve against the endpoint, the protocol's "service-defined
            # base"; tried only after a failure, so that error positions stay the client's.
            based = f"BASE {NamedNode(request.base_url)}\n{parsed.query}"
            try:
                return ask(based, dataset)
            except (QueryTimeout, ResultTooLarge, QueryProcessDied) as again:
                raise query_failure(again, parsed.query) from again
            except StoreError:
                pass  # the client's own text is what the message must be about
            except RuntimeError as again:
                raise evaluation_failure(again) from again
        raise query_failure(exc, parsed.query) from exc
    except RuntimeError as exc:
        raise evaluation_failure(exc) from exc


def evaluation_failure(exc: Exception) -> ProtocolError:
    return ProtocolError(400, f"The query could not be evaluated: {exc}")


def query_failure(exc: Exception, query: str = "") -> ProtocolError:
    if isinstance(exc, QueryTimeout):
        return ProtocolError(limits.TIMEOUT_STATUS, limits.timeout_message(exc))
    if isinstance(exc, ResultTooLarge):
        return ProtocolError(
            limits.TOO_LARGE_STATUS,
            limits.too_large_message(exc),
            limits.too_large_headers(exc),
        )
    if isinstance(exc, QueryProcessDied):
        return limits.process_died(exc)
    cause = exc.__cause__ if isinstance(exc, StoreError) else exc
    if isinstance(cause, SyntaxError):
        return MalformedQuery(explain(query, str(cause)))
    if isinstance(cause, RuntimeError | ValueError):
        return evaluation_failure(exc)
    log.error("query failed: %s", exc)
    return ProtocolError(500, f"The query failed: {exc}")


def answer(parsed: QueryRequest) -> Response:
    """The answer in the negotiated format, written by the store (see query_serialized);
    HTML tables, and negotiations that pick HTML for one kind of result, go the long way."""
    results, results_refusal = negotiated([*RESULTS, HTML], parsed.formats, graph=False)
    graph, graph_refusal = negotiated([*GRAPHS, HTML], parsed.formats, graph=True)
    if HTML in (results, graph) or (results is None and graph is None):
        return answer_with_result(parsed)
    written = run_serialized(parsed, results, graph)
    choice, refusal = (
        (graph, graph_refusal) if written.kind == "triples" else (results, results_refusal)
    )
    if choice is None or written.data is None:
        raise ProtocolError(406, str(refusal)) from None
    return Response(written.data, content_type=content_type(choice.media_type))


def negotiated(
    choices: list[Choice], formats: list[str], *, graph: bool
) -> tuple[Choice | None, NotAcceptable | None]:
    try:
        return choose(choices, formats, graph=graph), None
    except NotAcceptable as exc:
        return None, exc


@timed_query("sparql")  # the results are read (evaluated) while writing the answer
def answer_with_result(parsed: QueryRequest) -> Response:
    result = run(parsed)
    graph = isinstance(result, QueryTriples)
    try:
        choice = choose([*(GRAPHS if graph else RESULTS), HTML], parsed.formats, graph=graph)
    except NotAcceptable as exc:
        raise ProtocolError(406, str(exc)) from None
    if choice is HTML:
        return query_page.results_page(parsed, result)
    try:
        if graph:
            body = serialize(result, format=choice.format, prefixes=prefixes_for(choice))
        else:
            body = result.serialize(format=choice.format)
    except (StoreError, RuntimeError, OSError, SyntaxError, ValueError) as exc:
        raise query_failure(exc) from exc
    return Response(body, content_type=content_type(choice.media_type))


def prefixes_for(choice: Choice) -> dict[str, str] | None:
    return PREFIXES if choice.format in (RdfFormat.TURTLE, RdfFormat.TRIG) else None


def describe_or_page() -> Response:
    """GET without a query: the query page for browsers, the service description otherwise."""
    formats = format_values(request.args)
    if "example" in request.args and not formats:
        return query_page.query_page()
    try:
        choice = choose([*GRAPHS, HTML], formats, graph=True)
    except NotAcceptable as exc:
        raise ProtocolError(406, str(exc)) from None
    if choice is HTML:
        return query_page.query_page()
    endpoint_iri = request.base_url
    writable = current_settings().write_token is not None  # the write endpoints exist
    triples = service_description.describe(
        endpoint_iri,
        current_store(),
        update_endpoint=urljoin(endpoint_iri, "/sparql/update") if writable else None,
        graph_store_endpoint=urljoin(endpoint_iri, "/store") if writable else None,
    )
    prefixes = service_description.PREFIXES if choice.format in (RdfFormat.TURTLE,) else None
    body = serialize(triples, format=choice.format, prefixes=prefixes)
    return Response(body, content_type=content_type(choice.media_type))


update.register(blueprint)
graph_store.register(blueprint)
