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

The package, by job: recording.py (the after-request hook: the access log and the request
metrics), query_time.py (store time per request), metrics.py (the Prometheus metrics),
health.py (`/health`, `/metrics`).

How the query counters decide: an answer is a *timeout* when a query endpoint answers 503
or the store's QueryTimeout (or an error it caused) left a timed block; it is a *query
error* when the request ran a query (a timed block) and answered 400, 413, 422 or 5xx — a
malformed query, one that cannot be evaluated, an answer over the limits or a store
failure — but not a parameter or negotiation error found before or after the query (404,
406, 415…).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from alliance.server.web.observability.health import blueprint
from alliance.server.web.observability.metrics import WORKERS, metrics_text, worker_exited
from alliance.server.web.observability.query_time import query_timer, timed_query
from alliance.server.web.observability.recording import (
    ACCESS_FIELDS,
    START_KEY,
    access_log,
    configure_access_log,
    record,
)

__all__ = [
    "ACCESS_FIELDS",
    "access_log",
    "configure_access_log",
    "install",
    "metrics_text",
    "query_timer",
    "timed_query",
    "worker_exited",
]


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
