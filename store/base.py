"""The store interface: what ingest, queries and the server may ask of a store.

Small on purpose (query, atomic graph replacement, graph listing, dump), so
that a remote SPARQL backend can implement it as well as embedded Oxigraph.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import IO

from pyoxigraph import NamedNode, QueryBoolean, QuerySolutions, QueryTriples, Triple

QueryResult = QuerySolutions | QueryBoolean | QueryTriples


class StoreError(Exception):
    """The store could not do what was asked (bad query, I/O error…)."""


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

    def close(self) -> None:  # noqa: B027 - optional for implementations
        """Release the store (flush on-disk buffers)."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
