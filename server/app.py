"""The Flask application factory: one blueprint per face of the service."""

from __future__ import annotations

import logging

from flask import Flask, Response, request

from alliance.server import api, linked_data, site, sparql, validation
from alliance.server.context import SETTINGS, STORE
from alliance.server.settings import Settings
from alliance.server.web import limits, observability, rate_limit, security_headers
from alliance.store import GraphStore, open_store
from alliance.store.isolated import isolate

log = logging.getLogger(__name__)

#: Read-only faces: any web page may read them.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Authorization, Content-Type",
    "Access-Control-Expose-Headers": "Content-Type, Content-Length, Link",
}
#: The write endpoints: only for the origins `--cors-origin` lists (see write_cors).
WRITE_PATHS = frozenset({"/sparql/update", "/store"})
WRITE_CORS_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, HEAD, OPTIONS",
}


def write_cors(origin: str | None, allowed: tuple[str, ...]) -> dict[str, str]:
    """CORS headers for a write endpoint: none unless the request's origin is allowed.

    A page of another site holding the token could otherwise write from a visitor's
    browser; the operator names the origins of the pages that may (`*`: any).
    """
    if not origin or not ("*" in allowed or origin in allowed):
        return {}
    return {**WRITE_CORS_HEADERS, "Access-Control-Allow-Origin": origin}


def create_app(settings: Settings | None = None, store: GraphStore | None = None) -> Flask:
    """Build the application over `store` (opened read-only from settings.store by default)."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.extensions[SETTINGS] = settings
    # Read-only unless writes are enabled: nothing else may change the store.
    writable = settings.write_token is not None
    if store is None:
        # Queries in child processes, so that one over --query-timeout can be stopped.
        store = isolate(
            open_store(settings.store, read_only=not writable, **settings.store_access()),
            processes=settings.query_processes,
            timeout=settings.query_timeout,
            max_bytes=settings.max_result_bytes,
            memory=settings.query_memory or None,
        )
    app.extensions[STORE] = store

    # First, so that its after-request hook (access log, metrics) sees the final answer.
    observability.install(app)
    # Client addresses (--trust-proxy) and the per-client limit, before any costly work.
    rate_limit.init_app(app, settings)
    # CSP, nosniff, Referrer-Policy, framing: on every answer, errors and 429s included.
    security_headers.init_app(app)
    limits.register(app)  # 503, 422 and 413 in plain text, for pages without their own
    limits.install_body_limit(app)  # and 413 for chunked bodies, which werkzeug cuts
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(linked_data.blueprint)
    app.register_blueprint(site.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(validation.blueprint)

    @app.after_request
    def cors(response: Response) -> Response:
        # On every answer, errors included, so that browser clients see the error text.
        if request.path in WRITE_PATHS:
            origin = request.headers.get("Origin")
            response.headers.update(write_cors(origin, settings.cors_origins))
            response.vary.add("Origin")
        else:
            response.headers.update(CORS_HEADERS)
        response.vary.add("Accept")
        return response

    return app
