"""The gunicorn worker of `alliance serve`: waitress reads whole requests, then a thread runs them.

Why: gunicorn's threaded worker hands a connection to a thread as soon as its first byte
arrives, and that thread then reads the request itself. Four clients sending one header
line every 2 s, or a few sending a body slowly, held every thread for as long as they
liked, and nobody else was served (measured with bench/slow_clients.py). Waitress reads
requests in an event loop, buffering bodies (to a temporary file past 512 kB) and
de-chunking them, and queues a request for a thread only once it is complete; it also
buffers answers, so a slow reader does not hold a thread for small answers either.
gunicorn stays the process manager (workers, restarts, the worker timeout, graceful stops,
the hooks of `alliance serve`): this worker runs waitress over the sockets gunicorn opened.

Three more guards, for what waitress alone lets through:

- **A deadline for reading a request** (`REQUEST_READ_SECONDS` from its first byte): a
  client that trickles its headers or body forever is disconnected, whereas waitress's own
  timeout closes only connections that are silent.
- **Two thread pools**: requests that run client queries, parse bodies or write (see
  `rate_limit.is_costly`) get `--threads` threads; everything else (pages, `/health`,
  `/metrics`, static files) `LIGHT_THREADS` threads of its own, so that queries running to
  their time limit never make a health check or a page wait.
- **Bodies over the service's limit** are cut off by waitress while they arrive, chunked or
  not (a Content-Length over it is refused before any of the body is read); the
  application then answers 413 in its own words, without the body.

The number of open connections per worker is capped (`worker_connections`, default 1000,
and below the process's file limit); past it the worker stops accepting until some close.
A public deployment still belongs behind a reverse proxy (docs/deployment.md).
"""

from __future__ import annotations

import io
import logging
import os
import resource
import socket
import threading
import time
from collections.abc import Callable

from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer, UnixWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask
from waitress.utilities import RequestEntityTooLarge

from alliance.server.web.limits import BODY_TOO_LARGE
from alliance.server.web.rate_limit import is_costly

log = logging.getLogger(__name__)

#: Threads for the requests that are not costly (pages, /health, /metrics).
LIGHT_THREADS = 2
#: Seconds a client has to send a whole request (headers and body) from its first byte.
REQUEST_READ_SECONDS = 60.0
#: Seconds an idle connection (kept alive, or silent before its first byte) stays open.
IDLE_SECONDS = 30.0
#: Seconds between two sweeps of the connections for the two deadlines above.
SWEEP_SECONDS = 2.0
#: Stack of each serving thread (the platform's usual default, made sure of).
THREAD_STACK = 8 * 1024 * 1024
#: File descriptors kept free of connections (store files, pipes to query processes, logs).
RESERVED_FILES = 200


class _BodyTooLargeTask(WSGITask):
    """A request whose body passed the limit, answered by the application, not by waitress.

    The application gets the request without its body and a flag (web.limits.BodyLimit's),
    and answers 413 in its own words, with its own headers (CORS, security, the access
    log). The connection is closed after the answer: the rest of the body may still come.
    """

    def get_environment(self) -> dict:
        environ = super().get_environment()
        environ.update({BODY_TOO_LARGE: True, "wsgi.input": io.BytesIO(), "CONTENT_LENGTH": "0"})
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return environ

    def execute(self) -> None:
        self.set_close_on_finish()
        super().execute()


def _error_task(channel: HTTPChannel, request: object) -> ErrorTask:
    if isinstance(getattr(request, "error", None), RequestEntityTooLarge):
        return _BodyTooLargeTask(channel, request)
    return ErrorTask(channel, request)


class _Channel(HTTPChannel):
    """A connection that remembers when its request in progress began to arrive."""

    error_task_class = staticmethod(_error_task)
    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.request_started = time.monotonic()
        return super().received(data)


class _ServerMixin:
    """Adds the request-reading deadline to waitress's sweep of idle connections."""

    channel_class = _Channel
    active_channels: dict[int, _Channel]

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # type: ignore[misc]
        cutoff = time.monotonic() - REQUEST_READ_SECONDS
        for channel in list(self.active_channels.values()):
            started = channel.request_started
            if channel.request is not None and started is not None and started < cutoff:
                log.info(
                    "closing a connection that took over %g s to send a request",
                    REQUEST_READ_SECONDS,
                )
                channel.will_close = True


class _TcpServer(_ServerMixin, TcpWSGIServer):
    pass


class _UnixServer(_ServerMixin, UnixWSGIServer):
    pass


class SplitDispatcher:
    """Waitress's task dispatcher, with one thread pool for costly requests and one for the rest.

    A task is a connection whose first queued request is to be served; the pool is chosen
    by that request's method and path.
    """

    def __init__(self, threads: int, light_threads: int, costly: Callable[[str, str], bool]):
        self.costly = costly
        self.heavy = ThreadedTaskDispatcher()
        self.light = ThreadedTaskDispatcher()
        self.heavy.set_thread_count(threads)
        self.light.set_thread_count(light_threads)

    def add_task(self, task: HTTPChannel) -> None:
        request = task.requests[0] if task.requests else None
        heavy = request is not None and self.costly(request.command or "", request.path or "")
        (self.heavy if heavy else self.light).add_task(task)

    def shutdown(self, cancel_pending: bool = True, timeout: float = 5) -> bool:
        heavy = self.heavy.shutdown(cancel_pending, timeout)
        light = self.light.shutdown(cancel_pending, timeout)
        return heavy and light


def connection_limit(wanted: int) -> int:
    """At most `wanted` connections, and fewer than the files this process may open.

    Raises the soft limit on open files to the hard one first (a no-op where it is already).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(10, min(wanted, soft - RESERVED_FILES))


class WaitressWorker(Worker):
    """A gunicorn worker serving its WSGI app with waitress (see the module docstring)."""

    def run(self) -> None:
        settings = getattr(self.app, "app_settings", None)
        max_body = getattr(settings, "max_body", None) or 10 * 1024 * 1024
        adjustments = Adjustments(
            threads=self.cfg.threads,
            connection_limit=connection_limit(self.cfg.worker_connections),
            channel_timeout=IDLE_SECONDS,
            cleanup_interval=SWEEP_SECONDS,
            max_request_body_size=max_body,
            # X-Forwarded-* are the application's to believe or not (--trust-proxy).
            clear_untrusted_proxy_headers=False,
            asyncore_use_poll=True,  # select() cannot watch descriptors past 1024
            ident="alliance",
        )
        # A known stack for the serving threads: web/sandbox.py checks updates on half of it.
        threading.stack_size(THREAD_STACK)
        dispatcher = SplitDispatcher(self.cfg.threads, LIGHT_THREADS, is_costly)
        connections: dict[int, object] = {}
        servers = [
            self._server(listener.sock, adjustments, dispatcher, connections)
            for listener in self.sockets
        ]
        try:
            while self.alive:
                self.notify()
                if self.ppid != os.getppid():
                    log.info("the main process is gone: stopping")
                    break
                wasyncore.loop(timeout=1.0, map=connections, use_poll=True, count=1)
        finally:
            self._stop(servers, connections, dispatcher)

    def _server(
        self,
        sock: socket.socket,
        adjustments: Adjustments,
        dispatcher: SplitDispatcher,
        connections: dict[int, object],
    ) -> TcpWSGIServer:
        kind = _UnixServer if sock.family == getattr(socket, "AF_UNIX", None) else _TcpServer
        return kind(
            self.wsgi,
            connections,
            True,
            sock,
            dispatcher=dispatcher,
            adj=adjustments,
            bind_socket=False,
            sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()),
        )

    def _stop(
        self,
        servers: list[TcpWSGIServer],
        connections: dict[int, object],
        dispatcher: SplitDispatcher,
    ) -> None:
        """Stop accepting, let requests in progress finish (up to the graceful timeout)."""
        for server in servers:
            server.accepting = False
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while time.monotonic() < deadline and _busy(connections):
            self.notify()
            wasyncore.loop(timeout=0.2, map=connections, use_poll=True, count=1)
        dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(connections)


def _busy(connections: dict[int, object]) -> bool:
    """Whether a connection still has a request to serve or an answer to send."""
    return any(
        isinstance(channel, HTTPChannel) and (channel.requests or channel.total_outbufs_len)
        for channel in connections.values()
    )
