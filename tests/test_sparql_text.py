"""The lexical checks run before Oxigraph sees a text: SERVICE/LOAD refusal, FROM, USING."""

from __future__ import annotations

import time

import pytest

from alliance.sparql_text import (
    declares_dataset,
    forbidden_operation,
    keyword_count,
    unescape_codepoints,
    with_using,
)

# Each of these calls a service in Oxigraph 0.5 (its grammar needs no word boundary).
CALLS = [
    "SELECT * { SERVICE <http://x/> {} }",
    "select * { service<http://x/>{} }",
    "SELECT * { ?s ?p trueSERVICE <http://x/> {} }",
    "SELECT * { ?s ?p 1SERVICE <http://x/> {} }",
    "SELECT * { ?s ?p 1e1SERVICE <http://x/> {} }",
    "PREFIX : <http://x/> SELECT * { SERVICE:x {} }",
    "PREFIX : <http://x/> SELECT * { ?s ?p 1SERVICE:x {} }",
    "SELECT * { ?s ?p ?o.SERVICE <http://x/> {} }",
    'SELECT * { ?s ?p "x"SERVICE <http://x/> {} }',
    "SELECT * { ?s ?p <http://y/>SERVICE <http://x/> {} }",
    "SELECT * { ?s ?p ?o SERVICE SILENT ?service {} }",
    # a backslash-escaped '#' in a name starts no comment
    "PREFIX ex: <http://e/> SELECT * { ?s ex:a\\#b ?o SERVICE <http://x/> {} }",
    # codepoint escapes: the specification (and rdflib) unescape the whole text first
    "SELECT * { \\u0053ERVICE <http://x/> {} }",
    "SELECT * { SERVIC\\u0045 <http://x/> {} }",
    "SELECT * { \\U00000073ervice <http://x/> {} }",
    "SELECT * { ?s ?p ?o # \\u000a SERVICE <http://x/> {} }",
]
# None of these does: the word is inside a token that Oxigraph reads greedily.
NOT_CALLS = [
    'SELECT * { ?s ?p "SERVICE <http://x/> {}" }',
    "SELECT * { ?s ?p '''a\nSERVICE <http://x/> {}''' }",
    "SELECT * { ?s ?p ?o } # SERVICE <http://x/> {}",
    "SELECT * { ?s <http://a/#SERVICE> ?o }",
    "SELECT ?service ?publicService WHERE { ?s ex:publicService ?service }",
    "SELECT * { ?s ?p ex:SERVICE }",
    "SELECT * { ?s ?p ex:a.SERVICE }",
    "SELECT * { ?s ?p _:bSERVICE }",
    'SELECT * { ?s ?p "x"@enSERVICE }',
]


@pytest.mark.parametrize("text", CALLS)
def test_service_calls_are_found(text):
    assert forbidden_operation(text) == "SERVICE"


@pytest.mark.parametrize("text", NOT_CALLS)
def test_service_words_that_call_nothing(text):
    assert forbidden_operation(text) is None


def test_keyword_counts_and_escapes():
    assert keyword_count("SELECT * { SERVICE <a> {} service<b> {} }", "SERVICE") == 2
    assert keyword_count('SELECT * { ?s ?p "SERVICE" }', "SERVICE") == 0
    assert unescape_codepoints("\\u0053\\U0001F600\\UFFFFFFFF") == "S\U0001f600\\UFFFFFFFF"
    assert forbidden_operation("\\u004cOAD <http://x/>", update=True) == "LOAD"


def test_load_only_matters_in_updates():
    assert forbidden_operation("LOAD <http://x/>", update=True) == "LOAD"
    assert forbidden_operation("load silent <http://x/> into graph <g>", update=True) == "LOAD"
    assert forbidden_operation('INSERT DATA { <a> <b> "LOAD" }', update=True) is None
    assert forbidden_operation("SELECT ?load WHERE { ?load ?p ?o }") is None


def test_the_scan_is_linear():
    # Texts of megabytes that a backtracking or quadratic scan would take hours on.
    for unit in ("a.", ".:", "a-", "<a", "'\"", "'a\n", "#\n", "?x.SERVICE"):
        text = unit * (2_000_000 // len(unit))
        start = time.perf_counter()
        forbidden_operation(text, update=True)
        declares_dataset(text)
        assert time.perf_counter() - start < 5, unit


def test_declared_dataset():
    assert declares_dataset("SELECT * FROM <http://g/> WHERE { ?s ?p ?o }")
    assert declares_dataset("SELECT *FROM NAMED<http://g/>{ GRAPH ?g { ?s ?p ?o } }")
    assert not declares_dataset("SELECT ?from WHERE { ?from ex:from 'FROM' } # FROM <x>")


def test_protocol_dataset_of_updates():
    text = (
        "INSERT { GRAPH <http://t/> { ?s a ?t } } WHERE { ?s a ?t { SELECT * WHERE {} } } ;"
        " DELETE WHERE { ?a ?b ?c } ; DELETE { ?s ?p ?o }WHERE{ ?s ?p ?o }"
    )
    rewritten = with_using(text, ["http://d/"], ["http://n/"])
    clause = "USING <http://d/> USING NAMED <http://n/> "
    assert rewritten.count(clause) == 2
    assert f"}} {clause}WHERE {{ ?s a ?t" in rewritten
    assert "DELETE WHERE" in rewritten and f"}}{clause}WHERE{{" in rewritten
    with pytest.raises(ValueError):
        with_using("WITH <http://g/> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", ["http://d/"], [])
    with pytest.raises(ValueError):
        with_using("INSERT { ?s ?p ?o } WHERE { ?s ?p ?o }", ["not an IRI"], [])
