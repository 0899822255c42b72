"""No outbound request from a query, an update or an upload, unless the operator lists it.

Every spelling of SERVICE below is first run by a real in-process pyoxigraph against a
loopback listener, to show that it *would* make a request (so the refusal is needed),
then sent to the endpoint, which must refuse it before the listener hears anything.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
import pytest
from click.testing import CliRunner

from alliance.server.app import create_app
from alliance.server.settings import Settings
from alliance.server.web import outbound
from alliance.store import open_store

live = pytest.importorskip("alliance_tests_live")  # loaded by conftest.py

TOKEN = "outbound-test-token"
TURTLE = b'<http://e/s> <http://e/p> "loaded" .\n'
EMPTY_RESULTS = b'{"head": {"vars": []}, "results": {"bindings": []}}'


@dataclass
class Listener:
    """A loopback HTTP server that records every request it gets."""

    base: str
    hits: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.base}sparql"


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    recorded: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self) -> None:
            recorded.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if self.path.startswith("/data.ttl"):
                body, media = TURTLE, "text/turtle"
            elif self.path.startswith("/ctx"):
                body, media = b'{"@context": {"name": "http://e/name"}}', "application/ld+json"
            else:
                body, media = EMPTY_RESULTS, "application/sparql-results+json"
            self.send_response(200)
            self.send_header("Content-Type", media)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    running = Listener(f"http://127.0.0.1:{server.server_address[1]}/", recorded)
    try:
        yield running
    finally:
        server.shutdown()
        server.server_close()


def make_client(tmp_path: Path, **settings: object):
    """A Flask test client over an empty writable store, with the given settings."""
    store = open_store(tmp_path / "store")
    app = create_app(
        Settings(store=str(tmp_path / "store"), write_token=TOKEN, **settings), store=store
    )
    return app.test_client(), store


@pytest.fixture
def client(tmp_path: Path) -> Iterator:
    test_client, store = make_client(tmp_path)
    yield test_client
    store.close()


# -- SERVICE: every spelling is refused by default -------------------------------------------

#: A store where the glued spellings' first triple pattern matches, so that Oxigraph goes on.
PROBE_DATA = '<http://e/a> <http://e/b> true, 1, "x", <http://y/> .'
S = "{ ?s ?p ?o }"

#: (name, text, whether Oxigraph 0.5 fetches it). {url} is the listener's endpoint, {base}
#: its root. Those that do not fetch are refused because another reader (the SPARQL
#: specification, rdflib) would call a service, or because their target is not constant.
SPELLINGS: list[tuple[str, str, bool]] = [
    ("plain", f"SELECT * {{ SERVICE <{{url}}> {S} }}", True),
    ("lower case", f"select * {{ service <{{url}}> {S} }}", True),
    ("mixed case", f"SELECT * {{ SeRvIcE <{{url}}> {S} }}", True),
    ("silent", f"SELECT * {{ SERVICE SILENT <{{url}}> {S} }}", True),
    ("silent, no spaces", f"select * {{ service silent<{{url}}>{S} }}", True),
    ("prefixed name", f"PREFIX e: <{{base}}> SELECT * {{ SERVICE e:sparql {S} }}", True),
    ("empty prefix glued", f"PREFIX : <{{base}}> SELECT * {{ SERVICE:sparql {S} }}", True),
    ("comment between", f"SELECT * {{ SERVICE# a comment\n<{{url}}> {S} }}", True),
    ("newlines and tabs", f"SELECT * {{\n\tSERVICE\r\n\t<{{url}}>\n{S} }}", True),
    ("glued to true", f"SELECT * {{ ?a ?b trueSERVICE <{{url}}> {S} }}", True),
    ("glued to a number", f"SELECT * {{ ?a ?b 1SERVICE <{{url}}> {S} }}", True),
    ("glued to a string", f'SELECT * {{ ?a ?b "x"SERVICE <{{url}}> {S} }}', True),
    ("glued to an IRI", f"SELECT * {{ ?a ?b <http://y/>SERVICE <{{url}}> {S} }}", True),
    ("glued to a dot", f"SELECT * {{ ?a ?b ?o.SERVICE <{{url}}> {S} }}", True),
    ("escape in the IRI", f"SELECT * {{ SERVICE <{{escaped}}> {S} }}", True),
    ("in OPTIONAL", f"SELECT * {{ OPTIONAL {{ SERVICE <{{url}}> {S} }} }}", True),
    ("in a subquery", f"SELECT * {{ {{ SELECT * {{ SERVICE <{{url}}> {S} }} }} }}", True),
    (
        "in FILTER EXISTS",
        f"SELECT * {{ ?a ?b ?c FILTER EXISTS {{ SERVICE <{{url}}> {S} }} }}",
        True,
    ),
    ("in ASK", f"ASK {{ SERVICE <{{url}}> {S} }}", True),
    ("in CONSTRUCT", f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{{url}}> {S} }}", True),
    ("\\u escaped keyword", f"SELECT * {{ \\u0053ERVICE <{{url}}> {S} }}", False),
    ("\\U escaped letter", f"SELECT * {{ SERVIC\\U00000045 <{{url}}> {S} }}", False),
    ("variable target", f"SELECT * {{ BIND(<{{url}}> AS ?svc) SERVICE ?svc {S} }}", False),
]


def spell(template: str, listener: Listener) -> str:
    escaped = listener.url.replace("http:", "http\\u003a", 1)  # an IRI's UCHAR escape
    return (
        template.replace("{url}", listener.url)
        .replace("{base}", listener.base)
        .replace("{escaped}", escaped)
    )


def oxigraph_fetches(text: str, listener: Listener, *, update: bool = False) -> bool:
    """Whether pyoxigraph itself, run on the text, sends a request to the listener."""
    store = pyoxigraph.Store()
    store.load(PROBE_DATA.encode(), format=pyoxigraph.RdfFormat.TURTLE)
    before = len(listener.hits)
    try:
        if update:
            store.update(text)
        else:
            result = store.query(text)
            if isinstance(result, pyoxigraph.QueryBoolean):
                bool(result)
            else:
                list(result)
    except (SyntaxError, RuntimeError, OSError, ValueError):
        pass
    return len(listener.hits) > before


@pytest.mark.parametrize(("name", "template", "fetches"), SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_service_spellings_are_refused(name, template, fetches, listener, client):
    text = spell(template, listener)
    assert oxigraph_fetches(text, listener) is fetches, "Oxigraph's reading changed: review"
    before = len(listener.hits)
    for response in (
        client.get("/sparql", query_string={"query": text}),
        client.post("/sparql", data=text.encode(), content_type="application/sparql-query"),
    ):
        assert response.status_code == 400, response.get_data(as_text=True)
        assert "SERVICE" in response.get_data(as_text=True)
    assert len(listener.hits) == before


UPDATE_SPELLINGS = [
    ("SERVICE in WHERE", f"INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{{url}}> {S} }}", True),
    ("LOAD", "LOAD <{base}data.ttl>", True),
    ("load silent into", "load silent <{base}data.ttl> into graph <http://e/g>", True),
    ("LOAD glued", "LOAD<{base}data.ttl>", True),
    ("LOAD after ;", "CLEAR ALL ;LOAD <{base}data.ttl>", True),
    ("\\u escaped LOAD", "\\u004cOAD <{base}data.ttl>", False),
]


@pytest.mark.parametrize(
    ("name", "template", "fetches"), UPDATE_SPELLINGS, ids=[s[0] for s in UPDATE_SPELLINGS]
)
def test_update_spellings_are_refused_even_with_the_token(
    name, template, fetches, listener, client
):
    text = spell(template, listener)
    assert oxigraph_fetches(text, listener, update=True) is fetches
    before = len(listener.hits)
    response = client.post(
        "/sparql/update",
        data=text.encode(),
        content_type="application/sparql-update",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert len(listener.hits) == before


# -- the allowlists ---------------------------------------------------------------------------


def test_allowlist_reads_targets_with_a_real_parser():
    allowed = ["http://a/sparql", "http://b/"]
    outbound.check_query(
        "PREFIX e: <http://a/> SELECT * { SERVICE SILENT e:sparql { ?s ?p ?o }"
        " OPTIONAL { SERVICE <http://b/> { ?s ?p ?x } } FILTER EXISTS { SERVICE <http://b/> {} } }",
        allowed,
    )
    refused = {
        "SELECT * { SERVICE <http://c/> {} }": "<http://c/>",
        "SELECT * { SERVICE ?x {} }": "variable",
        "SELECT * { SERVICE <file:///etc/passwd> {} }": "file:///etc/passwd",
        "SELECT * { ?s ?p trueSERVICE <http://a/sparql> {} }": "could not be read",
        "SELECT * { SERVICE <http://a/\\u0073parql> {} }": "\\u",
        "BASE <http://a/> SELECT * { SERVICE <sparql> {} }": "BASE",
        "SELECT * { SERVICE <sparql> {} }": "<sparql>",
        "SELECT * { SERVICE <http://a/sparql> { SERVICE <http://b/> {} } }": "nested",
    }
    for text, said in refused.items():
        with pytest.raises(outbound.Refused, match=None) as caught:
            outbound.check_query(text, allowed)
        assert said in str(caught.value), text


def test_only_http_targets_can_be_listed():
    assert outbound.allowlist(["http://a/ https://b/x", "http://c/"]) == (
        "http://a/",
        "https://b/x",
        "http://c/",
    )
    for bad in ("file:///etc/passwd", "FILE:/x", "ftp://h/", "/relative", "http://"):
        with pytest.raises(ValueError):
            outbound.allowlist([bad])


def test_serve_refuses_a_file_allowlist(tmp_path: Path):
    from alliance.cli.serve import serve

    for option in ("--service-allow", "--load-allow"):
        result = CliRunner().invoke(
            serve, ["--no-ingest", "--store", str(tmp_path), option, "file:///etc/passwd"]
        )
        assert result.exit_code == 2, result.output
        assert "file:///etc/passwd" in result.output


def test_serve_reads_the_lists_from_the_environment(tmp_path: Path, monkeypatch):
    from alliance.cli.serve import serve
    from alliance.server.serving import runner

    started: list[Settings] = []
    monkeypatch.setattr(runner, "run_gunicorn", lambda settings, *args: started.append(settings))
    env = {
        "ALLIANCE_SERVICE_ALLOW": "http://a/sparql https://b/query",
        "ALLIANCE_LOAD_ALLOW": "http://c/data.ttl",
        "ALLIANCE_RATE_LIMIT": "5",
        "ALLIANCE_TRUST_PROXY": "1",
    }
    result = CliRunner().invoke(serve, ["--no-ingest", "--store", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    (settings,) = started
    assert settings.service_allow == ("http://a/sparql", "https://b/query")
    assert settings.load_allow == ("http://c/data.ttl",)
    assert (settings.rate_limit, settings.trust_proxy) == (5, 1)
    assert settings.rate_limit_file is not None
    result = CliRunner().invoke(serve, ["--no-ingest", "--store", str(tmp_path)], env={})
    assert started[-1].rate_limit == 600 and started[-1].service_allow == ()


def test_serve_help_documents_the_flags():
    from alliance.cli.serve import serve

    text = CliRunner().invoke(serve, ["--help"], terminal_width=200).output
    for flag, env in [
        ("--service-allow", "ALLIANCE_SERVICE_ALLOW"),
        ("--load-allow", "ALLIANCE_LOAD_ALLOW"),
        ("--rate-limit", "ALLIANCE_RATE_LIMIT"),
        ("--trust-proxy", "ALLIANCE_TRUST_PROXY"),
    ]:
        assert flag in text and env in text


@pytest.fixture(scope="module")
def remote_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`oxigraph serve` on a free port over a one-triple dataset: a real federated endpoint."""
    program = shutil.which("oxigraph")
    if program is None:
        pytest.skip("needs the oxigraph command (pip install oxigraph)")
    folder = tmp_path_factory.mktemp("remote")
    data = folder / "data.ttl"
    data.write_text('<http://e/s> <http://e/p> "remote" .\n')
    subprocess.run(
        [program, "load", "--location", str(folder / "db"), "--file", str(data)],
        check=True,
        capture_output=True,
    )
    port = live.free_port()
    log = open(folder / "serve.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [program, "serve", "--location", str(folder / "db"), "--bind", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}/query"
    try:
        for _ in range(300):
            try:
                reply = live.http("GET", endpoint, params={"query": "ASK {}"}, timeout=2)
                if reply.status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None:
                pytest.fail((folder / "serve.log").read_text())
            threading.Event().wait(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_allowlisted_federated_query_runs(remote_endpoint: str, listener, tmp_path: Path):
    client, store = make_client(tmp_path, service_allow=(remote_endpoint,))
    try:
        query = f"SELECT ?o {{ SERVICE <{remote_endpoint}> {{ <http://e/s> <http://e/p> ?o }} }}"
        response = client.get(
            "/sparql", query_string={"query": query}, headers={"Accept": "text/csv"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_data(as_text=True).split() == ["o", "remote"]
        # Another endpoint, or a variable one, is refused and named; nothing is fetched.
        before = len(listener.hits)
        other = client.get(
            "/sparql", query_string={"query": f"SELECT * {{ SERVICE <{listener.url}> {{}} }}"}
        )
        assert other.status_code == 400
        assert listener.url in other.get_data(as_text=True)
        variable = client.get(
            "/sparql",
            query_string={
                "query": f"SELECT * {{ BIND(<{remote_endpoint}> AS ?e) SERVICE ?e {{}} }}"
            },
        )
        assert variable.status_code == 400
        assert "variable" in variable.get_data(as_text=True)
        assert len(listener.hits) == before
    finally:
        store.close()


def test_load_runs_only_from_a_listed_source(listener, tmp_path: Path):
    source = f"{listener.base}data.ttl"
    client, store = make_client(tmp_path, load_allow=(source,))
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def post(text: str):
        return client.post(
            "/sparql/update", data=text, content_type="application/sparql-update", headers=auth
        )

    try:
        before = len(listener.hits)
        assert post(f"LOAD <{source}> INTO GRAPH <http://e/g>").status_code == 204
        assert listener.hits[before:] == ["GET /data.ttl"]  # fetched once, not twice
        answer = client.get(
            "/sparql",
            query_string={"query": "SELECT ?o { GRAPH <http://e/g> { ?s ?p ?o } }"},
            headers={"Accept": "text/csv"},
        )
        assert answer.get_data(as_text=True).split() == ["o", "loaded"]
        before = len(listener.hits)
        for text in (
            f"LOAD <{listener.base}other.ttl>",
            "LOAD <file:///etc/passwd>",
            f"LOAD <{source}> ; LOAD <{listener.base}other.ttl>",
        ):
            response = post(text)
            assert response.status_code == 400, text
            assert "not allowed" in response.get_data(as_text=True)
        assert len(listener.hits) == before
        # Without the token the list changes nothing.
        assert client.post(
            "/sparql/update", data=f"LOAD <{source}>", content_type="application/sparql-update"
        ).status_code in (401, 403)
        assert len(listener.hits) == before
    finally:
        store.close()


# -- uploads: JSON-LD contexts and XML entities are never fetched ----------------------------


def uploads(listener: Listener, secret: Path) -> dict[str, tuple[str, str]]:
    """(media type, body) of documents whose parsing could fetch a URL or read a file."""
    jsonld = '{{"@context": {ctx}, "@id": "http://e/x", "name": "a"}}'
    rdfxml = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{src}">]>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
        '<rdf:Description rdf:about="http://e/x"><e:p>&x;</e:p></rdf:Description></rdf:RDF>'
    )
    return {
        "remote @context": ("application/ld+json", jsonld.format(ctx=f'"{listener.base}ctx"')),
        "file @context": ("application/ld+json", jsonld.format(ctx=f'"{secret.as_uri()}"')),
        "@import": (
            "application/ld+json",
            jsonld.format(ctx=f'[{{"@import": "{listener.base}ctx"}}]'),
        ),
        "remote entity": ("application/rdf+xml", rdfxml.format(src=f"{listener.base}ctx")),
        "file entity": ("application/rdf+xml", rdfxml.format(src=secret.as_uri())),
    }


def test_uploads_fetch_nothing(listener, client, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    (tmp_path / "ctx.jsonld").write_text('{"@context": {"name": "http://e/name"}}')
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = len(listener.hits)
    for name, (media, body) in uploads(listener, secret).items():
        for response in (
            client.post("/validate", data=body, content_type=media),
            client.put("/store?graph=http://e/g", data=body, content_type=media, headers=auth),
        ):
            text = response.get_data(as_text=True)
            assert response.status_code == 400, (name, text)
            assert "TOP-SECRET" not in text, name
    # owl:imports is data: neither the parser nor the shapes follow it.
    imports = (
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        f"<http://e/onto> a owl:Ontology ; owl:imports <{listener.base}ctx> .\n"
    )
    assert client.post("/validate", data=imports, content_type="text/turtle").status_code == 200
    assert len(listener.hits) == before
    # And nothing of the secret file reached the store.
    query = client.get(
        "/sparql",
        query_string={"query": "ASK { ?s ?p ?o FILTER(CONTAINS(STR(?o), 'SECRET')) }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert query.get_json()["boolean"] is False


def test_query_page_says_which_services_are_allowed(tmp_path: Path) -> None:
    """The query page's note tells users what SERVICE may reach on this server."""
    html = {"Accept": "text/html"}
    refused, store = make_client(tmp_path / "refused")
    try:
        page = refused.get("/sparql", headers=html).get_data(as_text=True)
    finally:
        store.close()
    assert "<code>SERVICE</code> is disabled." in page
    allowed, store = make_client(
        tmp_path / "allowed", service_allow=("https://query.example.org/sparql",)
    )
    try:
        page = allowed.get("/sparql", headers=html).get_data(as_text=True)
    finally:
        store.close()
    assert (
        "<code>SERVICE</code> is limited to <code>https://query.example.org/sparql</code>." in page
    )
