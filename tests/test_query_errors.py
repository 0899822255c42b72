"""Oxigraph's syntax errors explained (alliance/query_errors.py), on the parser's real messages.

Each query is given to pyoxigraph, and its SyntaxError to `explain`: the tests read what a
person would read, and the position they would go to.
"""

from __future__ import annotations

import pyoxigraph
import pytest

from alliance.namespaces import sparql_prefixes
from alliance.query_errors import declared_prefixes, explain


def explained(query: str):
    try:
        pyoxigraph.Store().query(query)
    except SyntaxError as exc:
        return explain(query, str(exc))
    raise AssertionError(f"the parser accepted {query!r}")


def test_the_docs_query_names_the_undeclared_prefix_and_its_declaration():
    error = explained("SELECT ?c ?n WHERE { ?c a igeo:Commune ; igeo:nom ?n } LIMIT 3")
    assert (error.line, error.column) == (1, 27)  # where igeo:Commune starts
    assert error.prefix == "igeo"
    assert error.declaration == "PREFIX igeo: <http://rdf.insee.fr/def/geo#>"
    assert error.message.startswith("the prefix igeo: is not declared")
    text = error.as_text()
    assert text.startswith("Malformed query: line 1, column 27: the prefix igeo: is not declared")
    assert "\nPREFIX igeo: <http://rdf.insee.fr/def/geo#>\n" in text
    assert "Oxigraph's message: error at 1:39" in text  # the parser's own, kept


def test_the_declared_query_runs():
    query = "PREFIX igeo: <http://rdf.insee.fr/def/geo#>\nSELECT * { ?c a igeo:Commune }"
    assert declared_prefixes(query) == {"igeo"}
    pyoxigraph.Store().query(query)  # no error: the declaration is what was missing


def test_an_unknown_prefix_is_named_without_a_guess():
    error = explained("PREFIX x: <a:b>\nSELECT * WHERE {\n ?s x:p ?o ; foo:bar 1 }")
    assert (error.line, error.column, error.prefix) == (3, 14, "foo")
    assert error.declaration is None
    assert "the prefix foo: is not declared" in error.message
    assert "the project's prefixes are alli, dcterms" in error.message


def test_the_second_undeclared_prefix_is_found_where_the_parser_gives_up_elsewhere():
    # Here Oxigraph's message does not say "Prefix not found" at all ("expected OPTIONAL").
    error = explained("PREFIX igeo: <http://x/>\nSELECT * { ?s a igeo:C ; geo:x ?o }")
    assert "Prefix not found" not in error.parser
    assert (error.line, error.column, error.prefix) == (2, 26, "geo")
    assert error.declaration == "PREFIX geo: <http://www.opengis.net/ont/geosparql#>"


@pytest.mark.parametrize(
    ("query", "word", "suggestions", "position"),
    [
        ("SELEC ?x", "SELEC", ("SELECT",), (1, 1)),
        ("PREFIX a: <x:>\nCONSTRCT { ?s ?p ?o } {}", "CONSTRCT", ("CONSTRUCT",), (2, 1)),
        ("SELECT * WHERE { ?s ?p ?o } LIMT 3", "LIMT", ("LIMIT",), (1, 29)),
        ("select * where { ?s ?p ?o . FILTR(?o) }", "FILTR", ("FILTER",), (1, 29)),
    ],
)
def test_a_misspelt_keyword_names_the_keywords_that_fit(query, word, suggestions, position):
    error = explained(query)
    assert (error.line, error.column) == position
    assert error.message.startswith(f"‘{word}’ is not a SPARQL keyword; did you mean")
    assert error.suggestions[: len(suggestions)] == suggestions
    assert "DESCRIBE, [_]" not in error.message  # the parser's list, which misled


def test_a_first_word_far_from_any_keyword_lists_the_query_forms():
    error = explained("FETCH ?x WHERE { ?x ?p ?o }")
    assert "a query starts with SELECT, CONSTRUCT, ASK or DESCRIBE" in error.message
    assert "SELECT" in error.suggestions


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("ASK {", "‘{’ is never closed.", (1, 5)),
        ("SELECT * { ?s ?p ?o . }}", "‘}’ closes no bracket.", (1, 24)),
        ("SELECT * { ?s ?p ?o ] }", "‘]’ closes ‘{’ (line 1, column 10).", (1, 21)),
        ('SELECT * { ?s ?p "}" FILTER(?s > 1 }', "‘}’ closes ‘(’ (line 1, column 28).", (1, 36)),
    ],
)
def test_unmatched_brackets_are_pointed_at(query, message, position):
    error = explained(query)
    assert (error.message, (error.line, error.column)) == (message, position)


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        (
            "SELECT * WHERE { <http://example.org/a b> ?p ?o }",
            "this IRI is not valid: between < and > an IRI holds no spaces and none of "
            '< > " { } | ^ ` \\.',
            (1, 18),
        ),
        (
            'SELECT * WHERE {\n  ?s ?p "never closed .\n}',
            'this string is never closed (" … ").',
            (2, 9),
        ),
        (
            "PREFIX ex: <http://example.org/>\nINSERT DATA { ex:a ex:b ex:c }",
            "‘INSERT’ begins a SPARQL Update, not a query: a query starts with SELECT, "
            "CONSTRUCT, ASK or DESCRIBE.",
            (2, 1),
        ),
        # The parser's own words, where it has some, instead of its list.
        ("SELECT (1 AS ?x) (2 AS ?x) WHERE {}", "Duplicated variable name in SELECT.", (1, 36)),
    ],
)
def test_broken_tokens_updates_and_the_parser_s_own_notes(query, message, position):
    error = explained(query)
    assert (error.message, (error.line, error.column)) == (message, position)


def test_other_errors_keep_the_position_and_the_readable_part_of_the_parser_list():
    error = explained("SELECT * WHERE { ?s ?p }")
    assert (error.line, error.column) == (1, 25)
    assert error.message == (
        "the parser could not go on at the end of the query; expected one of LATERAL, SERVICE."
    )
    assert "[_]" not in error.message


def test_every_project_prefix_counts_as_declared_once_prepended():
    query = sparql_prefixes() + "SELECT * { ?c a igeo:Commune ; alli:memberOf ?e }"
    assert declared_prefixes(query) >= {"igeo", "alli", "skos", "rdfs"}
    pyoxigraph.Store().query(query)


def test_json_has_the_text_s_message_and_its_parts():
    body = explained("SELEC ?x").as_json()
    assert body == {
        "error": "Malformed query",
        "message": "Line 1, column 1: ‘SELEC’ is not a SPARQL keyword; did you mean SELECT?",
        "line": 1,
        "column": 1,
        "prefix": None,
        "declaration": None,
        "suggestions": ["SELECT"],
        "parser": "error at 1:9: expected one of DESCRIBE, [_]",
    }


def test_a_message_without_a_position_is_kept_as_is():
    error = explain("SELECT", "Parse error at line 1, column 3")
    assert (error.message, error.line, error.as_text().splitlines()[0]) == (
        "Parse error at line 1, column 3",
        None,
        "Malformed query: Parse error at line 1, column 3",
    )
