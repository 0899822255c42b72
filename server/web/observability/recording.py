"""What each answered request leaves behind: a line of the access log and its metrics."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import Response, g, request

from alliance.server.web.observability.metrics import (
    LATENCY,
    QUERY_ERRORS,
    QUERY_TIME,
    QUERY_TIMEOUTS,
    REQUESTS,
    RESPONSE_SIZE,
)
from alliance.server.web.observability.query_time import QueryStats

log = logging.getLogger(__name__)
access_log = logging.getLogger("alliance.access")

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
