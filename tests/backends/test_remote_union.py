"""The union graph a remote store keeps for union queries (store/remote/union.py).

Each test runs its own small Oxigraph server (or an emptied Virtuoso, for the tests of both
engines), so that what it counts is only its own data. The three-backend suite (test_backends.py)
checks the answers over the bundled data.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from alliance.store.remote import RemoteStore
from alliance.store.remote import union as remote_union
from alliance.store.remote.names import UNION_PREFIX, VERSION
from alliance.store.remote.rewrite import mentions_graph

engines = sys.modules["alliance_tests_engines"]

EX = "http://example.org/"
P = NamedNode(EX + "p")
A, B, C = (NamedNode(EX + name) for name in "ABC")


def _t(subject: str, value: str) -> Triple:
    return Triple(NamedNode(EX + subject), P, Literal(value))


@pytest.fixture()
def oxigraph(tmp_path: Path) -> Iterator:
    if engines.oxigraph_binary() is None:
        pytest.skip("the oxigraph binary is not installed (pip install oxigraph, the test extra)")
    engine = engines.start_oxigraph(tmp_path)
    yield engine
    engine.stop()


@pytest.fixture()
def store(oxigraph) -> RemoteStore:  # noqa: ANN001
    return RemoteStore(oxigraph.query, update_url=oxigraph.update, gsp_url=oxigraph.gsp)


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One Virtuoso for the module (it takes seconds to start): `any_store` empties it."""
    if engines.virtuoso_binary() is None:
        pytest.skip("Virtuoso is not installed: apt-get install virtuoso-opensource-7-bin")
    engine = engines.start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    yield engine
    engine.stop()


@pytest.fixture(params=["oxigraph", "virtuoso"])
def any_store(request: pytest.FixtureRequest) -> Iterator[RemoteStore]:
    """An empty store of each engine that keeps a union graph: Oxigraph server uploads it
    in bulk, Virtuoso copies it inside the store."""
    if request.param == "oxigraph":
        yield request.getfixturevalue("store")
        return
    engine = request.getfixturevalue("virtuoso")
    store = RemoteStore(
        engine.query,
        update_url=engine.update,
        gsp_url=engine.gsp,
        user=engine.user,
        password=engine.password,
    )
    yield store
    for graph in store._all_graphs():  # the next test starts from an empty store again
        if not graph.value.startswith(store.engine.internal_prefixes):
            store._update(f"DROP SILENT GRAPH {graph}")


def _values(store: RemoteStore) -> list[str]:
    """The objects of the union default graph, as a union query sees them now."""
    store._forget_graphs()
    return sorted(str(row["o"].value) for row in store.query("SELECT ?o WHERE { ?s ?p ?o }"))


def _unions(store: RemoteStore) -> list[NamedNode]:
    return [g for g in store._all_graphs() if g.value.startswith(UNION_PREFIX)]


def _union(store: RemoteStore) -> NamedNode | None:
    store._forget_graphs()
    return store._published()[1]


def _publish_one_graph(store: RemoteStore) -> NamedNode | None:
    """Graph A with one triple, published: its union graph."""
    with store.writer() as writer:
        writer.replace_graph(A, [_t("x", "1")])
    return _union(store)


def test_the_union_graph_is_the_merge_and_follows_every_write(any_store: RemoteStore) -> None:
    store = any_store
    with store.writer() as writer:
        writer.replace_graph(A, [_t("x", "1"), _t("shared", "s")])
        writer.replace_graph(B, [_t("y", "2"), _t("shared", "s")])
    first = _union(store)
    assert first is not None and _unions(store) == [first]
    assert _values(store) == ["1", "2", "s"]  # the shared triple once

    # A small replacement updates the same union in place, in the publishing update, where
    # the graph travels inside that update (Oxigraph). A staged one is moved into place
    # (Virtuoso): a new union is built, and the old one dropped.
    with store.writer() as writer:
        writer.replace_graph(A, [_t("x", "1b")])
    if store.engine.inline_bytes:
        assert _union(store) == first
    else:
        first = _union(store)
        assert first is not None and _unions(store) == [first]
    assert _values(store) == ["1b", "2", "s"]  # B still states the shared triple

    with store.writer() as writer:
        writer.drop_graph(B)
    assert _union(store) == first
    assert _values(store) == ["1b"]

    # Updates made of DATA blocks name the triples they touch: in place too.
    with store.writer() as writer:
        writer.update(
            f'INSERT DATA {{ GRAPH {C} {{ <{EX}z> {P} "3" . <{EX}x> {P} "1b" }} }} ;'
            f' DELETE DATA {{ GRAPH {A} {{ <{EX}x> {P} "1b" }} }}'
        )
    assert _union(store) == first
    assert _values(store) == ["1b", "3"]  # still stated by C
    with store.writer() as writer:
        writer.update(f'DELETE DATA {{ GRAPH {C} {{ <{EX}x> {P} "1b" }} }}')
    assert _values(store) == ["3"]

    # Any other update may change anything: a new union is built, the old one dropped.
    with store.writer() as writer:
        copy = f'INSERT {{ GRAPH {A} {{ ?s {P} "4" }} }} WHERE {{ GRAPH {C} {{ ?s ?p ?o }} }}'
        writer.update(copy)
    second = _union(store)
    assert second not in (None, first)
    assert _unions(store) == [second]
    assert _values(store) == ["3", "4"]
    assert store.graphs() == [A, C]  # the union graph is private


def test_blank_nodes_are_shared_with_the_graphs(any_store: RemoteStore) -> None:
    store = any_store
    join = "SELECT ?x WHERE { ?x ?p ?o . GRAPH ?g { ?x ?p ?o } FILTER isBlank(?x) }"
    node = BlankNode()
    with store.writer() as writer:  # the first union: from the writer's own N-Triples
        writer.replace_graph(A, [Triple(node, P, Literal("blank")), _t("x", "1")])
    first = _union(store)
    assert first is not None
    assert len(list(store.query(join))) == 1  # type: ignore[arg-type]
    with store.writer() as writer:  # rebuilt from the graphs read back
        writer.update(f'INSERT {{ GRAPH {B} {{ <{EX}y> {P} "2" }} }} WHERE {{}}')
    assert _union(store) not in (None, first)
    assert len(list(store.query(join))) == 1  # type: ignore[arg-type]
    with store.writer() as writer:  # in place: the blank node's triple leaves the union
        writer.replace_graph(A, [_t("x", "1")])
    assert _values(store) == ["1", "2"]


def test_a_store_filled_by_another_tool_gets_its_union_at_the_next_write(
    any_store: RemoteStore,
) -> None:
    store = any_store
    assert store.gsp_url is not None
    response = store._request(  # a plain Graph Store PUT: no version marker, no union
        "PUT",
        store.gsp_url,
        params={"graph": A.value},
        data=f'<{EX}x> {P} "1" .\n'.encode(),
        headers={"Content-Type": "application/n-triples"},
        timeout=30,
    )
    response.raise_for_status()
    assert _union(store) is None
    assert _values(store) == ["1"]  # answered from the list of graphs meanwhile
    version = store.version()
    with store.writer():
        pass  # nothing to publish
    assert _union(store) is not None
    assert _values(store) == ["1"]
    assert store.version() == version


def test_a_failed_rebuild_falls_back_to_the_list_of_graphs(
    store: RemoteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _publish_one_graph(store)

    def refuse(*args: object) -> None:
        raise requests.ConnectionError("the server went away")

    with monkeypatch.context() as patch:
        patch.setattr(RemoteStore, "_copy_graph", refuse)
        with store.writer() as writer:  # published; only the union could not be built
            writer.update(f'INSERT {{ GRAPH {B} {{ <{EX}y> {P} "2" }} }} WHERE {{}}')
    assert _union(store) is None
    assert _values(store) == ["1", "2"]
    with store.writer() as writer:
        writer.drop_graph(B)
    rebuilt = _union(store)
    assert rebuilt not in (None, first)
    assert _unions(store) == [rebuilt]  # the unlinked union is dropped
    assert _values(store) == ["1"]


def test_a_rebuild_overtaken_by_another_publish_does_not_switch(store: RemoteStore) -> None:
    current = _publish_one_graph(store)
    overtaken = remote_union.rebuild(store, Literal("an older marker"), 0.0)
    assert overtaken is None
    assert _union(store) == current
    assert _unions(store) == [current]  # its own union is dropped


def test_a_small_write_rebuilds_a_union_another_writer_unlinked_meanwhile(
    store: RemoteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _publish_one_graph(store)
    send = RemoteStore._update

    def racing(self: RemoteStore, text: str) -> None:
        if str(VERSION) in text:  # our publishing update: another writer's unlink lands first
            send(self, remote_union.UNLINK)
        send(self, text)

    with monkeypatch.context() as patch:
        patch.setattr(RemoteStore, "_update", racing)
        with store.writer() as writer:  # small: its upkeep in place finds no union
            writer.replace_graph(B, [_t("y", "2")])
    rebuilt = _union(store)
    assert rebuilt not in (None, first)
    assert _values(store) == ["1", "2"]


def test_alliance_ingest_builds_the_union(oxigraph, store: RemoteStore, tmp_path: Path) -> None:  # noqa: ANN001
    source = tmp_path / "notes.ttl"
    source.write_text(f'<{EX}x> <{EX}p> "from a file" .\n')
    result = subprocess.run(
        [sys.executable, "-m", "alliance.cli", "ingest", *oxigraph.options(), f"notes={source}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert _union(store) is not None
    values = _values(store)
    assert "from a file" in values
    listed = store.query("SELECT ?o WHERE { ?s ?p ?o }", default_graphs=store.graphs())
    assert values == sorted(str(row["o"].value) for row in listed)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ('INSERT DATA { <x:s> <x:p> "o" }', ['<x:s> <x:p> "o"']),
        (
            "PREFIX x: <x:> DELETE DATA { GRAPH x:g { x:s x:p 1 } } ; INSERT DATA { x:s x:p 1 }",
            ['<x:s> <x:p> "1"^^<http://www.w3.org/2001/XMLSchema#integer>'],
        ),
        ("INSERT DATA { _:b <x:p> <x:o> }", None),  # a new blank node: rebuilt
        ("DELETE WHERE { ?s <x:p> ?o }", None),
        ("CLEAR GRAPH <x:g>", None),
        ("NOT SPARQL", None),
    ],
)
def test_only_data_blocks_are_reconciled_in_place(update: str, expected: list[str] | None) -> None:
    assert remote_union.data_triples(update) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", True),
        ("select * where { graph <x:g> { ?s ?p ?o } }", True),
        ('SELECT * WHERE { ?s ?p "GRAPH" }', False),
        ("SELECT * WHERE { ?s <http://example.org/GRAPH> ?o } # GRAPH", False),
        ("SELECT ?graph WHERE { ?graph ?p ?o }", False),
    ],
)
def test_named_graphs_are_listed_only_for_queries_that_use_them(query: str, expected: bool) -> None:
    assert mentions_graph(query) is expected
