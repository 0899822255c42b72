"""Every term the published data uses is declared, and labelled, in the ontology graph.

The ontology graph is written in RDF, RDFS and OWL: there, their own terms (rdfs:subClassOf,
owl:Class…) are the modelling language, not data, and need no declaration.
"""

from __future__ import annotations

import pytest
from pyoxigraph import QuerySolutions

from alliance.namespaces import ALLI, OWL, RDF, RDFS, sparql_prefixes
from alliance.store import GraphStore

ONTOLOGY_GRAPH = "https://w3id.org/alliance/id/graph/ontology"
RDF_TYPE = RDF + "type"
MODELLING_LANGUAGE = (RDF, RDFS, OWL)


def undeclared(used: list[tuple[str, ...]], declared: set[str]) -> list[tuple[str, str]]:
    """(term, graph) pairs of terms used but not labelled in the ontology graph."""
    return sorted(
        {
            (term, graph)
            for term, graph in used
            if term not in declared
            and term != RDF_TYPE
            and not (graph == ONTOLOGY_GRAPH and term.startswith(MODELLING_LANGUAGE))
        }
    )


def select(store: GraphStore, sparql: str) -> list[tuple[str, ...]]:
    result = store.query(sparql_prefixes() + sparql)
    assert isinstance(result, QuerySolutions)
    names = [v.value for v in result.variables]
    return [tuple(getattr(s[n], "value", "") for n in names) for s in result]


def labelled_in_ontology(store: GraphStore) -> set[str]:
    rows = select(
        store, f"SELECT DISTINCT ?term {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?term rdfs:label [] }} }}"
    )
    return {term for (term,) in rows}


@pytest.fixture(scope="module")
def declared(store: GraphStore) -> set[str]:
    return labelled_in_ontology(store)


def test_every_predicate_used_is_declared(store: GraphStore, declared: set[str]) -> None:
    used = select(store, "SELECT DISTINCT ?p ?g { GRAPH ?g { [] ?p [] } }")
    assert used
    missing = undeclared(used, declared)
    assert not missing, "predicates without rdfs:label in the ontology graph:\n" + "\n".join(
        f"  {p}  (used in {g})" for p, g in missing
    )


def test_every_class_used_is_declared(store: GraphStore, declared: set[str]) -> None:
    used = select(store, "SELECT DISTINCT ?c ?g { GRAPH ?g { [] a ?c } FILTER(isIRI(?c)) }")
    assert used
    missing = undeclared(used, declared)
    assert not missing, "classes without rdfs:label in the ontology graph:\n" + "\n".join(
        f"  {c}  (used in {g})" for c, g in missing
    )


def test_our_terms_are_labelled_in_french_and_english(store: GraphStore) -> None:
    rows = select(
        store,
        f"""
        SELECT ?term ?kind (GROUP_CONCAT(DISTINCT lang(?label); separator=" ") AS ?langs) {{
          GRAPH <{ONTOLOGY_GRAPH}> {{
            VALUES ?kind {{ owl:Class owl:ObjectProperty owl:DatatypeProperty }}
            ?term a ?kind .
            FILTER(STRSTARTS(STR(?term), "{ALLI}"))
            OPTIONAL {{ ?term rdfs:label ?label }}
          }}
        }}
        GROUP BY ?term ?kind
        """,
    )
    assert len(rows) > 20
    assert {kind for _, kind, _ in rows} == {
        OWL + "Class",
        OWL + "ObjectProperty",
        OWL + "DatatypeProperty",
    }
    unlabelled = sorted(term for term, _, langs in rows if not {"fr", "en"} <= set(langs.split()))
    assert not unlabelled, f"alli: terms without rdfs:label in fr and en: {unlabelled}"
