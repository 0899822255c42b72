"""The same assertions on every backend: embedded, Oxigraph server, Virtuoso 7.

The competency questions' expected answers are the ones of tests/test_queries.py, run here
on each backend: the table is that module's checks (each a function of the store alone),
not a copy of them.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, QuerySolutions, Triple

from alliance.ingest.pipeline import IngestRefused, ingest
from alliance.ingest.reference.certificate import certified_report
from alliance.ingest.sources import bundled_sources, resolve
from alliance.namespaces import ID, IGEO, graph_iri
from alliance.store import GraphStore, StoreError, open_store
from alliance.store.remote import STAGING_PREFIX, RemoteStore

HERE = Path(__file__).resolve().parent


def _load_queries_module():  # noqa: ANN202 - a module
    import importlib.util
    import sys

    name = "alliance_tests_test_queries"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE.parent / "test_queries.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


test_queries = _load_queries_module()

#: Every check of tests/test_queries.py that takes the store alone: the expected answers.
ANSWERS: dict[str, Callable[[GraphStore], None]] = {
    name: check
    for name, check in vars(test_queries).items()
    if name.startswith("test_") and list(inspect.signature(check).parameters) == ["store"]
}
GRAPHS = {graph_iri(name) for name in ("ontology", "territories", "territory-history", "facts")}
SCRATCH = NamedNode(graph_iri("test-scratch").value)
P = NamedNode("https://w3id.org/alliance/id/test/marker")


# -- ingest -------------------------------------------------------------------------------------


def test_ingest_publishes_the_bundled_graphs(backend, backend_store: GraphStore) -> None:
    assert set(backend_store.graphs()) == GRAPHS
    with open_store(_embedded(backend)) as reference:
        expected = {g: reference.graph_size(g) for g in GRAPHS}
    assert {g: backend_store.graph_size(g) for g in GRAPHS} == expected
    if backend.summary is not None:
        assert {o.source: o.status for o in backend.summary.outcomes} == {
            "ontology": "new",
            "territories": "new",
            "territory-history": "new",
            "facts": "new",
        }


def test_ingest_again_changes_nothing(backend) -> None:
    with backend.open() as store:
        before = store.version()
        summary = ingest(store, bundled_sources(), trusted=certified_report)
        assert {o.status for o in summary.outcomes} == {"unchanged"}
        assert store.version() == before


def _embedded(backend) -> str:  # noqa: ANN001
    return backend.location if backend.name == "embedded" else _EMBEDDED[0]


_EMBEDDED: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _remember_embedded(bundled_store_dir: Path) -> None:
    _EMBEDDED[:] = [str(bundled_store_dir)]


# -- the competency questions --------------------------------------------------------------------


_SQ156 = (
    "Virtuoso 7.2 fails to compile this query (SQ156: Internal Optimized compiler error, "
    "Bad dfe in sqlo_place_exp), an engine bug"
)
_PATH = (
    "Virtuoso 7.2 drops rows when `?agreement a/rdfs:subClassOf* alli:CooperationAgreement` "
    "is joined with the rest of the query (each part alone answers right), an engine bug"
)
#: Where Virtuoso's answers differ from the standard's, and why (strict: a fix shows up).
VIRTUOSO_DIVERGES: dict[str, str] = {
    "test_cq4_what_the_pact_commits_to": _SQ156,
    "cq4-pact-commitments": _SQ156,
    "test_cq9_a_commune_through_its_epci": _PATH,
    "test_cq9_an_epci_directly": _PATH,
    "test_cq9_unbound_lists_every_territory": _PATH,
}


def _known_divergence(request: pytest.FixtureRequest, backend, name: str) -> None:  # noqa: ANN001
    if backend.name == "virtuoso" and name in VIRTUOSO_DIVERGES:
        request.applymarker(pytest.mark.xfail(reason=VIRTUOSO_DIVERGES[name], strict=True))


@pytest.mark.parametrize("check", sorted(ANSWERS))
def test_competency_answers(
    request: pytest.FixtureRequest, backend, backend_store: GraphStore, check: str
) -> None:
    _known_divergence(request, backend, check)
    ANSWERS[check](backend_store)


@pytest.mark.parametrize("name", sorted(test_queries.QUERIES))
def test_named_query_runs_with_its_examples(
    request: pytest.FixtureRequest, backend, backend_store: GraphStore, name: str
) -> None:
    _known_divergence(request, backend, name)
    test_queries.test_query_runs_with_its_example_parameters(backend_store, name)


def test_ask_construct_and_datasets(backend_store: GraphStore) -> None:
    lyon = NamedNode("https://w3id.org/alliance/id/commune/69123")
    assert bool(backend_store.query(f"ASK {{ {lyon} ?p ?o }}"))
    assert not bool(backend_store.query("ASK { <urn:x:nothing> ?p ?o }"))
    triples = list(backend_store.query(f"CONSTRUCT {{ {lyon} ?p ?o }} WHERE {{ {lyon} ?p ?o }}"))
    assert triples and all(t.subject == lyon for t in triples)
    facts = graph_iri("facts")
    only_facts = backend_store.query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ {lyon} ?p ?o }}", default_graphs=[facts]
    )
    everywhere = backend_store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {lyon} ?p ?o }}")
    assert isinstance(only_facts, QuerySolutions) and isinstance(everywhere, QuerySolutions)
    assert int(next(only_facts)["n"].value) < int(next(everywhere)["n"].value)


# -- atomic replacement --------------------------------------------------------------------------


def _version(marker: str, n: int) -> list[Triple]:
    base = "https://w3id.org/alliance/id/test/"
    return [Triple(NamedNode(f"{base}s{i}"), P, Literal(marker)) for i in range(n)]


def _seen(store: GraphStore, *, union: bool = False) -> tuple[tuple[str, int], ...]:
    """The markers of the scratch graph and their counts; with `union`, as a query without
    GRAPH sees them (on Oxigraph server, from the union graph updated in place)."""
    pattern = f"?s {P} ?m" if union else f"GRAPH {SCRATCH} {{ ?s {P} ?m }}"
    rows = store.query(
        f"SELECT ?m (COUNT(*) AS ?n) WHERE {{ {pattern} }} GROUP BY ?m",
        union_default_graph=union,
    )
    return tuple(sorted((r["m"].value, int(r["n"].value)) for r in rows))  # type: ignore[union-attr]


def test_a_reader_sees_the_old_or_the_new_graph_never_a_mix(backend) -> None:
    n = 12_000  # several upload batches on Virtuoso
    with backend.open() as writer_store, backend.open(read_only=True) as reader:
        with writer_store.writer() as writer:
            writer.replace_graph(SCRATCH, _version("old", n))
        assert _seen(reader) == (("old", n),)
        seen: list[tuple[tuple[str, int], ...]] = []
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                seen.append(_seen(reader))
                seen.append(_seen(reader, union=True))
                time.sleep(0.05)

        thread = threading.Thread(target=poll)
        thread.start()
        try:
            with writer_store.writer() as writer:
                writer.replace_graph(SCRATCH, _version("new", n))
            time.sleep(0.2)
        finally:
            done.set()
            thread.join()
            assert _seen(reader) == (("new", n),)
            assert _seen(reader, union=True) == (("new", n),)
            with writer_store.writer() as writer:
                writer.drop_graph(SCRATCH)
        assert seen, "the reader never ran"
        assert set(seen) <= {(("old", n),), (("new", n),)}, set(seen) - {
            (("old", n),),
            (("new", n),),
        }
        assert SCRATCH not in reader.graphs() or not _seen(reader)


def _staging_graphs(store: GraphStore) -> list[str]:
    if not isinstance(store, RemoteStore):
        return []
    return [g.value for g in store._all_graphs() if g.value.startswith(STAGING_PREFIX)]


def test_a_failed_ingest_leaves_the_graphs_unchanged(backend, tmp_path: Path) -> None:
    facts = graph_iri("facts")
    with backend.open() as store:
        before = (store.version(), store.graph_size(facts), set(store.graphs()))
        broken = tmp_path / "broken.ttl"
        broken.write_text("<https://w3id.org/alliance/id/x> <p> .\n")
        with pytest.raises(IngestRefused):
            ingest(store, [resolve(f"facts={broken}")], force=True)

        class Boom(Exception):
            pass

        with pytest.raises(Boom), store.writer() as writer:  # fails after staging
            writer.replace_graph(facts, _version("partial", 7_000))
            raise Boom
        with pytest.raises(StoreError), store.writer() as writer:  # refused at publish
            writer.replace_graph(facts, _version("partial", 10))
            writer.update("THIS IS NOT SPARQL")
        after = (store.version(), store.graph_size(facts), set(store.graphs()))
        assert after == before
        assert _staging_graphs(store) == []


# -- authentication ------------------------------------------------------------------------------


def test_digest_auth_virtuoso(virtuoso_engine) -> None:  # noqa: ANN001
    secured = virtuoso_engine.update  # /sparql-auth answers queries too, behind digest auth
    store = open_store(secured, user="dba", password="dba", update=secured)
    # Virtuoso's own default graph: never empty (its system graphs), ingested or not.
    assert bool(store.query("ASK { ?s ?p ?o }", union_default_graph=False))
    assert "Digest" in type(store.http._auth.get(secured)).__name__
    wrong = open_store(secured, user="dba", password="not-this")
    with pytest.raises(StoreError, match="refused the credentials|401|Unauthorized"):
        wrong.query("ASK { ?s ?p ?o }", union_default_graph=False)
    anonymous = open_store(secured)
    with pytest.raises(StoreError):
        anonymous.query("ASK { ?s ?p ?o }", union_default_graph=False)


def test_basic_auth(basic_proxy) -> None:  # noqa: ANN001
    root = basic_proxy.url
    store = open_store(
        f"{root}/query",
        update=f"{root}/update",
        gsp=f"{root}/store",
        user="curator",
        password="s3cret",
    )
    graph = NamedNode(graph_iri("test-basic").value)
    with store.writer() as writer:
        writer.replace_graph(graph, _version("basic", 5))
    assert store.graph_size(graph) == 5
    assert len(list(store.triples(graph))) == 5
    with store.writer() as writer:
        writer.drop_graph(graph)
    assert "Basic" in basic_proxy.seen
    wrong = open_store(f"{root}/query", user="curator", password="nope")
    with pytest.raises(StoreError):
        wrong.query("ASK {}")


# -- alliance serve over the backend -------------------------------------------------------------


@pytest.mark.slow
def test_serve_no_ingest(backend, tmp_path: Path) -> None:  # noqa: ANN001
    live = __import__("sys").modules["alliance_tests_live"]
    options = backend.options()
    # Writes through the server only on the remote backends: the embedded one is shared.
    token = "test-token" if backend.remote else None
    server = live.start_server(
        options[1], tmp_path / "serve.log", workers=1, args=tuple(options[2:]), token=token
    )
    try:
        reply = live.http(
            "GET",
            f"{server.url}/sparql",
            params={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ ?c a <{IGEO}Commune> }}"},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert reply.status == 200, reply.text
        count = json.loads(reply.text)["results"]["bindings"][0]["n"]["value"]
        assert int(count) == 34_875
        page = live.http(
            "GET",
            f"{server.url}/id/commune/69123",
            headers={"Accept": "text/html"},
        )
        assert page.status == 200 and "Lyon" in page.text
        api = live.http(
            "GET",
            f"{server.url}/api/queries/cq1-pilot-contracts",
            headers={"Accept": "application/json"},
        )
        assert api.status == 200 and "contrat-reciprocite-lyon-aurillac" in api.text
        # The first VoID request builds the dumps it lists: the whole store, over HTTP.
        void = live.http(
            "GET", f"{server.url}/.well-known/void", headers={"Accept": "text/turtle"}, timeout=600
        )
        assert void.status == 200 and "graph/territories" in void.text
        _dumps_hold_the_store(live, server.url, backend)
        if token is not None:
            _writes_through_the_server(live, server.url, token)
    finally:
        server.stop()


def _dumps_hold_the_store(live, url: str, backend) -> None:  # noqa: ANN001
    """The N-Quads dump holds every published quad, the Turtle dump their distinct triples."""
    import gzip

    from pyoxigraph import RdfFormat, parse

    nquads = live.http("GET", f"{url}/dumps/alliance.nq.gz", timeout=600)
    turtle = live.http("GET", f"{url}/dumps/alliance.ttl", timeout=600)
    assert nquads.status == turtle.status == 200
    quads = list(parse(gzip.decompress(nquads.body), RdfFormat.N_QUADS))
    with backend.open(read_only=True) as store:
        sizes = {g.value: store.graph_size(g) for g in store.graphs()}
    assert {q.graph_name.value for q in quads} == set(sizes)
    assert len(quads) == sum(sizes.values())
    assert {t.triple for t in parse(turtle.body, RdfFormat.TURTLE)} == {q.triple for q in quads}


def _writes_through_the_server(live, url: str, token: str) -> None:  # noqa: ANN001
    """/sparql/update and the Graph Store endpoint, through the writer of the remote store."""
    graph = graph_iri("test-served").value
    bearer = {"Authorization": f"Bearer {token}"}
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    inserted = live.http(
        "POST",
        f"{url}/sparql/update",
        data=f'INSERT DATA {{ GRAPH <{graph}> {{ <{graph}/x> {label} "x" }} }}',
        headers={**bearer, "Content-Type": "application/sparql-update"},
    )
    assert inserted.status == 204, inserted.text
    put = live.http(
        "PUT",
        f"{url}/store",
        params={"graph": graph},
        data=f'<{graph}/y> {label} "y" .',
        headers={**bearer, "Content-Type": "text/turtle"},
    )
    assert put.status in (200, 201, 204), put.text
    got = live.http(
        "GET",
        f"{url}/store",
        params={"graph": graph},
        headers={**bearer, "Accept": "application/n-triples"},
    )
    assert got.status == 200 and '"y"' in got.text and '"x"' not in got.text
    deleted = live.http("DELETE", f"{url}/store", params={"graph": graph}, headers=bearer)
    assert deleted.status in (200, 204), deleted.text


# -- what the remote store adds: the command line, and substitutions as VALUES -------------------


def cli_access(backend) -> tuple[list[str], dict[str, str | None]]:  # noqa: ANN001
    """The `--store…` options naming the backend, and the environment holding its password."""
    env: dict[str, str | None] = {"ALLIANCE_STORE_PASSWORD": backend.access.get("password") or ""}
    options = [o for o in backend.options() if o != "--store-password"]
    if backend.access.get("password"):
        options.remove(backend.access["password"])
    return options, env


def test_the_command_line_over_the_backend(backend) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from alliance.cli import main

    runner = CliRunner()
    options, env = cli_access(backend)
    ingested = runner.invoke(main, ["ingest", *options], env=env)
    assert ingested.exit_code == 0, ingested.output
    assert "nothing changed" in ingested.output
    query = runner.invoke(
        main,
        [
            "query",
            *options,
            "cq9-territory-involvement",
            "--param",
            "territory=https://w3id.org/alliance/id/departement/71",
        ],
        env=env,
    )
    assert query.exit_code == 0, query.output
    assert query.output.splitlines()[-1] == "(1 row)"
    assert "contrat-reciprocite-creusot-montceau-morvan" in query.output


def test_validate_takes_its_context_from_the_backend(
    backend,  # noqa: ANN001
    bundled_store_dir: Path,
    tmp_path: Path,
) -> None:
    """`alliance validate --store …`, of a curated file (the parties and territories it names
    read from the store) and of the store itself: every backend gives the embedded store's
    report."""
    from click.testing import CliRunner

    from alliance.cli import main
    from alliance.shapes.render import SHAPES_NS

    bad = tmp_path / "bad.ttl"  # a contract with an urban party only, a non-party's commitment
    bad.write_text(
        f"@base <{ID}> .\n" + (HERE.parent / "data" / "broken-contract.ttl").read_text("utf-8"),
        encoding="utf-8",
    )
    options, env = cli_access(backend)

    def report(*args: str, environment: dict[str, str | None]) -> tuple[int, dict]:
        outcome = CliRunner().invoke(main, ["validate", "--format", "json", *args], env=environment)
        return outcome.exit_code, json.loads(outcome.stdout)

    def same(document: dict, expected: dict) -> bool:
        return document["counts"] == expected["counts"] and sorted(
            map(json.dumps, document["results"])
        ) == sorted(map(json.dumps, expected["results"]))

    local = ("--store", str(bundled_store_dir))
    nowhere: dict[str, str | None] = {"ALLIANCE_STORE": None}
    code, document = report(*options, str(bad), environment=env)
    expected_code, expected = report(*local, str(bad), environment=nowhere)
    assert code == expected_code == 1
    shapes = {r["shape"] for r in document["results"]}
    rules = ("ReciprocityContract-ruralOrPeriurban", "CommitmentByPartyShape")
    assert {SHAPES_NS + rule for rule in rules} <= shapes, shapes
    assert same(document, expected)
    # The store itself: its Warnings and Infos, located in its graphs.
    code, document = report(*options, environment=env)
    expected_code, expected = report(*local, environment=nowhere)
    assert code == expected_code == 1
    assert document["counts"]["total"] > 0 and same(document, expected)


#: The named queries that take parameters (the others have nothing to substitute).
WITH_PARAMETERS = sorted(name for name, q in test_queries.QUERIES.items() if q.parameters)


@pytest.mark.parametrize("name", WITH_PARAMETERS)
def test_values_blocks_answer_like_substitutions(store: GraphStore, name: str) -> None:
    """The remote store's rewriting of substitutions, checked on the embedded engine."""
    from alliance.store.remote import with_values

    query = test_queries.QUERIES[name]
    bound = dict(query.bind(test_queries.examples_of(query)))
    assert bound, f"{name}: its examples bind no parameter"
    engine = store.query(query.sparql(), substitutions=bound)
    rewritten = store.query(with_values(query.sparql(), bound))
    assert isinstance(engine, QuerySolutions) and isinstance(rewritten, QuerySolutions)
    as_set = lambda rows: {tuple(str(r[v]) for v in engine.variables) for r in rows}  # noqa: E731
    assert as_set(rewritten) == as_set(engine)
