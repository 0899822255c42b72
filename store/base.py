"""The store interface: what ingest, queries and the server may ask of a store.

Small on purpose (query, atomic graph replacement, graph listing, dump), so
that a remote SPARQL backend can implement it as well as embedded Oxigraph.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO, Any

from pyoxigraph import (
    DefaultGraph,
    NamedNode,
    Quad,
    QueryResultsFormat,
    RdfFormat,
    Triple,
    serialize,
)

from alliance.namespaces import ALLI
from alliance.store.errors import (  # noqa: F401 - the store's errors, importable from here
    QueryProcessDied,
    QueryTimeout,
    ResultTooLarge,
    StoreError,
)
from alliance.store.limits import QueryResult, serialize_result


@dataclass(frozen=True)
class SerializedResult:
    """A query's answer already written: `kind` is "solutions", "boolean" or "triples";
    `data` is None when the caller gave no format for that kind."""

    kind: str
    data: bytes | None


@dataclass(frozen=True)
class Answer:
    """How a query's answer is written (see GraphStore.query_serialized): solutions and
    booleans in `results_format`, graphs in `graph_format` (with `prefixes` where it has
    them; None: the caller wants no bytes for that kind), within the limits."""

    results_format: QueryResultsFormat | None = None
    graph_format: RdfFormat | None = None
    prefixes: dict[str, str] | None = None
    max_rows: int | None = None
    max_bytes: int | None = None


@dataclass(frozen=True)
class Dataset:
    """What a query sees (see GraphStore.query): by default the union of the named graphs;
    `union_default_graph=False` gives the plain default graph; `default_graphs` and
    `named_graphs` set the dataset explicitly (the protocol's parameters)."""

    union_default_graph: bool = True
    default_graphs: list[NamedNode] | None = None
    named_graphs: list[NamedNode] | None = None

    def keywords(self) -> dict[str, Any]:
        """As GraphStore.query's keywords."""
        return {
            "union_default_graph": self.union_default_graph,
            "default_graphs": self.default_graphs,
            "named_graphs": self.named_graphs,
        }


_in_process = ContextVar("alliance_store_in_process", default=False)


@contextmanager
def unbounded() -> Iterator[None]:
    """Queries in this block are the service's own whole-store work (dumps): backends that
    isolate or time-limit clients' queries run them directly, without a limit."""
    token = _in_process.set(True)
    try:
        yield
    finally:
        _in_process.reset(token)


def in_process_only() -> bool:
    """Whether the current code runs inside `unbounded()`."""
    return _in_process.get()


class GraphWriter(ABC):
    """Graph-level changes inside one store transaction (see GraphStore.writer)."""

    @abstractmethod
    def replace_graph(self, graph: NamedNode, triples: Iterable[Triple]) -> int:
        """Replace the content of `graph` by `triples`; returns how many were written."""

    @abstractmethod
    def drop_graph(self, graph: NamedNode) -> None:
        """Remove a named graph."""

    @abstractmethod
    def update(self, sparql_update: str) -> None:
        """Apply a SPARQL 1.1 Update (after the graph changes asked before it).

        Raises StoreError with the parser's message when it is malformed.
        """

    def add_quads(self, quads: Iterable[Quad]) -> None:
        """Add quads (after the changes asked before), as `INSERT DATA` would.

        A backend that keeps derived indexes can apply this as the small change it is,
        where a general update forces it to look at everything; this default sends the
        update. The quads must not hold blank nodes (they would be fresh ones).
        """
        text = data_update("INSERT", quads)
        if text:
            self.update(text)

    def remove_quads(self, quads: Iterable[Quad]) -> None:
        """Remove quads (after the changes asked before), as `DELETE DATA` would."""
        text = data_update("DELETE", quads)
        if text:
            self.update(text)

    def clear_default_graph(self) -> None:
        """Empty the plain default graph (after the changes asked before), blank nodes too."""
        self.update("CLEAR SILENT DEFAULT")


def data_update(keyword: str, quads: Iterable[Quad]) -> str:
    """`INSERT DATA` or `DELETE DATA` text stating `quads` ("" for none)."""
    by_graph: dict[NamedNode | DefaultGraph, list[Triple]] = {}
    for quad in quads:
        by_graph.setdefault(quad.graph_name, []).append(quad.triple)  # type: ignore[arg-type]
    blocks = []
    for graph, triples in by_graph.items():
        # N-Triples written by pyoxigraph is valid SPARQL data block content.
        body = serialize(triples, format=RdfFormat.N_TRIPLES).decode()
        blocks.append(body if isinstance(graph, DefaultGraph) else f"GRAPH {graph} {{\n{body}}}")
    return f"{keyword} DATA {{\n" + "\n".join(blocks) + "}" if blocks else ""


class GraphStore(ABC):
    """A quad store holding one named graph per source."""

    @abstractmethod
    def query(
        self,
        sparql: str,
        *,
        union_default_graph: bool = True,
        default_graphs: list[NamedNode] | None = None,
        named_graphs: list[NamedNode] | None = None,
        substitutions: dict[str, object] | None = None,
    ) -> QueryResult:
        """Run a SPARQL query.

        By default a query without GRAPH sees the union of every published
        named graph (what users expect); `union_default_graph=False` gives
        the plain default graph, and `default_graphs` / `named_graphs` set the
        dataset explicitly (SPARQL protocol's default-graph-uri / named-graph-uri).
        Raises StoreError with the parser's message on a malformed query.
        """

    def query_serialized(
        self,
        sparql: str,
        answer: Answer,
        *,
        dataset: Dataset | None = None,
        timeout: float | None = None,
    ) -> SerializedResult:
        """Run a query on `dataset` (default: the union of the named graphs) and write its
        answer as `answer` says.

        One call for the SPARQL endpoint, so that a backend can produce the bytes where the
        query runs (a query process, a remote server). Past `answer.max_rows` rows (or
        triples) or `answer.max_bytes` bytes it raises ResultTooLarge; past `timeout`
        seconds (None: the store's default) QueryTimeout, where the backend can stop a
        query. This default runs in this process and cannot: pyoxigraph has no cancellation
        (see alliance.store.isolated).
        """
        result = self.query(sparql, **(dataset or Dataset()).keywords())
        kind, data = serialize_result(
            result,
            results_format=answer.results_format,
            graph_format=answer.graph_format,
            boolean_format=answer.results_format,
            max_rows=answer.max_rows,
            max_bytes=answer.max_bytes,
            prefixes=answer.prefixes,
        )
        return SerializedResult(kind, data)

    @abstractmethod
    def graphs(self) -> list[NamedNode]:
        """The published named graphs (staging graphs excluded)."""

    @abstractmethod
    def graph_size(self, graph: NamedNode) -> int:
        """How many triples the named graph holds."""

    @abstractmethod
    def triples(self, graph: NamedNode) -> Iterator[Triple]:
        """Every triple of one named graph."""

    @abstractmethod
    def writer(self) -> AbstractContextManager[GraphWriter]:
        """A write transaction over whole named graphs.

        Changes made through the writer become visible to readers all at
        once when the `with` block ends normally; on an exception, or if the
        process dies, readers keep seeing exactly the previous content.
        """

    @abstractmethod
    def dump(self, out: IO[bytes], mime_type: str = "application/n-quads") -> None:
        """Write every published quad in a dataset format (N-Quads, TriG)."""

    def version(self) -> str | None:
        """A short name for the published content that changes whenever it does, or None.

        Caches of derived files (dumps, VoID) key on it, so it must be cheap: the embedded
        store answers its generation, the remote one a marker that every publish rewrites.
        None: unknown; `content_key` then works it out from the content.
        """
        return None

    def identity(self) -> str:
        """A short name for the store itself (its folder, its endpoint), whatever it holds."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:12]

    def content_key(self) -> str:
        """A name for the store's current content, `{identity}-{content}`, for caches.

        Derived files (dumps, the VoID description, the home page's counts) are cached under
        it: it must change whenever the content does, and be cheap. This default names the
        content by `version()`, or else by every graph's size and input checksums.
        """
        version = self.version()
        if version is not None:
            return f"{self.identity()}-{version}"
        parts = []
        for graph in self.graphs():
            rows = self.query(
                f"SELECT ?k WHERE {{ GRAPH {graph} {{ {graph} <{ALLI}inputChecksum> ?k }} }}",
                union_default_graph=False,
            )
            checksums = sorted(str(row["k"].value) for row in rows)  # type: ignore[union-attr]
            parts.append(f"{graph.value} {self.graph_size(graph)} {' '.join(checksums)}")
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
        return f"{self.identity()}-{digest}"

    def close(self) -> None:  # noqa: B027 - optional for implementations
        """Release the store (flush on-disk buffers)."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
