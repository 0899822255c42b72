"""A write the store refused on a transaction deadlock is sent again (store/remote/__init__.py).

Virtuoso answers a write that lost a deadlock with a 500 naming SQL state 40001 (SR172);
the same request can simply be sent again. A small HTTP server here plays that part: it
refuses the first writes so, then accepts, and records what it was sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pyoxigraph import Literal, NamedNode, Triple

from alliance.store import StoreError
from alliance.store.remote import DEADLOCK_RETRIES, RemoteStore
from alliance.store.remote import store as remote_module

DEADLOCK = b"Virtuoso 40001 Error SR172: Transaction deadlocked"
GRAPH = NamedNode("https://w3id.org/alliance/id/graph/test-deadlock")


class Endpoint(ThreadingHTTPServer):
    daemon_threads = True
    #: how many writes to refuse before accepting
    refusals = 0
    writes: list[tuple[str, bytes]]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Endpoint

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.writes.append((self.path, body))
        if self.server.refusals > 0:
            self.server.refusals -= 1
            self._send(500, DEADLOCK)
        else:
            self._send(204, b"")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Endpoint]:
    server = Endpoint(("127.0.0.1", 0), Handler)
    server.writes = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pauses: list[float] = []
    monkeypatch.setattr(remote_module.time, "sleep", pauses.append)  # back-off, not waited
    yield server
    server.shutdown()
    server.server_close()
    assert pauses == sorted(pauses)  # each pause at least as long as the one before


def store_for(endpoint: Endpoint) -> RemoteStore:
    base = f"http://127.0.0.1:{endpoint.server_address[1]}"
    return RemoteStore(f"{base}/query", update_url=f"{base}/update", gsp_url=f"{base}/store")


def test_an_update_that_lost_a_deadlock_is_sent_again(endpoint: Endpoint) -> None:
    endpoint.refusals = 2
    store_for(endpoint)._update("DROP SILENT GRAPH <urn:x-test>")
    assert [path for path, _ in endpoint.writes] == ["/update"] * 3
    assert {body for _, body in endpoint.writes} == {b"DROP SILENT GRAPH <urn:x-test>"}


def test_an_upload_that_lost_a_deadlock_is_sent_again(endpoint: Endpoint) -> None:
    endpoint.refusals = 1
    triple = Triple(GRAPH, NamedNode("http://www.w3.org/2000/01/rdf-schema#label"), Literal("x"))
    store_for(endpoint)._post_triples(GRAPH, [triple])
    assert len(endpoint.writes) == 2
    assert endpoint.writes[0] == endpoint.writes[1]
    assert endpoint.writes[0][0].startswith("/store?graph=")


def test_a_deadlock_that_lasts_is_an_error_naming_it(endpoint: Endpoint) -> None:
    endpoint.refusals = DEADLOCK_RETRIES + 5
    with pytest.raises(StoreError, match="SR172"):
        store_for(endpoint)._update("DROP SILENT GRAPH <urn:x-test>")
    assert len(endpoint.writes) == DEADLOCK_RETRIES + 1


def test_other_server_errors_are_not_sent_again(endpoint: Endpoint) -> None:
    class Failing(Handler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.server.writes.append((self.path, b""))
            self.rfile.read(int(self.headers["Content-Length"]))
            self._send(500, b"Virtuoso 22023 Error SR601: something else")

    endpoint.RequestHandlerClass = Failing
    with pytest.raises(StoreError, match="SR601"):
        store_for(endpoint)._update("DROP SILENT GRAPH <urn:x-test>")
    assert len(endpoint.writes) == 1
