"""What differs between SPARQL servers, as far as the remote store is concerned."""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests

from alliance.store.errors import StoreError

#: What a query asks for: SELECT and ASK answers, and graph answers.
RESULTS_ACCEPT = "application/sparql-results+json, application/sparql-results+xml;q=0.9"
# Asked for by the query's form: Virtuoso answers CONSTRUCT in SPARQL JSON when allowed to.
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.8, application/rdf+xml;q=0.5"


@dataclass(frozen=True)
class Engine:
    """What differs between SPARQL servers, as far as this store is concerned."""

    name: str
    #: triples per upload request
    batch: int
    #: graphs the engine keeps for itself, never listed as published
    internal_prefixes: tuple[str, ...] = ()
    #: the query that lists the named graphs fastest (Virtuoso takes minutes over DISTINCT)
    list_graphs: str = "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    #: up to this many bytes of N-Triples, a replaced graph travels inside the publishing
    #: update itself (INSERT DATA) instead of through a staging graph (see _RemoteWriter)
    inline_bytes: int = 0
    #: the engine's JSON results need normalising (see the module docstring)
    normalise_json: bool = False
    #: keep the union of the published graphs as one graph: the engine evaluates a list of
    #: default graphs slowly (see remote_union)
    keeps_union: bool = False
    #: Graph Store upload parameters that load a graph in bulk, outside any transaction: the
    #: union is uploaded with them. None: it is copied inside the store (`ADD`)
    union_load: tuple[tuple[str, str], ...] | None = None


# Oxigraph runs an update as one transaction but moves quads slowly (a staged MOVE of the
# territories graph took 3 minutes here, against 20 s to upload it): its graphs travel
# inside the publishing update, which its server accepts up to well over 100 MB.
OXIGRAPH = Engine(
    "oxigraph",
    batch=100_000,
    list_graphs="SELECT ?g WHERE { GRAPH ?g {} }",
    inline_bytes=96 * 1024 * 1024,
    keeps_union=True,
    union_load=(("no_transaction", ""),),
)
# Virtuoso deadlocks on large single loads (seen with 17 MB PUTs on a fresh database);
# a few thousand triples per request load reliably.
VIRTUOSO = Engine(
    "virtuoso",
    batch=5_000,
    internal_prefixes=(
        "http://www.openlinksw.com/",
        "http://www.w3.org/ns/ldp#",
        "http://localuriqaserver/",
        "http://www.w3.org/2002/07/owl#",
    ),
    normalise_json=True,
    keeps_union=True,  # its ADD copies the bundled data in about 3 s
)
GENERIC = Engine("sparql", batch=10_000)
ENGINES = {e.name: e for e in (OXIGRAPH, VIRTUOSO, GENERIC)}

#: Longest encoded query (with its dataset parameters) sent by GET; longer ones are POSTed.
MAX_GET_QUERY = 4000

#: Retries of a request that failed on a transaction deadlock (Virtuoso 40001 / SR172).
DEADLOCK_RETRIES = 6


def check(response: requests.Response, url: str) -> None:
    if response.status_code >= 400:
        raise StoreError(f"{url}: {response.status_code} {response.text.strip()[:2000]}")


def deadlocked(response: requests.Response) -> bool:
    return response.status_code >= 500 and ("40001" in response.text or "SR172" in response.text)


def is_evaluation_error(message: str) -> bool:
    """A query that parsed but could not be evaluated (the server's 500 for a bad cast…)."""
    return bool(re.search(r"\b(SR\d+|22\d{3}|type error)\b", message))
