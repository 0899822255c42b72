"""The query processes of alliance.store.isolated, over the bundled store and small stores.

Real child processes, real queries: results must be what the in-process store gives, a
query over its time limit must end as QueryTimeout with its process replaced, and result
limits must end as ResultTooLarge, never as a shorter answer.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyoxigraph import (
    Literal,
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Triple,
    parse_query_results,
)

from alliance.store import GraphStore, StoreError, open_store
from alliance.store.base import Answer, QueryTimeout, ResultTooLarge, unbounded
from alliance.store.embedded import EmbeddedStore
from alliance.store.isolated import IsolatedStore, isolate

ALLI = "https://w3id.org/alliance/ontology#"
IGEO = "http://rdf.insee.fr/def/geo#"
ID = "https://w3id.org/alliance/id/"
LYON = NamedNode(f"{ID}commune/69123")
#: Never ends on the bundled data (468k triples squared), whatever the machine.
ENDLESS = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def isolated(bundled_store_dir: Path) -> Iterator[IsolatedStore]:
    with IsolatedStore(bundled_store_dir, read_only=True, processes=2, timeout=2) as opened:
        yield opened  # type: ignore[misc]


def rows(result: QuerySolutions) -> list[tuple[str, ...]]:
    names = [v.value for v in result.variables]
    return [tuple(str(s[n]) if s[n] is not None else "" for n in names) for s in result]


def wait_for(condition, what: str, seconds: float = 60.0) -> None:  # noqa: ANN001
    """Poll until `condition()` holds (a wait, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what} after {seconds} s")
        time.sleep(0.05)


def dead(pid: int) -> bool:
    """Whether the process is gone or a zombie (killed, not yet reaped) with no thread left.

    A killed process's main thread can show as a zombie while its other threads are still
    exiting and holding its pipes open: its parent can neither reap it nor see its pipes
    close yet, so it only counts as dead once it is its last thread.
    """
    try:
        zombie = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        return zombie and os.listdir(f"/proc/{pid}/task") == [str(pid)]
    except OSError:
        return True


QUERIES = [
    f"SELECT ?name {{ <{ID}commune/69123> <{IGEO}nom> ?name }}",
    f"SELECT ?c ?name {{ ?c <{ALLI}memberOf> <{ID}epci/200046977> ; <{IGEO}nom> ?name }}"
    " ORDER BY ?c",
    "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
    # unbound values, language tags and datatypes survive the trip
    "SELECT ?c ?label ?x ?n { ?c <http://www.w3.org/2004/02/skos/core#prefLabel> ?label"
    f" OPTIONAL {{ ?c <{ALLI}nothing> ?x }} BIND(STRLEN(?label) AS ?n) }} ORDER BY ?c ?label",
]


@pytest.mark.parametrize("sparql", QUERIES)
def test_solutions_are_those_of_the_store_itself(
    isolated: IsolatedStore, store: GraphStore, sparql: str
) -> None:
    got = isolated.query(sparql)
    assert isinstance(got, QuerySolutions)
    want = store.query(sparql)
    assert [v.value for v in got.variables] == [v.value for v in want.variables]  # type: ignore[union-attr]
    assert rows(got) == rows(want)  # type: ignore[arg-type]


def test_booleans_graphs_datasets_and_substitutions(
    isolated: IsolatedStore, store: GraphStore
) -> None:
    ask = isolated.query(f"ASK {{ {LYON} ?p ?o }}")
    assert isinstance(ask, QueryBoolean) and bool(ask)
    described = isolated.query(f"DESCRIBE {LYON}")
    assert isinstance(described, QueryTriples)
    assert set(described) == set(store.query(f"DESCRIBE {LYON}"))  # type: ignore[arg-type]
    bound = isolated.query(f"SELECT ?c ?n {{ ?c <{IGEO}nom> ?n }}", substitutions={"c": LYON})
    assert rows(bound) == [(str(LYON), '"Lyon"')]  # type: ignore[arg-type]
    plain = isolated.query("SELECT * { ?s ?p ?o } LIMIT 1", union_default_graph=False)
    assert rows(plain) == []  # type: ignore[arg-type]
    graph = NamedNode(f"{ID}graph/facts")
    named = isolated.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", default_graphs=[graph])
    assert rows(named) == [(str(Literal(store.graph_size(graph))),)]  # type: ignore[arg-type]


def test_errors_are_those_of_the_store_itself(isolated: IsolatedStore) -> None:
    with pytest.raises(StoreError) as malformed:
        isolated.query("SELEC ?x")
    assert isinstance(malformed.value.__cause__, SyntaxError)
    assert "1:" in str(malformed.value)


def test_a_query_over_its_time_limit_is_stopped_and_its_process_replaced(
    isolated: IsolatedStore,
) -> None:
    wait_for(lambda: len(isolated.children()) == isolated.processes, "all started")
    before = isolated.started_children
    with pytest.raises(QueryTimeout) as stopped:
        isolated.query(ENDLESS)
    assert stopped.value.seconds == 2
    assert "2 s" in str(stopped.value)
    wait_for(lambda: len(isolated.children()) == isolated.processes, "replaced")
    assert isolated.started_children == before + 1
    assert rows(isolated.query(QUERIES[0])) == [('"Lyon"',)]  # type: ignore[arg-type]


def test_a_query_process_killed_while_idle_costs_no_query(isolated: IsolatedStore) -> None:
    wait_for(lambda: len(isolated.children()) == isolated.processes, "all idle")
    killed = isolated.children()
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: all(dead(pid) for pid in killed), "dead")
    assert rows(isolated.query(QUERIES[0])) == [('"Lyon"',)]  # type: ignore[arg-type]
    wait_for(lambda: len(isolated.children()) == isolated.processes, "replaced")


def test_serialized_answers_are_the_store_s_own(isolated: IsolatedStore, store: GraphStore) -> None:
    sparql = QUERIES[1]
    for fmt in (QueryResultsFormat.JSON, QueryResultsFormat.XML, QueryResultsFormat.CSV):
        written = isolated.query_serialized(sparql, Answer(results_format=fmt, max_rows=1000))
        assert written.kind == "solutions"
        assert written.data == store.query(sparql).serialize(format=fmt)  # type: ignore[union-attr]
    graph = isolated.query_serialized(f"DESCRIBE {LYON}", Answer(graph_format=RdfFormat.N_TRIPLES))
    assert graph.kind == "triples" and graph.data is not None
    assert graph.data.count(b"\n") == len(list(store.query(f"DESCRIBE {LYON}")))  # type: ignore[arg-type]
    # No format for that kind of result: the kind, and no bytes.
    assert (
        isolated.query_serialized(
            f"DESCRIBE {LYON}", Answer(results_format=QueryResultsFormat.JSON)
        ).data
        is None
    )


@pytest.mark.parametrize("backend", ["isolated", "embedded"])
def test_result_limits_raise_rather_than_truncate(
    isolated: IsolatedStore, store: GraphStore, backend: str
) -> None:
    target: GraphStore = isolated if backend == "isolated" else store
    all_triples = "SELECT * { ?s ?p ?o } LIMIT 1001"
    for fmt in (QueryResultsFormat.JSON, QueryResultsFormat.TSV, QueryResultsFormat.CSV):
        with pytest.raises(ResultTooLarge) as too_many:
            target.query_serialized(all_triples, Answer(results_format=fmt, max_rows=1000))
        assert (too_many.value.limit, too_many.value.value) == ("rows", 1000)
    exact = target.query_serialized(
        "SELECT * { ?s ?p ?o } LIMIT 1000",
        Answer(results_format=QueryResultsFormat.JSON, max_rows=1000),
    )
    assert exact.data is not None
    assert len(list(parse_query_results(exact.data, QueryResultsFormat.JSON))) == 1000  # type: ignore[arg-type]
    with pytest.raises(ResultTooLarge) as too_big:
        target.query_serialized(
            all_triples,
            Answer(results_format=QueryResultsFormat.XML, max_bytes=10_000),
        )
    assert (too_big.value.limit, too_big.value.value) == ("bytes", 10_000)
    with pytest.raises(ResultTooLarge) as too_many_triples:
        target.query_serialized(
            "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 11",
            Answer(graph_format=RdfFormat.TURTLE, max_rows=10),
        )
    assert too_many_triples.value.limit == "rows"


def small_store(path: Path, names: list[str]) -> EmbeddedStore:
    store = EmbeddedStore(path)
    with store.writer() as writer:
        writer.replace_graph(
            NamedNode(f"{ID}graph/test"),
            [
                Triple(NamedNode(f"{ID}thing/{n}"), NamedNode(f"{ALLI}name"), Literal(n))
                for n in names
            ],
        )
    return store


def test_query_processes_follow_new_generations(tmp_path: Path) -> None:
    writable = small_store(tmp_path / "store", ["a"])
    count = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    with IsolatedStore(tmp_path / "store", read_only=True, processes=1, timeout=30) as isolated:
        assert rows(isolated.query(count)) == [(str(Literal(1)),)]  # type: ignore[arg-type]
        with writable.writer() as writer:
            writer.replace_graph(
                NamedNode(f"{ID}graph/test"),
                [
                    Triple(NamedNode(f"{ID}thing/{n}"), NamedNode(f"{ALLI}name"), Literal(n))
                    for n in "bcd"
                ],
            )
        assert rows(isolated.query(count)) == [(str(Literal(3)),)]  # type: ignore[arg-type]


def test_whole_store_work_runs_here_without_limit(tmp_path: Path) -> None:
    small_store(tmp_path / "store", ["a", "b"])
    with IsolatedStore(tmp_path / "store", read_only=True, processes=1, timeout=30) as isolated:
        with unbounded():
            result = isolated.query("CONSTRUCT WHERE { ?s ?p ?o }")
            assert len(list(result)) == 2  # type: ignore[arg-type]
        wait_for(lambda: len(isolated.children()) == 1, "started")
        assert isolated.started_children == 1


def test_isolate_wraps_embedded_stores_only(tmp_path: Path) -> None:
    small_store(tmp_path / "store", ["a"])
    embedded = open_store(tmp_path / "store", read_only=True)
    assert isolate(embedded, processes=0, timeout=5) is embedded
    wrapped = isolate(embedded, processes=1, timeout=5)
    try:
        assert isinstance(wrapped, IsolatedStore) and wrapped.timeout == 5
    finally:
        wrapped.close()
    assert wrapped.children() == []
