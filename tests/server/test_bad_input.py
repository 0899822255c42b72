"""Bad input, from the corpus in tests/corpus/bad: a clear 4xx (or a clear ingest refusal),
the store exactly as it was, and the server still up.

Every case of tests/corpus/bad/manifest.toml is sent through the real `alliance serve` with
a write token (`write_server`): malformed SPARQL and SPARQL Update, malformed RDF in every
syntax the Graph Store Protocol accepts, RDF posted to /validate, invalid UTF-8 and other
encodings, bodies over the size limit (chunked too), 10,000 levels of nesting, chains of
100,000 operators, RDF/XML entity bombs. Broken curated tables go
through `alliance ingest` over a copy of the bundled tables and a copy of the bundled store.
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import socket
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_from_bytes, urlsplit

import pytest
from click.testing import CliRunner

from alliance.cli import main
from alliance.server.settings import Settings

live = sys.modules["alliance_tests_live"]  # loaded by conftest.py

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad"
FACTS_DIR = Path(__file__).resolve().parents[2] / "ingest" / "facts"
SCRATCH = "http://example.org/bad-input/scratch"
SEED = "http://example.org/bad-input/seed"
DEPTH = 10_000
MEDIA_TYPES = {
    ".rq": "application/sparql-query",
    ".ru": "application/sparql-update",
    ".ttl": "text/turtle",
    ".nt": "application/n-triples",
    ".nq": "application/n-quads",
    ".trig": "application/trig",
    ".jsonld": "application/ld+json",
    ".rdf": "application/rdf+xml",
}
PATHS = {"query": "/sparql", "update": "/sparql/update", "validate": "/validate"}


@dataclass
class Case:
    id: str
    target: str
    file: str | None = None
    generate: str | None = None
    content_type: str | None = None
    get: bool = False
    status: list[int] = field(default_factory=list)
    exit: int | None = None
    table: str | None = None
    contains: list[str] = field(default_factory=list)
    method: str = "POST"

    def body(self) -> bytes:
        if self.file is not None:
            return (CORPUS / self.file).read_bytes()
        return generated(self.generate or "", self.target)

    def media_type(self) -> str:
        if self.content_type is not None:
            return self.content_type
        suffix = Path(self.file or "").suffix
        return MEDIA_TYPES.get(suffix) or MEDIA_TYPES[".rq" if self.target == "query" else ".ru"]


def generated(kind: str, target: str) -> bytes:
    """The inputs too big to keep as files."""
    n = DEPTH
    if kind == "oversized":
        size = Settings().max_body + 1
        if target == "query":
            text = "SELECT * WHERE { ?s ?p ?o } #"
        elif target == "update":
            text = "INSERT DATA { <http://example.org/a> <http://example.org/b> 'c' } #"
        else:
            text = "<http://example.org/a> <http://example.org/b> 'c' . #"
        return (text + "x" * size)[:size].encode()
    if kind == "chunked-oversized":
        return generated("oversized", target) + b"#" * (2 * 1024 * 1024)
    chains = {
        "not-chain": "FILTER(" + "!" * 10 * n + "true)",
        "plus-chain": "FILTER(" + "1 + " * 10 * n + "1 > 0)",
        "long-path": "?s " + "/".join(["<http://example.org/p>"] * 10 * n) + " ?o",
    }
    if kind in chains and target == "update":
        return f"DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o {chains[kind]} }}".encode()
    if kind in chains:
        return f"ASK {{ ?s ?p ?o {chains[kind]} }}".encode()
    if kind == "deep-braces" and target == "update":
        return ("INSERT { ?s ?p ?o } WHERE " + "{" * n + " ?s ?p ?o " + "}" * n).encode()
    if kind == "deep-braces":
        return ("SELECT * WHERE " + "{" * n + "}" * n).encode()
    if kind == "deep-parens":
        return ("SELECT * WHERE { FILTER(" + "(" * n + "1" + ")" * n + ") }").encode()
    if kind == "deep-blank-nodes":
        return ("ASK { ?s ?p " + "[ ?p " * n + "1" + " ]" * n + " }").encode()
    if kind == "deep-collections":
        return ("ASK { ?s ?p " + "( " * n + ")" * n + " }").encode()
    if kind == "deep-json":
        return ('{"http://example.org/p": ' * n + '"x"' + "}" * n).encode()
    raise ValueError(f"unknown generated input {kind!r}")


def load_cases() -> list[Case]:
    with open(CORPUS / "manifest.toml", "rb") as handle:
        manifest = tomllib.load(handle)
    cases = []
    for entry in manifest["case"]:
        status = entry.pop("status", [])
        entry["status"] = status if isinstance(status, list) else [status]
        name = entry.pop("id", None) or entry.get("file") or entry["generate"]
        if entry["target"] == "store":
            for method in ("PUT", "POST"):
                cases.append(Case(id=f"{method} {name}", method=method, **entry))
        else:
            cases.append(Case(id=name if "/" in name else f"{entry['target']}/{name}", **entry))
    return cases


CASES = load_cases()
HTTP_CASES = [c for c in CASES if c.target != "ingest"]
INGEST_CASES = [c for c in CASES if c.target == "ingest"]


def test_every_corpus_file_is_in_the_manifest() -> None:
    listed = {c.file for c in CASES if c.file}
    present = {
        str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".toml"
    }
    assert present == listed


# -- through the server ------------------------------------------------------------------------


def dataset_digest(server) -> str:  # noqa: ANN001 - live.LiveServer
    """A digest of the whole store, as GET /store dumps it (N-Quads, lines sorted)."""
    reply = live.http(
        "GET",
        f"{server.url}/store",
        headers={"Authorization": f"Bearer {server.token}", "Accept": "application/n-quads"},
    )
    assert reply.status == 200, reply.body[:500]
    return hashlib.sha256(b"\n".join(sorted(reply.body.splitlines()))).hexdigest()


@pytest.fixture(scope="module")
def seeded(write_server) -> Iterator:  # noqa: ANN001 - live.LiveServer
    """The write server with data in a named graph, the scratch graph and the default graph."""
    auth = {"Authorization": f"Bearer {write_server.token}"}
    turtle = {**auth, "Content-Type": "text/turtle"}
    for graph in (SEED, SCRATCH):
        reply = live.http(
            "PUT",
            f"{write_server.url}/store",
            params={"graph": graph},
            data=f'<{graph}#a> <http://example.org/says> "kept", "gardé"@fr .\n',
            headers=turtle,
        )
        assert reply.status in (201, 204), reply.body
    reply = live.http(
        "PUT",
        f"{write_server.url}/store?default",
        data='<http://example.org/d> <http://example.org/says> "default" .\n',
        headers=turtle,
    )
    assert reply.status in (201, 204), reply.body
    yield write_server
    # The write server is shared by the session: leave it as it was.
    for graph in (SEED, SCRATCH):
        live.http("DELETE", f"{write_server.url}/store", params={"graph": graph}, headers=auth)
    live.http("DELETE", f"{write_server.url}/store?default", headers=auth)


def send(server, case: Case) -> live.Reply:  # noqa: ANN001 - live.LiveServer
    headers = {"Authorization": f"Bearer {server.token}"}
    body = case.body()
    if case.target == "query" and case.get:
        url = f"{server.url}/sparql?query={quote_from_bytes(body, safe='')}"
        return live.http("GET", url, headers={"Accept": "application/sparql-results+json"})
    if case.media_type():
        headers["Content-Type"] = case.media_type()
    if case.target == "query":
        headers["Accept"] = "application/sparql-results+json"
    elif case.target == "validate":
        headers["Accept"] = "text/plain"
    if case.target == "store":
        url = f"{server.url}/store?graph={SCRATCH}"
    else:
        url = server.url + PATHS[case.target]
    if case.generate == "oversized":
        return early_answer(case.method, url, body, headers)
    if case.generate == "chunked-oversized":
        return chunked(case.method, url, body, headers)
    return live.http(case.method, url, data=body, headers=headers, timeout=120)


def early_answer(method: str, url: str, body: bytes, headers: dict[str, str]) -> live.Reply:
    """An exchange whose answer may come before the body is sent (413 from Content-Length).

    The server answers and closes without reading the body, so sending the rest fails;
    http.client then loses the answer, which a raw socket still reads.
    """
    parts = urlsplit(url)
    lines = [f"{method} {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1"))
        try:
            sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered early: read the answer
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    head, _, content = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    answer_headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        answer_headers[name.strip().lower()] = value.strip()
    return live.Reply(int(status_line.split()[1]), answer_headers, content)


def chunked(method: str, url: str, body: bytes, headers: dict[str, str]) -> live.Reply:
    """The body sent with Transfer-Encoding: chunked, 64 kB a chunk (no Content-Length)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
    try:
        connection.request(
            method,
            f"{parts.path}?{parts.query}",
            body=pieces,
            headers={**headers, "Transfer-Encoding": "chunked"},
            encode_chunked=True,
        )
    except (BrokenPipeError, ConnectionResetError):
        pass  # answered while still sending: read the answer
    response = connection.getresponse()
    try:
        return live.Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def still_up(server) -> None:  # noqa: ANN001 - live.LiveServer
    for _ in range(3):  # a worker that died is replaced; give the arbiter a moment
        try:
            reply = live.http(
                "GET",
                f"{server.url}/sparql",
                params={"query": "ASK {}"},
                headers={"Accept": "application/sparql-results+json"},
            )
        except (ConnectionError, http.client.HTTPException):
            continue
        assert reply.status == 200
        health = live.http("GET", f"{server.url}/health")
        assert health.status == 200, health.text
        return
    pytest.fail("the server no longer answers")


@pytest.mark.parametrize("case", HTTP_CASES, ids=lambda c: c.id)
def test_bad_request_is_refused_and_the_store_unchanged(seeded, case: Case) -> None:  # noqa: ANN001
    before = dataset_digest(seeded)
    try:
        reply = send(seeded, case)
    except (ConnectionError, http.client.HTTPException) as exc:
        still_up(seeded)
        pytest.fail(f"no answer: the connection was dropped ({exc!r}); a worker crashed?")
    text = reply.body.decode("utf-8", errors="replace")
    assert reply.status < 500, f"{reply.status}: {text[:500]}"
    assert reply.status in case.status, f"{reply.status}: {text[:500]}"
    for expected in case.contains:
        assert expected in text, f"{expected!r} not in the answer: {text[:500]}"
    if reply.status >= 400 and reply.body:
        assert len(text.strip()) > 10, f"a vague answer: {text!r}"
    assert dataset_digest(seeded) == before, "the store changed"
    still_up(seeded)


# -- through `alliance ingest` -----------------------------------------------------------------


@pytest.fixture(scope="module")
def ingest_store(bundled_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("bad-input") / "store"
    shutil.copytree(bundled_store_dir, target)
    return target


def store_state(store_dir: Path) -> tuple[str, list[str]]:
    """The published generation and every generation folder: a publish changes both."""
    current = (store_dir / "CURRENT").read_text()
    return current, sorted(p.name for p in (store_dir / "generations").iterdir())


@pytest.mark.parametrize("case", INGEST_CASES, ids=lambda c: c.id)
def test_broken_table_is_refused_naming_file_and_row(
    ingest_store: Path, tmp_path: Path, case: Case
) -> None:
    facts = tmp_path / "facts"
    shutil.copytree(FACTS_DIR, facts, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    assert case.file is not None and case.table is not None
    shutil.copyfile(CORPUS / case.file, facts / case.table)
    before = store_state(ingest_store)
    result = CliRunner().invoke(main, ["ingest", "--store", str(ingest_store), f"facts={facts}"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == case.exit, result.output
    assert "refused, the store is unchanged" in result.output
    for expected in case.contains:
        assert expected in result.output, result.output
    assert "\x00" not in result.output and "\ufffd" not in result.output.splitlines()[1]
    assert store_state(ingest_store) == before


def test_the_ingest_store_still_takes_good_input(ingest_store: Path, tmp_path: Path) -> None:
    """After the refusals, the same store ingests the untouched tables: nothing changed."""
    facts = tmp_path / "facts"
    shutil.copytree(FACTS_DIR, facts, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    result = CliRunner().invoke(main, ["ingest", "--store", str(ingest_store)])
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output


# -- the nesting guard does not refuse legitimate text -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'SELECT * WHERE { ?s ?p "' + "{(" * 5000 + '" }',
        "SELECT * WHERE { ?s ?p '''" + "[" * 5000 + "''' }",
        "SELECT * WHERE { ?s ?p <http://example.org/" + "(" * 5000 + "> }",
        "SELECT * WHERE { ?s ?p ?o # " + "{" * 5000 + "\n}",
        "SELECT * WHERE { " + "{ ?s ?p ?o } UNION " * 3000 + "{ ?s ?p ?o } }",
        "SELECT * WHERE " + "{ " * 200 + "}" * 200,
    ],
    ids=["string", "long-string", "iri", "comment", "many-siblings", "200-levels"],
)
def test_nesting_guard_counts_only_real_nesting(text: str) -> None:
    from alliance.server.web.input_guards import check_sparql_nesting

    check_sparql_nesting(text)  # no ProtocolError


def test_nesting_guard_on_documents() -> None:
    from alliance.server.web.errors import ProtocolError
    from alliance.server.web.input_guards import MAX_DEPTH, check_rdf_document

    flat = (
        "["
        + ", ".join(
            '{"@id": "http://example.org/a", "http://example.org/p": "{{[["}' for _ in range(5000)
        )
        + "]"
    )
    check_rdf_document(flat.encode(), "application/ld+json")
    deep = '{"http://example.org/p": ' * (MAX_DEPTH + 1) + '"x"' + "}" * (MAX_DEPTH + 1)
    with pytest.raises(ProtocolError) as refused:
        check_rdf_document(deep.encode(), "application/ld+json")
    assert refused.value.status == 400
    rdf = '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
    wide = rdf + '<rdf:Description rdf:about="http://a"><e:p/><e:q>x</e:q></rdf:Description>' * 5000
    check_rdf_document((wide + "</rdf:RDF>").encode(), "application/rdf+xml")
    nested = rdf + "<rdf:Description><e:p>" * MAX_DEPTH + "</e:p></rdf:Description>" * MAX_DEPTH
    with pytest.raises(ProtocolError):
        check_rdf_document((nested + "</rdf:RDF>").encode(), "application/rdf+xml")
