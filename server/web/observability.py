"""What a running server tells its operator: an access log, `/health` and `/metrics`.

Three pieces, installed on the app by `install(app)` (create_app does it first, so that its
after-request hook runs after every other one and sees the final status):

- **The access log**: one line per request on the `alliance.access` logger, a JSON object by
  default (`ACCESS_FIELDS`). `alliance serve` sends it to stderr or a file instead of gunicorn's
  plain access log (`configure_access_log`). No request header is ever logged, so neither is
  `Authorization` nor the write token it carries.
- **Query time**: the time a request spends in the store, reported by the code that runs
  queries through `query_timer()` / `@timed_query` (see there). pyoxigraph evaluates lazily,
  while results are read, so the timed block must cover reading the results, not just the
  `store.query()` call; nested blocks count once.
- **`/metrics`**, in the Prometheus text format through prometheus-client: requests by endpoint,
  method and status, latency, query time and answer size histograms, query errors and timeouts.
  gunicorn runs several worker processes and a scrape reaches one of them, so `alliance serve`
  sets `PROMETHEUS_MULTIPROC_DIR` to a fresh folder before prometheus-client is imported (it
  picks file-backed values at import) and before the workers fork: every worker then writes
  its values to files there and `/metrics` sums them all. Without that variable (the Flask
  test client, `flask run`) the process's own values are served.

Labels are the Flask endpoint (`sparql.endpoint`, `api.run_query`…), never the raw path, so
their number stays bounded whatever clients ask for.

How the query counters decide, without importing the query runner: an answer is a *timeout*
when a query endpoint answers 503 or an exception whose class (or cause) is named `QueryTimeout`
left a timed block; it is a *query error* when the request ran a query (a timed block) and
answered 400, 413, 422 or 5xx — a malformed query, one that cannot be evaluated, an answer
over the limits or a store failure — but not a parameter or negotiation error found before
or after the query (404, 406, 415…).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, g, has_request_context, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    exposition,
    multiprocess,
)

from alliance import __version__
from alliance.store.base import unbounded

log = logging.getLogger(__name__)
access_log = logging.getLogger("alliance.access")

F = TypeVar("F", bound=Callable[..., Any])

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The fields of a JSON access-log line, in order (None when not known).
ACCESS_FIELDS = (
    "time",
    "client",
    "method",
    "path",
    "status",
    "duration_ms",
    "query_ms",
    "result_bytes",
    "endpoint",
    "query_kind",
    "query_name",
)
#: Endpoints that run client queries: their 503 is a timeout (see the module docstring).
QUERY_ENDPOINTS = frozenset({"sparql.endpoint", "api.run_query", "linked_data.resource"})
#: Statuses of a request that ran a query which count as a query error (503: a timeout).
QUERY_ERROR_STATUSES = frozenset({400, 413, 422})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
#: Longest path or query name written to the log (a line must stay one write).
MAX_FIELD = 2000
START_KEY = "alliance.started"

# -- metrics ------------------------------------------------------------------------------

#: This process's metrics; in multiprocess mode their values live in PROMETHEUS_MULTIPROC_DIR.
registry = CollectorRegistry()

REQUESTS = Counter(
    "alliance_http_requests",
    "HTTP requests answered, by Flask endpoint, method and status.",
    ["endpoint", "method", "status"],
    registry=registry,
)
LATENCY = Histogram(
    "alliance_http_request_duration_seconds",
    "Time from receiving a request to having its answer ready, by Flask endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=registry,
)
QUERY_TIME = Histogram(
    "alliance_query_duration_seconds",
    "Time a request spent running queries and reading their results, by Flask endpoint.",
    ["endpoint"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=registry,
)
RESPONSE_SIZE = Histogram(
    "alliance_http_response_size_bytes",
    "Size of answer bodies, by Flask endpoint (unknown sizes are not observed).",
    ["endpoint"],
    buckets=tuple(10**e for e in range(2, 10)),
    registry=registry,
)
QUERY_ERRORS = Counter(
    "alliance_query_errors",
    "Requests whose query failed (malformed, not evaluable, too large, store failure).",
    ["endpoint", "status"],
    registry=registry,
)
QUERY_TIMEOUTS = Counter(
    "alliance_query_timeouts",
    "Requests whose query ran out of time.",
    ["endpoint"],
    registry=registry,
)

WORKERS = Gauge(
    "alliance_workers",
    "Worker processes serving this app (summed over the live workers).",
    registry=registry,
    multiprocess_mode="livesum",
)


def multiprocess_dir() -> str | None:
    """The folder where every worker writes its metric values, when serving with several."""
    return os.environ.get(MULTIPROC_ENV) or None


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit hook: drop a dead worker's live-only values (its counts stay)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


def metrics_text(accept: str | None = None) -> tuple[bytes, str]:
    """Every metric and its media type, summed over the workers when there are several.

    The format follows the scraper's Accept header (Prometheus text 0.0.4 by default,
    OpenMetrics when asked), as prometheus-client negotiates it.
    """
    encoder, media_type = exposition.choose_encoder(accept or "")
    if multiprocess_dir():
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return encoder(collected), media_type
    return encoder(registry), media_type


# -- query time ---------------------------------------------------------------------------


@dataclass
class QueryStats:
    """What the current request's timed blocks reported (kept on `flask.g`)."""

    seconds: float = 0.0
    depth: int = 0
    started: float = 0.0
    kind: str | None = None
    name: str | None = None
    timeout: bool = False


def _stats() -> QueryStats | None:
    if not has_request_context():
        return None
    stats = g.get("alliance_query")
    if stats is None:
        stats = g.alliance_query = QueryStats()
    return stats


def _is_timeout(exc: BaseException) -> bool:
    """Whether `exc` or what caused it is a QueryTimeout, whoever defines that class."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(cls.__name__ == "QueryTimeout" for cls in type(current).__mro__):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def query_timer(kind: str | None = None, name: str | None = None) -> Iterator[None]:
    """Count the block's time as store time of the current request.

    Wrap the code that runs a query *and reads its results* (pyoxigraph evaluates while
    results are read). Blocks may nest: only the outermost one counts. A `QueryTimeout`
    leaving the block (or causing what leaves it) marks the request as timed out.
    Outside a request it does nothing, so store-calling code may use it unconditionally.
    """
    stats = _stats()
    if stats is None:
        yield
        return
    if kind and not stats.kind:
        stats.kind = kind
    if name and not stats.name:
        stats.name = name
    stats.depth += 1
    if stats.depth == 1:
        stats.started = time.perf_counter()
    try:
        yield
    except BaseException as exc:
        if _is_timeout(exc):
            stats.timeout = True
        raise
    finally:
        stats.depth -= 1
        if stats.depth == 0:
            stats.seconds += time.perf_counter() - stats.started


def timed_query(kind: str | None = None) -> Callable[[F], F]:
    """Decorator form of `query_timer`; a query result it returns names the query's form."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with query_timer(kind):
                result = function(*args, **kwargs)
            form = _query_form(result)
            stats = _stats()
            if form and stats is not None and stats.name is None:
                stats.name = form
            return result

        return timed  # type: ignore[return-value]

    return decorate


#: A result's query form, by pyoxigraph class or by a store's `SerializedResult.kind`.
FORMS = {
    "QuerySolutions": "select",
    "QueryBoolean": "ask",
    "QueryTriples": "graph",
    "solutions": "select",
    "boolean": "ask",
    "triples": "graph",
}


def _query_form(result: object) -> str | None:
    """`select`, `ask` or `graph` (CONSTRUCT/DESCRIBE) for a query result, else None."""
    kind = getattr(result, "kind", None)
    return FORMS.get(kind if isinstance(kind, str) else type(result).__name__)


def report_query(
    seconds: float, *, kind: str | None = None, name: str | None = None, timeout: bool = False
) -> None:
    """For code that measures its own store time (a query run elsewhere): add it here."""
    stats = _stats()
    if stats is None:
        return
    stats.seconds += seconds
    stats.kind = stats.kind or kind
    stats.name = stats.name or name
    stats.timeout = stats.timeout or timeout


# -- the hooks ------------------------------------------------------------------------------


def _endpoint() -> str:
    rule = request.url_rule
    return rule.endpoint if rule is not None else "none"


def _result_bytes(response: Response) -> int | None:
    if response.content_length is not None:
        return response.content_length
    if response.is_streamed:
        return None  # a generator: counting it would mean reading it here
    return response.calculate_content_length()


def record(response: Response) -> Response:
    """After every request: the access-log line and the metrics (never failing the answer)."""
    try:
        _record(response)
    except Exception:  # noqa: BLE001 - a full disk must not turn answers into errors
        log.exception("could not record the request in the access log or the metrics")
    return response


def _record(response: Response) -> None:
    environ = request.environ
    started = environ.get(START_KEY)
    duration = time.perf_counter() - started if started is not None else None
    endpoint = _endpoint()
    method = request.method if request.method in METHODS else "other"
    status = response.status_code
    stats: QueryStats | None = g.get("alliance_query")
    size = _result_bytes(response)

    REQUESTS.labels(endpoint, method, str(status)).inc()
    if duration is not None:
        LATENCY.labels(endpoint).observe(duration)
    if size is not None:
        RESPONSE_SIZE.labels(endpoint).observe(size)
    timeout = (stats is not None and stats.timeout) or (
        status == 503 and endpoint in QUERY_ENDPOINTS
    )
    if stats is not None:
        QUERY_TIME.labels(endpoint).observe(stats.seconds)
    if timeout:
        QUERY_TIMEOUTS.labels(endpoint).inc()
    elif stats is not None and (status in QUERY_ERROR_STATUSES or status >= 500):
        QUERY_ERRORS.labels(endpoint, str(status)).inc()

    if access_log.isEnabledFor(logging.INFO):
        kind = stats.kind if stats is not None else None
        name = stats.name if stats is not None else None
        if endpoint == "api.run_query":
            kind, name = "api", (request.view_args or {}).get("name", name)
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "client": request.remote_addr,
            "method": request.method[:20],
            "path": _clip(request.full_path if request.query_string else request.path),
            "status": status,
            "duration_ms": _ms(duration),
            "query_ms": _ms(stats.seconds) if stats is not None else None,
            "result_bytes": size,
            "endpoint": endpoint,
            "query_kind": kind,
            "query_name": _clip(name) if name else None,
        }
        if timeout:
            entry["timeout"] = True
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        access_log.info("%s", text, extra={"access": entry})


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_FIELD else text[:MAX_FIELD] + "…"


class TextFormatter(logging.Formatter):
    """The access log for people: `time client "METHOD path" status bytes duration query`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = getattr(record, "access", None)
        if not isinstance(entry, dict):
            return super().format(record)
        size = entry["result_bytes"] if entry["result_bytes"] is not None else "-"
        line = (
            f'{entry["time"]} {entry["client"]} "{entry["method"]} {_escaped(entry["path"])}" '
            f"{entry['status']} {size} {entry['duration_ms']} ms"
        )
        if entry["query_ms"] is not None:
            line += f" (query {entry['query_ms']} ms)"
        if entry["query_kind"]:
            named = f"{entry['query_kind']} {_escaped(entry['query_name'] or '')}".rstrip()
            line += f" [{named}]"
        return line


def _escaped(text: str) -> str:
    """`text` with line breaks, quotes and other controls escaped: one request, one line."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def configure_access_log(target: str = "-", fmt: str = "json") -> None:
    """Send the access log to stderr (`-`) or append it to a file, as JSON or text.

    Done in the server's main process before the workers fork: they inherit the handler, and
    a file opened for appending takes each line whole from every worker.
    """
    handler: logging.Handler
    if target == "-":
        handler = logging.StreamHandler(sys.stderr)
    else:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(target, mode="a", encoding="utf-8")
    handler.setFormatter(TextFormatter() if fmt == "text" else logging.Formatter("%(message)s"))
    for old in list(access_log.handlers):
        access_log.removeHandler(old)
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


# -- /health and /metrics -------------------------------------------------------------------

blueprint = Blueprint("observability", __name__)

NO_STORE = {"Cache-Control": "no-store"}
#: `user:password@` in a URL of the reason: /health is public, the store's credentials are not.
CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


@blueprint.route("/health", methods=["GET", "HEAD"])
def health() -> Response:
    """200 when the store answers a trivial query, 503 with the reason when it does not."""
    store = current_app.extensions["alliance.store"]
    body: dict[str, object] = {"version": __version__}
    try:
        # An embedded store whose folder vanished would answer from an empty stand-in:
        # that is not the store the server was started on.
        path = getattr(store, "path", None)
        if path is not None and not os.access(path, os.R_OK | os.X_OK):
            raise OSError(f"the store folder {path} is missing or unreadable")
        # In this process: a health check must not queue behind clients' slow queries.
        with unbounded():
            store.query("ASK {}")
            graphs = len(store.graphs())
        published = getattr(store, "published_generation", None)
        generation = published() if callable(published) else None
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", said as such
        log.warning("health check failed: %s", exc)
        reason = CREDENTIALS.sub(r"\1***@", str(exc)) or type(exc).__name__
        body.update(status="unavailable", store="unreachable", reason=reason)
        return _json(body, 503)
    body.update(status="ok", store="reachable", generation=generation, graphs=graphs)
    return _json(body, 200)


@blueprint.route("/metrics", methods=["GET", "HEAD"])
def metrics() -> Response:
    """The Prometheus exposition of every worker's metrics."""
    body, media_type = metrics_text(request.headers.get("Accept"))
    return Response(body, content_type=media_type, headers=NO_STORE)


def _json(body: dict[str, object], status: int) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
        headers=NO_STORE,
    )


def install(app: Flask) -> None:
    """Register the routes, the request clock and the after-request hook on `app`.

    Call it before anything else registers an after-request hook: Flask runs them in reverse
    order, and this one must see the final answer.
    """
    app.register_blueprint(blueprint)
    app.after_request(record)
    # gunicorn creates the app in each worker as it boots: this counts the live ones.
    WORKERS.set(1)
    inner = app.wsgi_app

    def clocked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # Timed from the WSGI call, so that time spent in other before-request hooks counts.
        environ.setdefault(START_KEY, time.perf_counter())
        return inner(environ, start_response)

    app.wsgi_app = clocked  # type: ignore[method-assign]
