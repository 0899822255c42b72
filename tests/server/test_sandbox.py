"""Parsing processes (server/web/sandbox.py): what the guards miss ends a child, not the caller.

The inputs here go straight to the parsing processes, past the input guards that refuse
them at the endpoints (tests/server/test_bad_input.py checks those answers), to show that
the containment itself holds: a parser crash and a runaway allocation end one child,
the caller gets an error that says which, and the next request is served.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, RdfFormat

from alliance.server.web import sandbox
from alliance.sparql_text import data_operations
from alliance.store.base import QueryProcessDied
from alliance.store.isolated import IsolatedStore

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad"
MEMORY = 256 * 1024**2
EX = "http://example.org/"


def test_an_entity_bomb_ends_a_parsing_process_not_the_caller() -> None:
    bomb = (CORPUS / "rdf" / "billion-laughs.rdf").read_bytes()
    with pytest.raises(sandbox.ParseFailed) as failed:
        sandbox.parse_rdf(bomb, RdfFormat.RDF_XML, base=EX, memory=MEMORY)
    assert failed.value.status == 413
    assert "memory" in failed.value.message
    # The pool replaced its child: the next parse is served.
    quads = sandbox.parse_rdf(
        b"<http://e/a> <http://e/b> 1 .", RdfFormat.TURTLE, base=EX, memory=MEMORY
    )
    assert len(quads) == 1


def test_a_parser_crash_ends_a_parsing_process_not_the_caller() -> None:
    chain = "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(" + "1 + " * 50_000 + "1 > 0) }"
    with pytest.raises(sandbox.ParseFailed) as failed:
        sandbox.check_update(chain, EX, memory=MEMORY)
    assert failed.value.status == 400
    assert "SIGSEGV" in failed.value.message
    assert sandbox.check_update("DELETE WHERE { ?s ?p ?o }", EX, memory=MEMORY) is None


def test_a_malformed_update_comes_back_with_its_position() -> None:
    with pytest.raises(SyntaxError) as malformed:
        sandbox.check_update("INSERT DATA { <a> <b> }", EX, memory=MEMORY)
    assert "1:" in str(malformed.value)


def test_data_updates_come_back_as_quads_in_their_order() -> None:
    text = (
        "PREFIX ex: <http://example.org/>\n"
        "INSERT DATA { GRAPH ex:g { ex:a ex:p 1, 'x;y' } } ;\n"
        "DELETE DATA { GRAPH <g> { ex:a ex:p 1 } } ;\n"
        "INSERT DATA { ex:b ex:p ex:c }"
    )
    changes = sandbox.check_update(text, EX, memory=MEMORY)
    assert changes is not None
    assert [(c.insert, len(c.quads)) for c in changes] == [(True, 2), (False, 1), (True, 1)]
    assert changes[1].quads[0].graph_name == NamedNode(EX + "g")  # relative to the base
    assert changes[2].quads[0].subject == NamedNode(EX + "b")
    assert Literal("x;y") in {q.object for q in changes[0].quads}


@pytest.mark.parametrize(
    "text",
    [
        "INSERT DATA { <http://e/a> <http://e/b> _:fresh }",  # blank nodes are fresh each run
        "INSERT DATA { <http://e/a> <http://e/b> 1 } ; DELETE WHERE { ?s ?p ?o }",
        "WITH <http://e/g> INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
        "PREFIX insert: <http://e/> INSERT DATA { insert:a insert:b insert:c } ; CLEAR ALL",
    ],
)
def test_other_updates_are_applied_as_text(text: str) -> None:
    assert sandbox.check_update(text, EX, memory=MEMORY) is None


def test_the_lexical_split_stops_at_what_it_does_not_expect() -> None:
    assert data_operations("INSERT DATA { <a> <b> <c> } DELETE DATA { <a> <b> <c> }") is None
    assert data_operations("INSERT DATA { <a> <b> <c> } ; LOAD <http://e/>") is None
    assert data_operations("INSERT DATA ( <a> )") is None
    assert data_operations("# only a comment") is None


def test_a_query_that_crashes_its_query_process_is_reported_as_a_crash(
    bundled_store_dir: Path,
) -> None:
    store = IsolatedStore(bundled_store_dir, read_only=True, processes=1, memory=MEMORY)
    try:
        with pytest.raises(QueryProcessDied) as died:
            store.query("ASK { FILTER(" + "1 + " * 50_000 + "1 > 0) }")
        assert not died.value.memory and "SIGSEGV" in str(died.value)
        with pytest.raises(QueryProcessDied) as died:  # a cross product held in memory
            store.query("SELECT ?a ?b ?c { ?a ?p ?x . ?b ?q ?y . ?c ?r ?z } ORDER BY ?a ?b ?c")
        assert died.value.memory and "memory limit of 256 MiB" in str(died.value)
        assert bool(store.query("ASK { ?s ?p ?o }"))
    finally:
        store.close()
