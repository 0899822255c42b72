"""One test suite, three backends: the embedded store, Oxigraph server and Virtuoso 7.

The engines are started by the tests (on free loopback ports, in temporary folders) and
stopped by process id; each backend is ingested once per session, the way `alliance serve`
does it (the territories snapshot's certified validation is reused). A missing engine makes
its tests skip with the reason.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from alliance.ingest.pipeline import Summary, ingest
from alliance.ingest.reference.certificate import certified_report
from alliance.ingest.sources import bundled_sources
from alliance.store import GraphStore, open_store

HERE = Path(__file__).resolve().parent


engines = sys.modules["alliance_tests_engines"]  # loaded by tests/conftest.py
live = sys.modules["alliance_tests_live"]

BACKENDS = ["embedded", "oxigraph", "virtuoso"]


@dataclass
class Backend:
    """A store to test: how to open it, and the `--store…` options naming it."""

    name: str
    location: str
    access: dict[str, str | None] = field(default_factory=dict)
    engine: object | None = None  # engines.Engine for the remote ones
    summary: Summary | None = None

    @property
    def remote(self) -> bool:
        return self.engine is not None

    def open(self, *, read_only: bool = False) -> GraphStore:
        return open_store(self.location, read_only=read_only, **self.access)

    def options(self) -> list[str]:
        if self.engine is None:
            return ["--store", self.location]
        return self.engine.options()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def virtuoso_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    if engines.virtuoso_binary() is None:
        pytest.skip(
            "Virtuoso is not installed: apt-get install virtuoso-opensource-7-bin "
            "(.ci/run does) to run the Virtuoso backend tests"
        )
    engine = engines.start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    yield engine
    engine.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend holding the bundled sources, ingested once for the session."""
    name = request.param
    if name == "embedded":
        folder = request.getfixturevalue("bundled_store_dir")  # tests/conftest.py
        return Backend(name, str(folder))
    engine = request.getfixturevalue(f"{name}_engine")
    access = {
        "update": engine.update,
        "gsp": engine.gsp,
        "user": engine.user,
        "password": engine.password,
    }
    found = Backend(name, engine.query, access, engine)
    if name == "oxigraph":  # ingested in tests/conftest.py: the deployment tests share it
        found.summary = request.getfixturevalue("oxigraph_summary")
        return found
    with found.open() as store:
        found.summary = ingest(store, bundled_sources(), trusted=certified_report)
    return found


@pytest.fixture(scope="session")
def backend_store(backend: Backend) -> Iterator[GraphStore]:
    with backend.open(read_only=True) as store:
        yield store


# -- a proxy that asks for HTTP basic auth, in front of Oxigraph (which has no auth) ------------


class BasicAuthProxy:
    """Forwards every request to `target` when it carries the right basic credentials."""

    def __init__(self, target: str, user: str, password: str):
        import base64

        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.seen: list[str] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                import requests

                given = self.headers.get("Authorization", "")
                seen.append(given.split(" ")[0])
                if given != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "authorization", "content-length", "connection")
                }
                reply = requests.request(
                    self.command, target + self.path, data=body, headers=headers, timeout=300
                )
                self.send_response(reply.status_code)
                for key in ("Content-Type", "Server"):
                    if key in reply.headers:
                        self.send_header(key, reply.headers[key])
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def basic_proxy(oxigraph_engine: object) -> Iterator[BasicAuthProxy]:
    root = oxigraph_engine.query.rsplit("/", 1)[0]  # type: ignore[attr-defined]
    proxy = BasicAuthProxy(root, "curator", "s3cret")
    yield proxy
    proxy.stop()
