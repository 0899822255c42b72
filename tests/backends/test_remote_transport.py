"""The remote store's queries reuse one connection per thread (store/remote/transport.py).

A small HTTP/1.1 server here answers every query with one SPARQL JSON row and counts the
connections it accepts; it can close a connection after an answer, with or without saying
so, or write an unasked error on it first, as real servers do when they time an idle
connection out.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alliance.store import StoreError
from alliance.store.remote import MAX_GET_QUERY, RemoteStore

ROW = json.dumps(
    {"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": "1"}}]}}
).encode()

STALE = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 46\r\n\r\n"
    b"Resource temporarily unavailable (os error 11)"
)


class Endpoint(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0
    #: what the next answers do with their connection: "keep", "close" (Connection: close),
    #: "drop" (closed without saying so) or "stale" (an unasked error written on it a moment
    #: later, then closed: what Oxigraph server does when an idle connection times out)
    mode = "keep"
    queries: list[tuple[str, str]]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Endpoint

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._query("GET", urllib.parse.urlsplit(self.path).query)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self._query("POST", self.rfile.read(int(self.headers["Content-Length"])).decode())

    def _query(self, method: str, form: str) -> None:
        query = urllib.parse.parse_qs(form)["query"][0]
        self.server.queries.append((method, query))
        if "MALFORMED" in query:
            self._answer(400, b"Parse error at line 1, column 3", "text/plain")
        else:
            self._answer(200, ROW, "application/sparql-results+json")
        if self.server.mode == "stale":
            self.wfile.flush()
            time.sleep(0.1)
            self.wfile.write(STALE)
        if self.server.mode != "keep":
            self.close_connection = True

    def _answer(self, status: int, body: bytes, media_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        if self.server.mode == "close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint(("127.0.0.1", 0), Handler)
    server.queries = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _store(endpoint: Endpoint) -> RemoteStore:
    return RemoteStore(f"http://127.0.0.1:{endpoint.server_address[1]}/sparql", engine="sparql")


QUERY = "SELECT ?x WHERE { ?s ?p ?x }"


def _ask(store: RemoteStore, query: str = QUERY) -> list[str]:
    rows = store.query(query, union_default_graph=False)
    return [row["x"].value for row in rows]  # type: ignore[union-attr]


def test_queries_from_one_thread_share_one_connection(endpoint: Endpoint) -> None:
    store = _store(endpoint)
    for _ in range(5):
        assert _ask(store) == ["1"]
    assert len(endpoint.queries) == 5
    assert endpoint.connections == 1


def test_each_thread_has_its_own_connection(endpoint: Endpoint) -> None:
    store = _store(endpoint)
    answers: list[list[str]] = []
    threads = [threading.Thread(target=lambda: answers.append(_ask(store))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [["1"]] * 3
    assert endpoint.connections == 3


@pytest.mark.parametrize("mode", ["close", "drop", "stale"])
def test_a_connection_the_server_closed_is_replaced(endpoint: Endpoint, mode: str) -> None:
    store = _store(endpoint)
    endpoint.mode = mode
    for _ in range(3):
        assert _ask(store) == ["1"]
        time.sleep(0.3)  # idle: what the server does with the connection meanwhile is seen
    assert len(endpoint.queries) == 3  # each query sent once: none lost, none repeated
    assert endpoint.connections == 3


def test_the_servers_error_is_reported_and_the_connection_kept(endpoint: Endpoint) -> None:
    store = _store(endpoint)
    with pytest.raises(StoreError, match="Parse error at line 1, column 3") as failure:
        store.query("SELECT MALFORMED", union_default_graph=False)
    assert isinstance(failure.value.__cause__, SyntaxError)
    assert _ask(store) == ["1"]
    assert endpoint.connections == 1


def test_short_queries_are_sent_by_get_long_ones_by_post(endpoint: Endpoint) -> None:
    store = _store(endpoint)
    long = QUERY + "#" + "x" * MAX_GET_QUERY  # a comment: the same query, too long a URL
    assert _ask(store) == _ask(store, long) == ["1"]
    assert endpoint.queries == [("GET", QUERY), ("POST", long)]
    assert endpoint.connections == 1
