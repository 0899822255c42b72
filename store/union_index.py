"""The union index: a copy of a generation whose default graph holds the union of its graphs.

Why: the endpoint answers queries without `GRAPH` over the union of every source's
named graph. Oxigraph evaluates that union (`use_default_graph_as_union`) by scanning
the quads of every graph, which made the serving benchmark's aggregate 1.6 times slower
than the same query over the same triples held in a default graph (and it answers a
triple once per graph that holds it). So each published generation gets a twin folder:

    STORE/unions/000008/   the generation's named graphs (hard links of its files)
                           plus their union, materialised in the default graph

which answers union queries at default-graph speed, over the RDF merge of the graphs
(each triple once). The generation itself stays the source of truth (its plain default
graph is still asked there); the twin is derived, built by the writer before the
generation is published, so that readers never see one without the other. A store
written before the index existed simply has no twin and is queried as before.

Building: either
- incrementally, from a hard-linked backup of the previous twin, when the writer changed
  little: small named graphs replaced, or quads added and removed one by one (a Graph
  Store POST, an update made only of INSERT DATA and DELETE DATA: server/web/sandbox.py).
  Each triple that left a graph leaves the union unless another graph still holds it,
  each one that joined a graph joins it, and the twin's copies of the graphs follow. A
  one-triple update then costs milliseconds where a full build costs seconds; or
- fully, from a hard-linked backup of the new generation, by adding every named graph's
  quads to the default graph (seconds on the territories graph), after general SPARQL
  updates (which may touch anything) or when much changed.
Blank nodes keep their identity, so union and named-graph patterns join on them.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pyoxigraph import DefaultGraph, NamedNode, Quad, Store, Triple

log = logging.getLogger(__name__)

#: Folder of the twins, beside `generations/`.
UNIONS = "unions"
#: Replaced graphs holding more triples than this (old and new together) rebuild the union.
INCREMENTAL_LIMIT = 50_000
#: The default graph, made once: a full build creates a quad for every triple of the store.
DEFAULT = DefaultGraph()


def build(
    generation: Store,
    target: Path,
    *,
    previous: Path | None,
    previous_generation: Store | None,
    replaced: Mapping[NamedNode, list[Triple] | None],
    updated: bool,
    touched: Sequence[Quad] = (),
) -> None:
    """Write the twin of `generation` (open, flushed) to `target`.

    `previous` is the twin of the generation this one was built from (None if it has
    none), `previous_generation` that generation, `replaced` the graphs the writer
    replaced (None: dropped), `touched` the quads it added or removed one by one, and
    `updated` whether SPARQL updates ran, which can touch any graph and force a full build.
    """
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if (
        previous is not None
        and previous_generation is not None
        and not updated
        and len(touched) + _changed_size(previous_generation, replaced) <= INCREMENTAL_LIMIT
    ):
        _build_incrementally(generation, target, previous, previous_generation, replaced, touched)
    else:
        _build_fully(generation, target, {} if updated or touched else replaced)


def _build_fully(
    generation: Store, target: Path, in_memory: Mapping[NamedNode, list[Triple] | None]
) -> None:
    """Every named graph's triples added to the default graph of a copy of `generation`.

    Graphs in `in_memory` are taken from the writer's lists, which is faster than
    reading them back from the store.
    """
    generation.backup(str(target))
    twin = Store(str(target))

    def union() -> Iterable[Quad]:
        for graph in generation.named_graphs():
            if graph in in_memory:
                triples: Iterable[Triple] = in_memory[graph] or ()
            else:
                triples = _triples(generation, graph)  # type: ignore[arg-type]
            for triple in triples:
                yield Quad(triple.subject, triple.predicate, triple.object, DEFAULT)

    twin.bulk_extend(union())
    twin.flush()
    log.info("union index built in full at %s", target)


def _build_incrementally(
    generation: Store,
    target: Path,
    previous: Path,
    previous_generation: Store,
    replaced: Mapping[NamedNode, list[Triple] | None],
    touched: Sequence[Quad],
) -> None:
    Store.read_only(str(previous)).backup(str(target))
    twin = Store(str(target))
    gone: set[Triple] = set()
    added: set[Triple] = set()
    for graph, triples in replaced.items():
        old = set(_triples(previous_generation, graph))
        new = set(triples or ())
        gone |= old - new
        added |= new - old
        twin.remove_graph(graph)
        if triples:
            twin.bulk_extend(Quad(t.subject, t.predicate, t.object, graph) for t in triples)
    # Quads added or removed one by one: compare before and after, whatever the order of
    # the writer's changes was (an addition undone by a removal changes nothing).
    for quad in set(touched):
        graph = quad.graph_name
        if graph in replaced:
            continue
        before = _holds(previous_generation, quad)
        after = _holds(generation, quad)
        if before == after:
            continue
        if isinstance(graph, NamedNode):  # the twin's copy of the graph (its default
            (twin.add if after else twin.remove)(quad)  # graph is the union itself)
        (added if after else gone).add(quad.triple)
    for graph in {q.graph_name for q in touched if isinstance(q.graph_name, NamedNode)}:
        if generation.contains_named_graph(graph) and not twin.contains_named_graph(graph):
            twin.add_graph(graph)  # created, and left empty, by this writer
    for triple in gone - added:
        # Still in the union while any graph of the new generation holds it.
        if next(iter(generation.quads_for_pattern(*_spo(triple), None)), None) is None:
            twin.remove(Quad(*_spo(triple), DEFAULT))
    twin.bulk_extend(Quad(*_spo(t), DEFAULT) for t in added)
    twin.flush()
    log.info(
        "union index updated at %s (%d triples left the union, %d joined it)",
        target,
        len(gone - added),
        len(added),
    )


def _changed_size(
    previous_generation: Store | None, replaced: Mapping[NamedNode, list[Triple] | None]
) -> int:
    """Triples of the replaced graphs, before and after."""
    size = sum(len(triples or ()) for triples in replaced.values())
    if previous_generation is not None:
        for graph in replaced:
            size += sum(1 for _ in previous_generation.quads_for_pattern(None, None, None, graph))
            if size > INCREMENTAL_LIMIT:
                break
    return size


def _holds(store: Store, quad: Quad) -> bool:
    found = store.quads_for_pattern(*_spo(quad.triple), quad.graph_name)
    return next(iter(found), None) is not None


def _triples(store: Store, graph: NamedNode) -> Iterable[Triple]:
    for quad in store.quads_for_pattern(None, None, None, graph):
        yield quad.triple


def _spo(triple: Triple) -> tuple:
    return triple.subject, triple.predicate, triple.object
