"""Per-client rate limit on the costly endpoints: a token bucket shared by all workers.

Costly: /sparql and /sparql/update, /store, POST /validate and /api/queries/…, the
requests that run queries or parse bodies. Each client (its address) has a
bucket of `--rate-limit` tokens refilled at that many per minute; a request over
it gets 429 with Retry-After, before any work is done.

gunicorn runs several worker processes, so a counter in each would let a client
make `workers` times the limit. The buckets live instead in one small SQLite file
that `alliance serve` creates for the server's lifetime (Settings.rate_limit_file),
each check one short transaction under SQLite's own cross-process lock, so the
limit is exact for the whole server. Without a file (an app built in-process, as
tests do) the buckets are in memory. If the file cannot be used (locked too long,
disk full), a request is let through and the failure logged: the limit protects
the service, it must never take it down.

The client is the connection's address; behind reverse proxies, `--trust-proxy N`
makes it the address the N proxies report in X-Forwarded-For (werkzeug's
ProxyFix), which a client can otherwise forge to get fresh buckets.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time

from flask import Flask, Request, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from alliance.server.settings import Settings

log = logging.getLogger(__name__)

#: Seconds a check waits for another worker's transaction on the shared file.
LOCK_WAIT = 2.0
#: Checks between two sweeps of the buckets that are full again.
SWEEP_EVERY = 1000


def is_costly(method: str, path: str) -> bool:
    """Whether a request runs client queries, parses a body or writes (preflights never do).

    The limit counts these; `alliance serve` also gives them their own threads
    (server/serving/worker.py).
    """
    if method == "OPTIONS":
        return False
    return (
        path == "/sparql"
        or path.startswith("/sparql/")
        or path == "/store"
        or (path == "/validate" and method == "POST")
        or path.startswith("/api/queries/")
    )


def costly(req: Request) -> bool:
    """Whether the request is one the limit counts."""
    return is_costly(req.method, req.path)


class Limiter:
    """Token buckets of `per_minute` tokens, one per client key, in memory or in a file."""

    def __init__(self, per_minute: int, path: str | None = None) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.path = path
        self._lock = threading.Lock()
        self._memory: dict[str, tuple[float, float]] = {}
        self._local = threading.local()
        self._checks = 0
        if path is not None:
            # A connection of its own: the per-thread ones are opened where they are used,
            # never before gunicorn forks its workers.
            try:
                db = sqlite3.connect(path, timeout=LOCK_WAIT, isolation_level=None)
                try:
                    db.execute(
                        "CREATE TABLE IF NOT EXISTS bucket"
                        " (client TEXT PRIMARY KEY, tokens REAL NOT NULL, stamp REAL NOT NULL)"
                    )
                finally:
                    db.close()
            except sqlite3.Error:  # a worker must boot anyway; each check will say it failed
                log.warning("rate limit: cannot use %s", path, exc_info=True)

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            assert self.path is not None
            db = sqlite3.connect(self.path, timeout=LOCK_WAIT, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")  # a lost bucket after a crash is harmless
            self._local.db = db
        return db

    def _take(self, tokens: float, stamp: float, now: float) -> tuple[float, float | None]:
        """(tokens left, seconds to wait or None) for a bucket last seen at `stamp`."""
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        if tokens >= 1.0:
            return tokens - 1.0, None
        return tokens, (1.0 - tokens) / self.rate

    def hit(self, client: str) -> float | None:
        """Count one request of `client`: None if allowed, else the seconds until it would be."""
        now = time.monotonic()  # system-wide on Linux: the workers share one clock
        if self.path is None:
            with self._lock:
                tokens, stamp = self._memory.get(client, (self.capacity, now))
                left, wait = self._take(tokens, stamp, now)
                self._memory[client] = (left, now)
                self._sweep_memory(now)
            return wait
        try:
            return self._hit_file(client, now)
        except sqlite3.Error:
            log.warning("rate limit: the shared file failed; request let through", exc_info=True)
            return None

    def _hit_file(self, client: str, now: float) -> float | None:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT tokens, stamp FROM bucket WHERE client = ?", (client,)
            ).fetchone()
            tokens, stamp = row if row else (self.capacity, now)
            left, wait = self._take(tokens, stamp, now)
            db.execute(
                "INSERT OR REPLACE INTO bucket (client, tokens, stamp) VALUES (?, ?, ?)",
                (client, left, now),
            )
            self._checks += 1
            if self._checks % SWEEP_EVERY == 0:
                # A bucket untouched for a minute is full again: forgetting it changes nothing.
                db.execute("DELETE FROM bucket WHERE stamp < ?", (now - 60.0,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return wait

    def _sweep_memory(self, now: float) -> None:
        self._checks += 1
        if self._checks % SWEEP_EVERY == 0:
            self._memory = {k: v for k, v in self._memory.items() if v[1] >= now - 60.0}


def too_many(per_minute: int, wait: float) -> Response:
    seconds = max(1, math.ceil(wait))
    return Response(
        f"Too many requests: at most {per_minute} per minute from one client on this "
        f"endpoint. Retry after {seconds} s.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
        headers={"Retry-After": str(seconds)},
    )


def init_app(app: Flask, settings: Settings) -> None:
    """Trust the configured proxies, and limit the costly requests of each client."""
    if settings.trust_proxy > 0:
        hops = settings.trust_proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    if settings.rate_limit <= 0:
        return
    limiter = Limiter(settings.rate_limit, settings.rate_limit_file)
    app.extensions["alliance.rate_limit"] = limiter

    @app.before_request
    def limit() -> Response | None:
        if not costly(request):
            return None
        wait = limiter.hit(request.remote_addr or "unknown")
        return None if wait is None else too_many(settings.rate_limit, wait)
