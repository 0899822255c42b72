"""The union index (store/union_index.py): union queries answered from a materialised copy.

Each check compares what the embedded store answers (from the index) with what the
published generation itself holds, read independently through `GRAPH` patterns.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Quad, Store, Triple

from alliance.store.embedded import EmbeddedStore
from alliance.store.union_index import UNIONS

EX = "http://example.org/"
A, B = NamedNode(EX + "graph/a"), NamedNode(EX + "graph/b")
P = NamedNode(EX + "p")


def t(subject: str, value: str) -> Triple:
    return Triple(NamedNode(EX + subject), P, Literal(value))


def union_rows(store: EmbeddedStore) -> set[tuple[str, str, str]]:
    """Triples the store's union default graph answers (through the index when it has one)."""
    rows = store.query("SELECT ?s ?p ?o { ?s ?p ?o }")
    return {(str(r["s"]), str(r["p"]), str(r["o"])) for r in rows}


def merged_rows(store: EmbeddedStore) -> set[tuple[str, str, str]]:
    """The RDF merge of every named graph, read graph by graph from the generation."""
    rows = store.query(
        "SELECT DISTINCT ?s ?p ?o { GRAPH ?g { ?s ?p ?o } }", union_default_graph=False
    )
    return {(str(r["s"]), str(r["p"]), str(r["o"])) for r in rows}


def index_folders(path: Path) -> list[str]:
    return sorted(p.name for p in (path / UNIONS).iterdir())


def test_the_bundled_store_is_served_from_its_index(bundled_store_dir: Path) -> None:
    store = EmbeddedStore(bundled_store_dir, read_only=True)
    generation = store.published_generation()
    assert generation is not None
    # One twin per kept generation (other tests may have published since the fixture).
    kept = sorted(p.name for p in (bundled_store_dir / "generations").iterdir())
    assert generation in kept and index_folders(bundled_store_dir) == kept
    # The software agent is described in each of the four graphs. Oxigraph's own union
    # keeps one copy per graph, so each of the two patterns matches four times: 4 x 4
    # rows. The index holds the RDF merge of the graphs: one row.
    agent = "SELECT ?label { ?agent a prov:SoftwareAgent ; rdfs:label ?label }"
    prefix = (
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
        "PREFIX prov: <http://www.w3.org/ns/prov#> "
    )
    by_index = list(store.query(prefix + agent))
    by_graphs = list(store._current().query(prefix + agent, use_default_graph_as_union=True))
    assert (len(by_index), len(by_graphs)) == (1, 16)
    assert by_index[0]["label"] == by_graphs[0]["label"]
    count = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    distinct = "SELECT (COUNT(*) AS ?n) { SELECT DISTINCT ?s ?p ?o { GRAPH ?g { ?s ?p ?o } } }"
    (indexed,) = store.query(count)
    (merged,) = store.query(distinct, union_default_graph=False)
    assert int(indexed["n"].value) == int(merged["n"].value) > 460_000
    # Named graphs are the generation's own, in the index as in the generation.
    assert store.graphs() == sorted(store._opened()[1].named_graphs(), key=lambda g: g.value)


def test_small_replacements_update_the_index_incrementally(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    with store.writer() as writer:
        writer.replace_graph(A, [t("x", "shared"), t("y", "only in a")])
        writer.replace_graph(B, [t("x", "shared"), t("z", "only in b")])
    assert union_rows(store) == merged_rows(store)
    assert len(union_rows(store)) == 3
    # The shared triple leaves a but stays in b: it stays in the union; "only in a" leaves.
    with store.writer() as writer:
        writer.replace_graph(A, [t("w", "new in a")])
    assert union_rows(store) == merged_rows(store)
    assert (f"<{EX}x>", f"<{P.value}>", '"shared"') in union_rows(store)
    assert all(o != '"only in a"' for _, _, o in union_rows(store))
    # Dropping b takes its triples out of the union, the shared one included.
    with store.writer() as writer:
        writer.drop_graph(B)
    assert union_rows(store) == merged_rows(store) == {(f"<{EX}w>", f"<{P.value}>", '"new in a"')}
    assert index_folders(tmp_path) == sorted(p.name for p in (tmp_path / "generations").iterdir())


def test_updates_rebuild_the_index_and_blank_nodes_keep_their_identity(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    node = BlankNode("n1")
    with store.writer() as writer:
        writer.replace_graph(A, [Triple(node, P, Literal("blank"))])
    with store.writer() as writer:
        writer.update(
            f"INSERT DATA {{ GRAPH <{B.value}> {{ <{EX}v> <{P.value}> 'by update' }} }} ;"
            f"DELETE WHERE {{ GRAPH <{A.value}> {{ ?s <{P.value}> 'nothing' }} }}"
        )
    assert union_rows(store) == merged_rows(store)
    # A union pattern and a GRAPH pattern meet on the same blank node.
    joined = store.query(f"SELECT ?g {{ ?s <{P.value}> 'blank' . GRAPH ?g {{ ?s ?p ?o }} }}")
    assert [r["g"] for r in joined] == [A]


def test_plain_default_graph_and_explicit_datasets_are_asked_of_the_generation(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore(tmp_path)
    with store.writer() as writer:
        writer.replace_graph(A, [t("x", "in a")])
        writer.update(f"INSERT DATA {{ <{EX}d> <{P.value}> 'in the default graph' }}")
    plain = store.query("SELECT ?o { ?s ?p ?o }", union_default_graph=False)
    assert [r["o"].value for r in plain] == ["in the default graph"]
    chosen = store.query("SELECT ?o { ?s ?p ?o }", default_graphs=[A])
    assert [r["o"].value for r in chosen] == ["in a"]
    assert {o for _, _, o in union_rows(store)} == {'"in a"', '"in the default graph"'}


def test_a_store_without_index_is_still_answered(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path).writer() as writer:
        writer.replace_graph(A, [t("x", "1")])
        writer.replace_graph(B, [t("x", "1"), t("y", "2")])
    shutil.rmtree(tmp_path / UNIONS)  # as a store written before the index existed
    store = EmbeddedStore(tmp_path, read_only=True)
    assert store._opened()[1] is None
    rows = store.query("SELECT ?o { ?s ?p ?o }")
    assert sorted(r["o"].value for r in rows) == ["1", "1", "2"]  # Oxigraph's own union
    # The next write builds the index again, in full.
    with EmbeddedStore(tmp_path).writer() as writer:
        writer.replace_graph(A, [t("x", "1")])
    assert union_rows(EmbeddedStore(tmp_path, read_only=True)) == {
        (f"<{EX}x>", f"<{P.value}>", '"1"'),
        (f"<{EX}y>", f"<{P.value}>", '"2"'),
    }


def test_an_abandoned_write_leaves_no_index_behind(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    with store.writer() as writer:
        writer.replace_graph(A, [t("x", "1")])
    before = index_folders(tmp_path)
    try:
        with store.writer() as writer:
            writer.replace_graph(A, [t("x", "2")])
            writer.update("THIS IS NOT SPARQL")
    except Exception:  # noqa: BLE001 - the malformed update abandons the write
        pass
    assert index_folders(tmp_path) == before
    # A folder left by a killed writer (not yet published) is removed by the next one.
    leftover = tmp_path / UNIONS / "999999"
    Store(str(leftover)).flush()
    with store.writer() as writer:
        writer.replace_graph(B, [t("y", "1")])
    assert "999999" not in index_folders(tmp_path)
    assert union_rows(store) == merged_rows(store)


def every_row(store: EmbeddedStore) -> set[tuple[str, str, str]]:
    """The merge of every graph of the generation, its plain default graph included."""
    rows = store.query(
        "SELECT DISTINCT ?s ?p ?o { { GRAPH ?g { ?s ?p ?o } } UNION { ?s ?p ?o } }",
        union_default_graph=False,
    )
    return {(str(r["s"]), str(r["p"]), str(r["o"])) for r in rows}


def test_quads_added_and_removed_one_by_one_update_the_index_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = EmbeddedStore(tmp_path)
    shared, only_a = t("x", "shared"), t("y", "only in a")
    with store.writer() as writer:
        writer.replace_graph(A, [shared, only_a])
        writer.replace_graph(B, [shared])
    caplog.set_level(logging.INFO, logger="alliance.store.union_index")
    caplog.clear()
    default = DefaultGraph()
    c = NamedNode(EX + "graph/c")
    with store.writer() as writer:
        writer.remove_quads([Quad(*shared, A), Quad(*only_a, A)])  # shared stays through b
        writer.add_quads([Quad(*t("d", "default"), default), Quad(*t("c", "in c"), c)])
        writer.add_quads([Quad(*t("gone", "at once"), A)])
        writer.remove_quads([Quad(*t("gone", "at once"), A)])  # added and removed: nothing
    assert "updated" in caplog.text and "in full" not in caplog.text
    assert union_rows(store) == every_row(store)
    assert {o for _, _, o in union_rows(store)} == {'"shared"', '"default"', '"in c"'}
    assert c in store.graphs() and A in store.graphs()  # emptied graphs stay, as in Oxigraph
    # A GRAPH pattern over the index sees the graphs' new contents too.
    in_a = store.query(f"SELECT ?o {{ GRAPH <{A.value}> {{ ?s ?p ?o }} }}")
    assert list(in_a) == []
    with store.writer() as writer:
        writer.remove_quads([Quad(*shared, B), Quad(*t("d", "default"), default)])
    assert union_rows(store) == every_row(store) == {(f"<{EX}c>", f"<{P.value}>", '"in c"')}


@pytest.mark.slow
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["add", "remove", "clear default"]),
                st.sampled_from(["a", "b", "default"]),
                st.sampled_from(["x", "y"]),
                st.sampled_from(["1", "2"]),
            ),
            min_size=1,
            max_size=4,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_any_sequence_of_small_writes_keeps_the_index_equal_to_the_merge(
    tmp_path_factory: pytest.TempPathFactory, writes: list
) -> None:
    store = EmbeddedStore(tmp_path_factory.mktemp("small-writes"))
    graphs = {"a": A, "b": B, "default": DefaultGraph()}
    with store.writer() as writer:
        writer.replace_graph(A, [t("x", "1")])
    for write in writes:
        with store.writer() as writer:
            for action, graph, subject, value in write:
                quad = Quad(*t(subject, value), graphs[graph])
                if action == "clear default":
                    writer.clear_default_graph()
                else:
                    (writer.add_quads if action == "add" else writer.remove_quads)([quad])
        assert union_rows(store) == every_row(store)
