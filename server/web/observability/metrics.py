"""The Prometheus metrics, summed over gunicorn's workers (multiprocess mode)."""

from __future__ import annotations

import logging
import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    exposition,
    multiprocess,
)

log = logging.getLogger(__name__)

#: Where gunicorn's workers write their metrics (set by `alliance serve`, see __init__).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

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
