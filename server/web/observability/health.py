"""`/health` and `/metrics`: whether the store answers, and the metrics of every worker."""

from __future__ import annotations

import json
import logging
import os
import re

from flask import Blueprint, Response, current_app, request

from alliance import __version__
from alliance.server.web.observability.metrics import metrics_text
from alliance.store.base import unbounded

log = logging.getLogger(__name__)

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
