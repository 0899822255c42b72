"""What the query page's editor knows, so that it never asks another host.

YASGUI's editor completes prefixes from prefix.cc and classes and properties from LOV, and
offers DBpedia and Wikidata as endpoints: requests that a page on an intranet cannot make
and that would send the query being typed elsewhere. The page gives it this server's own
lists instead, inline in the page (server/static/sparql-editor.js reads them):

- the project's prefixes (namespaces.PREFIXES, the ones `alliance query` and the named
  queries declare), also declared at the top of the query the editor starts with;
- the classes and properties of the graph: those the ontologies declare and those the data
  uses, read from the store once per content of the store (web/cache.py);
- the examples (query_page.examples), which the editor loads without a round trip.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyoxigraph import NamedNode, QuerySolutions

from alliance.namespaces import OWL, PREFIXES, RDF, RDFS
from alliance.query_errors import declared_prefixes
from alliance.server.web.cache import memoised
from alliance.store.base import GraphStore

log = logging.getLogger(__name__)

TERMS_QUERY = f"""
SELECT DISTINCT ?term ?kind WHERE {{
  {{ ?term a ?type VALUES ?type {{ <{OWL}Class> <{RDFS}Class> }} BIND("class" AS ?kind) }}
  UNION {{ [] a ?term BIND("class" AS ?kind) }}
  UNION {{
    ?term a ?type
    VALUES ?type {{ <{OWL}ObjectProperty> <{OWL}DatatypeProperty> <{OWL}AnnotationProperty>
                   <{RDF}Property> }}
    BIND("property" AS ?kind)
  }}
  UNION {{ [] ?term [] BIND("property" AS ?kind) }}
}}
"""


@dataclass(frozen=True)
class Vocabulary:
    """The IRIs of the graph's classes and of its properties, sorted."""

    classes: list[str]
    properties: list[str]


def vocabulary(store: GraphStore) -> Vocabulary:
    """The classes and properties of the store's graph; empty lists if it cannot answer (the
    page must not fail because completion cannot be offered)."""
    try:
        return memoised(store, "editor-vocabulary", lambda: _read_vocabulary(store))
    except Exception:  # a remote store that is down, a query process that died…
        log.warning("the graph's classes and properties could not be read", exc_info=True)
        return Vocabulary([], [])


def _read_vocabulary(store: GraphStore) -> Vocabulary:
    terms: dict[str, set[str]] = {"class": set(), "property": set()}
    result = store.query(TERMS_QUERY)
    assert isinstance(result, QuerySolutions)
    for row in result:
        term, kind = row["term"], row["kind"]
        if isinstance(term, NamedNode) and kind is not None:
            terms[kind.value].add(term.value)
    return Vocabulary(sorted(terms["class"]), sorted(terms["property"]))


def with_prefixes(query: str) -> str:
    """The query with the project's prefixes it does not declare declared before it."""
    declared = declared_prefixes(query)
    missing = "".join(
        f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items() if prefix not in declared
    )
    return missing + query
