"""The union of the published graphs, materialised as one graph of a remote store.

Why. A query without GRAPH is answered over the union of the published graphs. A remote
store is asked for that union by listing the published graphs (`default-graph-uri`), so that
Alliance's private graphs never show; Oxigraph server evaluates such a list up to three times
more slowly than one graph (the aggregate of the benchmark mix: 750–930 ms with the list of
three graphs, 1,000–1,200 ms with its own `union-default-graph`, 260–620 ms over one graph
holding the union), and Virtuoso about twice as slowly (the whole benchmark mix cost it 8.1 ms
of CPU per query with the list of three graphs, 4.4 ms over one graph). So on those engines
(`Engine.keeps_union`) the union is kept as a private graph
`urn:x-alliance:union:<unix time in ms>:<id>`, named by a pointer in the state graph, and union
queries ask for that one graph. Oxigraph server loads it in bulk (`Engine.union_load`: its
`no_transaction` Graph Store upload of each graph's N-Triples); Virtuoso copies it inside the
store (`ADD`, 3 s for the bundled data).

Consistency. The pointer only ever names a union that matches the published graphs:

* A small change (replaced or dropped graphs up to `INCREMENTAL_LIMIT` triples, SPARQL
  updates made only of INSERT DATA / DELETE DATA) updates the union in place, inside the
  publishing update itself (`forget_operation`, `add_operation`, `reconcile_operations`):
  readers see the new graphs and the new union together. A triple leaves the union only when
  no other published graph still states it.
* Any other change removes the pointer in the publishing update, so readers fall back to the
  list of graphs (slower, never wrong). The writer then bulk-loads a new union from the
  published graphs and points to it only if no other publish happened meanwhile (the switch is
  conditional on the version marker it published). A writer killed in between leaves no
  pointer; its half-built union is garbage for the next rebuild to drop.
* The previous union is dropped once readers' cached pointers have expired
  (`GRAPHS_TTL_SECONDS` after the publish that unlinked it).

Blank nodes keep their identity: an upload sends the graphs' own N-Triples, whose labels
Oxigraph keeps (and copies triples with blank nodes inside the store), `ADD` and in-place
updates copy terms inside the store.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode

from alliance.store.remote_names import (
    GRAPHS_TTL_SECONDS,
    PRIVATE_PREFIX,
    STATE_GRAPH,
    UNION_POINTER,
    UNION_PREFIX,
    VERSION,
    stamp_of,
)

if TYPE_CHECKING:
    from alliance.store.remote import RemoteStore

log = logging.getLogger(__name__)

#: Up to this many triples (old and new, all graphs of one write) the union is updated in
#: place; above, it is rebuilt in bulk (an in-place update moves quads one by one).
INCREMENTAL_LIMIT = 50_000
#: Updates longer than this are not parsed for their DATA triples: the union is rebuilt.
MAX_PARSED_UPDATE = 256 * 1024

_POINTER = f"GRAPH {STATE_GRAPH} {{ {STATE_GRAPH} {UNION_POINTER} ?u }}"

#: Keeps `?h` to published graphs (not Alliance's private ones).
_PUBLISHED_H = f'!STRSTARTS(STR(?h), "{PRIVATE_PREFIX}")'

#: Unlinks the union: readers fall back to the list of published graphs.
UNLINK = f"DELETE WHERE {{ {_POINTER} }}"


def pointer(store: RemoteStore) -> NamedNode | None:
    """The union graph the state graph points to, as the store says now."""
    rows = store.query(f"SELECT ?u WHERE {{ {_POINTER} }}", union_default_graph=False)
    for row in rows:  # type: ignore[union-attr]
        union = row["u"]
        if isinstance(union, NamedNode):
            return union
    return None


def forget_operation(graph: NamedNode) -> str:
    """Before `graph` is dropped or replaced: its triples that no other graph states leave
    the union."""
    return (
        f"DELETE {{ GRAPH ?u {{ ?s ?p ?o }} }} WHERE {{ {_POINTER} GRAPH {graph} {{ ?s ?p ?o }}"
        f" FILTER NOT EXISTS {{ GRAPH ?h {{ ?s ?p ?o }}"
        f" FILTER (?h != {graph} && {_PUBLISHED_H}) }} }}"
    )


def add_operation(graph: NamedNode) -> str:
    """After `graph` is replaced: its triples join the union."""
    return (
        f"INSERT {{ GRAPH ?u {{ ?s ?p ?o }} }} WHERE {{ {_POINTER} GRAPH {graph} {{ ?s ?p ?o }} }}"
    )


def data_triples(sparql_update: str) -> list[str] | None:
    """The triples an update made only of INSERT DATA / DELETE DATA touches, as SPARQL
    terms (`<s> <p> "o"`); None for any other update, or one with blank nodes (they are
    new nodes in a DATA block: the union gets them only from a rebuild)."""
    if len(sparql_update) > MAX_PARSED_UPDATE:
        return None
    from rdflib.plugins.sparql.algebra import translateUpdate
    from rdflib.plugins.sparql.parser import parseUpdate
    from rdflib.term import BNode

    try:
        operations = translateUpdate(parseUpdate(sparql_update)).algebra
    except Exception:  # noqa: BLE001 - the server says what is wrong, at publish
        return None
    touched: set[str] = set()
    for operation in operations:
        if operation.name not in ("InsertData", "DeleteData"):
            return None
        triples = list(operation.triples or [])
        for graph_triples in (operation.quads or {}).values():
            triples += graph_triples
        for triple in triples:
            if any(isinstance(term, BNode) for term in triple):
                return None
            touched.add(" ".join(term.n3() for term in triple))
    return sorted(touched)


def reconcile_operations(triples: list[str]) -> list[str]:
    """After an update that touched `triples`: each is in the union if, and only if, a
    published graph states it.

    Written with OPTIONAL / !BOUND and a join rather than (NOT) EXISTS: Virtuoso 7 does not
    see VALUES-bound variables inside EXISTS, and would empty the union of them.
    """
    rows = " ".join(f"({triple})" for triple in triples)
    stated = f"GRAPH ?h {{ ?s ?p ?o }} FILTER ({_PUBLISHED_H})"
    where = f"{_POINTER} VALUES (?s ?p ?o) {{ {rows} }}"
    return [
        f"DELETE {{ GRAPH ?u {{ ?s ?p ?o }} }} WHERE {{ {where} OPTIONAL {{ {stated} }}"
        " FILTER (!BOUND(?h)) }",
        f"INSERT {{ GRAPH ?u {{ ?s ?p ?o }} }} WHERE {{ {where} {stated} }}",
    ]


def _switch(union: NamedNode, expected: Literal | None) -> str:
    """Point to `union`, only if the version marker is still `expected` (None: no marker)."""
    marker = f"GRAPH {STATE_GRAPH} {{ {STATE_GRAPH} {VERSION} "
    condition = (  # counted: Virtuoso 7 finds no solution to FILTER NOT EXISTS + OPTIONAL
        f"{marker}{expected} }}"
        if expected is not None
        else f"{{ SELECT (COUNT(*) AS ?n) WHERE {{ {marker}?any }} }} }} FILTER (?n = 0)"
    )
    return (
        f"DELETE {{ GRAPH {STATE_GRAPH} {{ {STATE_GRAPH} {UNION_POINTER} ?u }} }}"
        f" INSERT {{ GRAPH {STATE_GRAPH} {{ {STATE_GRAPH} {UNION_POINTER} {union} }} }}"
        f" WHERE {{ {condition} OPTIONAL {{ {_POINTER} }} }}"
    )


def current_marker(store: RemoteStore) -> Literal | None:
    """The version marker of the last publish, if any."""
    rows = store.query(
        f"SELECT ?v WHERE {{ GRAPH {STATE_GRAPH} {{ {STATE_GRAPH} {VERSION} ?v }} }}",
        union_default_graph=False,
    )
    for row in rows:  # type: ignore[union-attr]
        if isinstance(row["v"], Literal):
            return row["v"]
    return None


def rebuild(
    store: RemoteStore,
    expected: Literal | None,
    unlinked_at: float,
    *,
    known: dict[NamedNode, bytes] | None = None,
) -> NamedNode | None:
    """Load the union of the published graphs into a new graph and point to it.

    `expected` is the version marker the union must match; `unlinked_at` (time.monotonic)
    when the previous pointer was removed; `known`, the N-Triples of graphs the caller has
    just published (the others are read from the store). Returns the new union, or None
    when another publish came first (its writer builds its own) or the engine keeps no
    union (or would upload it, but has no Graph Store endpoint).
    """
    params = store.engine.union_load
    if not store.engine.keeps_union or (params is not None and store.gsp_url is None):
        log.info("%s: no bulk load; union queries list the published graphs", store.url)
        return None
    graphs = [g for g in store._all_graphs() if not store._hidden(g)]
    if not graphs:
        return None
    started = time.time()
    union = NamedNode(f"{UNION_PREFIX}{int(started * 1000)}:{uuid.uuid4().hex}")
    try:
        for done, graph in enumerate(graphs, 1):
            if params is None:  # inside the store: blank nodes are the graphs' own
                store._update(f"ADD {graph} TO {union}")
            else:
                store._copy_graph(graph, union, params, (known or {}).get(graph))
            if store.progress is not None:
                store.progress(done, len(graphs), "building the union of the published graphs")
        store._update(_switch(union, expected))
    except BaseException:
        _drop(store, union)
        raise
    if pointer(store) != union:
        log.info("%s: another publish came first; its writer builds the union", store.url)
        _drop(store, union)
        return None
    log.info(
        "%s: union of %d graphs in %s (%.1f s)",
        store.url,
        len(graphs),
        union.value,
        time.time() - started,
    )
    mine = stamp_of(union, UNION_PREFIX) or 0
    older = [
        graph
        for graph in store._all_graphs()
        if graph.value.startswith(UNION_PREFIX)
        and graph != union
        # a later writer's union may be in the making
        and (stamp_of(graph, UNION_PREFIX) or 0) < mine
    ]
    if older:
        # Readers may hold the previous pointer for GRAPHS_TTL_SECONDS after it was unlinked.
        time.sleep(max(0.0, unlinked_at + GRAPHS_TTL_SECONDS - time.monotonic()))
    for done, graph in enumerate(older, 1):
        if store.progress is not None:  # a transaction as long as the union: say so
            store.progress(done, len(older), "dropping the previous union")
        _drop(store, graph)
    return union


def _drop(store: RemoteStore, graph: NamedNode) -> None:
    try:
        store._update(f"DROP SILENT GRAPH {graph}")
    except Exception as exc:  # noqa: BLE001 - a leftover is dropped by the next rebuild
        log.warning("could not drop %s: %s", graph.value, exc)
