"""The remote store: any SPARQL 1.1 server behind the GraphStore interface.

The package, by job: store.py (RemoteStore: reads, and the writer's entry), writer.py (staging
and the publishing update), transport.py (HTTP and credentials), engines.py (what differs
between servers), answers.py (reading answers), rewrite.py (rewriting queries), union.py
(the union graph kept on Oxigraph server and Virtuoso), names.py (its private graphs).

Chosen by `open_store` when the location is an http(s) URL: the SPARQL query endpoint, with
the update endpoint and the Graph Store Protocol endpoint beside it (`--store-update`,
`--store-gsp`) and credentials for HTTP basic or digest auth, whichever the server asks for
(`--store-user`, `--store-password`). Tested against Oxigraph server and Virtuoso 7.

Reading. Queries ask for SPARQL JSON results (N-Triples for graph results), and the answers
are parsed by pyoxigraph into the same types the embedded store returns, so the rest of the
code cannot tell the stores apart (answers.py, which also normalises Virtuoso's).

The union default graph (GraphStore.query's default) is asked for explicitly, on every engine,
as the protocol's `default-graph-uri` / `named-graph-uri` listing the published graphs: the
staging graphs of a write in progress and the engine's own graphs (Virtuoso keeps its
configuration in graphs of its own) must never show, and neither Oxigraph's
`union-default-graph` nor Virtuoso's all-graphs default graph would hide them. Oxigraph server
and Virtuoso evaluate such a list slowly: there the union is kept as one private graph
instead, and asked for as the only `default-graph-uri` (see union.py). Every request
travels over one kept-alive `requests` session per thread (transport.py). Variable
substitutions (pyoxigraph's `substitutions`, which a remote engine does not have) become a
one-row `VALUES` block opening each group of the query (see `with_values`; the tests check
that it answers like pyoxigraph's substitution for every named query; rewrite.py).

Writing. A writer stages each replaced graph in a temporary graph of its own
(`urn:x-alliance:staging:…`), uploaded in batches sized for the engine (Graph Store Protocol
POSTs of N-Triples, or INSERT DATA without a GSP endpoint), retrying Virtuoso's transaction
deadlocks (`40001` / `SR172`), which it reports under concurrent load. When the `with` block
ends, one SPARQL Update request publishes everything: a `MOVE` per replaced graph, a `DROP`
per removed one, the writer's own updates, and a new content version marker (on Oxigraph
server and Virtuoso, also the upkeep of the union graph, or its unlinking before a
rebuild). On any error the staging graphs are dropped and the published graphs were never
touched.

On Oxigraph server the graphs skip staging: its updates write quad by quad inside one
transaction, and a staged `MOVE` pays twice (copy, then delete the staging graph): 20 s to
upload the territories graph, then 3 minutes to MOVE it, on a loaded 2-core machine. So a
replaced graph travels inside the publishing request itself, as `DROP` + `INSERT DATA` (up
to `Engine.inline_bytes`; larger graphs are staged): about 2.5 minutes in the same
conditions, under 2 on a quieter machine. The request is the staging.

What "atomic" means depends on the engine, and this module cannot do better than it:

* Oxigraph server runs each update request as one transaction over a snapshot-isolated
  store: readers see all of the request's changes or none of them.
* Virtuoso runs an update request sent over HTTP as one transaction, and its readers (read
  committed) do not see uncommitted rows: tests/backends checks that a reader polling during
  a staged replacement sees the old or the new graph, never a mix nor nothing. What it does
  with a request past its transaction log limits (`log_enable` settings) was not tested;
  staging keeps the publishing request to a few MOVEs, whatever the graphs' size.
* Another SPARQL server: as atomic as it runs one update request.

A writer killed between upload and publish leaves staging graphs behind, invisible to
readers; the next writer drops those older than `STALE_STAGING_SECONDS`.
"""

from alliance.store.remote.engines import DEADLOCK_RETRIES, MAX_GET_QUERY
from alliance.store.remote.names import STAGING_PREFIX
from alliance.store.remote.rewrite import with_values
from alliance.store.remote.store import RemoteStore, is_remote

__all__ = [
    "DEADLOCK_RETRIES",
    "MAX_GET_QUERY",
    "STAGING_PREFIX",
    "RemoteStore",
    "is_remote",
    "with_values",
]
