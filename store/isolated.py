"""Queries in child processes, so that a query over its time limit can really be stopped.

pyoxigraph has no query timeout and no cancellation: a query runs until it ends,
holding a core (and partly the GIL) the whole time. So `IsolatedStore` evaluates
queries in a small pool of long-lived child processes (`alliance.children.ChildPool`),
each holding the embedded store open read-only. The parent waits for the answer with a
deadline; past it, that child is killed and replaced and the caller gets `QueryTimeout`.
Other queries meanwhile run in the other children, which also spreads evaluation over
every core without sharing a GIL. Each child may also be given a memory cap: a query
that needs more ends its child, not the server, and the caller is told so.

Children never fork from the server: RocksDB handles are not fork-safe, so each child
opens the store itself through `EmbeddedStore`, which follows the CURRENT pointer when
a new generation is published.

The child serializes the result itself, so that the SPARQL endpoint's parent only passes
bytes on (`query_serialized`); `query()` reads the bytes back into pyoxigraph
objects (SPARQL TSV for solutions, which is lossless, JSON for booleans and
N-Triples for graphs), so callers get the usual QuerySolutions, QueryBoolean
and QueryTriples.

Result limits are checked in the child while it writes (see `query_serialized`
in store/base.py for the contract): rows are counted exactly on SPARQL TSV or on
the triples, bytes on the output; a limit hit is `ResultTooLarge`, never a
truncated answer. Whole-store reads (`graphs`, `triples`, `dump`) and writes run
in this process: they are the service's own work, not clients' queries.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any

from pyoxigraph import (
    NamedNode,
    QueryResultsFormat,
    RdfFormat,
    Store,
    Triple,
    parse_query_results,
)

from alliance import children
from alliance.store import limits
from alliance.store.base import (
    Answer,
    Dataset,
    GraphStore,
    GraphWriter,
    QueryProcessDied,
    QueryResult,
    QueryTimeout,
    ResultTooLarge,
    SerializedResult,
    StoreError,
    in_process_only,
)
from alliance.store.embedded import EmbeddedStore

log = logging.getLogger(__name__)

#: How the generic path carries each kind of result from child to parent.
GENERIC_RESULTS = "text/tab-separated-values"
GENERIC_BOOLEAN = "application/sparql-results+json"
GENERIC_GRAPH = "application/n-triples"
#: Exceptions the child reports by name and the parent raises again as such.
BUILTIN_ERRORS: dict[str, type[Exception]] = {
    "RuntimeError": RuntimeError,
    "ValueError": ValueError,
    "TypeError": TypeError,
}


class IsolatedStore(GraphStore):
    """An embedded store whose queries run in child processes under a time limit.

    `processes` children are started at once (each takes a fraction of a second to
    import pyoxigraph and open the store); a query waits for an idle child within
    its own deadline. `timeout` is the default time limit in seconds (None or 0:
    none), `max_bytes` a ceiling on any answer carried between processes, `memory`
    each child's memory cap in bytes (None: none).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        processes: int = 2,
        timeout: float | None = 30.0,
        max_bytes: int | None = None,
        memory: int | None = None,
    ):
        self.local = EmbeddedStore(path, read_only=read_only)
        self.path = self.local.path.resolve()
        self.read_only = read_only
        self.max_bytes = max_bytes or None  # 0: no limit, as for the flags
        self.pool = children.ChildPool(
            "alliance.store.isolated",
            [str(self.path)],
            processes=processes,
            timeout=timeout,
            memory=memory,
            name="query process",
        )

    @property
    def processes(self) -> int:
        return self.pool.processes

    @property
    def timeout(self) -> float | None:
        return self.pool.timeout

    @property
    def started_children(self) -> int:
        """Query processes started since the store opened (replacements included)."""
        return self.pool.started_children

    def children(self) -> list[int]:
        """Process ids of the idle query processes (a snapshot, for tests and diagnostics)."""
        return self.pool.children()

    def _ask(self, request: dict[str, Any], timeout: float | None) -> tuple[str, bytes | None]:
        """Have a query process answer `request` (QueryTimeout past the deadline)."""
        try:
            (status, kind, detail), data = self.pool.ask(request, timeout)
        except children.ChildTimeout as exc:
            raise QueryTimeout(exc.seconds, exc.reason) from None
        except children.ChildDied as exc:
            raise QueryProcessDied(exc.cause, memory=exc.memory) from exc
        if status == "ok":
            return kind, data if detail else None
        raise _rebuilt(status, kind, detail)

    # -- queries ---------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        union_default_graph: bool = True,
        default_graphs: list[NamedNode] | None = None,
        named_graphs: list[NamedNode] | None = None,
        substitutions: dict[str, object] | None = None,
    ) -> QueryResult:
        dataset = {
            "union_default_graph": union_default_graph,
            "default_graphs": default_graphs,
            "named_graphs": named_graphs,
            "substitutions": substitutions,
        }
        if in_process_only():
            return self.local.query(sparql, **dataset)  # type: ignore[arg-type]
        request = {
            "sparql": sparql,
            "dataset": dataset,
            "results_format": GENERIC_RESULTS,
            "graph_format": GENERIC_GRAPH,
            "boolean_format": GENERIC_BOOLEAN,
            "max_rows": None,
            "max_bytes": self.max_bytes,
            "prefixes": None,
        }
        kind, data = self._ask(request, None)
        assert data is not None
        if kind == "solutions":
            return parse_query_results(data, QueryResultsFormat.TSV)
        if kind == "boolean":
            return parse_query_results(data, QueryResultsFormat.JSON)
        # No public constructor for QueryTriples: an in-memory store gives a real one.
        holder = Store()
        holder.load(data, RdfFormat.N_TRIPLES)
        return holder.query("CONSTRUCT WHERE { ?s ?p ?o }")

    def query_serialized(
        self,
        sparql: str,
        answer: Answer,
        *,
        dataset: Dataset | None = None,
        timeout: float | None = None,
    ) -> SerializedResult:
        request = {
            "sparql": sparql,
            "dataset": {**(dataset or Dataset()).keywords(), "substitutions": None},
            "results_format": answer.results_format.media_type if answer.results_format else None,
            "graph_format": answer.graph_format.media_type if answer.graph_format else None,
            "boolean_format": answer.results_format.media_type if answer.results_format else None,
            "max_rows": answer.max_rows,
            "max_bytes": _smaller(answer.max_bytes, self.max_bytes),
            "prefixes": answer.prefixes,
        }
        kind, data = self._ask(request, timeout)
        return SerializedResult(kind, data)

    # -- the rest runs here ----------------------------------------------------

    def published_generation(self) -> str | None:
        return self.local.published_generation()

    def version(self) -> str | None:
        return self.local.version()

    def identity(self) -> str:
        return self.local.identity()

    def content_key(self) -> str:
        return self.local.content_key()

    def graphs(self) -> list[NamedNode]:
        return self.local.graphs()

    def graph_size(self, graph: NamedNode) -> int:
        return self.local.graph_size(graph)

    def triples(self, graph: NamedNode) -> Iterator[Triple]:
        return self.local.triples(graph)

    def writer(self) -> AbstractContextManager[GraphWriter]:
        return self.local.writer()

    def dump(self, out: IO[bytes], mime_type: str = "application/n-quads") -> None:
        self.local.dump(out, mime_type)

    def close(self) -> None:
        self.pool.close()
        self.local.close()


def isolate(
    store: GraphStore,
    *,
    processes: int,
    timeout: float | None,
    max_bytes: int | None = None,
    memory: int | None = None,
) -> GraphStore:
    """`store` with its queries in `processes` query processes, when it is an embedded store.

    Other backends are returned as they are: a remote server stops its own queries,
    and `query_serialized` passes the time limit on to it.
    """
    if processes <= 0 or not isinstance(store, EmbeddedStore):
        return store
    isolated = IsolatedStore(
        store.path,
        read_only=store.read_only,
        processes=processes,
        timeout=timeout,
        max_bytes=max_bytes,
        memory=memory,
    )
    store.close()
    return isolated


def _smaller(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _rebuilt(status: str, kind: str, detail: object) -> Exception:
    """The exception a child reported, as the in-process store would have raised it."""
    if status == "limit":
        limit, value = detail  # type: ignore[misc]
        return ResultTooLarge(limit, value)
    message = str(detail)
    if kind in BUILTIN_ERRORS:
        return BUILTIN_ERRORS[kind](message)
    error = StoreError(message)
    if kind == "SyntaxError":
        error.__cause__ = SyntaxError(message)
    elif kind == "OSError":
        error.__cause__ = OSError(message)
    return error


# -- the child side ---------------------------------------------------------------


def _answer(store: EmbeddedStore, request: dict[str, object]) -> tuple[tuple, bytes | None]:
    """The header and bytes answering one request; errors become headers."""

    def fmt(key: str, kind: type) -> object:
        value = request[key]
        return None if value is None else kind.from_media_type(value)

    try:
        result = store.query(request["sparql"], **request["dataset"])  # type: ignore[arg-type]
        kind, data = limits.serialize_result(
            result,
            results_format=fmt("results_format", QueryResultsFormat),  # type: ignore[arg-type]
            graph_format=fmt("graph_format", RdfFormat),  # type: ignore[arg-type]
            boolean_format=fmt("boolean_format", QueryResultsFormat),  # type: ignore[arg-type]
            max_rows=request["max_rows"],  # type: ignore[arg-type]
            max_bytes=request["max_bytes"],  # type: ignore[arg-type]
            prefixes=request["prefixes"],  # type: ignore[arg-type]
        )
    except ResultTooLarge as exc:
        return ("limit", "", (exc.limit, exc.value)), None
    except StoreError as exc:
        cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else "StoreError"
        if isinstance(exc.__cause__, SyntaxError):
            cause = "SyntaxError"
        elif isinstance(exc.__cause__, OSError):
            cause = "OSError"
        return ("error", cause, str(exc)), None
    except (RuntimeError, ValueError, TypeError) as exc:
        return ("error", type(exc).__name__, str(exc)), None
    except OSError as exc:
        return ("error", "OSError", str(exc)), None
    return ("ok", kind, data is not None), data or b""


def child_main(argv: list[str]) -> int:
    """Answer queries over the store at argv[0] until the parent's pipe closes."""
    store = EmbeddedStore(argv[0], read_only=True)
    return children.serve(argv, lambda request: _answer(store, request), name="query process")


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
