"""Back up a store to one N-Quads file, and restore a store from such a file.

The same code serves every backend (embedded folder or remote SPARQL store), so a
backup taken from one can be restored into another. A dump holds every published
quad with its named graph: the same content as the served `/dumps/alliance.nq.gz`.
A restore parses the whole file before touching the store, then makes the store
hold exactly the file's named graphs in one write transaction, so a reader sees
the old content or the new one, never a mix, and a broken file changes nothing.
"""

from __future__ import annotations

import gzip
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from pyoxigraph import DefaultGraph, NamedNode, RdfFormat, Store

from alliance.store.base import GraphStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Restored:
    graphs: int
    triples: int
    dropped: int


@contextmanager
def open_binary(name: str, mode: str) -> Iterator[IO[bytes]]:
    """`name` for reading or writing bytes; `-` is stdin/stdout; `.gz` is (de)compressed."""
    if name == "-":
        yield sys.stdout.buffer if mode == "wb" else sys.stdin.buffer
        return
    with open(name, mode) as raw:
        if name.endswith(".gz"):
            # mtime=0: the same store gives byte-identical backups.
            with gzip.GzipFile(filename="", mode=mode, fileobj=raw, mtime=0) as zipped:
                yield zipped  # type: ignore[misc]
        else:
            yield raw


def dump(store: GraphStore, target: str) -> None:
    """Write every published quad of `store` to `target` (N-Quads, gzip if `.gz`)."""
    with open_binary(target, "wb") as out:
        store.dump(out, "application/n-quads")


def restore(store: GraphStore, source: str) -> Restored:
    """Make `store` hold exactly the named graphs of the N-Quads file `source`.

    Every named graph of the file replaces the graph of that name; graphs the
    store holds and the file does not are dropped; default-graph triples of the
    file are added to the store's default graph. Raises SyntaxError (with line
    and column) on a malformed file, before any change.
    """
    loaded = Store()  # in memory: the whole file is parsed before the store is touched
    with open_binary(source, "rb") as data:
        loaded.bulk_load(data, RdfFormat.N_QUADS)
    graphs = sorted(
        (g for g in loaded.named_graphs() if isinstance(g, NamedNode)), key=lambda g: g.value
    )
    default = [q.triple for q in loaded.quads_for_pattern(None, None, None, DefaultGraph())]
    stale = set(store.graphs()) - set(graphs)
    total = 0
    with store.writer() as writer:
        for graph in graphs:
            quads = loaded.quads_for_pattern(None, None, None, graph)
            total += writer.replace_graph(graph, [q.triple for q in quads])
            log.info("restored %s", graph.value)
        for graph in stale:
            writer.drop_graph(graph)
        if default:
            body = " .\n".join(str(t) for t in default)
            writer.update(f"INSERT DATA {{\n{body} .\n}}")
            total += len(default)
    return Restored(graphs=len(graphs), triples=total, dropped=len(stale))
