"""What the store already holds of each source: the version of its inputs, and its context.

Shared by the pipeline (skip what has not changed, validate a source with what the rest of
the dataset says about its nodes) and by validation before ingest (`validate_inputs`),
which must judge a file as the pipeline would.
"""

from __future__ import annotations

from pyoxigraph import NamedNode, Triple

from alliance import __version__
from alliance.ingest.source import Source
from alliance.namespaces import ALLI
from alliance.ontology import ontology_files
from alliance.shapes import shapes_files
from alliance.shapes.gate import files_checksum
from alliance.store.base import GraphStore

#: Nodes per VALUES clause: remote engines refuse queries with very long ones.
CHUNK = 500


def version_key(source: Source) -> str:
    """What decides whether a source must be ingested again."""
    extra = [*shapes_files(), *ontology_files()]
    return f"{files_checksum(source.inputs())} {files_checksum(extra)} alliance/{__version__}"


def published_key(store: GraphStore, graph: NamedNode) -> str | None:
    result = store.query(
        f"SELECT ?k {{ GRAPH {graph} {{ {graph} <{ALLI}inputChecksum> ?k }} }}",
        union_default_graph=False,
    )
    for row in result:
        return str(row["k"].value)
    return None


def neighbourhood(
    store: GraphStore,
    triples: list[Triple],
    *,
    pending: dict[NamedNode, list[Triple]],
    own_graph: NamedNode,
) -> list[Triple]:
    """Triples that other graphs (as they will be once published) state about nodes in `triples`."""
    nodes = {t.subject for t in triples if isinstance(t.subject, NamedNode)}
    nodes |= {t.object for t in triples if isinstance(t.object, NamedNode)}
    found: list[Triple] = []
    for graph, other in pending.items():
        if graph != own_graph:
            found.extend(t for t in other if t.subject in nodes)
    published = [g for g in store.graphs() if g not in pending]
    if not published:
        return found
    graphs = ", ".join(str(g) for g in published)
    ordered = sorted(nodes, key=str)
    for start in range(0, len(ordered), CHUNK):
        values = " ".join(str(n) for n in ordered[start : start + CHUNK])
        found.extend(
            store.query(
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {values} }} "
                f"GRAPH ?g {{ ?s ?p ?o }} FILTER(?g IN ({graphs})) }}",
                union_default_graph=False,
            )
        )
    return found
