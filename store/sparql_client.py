"""SPARQLWrapper over kept-alive HTTP connections: how the remote store sends its queries.

Why. SPARQLWrapper sends each query through `urllib.request.urlopen`, which opens a new TCP
connection per query and closes it after the answer: a handshake, and a new connection for
the server to accept, for every query of a stream of light ones. `KeptAliveWrapper` keeps
SPARQLWrapper for everything it does (the protocol's parameters, the request's encoding, the
Accept and basic-auth headers, its exceptions for the server's 400/401/404/414/500 answers)
and only sends the request it built over a connection kept open per thread and per server.

A kept connection is reused only while it is fresh (idle for at most MAX_IDLE_SECONDS) and
quiet (nothing to read before anything was asked); otherwise the server may have closed it,
or written an error on it that would be read as the next answer. One the server closed
without notice is replaced, and the query sent once more.

Digest auth (urllib's handler answers the challenge) and a proxy set in the environment for
the server go through SPARQLWrapper's own `urlopen`, as before.
"""

from __future__ import annotations

import http.client
import io
import os
import select
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from typing import Any

from SPARQLWrapper import DIGEST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import (
    EndPointInternalError,
    EndPointNotFound,
    QueryBadFormed,
    Unauthorized,
    URITooLong,
)

#: SPARQLWrapper's exception for each status it names (see SPARQLWrapper._query).
_STATUS_ERRORS = {
    400: QueryBadFormed,
    401: Unauthorized,
    404: EndPointNotFound,
    414: URITooLong,
    500: EndPointInternalError,
}
#: A kept-alive connection the server closed meanwhile fails in one of these ways on reuse;
#: the query is then sent again once on a new connection (reading twice is harmless).
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

#: A connection idle for longer is replaced rather than reused: servers close idle
#: connections after a few seconds (Apache 5, gunicorn 2) to a minute (nginx), and Oxigraph
#: server 0.5 writes a `500 Resource temporarily unavailable` on one idle for 60 s.
MAX_IDLE_SECONDS = 5.0

_local = threading.local()


class Answer:
    """The part of an HTTP response SPARQLWrapper's QueryResult and the store read: its body
    (already read, so that the connection can serve the next query) and its headers."""

    def __init__(self, url: str, status: int, headers: Message, body: bytes):
        self.url, self.status, self.headers, self._body = url, status, headers, body

    def read(self) -> bytes:
        return self._body

    def info(self) -> Message:
        return self.headers

    def geturl(self) -> str:
        return self.url


class KeptAliveWrapper(SPARQLWrapper):
    """A SPARQLWrapper whose queries reuse this thread's connection to the server."""

    def _query(self) -> tuple[Any, str]:
        request = self._createRequest()
        parts = urllib.parse.urlsplit(request.full_url)
        if (self.user and self.http_auth == DIGEST) or not _direct(parts):
            return super()._query()
        answer = _send(request, parts, self.timeout)
        if answer is None:  # a redirect: urllib follows it
            return super()._query()
        return answer, self.returnFormat


def _direct(parts: urllib.parse.SplitResult) -> bool:
    """Whether this thread may reach the server over a connection of its own: HTTP(S), and
    no proxy set for it (asked once per server: reading the environment costs per query)."""
    known: dict[tuple[str, str], bool] = _local.__dict__.setdefault("direct", {})
    key = (parts.scheme, parts.netloc)
    if key not in known:
        proxies = urllib.request.getproxies()
        proxied = parts.scheme in proxies and not urllib.request.proxy_bypass(parts.hostname or "")
        known[key] = parts.scheme in ("http", "https") and not proxied
    return known[key]


def _connection(parts: urllib.parse.SplitResult, timeout: float | None) -> tuple[Any, bool]:
    """This thread's connection to the server, and whether it served a query before.

    A connection idle for more than MAX_IDLE_SECONDS, or one with something to read before
    anything was asked, is replaced: the server closed it, or (Oxigraph server, when its
    read timed out) wrote an error on it that would be taken for the next answer.
    """
    if getattr(_local, "pid", None) != os.getpid():  # forked: the parent's sockets are not ours
        _local.pid, _local.connections = os.getpid(), {}
    pool: dict[tuple[str, str], tuple[http.client.HTTPConnection, float]] = _local.connections
    key = (parts.scheme, parts.netloc)
    if key in pool:
        connection, used = pool[key]
        sock = connection.sock
        if sock is not None and time.monotonic() - used <= MAX_IDLE_SECONDS and _quiet(sock):
            connection.timeout = timeout
            sock.settimeout(timeout)
            return connection, True
        _forget(parts)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "", parts.port, timeout=timeout)
    pool[key] = (connection, time.monotonic())
    return connection, False


def _quiet(sock: socket.socket) -> bool:
    """Whether the socket has nothing to read (no unasked bytes, no end of stream)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return not poller.poll(0)


def _used(parts: urllib.parse.SplitResult) -> None:
    pool = _local.connections
    key = (parts.scheme, parts.netloc)
    if key in pool:
        pool[key] = (pool[key][0], time.monotonic())


def _forget(parts: urllib.parse.SplitResult) -> None:
    entry = getattr(_local, "connections", {}).pop((parts.scheme, parts.netloc), None)
    if entry is not None:
        entry[0].close()


def _send(
    request: urllib.request.Request, parts: urllib.parse.SplitResult, timeout: Any
) -> Answer | None:
    """Send the request SPARQLWrapper built; its errors raised as SPARQLWrapper raises them.
    None for a redirect."""
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    headers = dict(request.header_items())
    for attempt in (1, 2):
        connection, reused = _connection(parts, timeout)
        try:
            connection.request(request.get_method(), target, body=request.data, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except _STALE:
            _forget(parts)
            if reused and attempt == 1:
                continue
            raise
        except BaseException:  # a timeout or a broken answer: never reuse that connection
            _forget(parts)
            raise
        if response.will_close:
            _forget(parts)
        else:
            _used(parts)
        break
    if 300 <= response.status < 400:
        return None
    if response.status >= 400:
        error = _STATUS_ERRORS.get(response.status)
        if error is not None:
            raise error(body)
        raise urllib.error.HTTPError(
            request.full_url, response.status, response.reason, response.headers, io.BytesIO(body)
        )
    return Answer(request.full_url, response.status, response.headers, body)
