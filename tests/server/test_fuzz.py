"""Fuzzing the query and upload paths: never a 5xx, and uploads all or nothing.

Hypothesis generates query texts (random text, random bytes, and mutations of the named
queries of queries/*.rq) sent to /sparql, and RDF bodies (mutations of valid Turtle and
N-Triples) PUT to /store into a scratch graph. Every answer must be below 500 (a query
over the time limit answers the documented 503, counted apart); after each upload the
scratch graph holds either exactly the body's triples (2xx) or what it held before (4xx).

Most examples go through the Flask test client (fast); a few through the real servers.
Examples are derandomized, so a run is repeatable.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyoxigraph import BlankNode, RdfFormat, parse, serialize

from alliance.namespaces import sparql_prefixes
from alliance.queries import named_queries
from alliance.server.app import create_app
from alliance.server.settings import Settings
from alliance.store import open_store

live = sys.modules["alliance_tests_live"]  # loaded by conftest.py

TOKEN = "fuzz-token"
SCRATCH = "http://example.org/fuzz/scratch"
QUERIES = [q.sparql() for q in named_queries().values()]
FUZZ = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
#: Pieces of SPARQL, Turtle and N-Triples syntax a mutation may insert.
TOKENS = [
    "{", "}", "(", ")", "[", "]", ".", ";", ",", "?", "$", "<", ">", '"', "'", '"""', "#",
    "\\", "\n", " ", "@fr", "^^", "_:b", ":", "a", "*", "+", "!", "|", "/", "^", "=",
    "SELECT", "CONSTRUCT", "DESCRIBE", "ASK", "WHERE", "FILTER", "OPTIONAL", "UNION",
    "MINUS", "GRAPH", "SERVICE", "BIND", "VALUES", "GROUP BY", "ORDER BY", "LIMIT 1",
    "OFFSET", "COUNT(*)", "DISTINCT", "EXISTS", "NOT", "IN", "UNDEF", "PREFIX x: <y>",
    "BASE <z>", "FROM <http://a>", "FROM NAMED <http://a>", "INSERT", "DELETE", "LOAD",
    "<http://example.org/x>", "1", "-0.5e3", "true", "\u00e9", "\ufeff", "\x00", "\U0001f600",
]  # fmt: skip
SEED_TURTLE = """@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:a a ex:Thing ; rdfs:label "Chose"@fr, "Thing"@en ;
  ex:count 3 ; ex:ratio 0.5 ; ex:when "2016-07-06"^^<http://www.w3.org/2001/XMLSchema#date> ;
  ex:knows ex:b, [ ex:name "anonymous" ] ;
  ex:list ( 1 2 "three" ) .
ex:b ex:note \"\"\"two
lines\"\"\" .
"""
SEED_NTRIPLES = serialize(
    (q.triple for q in parse(SEED_TURTLE.encode(), format=RdfFormat.TURTLE)),
    format=RdfFormat.N_TRIPLES,
).decode()
SEEDS = {"text/turtle": SEED_TURTLE, "application/n-triples": SEED_NTRIPLES}


@st.composite
def mutated(draw: st.DrawFn, texts: list[str]) -> str:
    """A valid text with a few random edits: deletions, insertions, duplications, swaps."""
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i, min(len(text), i + 40)))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "replace", "swap"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            piece = draw(st.sampled_from(TOKENS) | st.text(max_size=8))
            text = text[:i] + piece + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "replace":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[j:]
        else:
            k = draw(st.integers(0, len(text) - 1))
            a, b = sorted((i, k))
            text = text[:a] + text[b:j] + text[a:b] + text[j:] if b < j else text
    return text


query_texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join),
    mutated(QUERIES),
)


def acceptable(status: int, body: bytes) -> bool:
    """Below 500, or the documented 503 of a query over the time limit."""
    return status < 500 or (status == 503 and b"gives one query at most" in body)


# -- the Flask test client ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def read_client(bundled_store_dir: Path) -> Iterator:
    """The app over the bundled store, queries in a query process with a 5 s limit."""
    app = create_app(Settings(store=str(bundled_store_dir), query_processes=1, query_timeout=5.0))
    yield app.test_client()
    app.extensions["alliance.store"].close()


@pytest.fixture(scope="module")
def write_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    folder = tmp_path_factory.mktemp("fuzz-store")
    store = open_store(folder)
    app = create_app(Settings(store=str(folder), write_token=TOKEN), store=store)
    yield app.test_client()
    store.close()


@pytest.mark.slow
@settings(FUZZ, max_examples=150)
@given(text=query_texts, method=st.sampled_from(["GET", "POST", "FORM"]))
def test_fuzzed_queries_never_get_a_server_error(read_client, text: str, method: str) -> None:  # noqa: ANN001
    headers = {"Accept": "application/sparql-results+json, text/turtle;q=0.9"}
    if method == "GET":
        response = read_client.get("/sparql", query_string={"query": text}, headers=headers)
    elif method == "FORM":
        response = read_client.post("/sparql", data={"query": text}, headers=headers)
    else:
        response = read_client.post(
            "/sparql",
            data=text.encode("utf-8", errors="surrogatepass"),
            content_type="application/sparql-query",
            headers=headers,
        )
    body = response.get_data()
    assert acceptable(response.status_code, body), (response.status_code, body[:500])


@pytest.mark.slow
@settings(FUZZ, max_examples=60)
@given(
    data=st.binary(max_size=400) | mutated(QUERIES).map(lambda t: t.encode("latin-1", "replace"))
)
def test_fuzzed_query_bytes_never_get_a_server_error(read_client, data: bytes) -> None:  # noqa: ANN001
    response = read_client.post("/sparql", data=data, content_type="application/sparql-query")
    body = response.get_data()
    assert acceptable(response.status_code, body), (response.status_code, body[:500])


def graph_state(client) -> tuple[int, bytes]:  # noqa: ANN001 - FlaskClient
    response = client.get(
        "/store",
        query_string={"graph": SCRATCH},
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/n-triples"},
    )
    return response.status_code, response.get_data()


def canonical(ntriples: bytes) -> tuple[int, frozenset[str]]:
    """How many triples, and those without blank nodes (renamed on upload), as text."""
    triples = {q.triple for q in parse(ntriples, format=RdfFormat.N_TRIPLES)}
    ground = frozenset(
        str(t)
        for t in triples
        if not isinstance(t.subject, BlankNode) and not isinstance(t.object, BlankNode)
    )
    return len(triples), ground


def expected(body: bytes, media_type: str) -> tuple[int, frozenset[str]]:
    fmt = RdfFormat.from_media_type(media_type)
    assert fmt is not None
    triples = {q.triple for q in parse(body, format=fmt, base_iri=SCRATCH)}
    return canonical(serialize(triples, format=RdfFormat.N_TRIPLES))


@pytest.mark.slow
@settings(FUZZ, max_examples=80)
@given(
    media_type=st.sampled_from(sorted(SEEDS)),
    data=st.data(),
)
def test_fuzzed_uploads_are_all_or_nothing(write_client, media_type: str, data) -> None:  # noqa: ANN001
    text = data.draw(mutated([SEEDS[media_type]]))
    body = text.encode("utf-8", errors="surrogatepass")
    before = graph_state(write_client)
    response = write_client.put(
        "/store",
        query_string={"graph": SCRATCH},
        data=body,
        content_type=media_type,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    status, answer = response.status_code, response.get_data()
    assert status < 500, (status, answer[:500])
    after = graph_state(write_client)
    if status in (201, 204):
        want = expected(body, media_type)
        if want[0] == 0:
            assert after[0] in (200, 404)  # an empty graph is no graph
        else:
            assert after[0] == 200 and canonical(after[1]) == want, "a partial upload"
    else:
        assert status in (400, 415), (status, answer[:500])
        assert after == before, "a refused upload changed the graph"


# -- a few through the real servers ------------------------------------------------------------


@pytest.mark.slow
@settings(FUZZ, max_examples=15)
@given(text=mutated(QUERIES))
def test_fuzzed_queries_on_the_live_server(server, text: str) -> None:  # noqa: ANN001
    reply = live.http(
        "POST",
        server.sparql,
        data=text.encode("utf-8", errors="surrogatepass"),
        headers={"Content-Type": "application/sparql-query", "Accept": "*/*"},
        timeout=120,
    )
    assert acceptable(reply.status, reply.body), (reply.status, reply.body[:500])


@pytest.fixture(scope="module")
def live_scratch(write_server) -> Iterator:  # noqa: ANN001 - live.LiveServer
    """The shared write server; its scratch graph is removed afterwards."""
    yield write_server
    auth = {"Authorization": f"Bearer {write_server.token}"}
    live.http("DELETE", f"{write_server.url}/store", params={"graph": SCRATCH}, headers=auth)


@pytest.mark.slow
@settings(FUZZ, max_examples=10)
@given(media_type=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_fuzzed_uploads_on_the_live_server(live_scratch, media_type: str, data) -> None:  # noqa: ANN001
    write_server = live_scratch
    text = data.draw(mutated([SEEDS[media_type]]))
    url = f"{write_server.url}/store"
    auth = {"Authorization": f"Bearer {write_server.token}"}
    read = {**auth, "Accept": "application/n-triples"}
    before = live.http("GET", url, params={"graph": SCRATCH}, headers=read)
    reply = live.http(
        "PUT",
        url,
        params={"graph": SCRATCH},
        data=text.encode("utf-8", errors="surrogatepass"),
        headers={**auth, "Content-Type": media_type},
    )
    assert reply.status < 500, (reply.status, reply.body[:500])
    after = live.http("GET", url, params={"graph": SCRATCH}, headers=read)
    if reply.status >= 400:
        assert (after.status, after.body) == (before.status, before.body)
    elif after.status == 200:
        body = text.encode("utf-8", errors="surrogatepass")
        assert canonical(after.body) == expected(body, media_type)


def test_seeds_are_valid() -> None:
    """The mutations start from valid documents and queries."""
    for media_type, text in SEEDS.items():
        assert expected(text.encode(), media_type)[0] > 5
    assert len(QUERIES) >= 10
    assert all(q.startswith(sparql_prefixes()) for q in QUERIES)
