"""Queries in child processes, so that a query over its time limit can really be stopped.

pyoxigraph has no query timeout and no cancellation: a query runs until it ends,
holding a core (and partly the GIL) the whole time. So `IsolatedStore` evaluates
queries in a small pool of long-lived child processes, each holding the embedded
store open read-only. The parent waits for the answer with a deadline; past it,
it SIGKILLs that child, starts a replacement in the background and raises
`QueryTimeout`. Other queries meanwhile run in the other children, which also
spreads evaluation over every core without sharing a GIL.

Children are started with `subprocess` (`python -P -m alliance.store.isolated`),
never forked: RocksDB handles are not fork-safe, so each child opens the store
itself through `EmbeddedStore`, which follows the CURRENT pointer when a new
generation is published. A child dies with its parent (PR_SET_PDEATHSIG where
available, else at the EOF of its request pipe).

Protocol, over two pipes with `multiprocessing.connection` framing: the parent
sends one pickled request; the child answers one message: a pickled header
`(status, kind, detail)` preceded by its size, then the answer's bytes. The child
serializes the result itself, so that the SPARQL endpoint's parent only passes
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

import contextlib
import logging
import math
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO

from pyoxigraph import (
    NamedNode,
    QueryResultsFormat,
    RdfFormat,
    Store,
    Triple,
    parse_query_results,
)

from alliance.store import limits
from alliance.store.base import (
    GraphStore,
    GraphWriter,
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
#: The answer message starts with the size of its pickled header.
HEADER_SIZE = struct.Struct("!I")
#: Seconds a killed or closed child gets to be reaped before we stop waiting for it.
REAP_SECONDS = 5.0
#: Exceptions the child reports by name and the parent raises again as such.
BUILTIN_ERRORS: dict[str, type[Exception]] = {
    "RuntimeError": RuntimeError,
    "ValueError": ValueError,
    "TypeError": TypeError,
}


@dataclass
class _Child:
    """One query process and the two ends of its pipes held by the parent."""

    process: subprocess.Popen
    requests: Connection
    answers: Connection
    started: float

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        for end in (self.requests, self.answers):
            with contextlib.suppress(OSError):
                end.close()
        # Reap in the background: the caller is answering a client meanwhile.
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            self.process.wait(timeout=REAP_SECONDS)


class IsolatedStore(GraphStore):
    """An embedded store whose queries run in child processes under a time limit.

    `processes` children are started at once (each takes a fraction of a second to
    import pyoxigraph and open the store); a query waits for an idle child within
    its own deadline. `timeout` is the default time limit in seconds (None or 0:
    none), `max_bytes` a ceiling on any answer carried between processes.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        processes: int = 2,
        timeout: float | None = 30.0,
        max_bytes: int | None = None,
    ):
        self.local = EmbeddedStore(path, read_only=read_only)
        self.path = self.local.path.resolve()
        self.read_only = read_only
        self.processes = max(1, processes)
        self.timeout = timeout if timeout and timeout > 0 else None
        self.max_bytes = max_bytes or None  # 0: no limit, as for the flags
        self._idle: queue.LifoQueue[_Child] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._closed = False
        #: Children started since the store opened (replacements included), for tests and logs.
        self.started_children = 0
        # Children are started by one long-lived thread: Linux ties PR_SET_PDEATHSIG to the
        # thread that started a process, so a short-lived starter would kill its child.
        self._to_start: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._starter_thread = threading.Thread(
            target=self._starter, name="query-process-starter", daemon=True
        )
        self._starter_thread.start()
        for _ in range(self.processes):
            self._to_start.put(True)

    # -- the pool --------------------------------------------------------------

    def _start_child(self) -> _Child:
        parent_requests, child_requests = os.pipe()
        child_answers, parent_answers = os.pipe()
        command = [sys.executable, "-P", "-m", "alliance.store.isolated"]
        command += [str(self.path), str(parent_requests), str(parent_answers)]
        try:
            process = subprocess.Popen(
                command,
                pass_fds=(parent_requests, parent_answers),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            os.close(parent_requests)
            os.close(parent_answers)
        with self._lock:
            self.started_children += 1
        log.debug("query process %d started", process.pid)
        return _Child(
            process,
            Connection(child_requests, readable=False),
            Connection(child_answers, writable=False),
            time.monotonic(),
        )

    def _starter(self) -> None:
        """Start a child for each request, retried until it works: a pool that shrank for
        good would starve the server."""
        while self._to_start.get() and not self._closed:
            while not self._closed:
                try:
                    self._idle.put(self._start_child())
                    break
                except OSError:
                    log.exception("cannot start a query process; trying again in 1 s")
                    time.sleep(1.0)

    def _replace(self, child: _Child, reason: str) -> None:
        """Kill `child` and have a fresh one put in the pool (started in the background)."""
        log.warning("query process %d %s: replacing it", child.process.pid, reason)
        child.kill()
        self._to_start.put(True)

    def children(self) -> list[int]:
        """Process ids of the idle children (a snapshot, for tests and diagnostics)."""
        with self._idle.mutex:
            return [c.process.pid for c in self._idle.queue]

    def _ask(self, request: dict[str, object], timeout: float | None) -> tuple[str, bytes | None]:
        """Send `request` to an idle child and wait for its answer until the deadline."""
        if self._closed:
            raise StoreError("the store is closed")
        limit = self.timeout if timeout is None else (timeout if timeout > 0 else None)
        deadline = math.inf if limit is None else time.monotonic() + limit
        payload = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
        for _attempt in range(self.processes + 1):
            child = self._checkout(limit, deadline)
            try:
                if child.process.poll() is not None:
                    raise BrokenPipeError(f"exit status {child.process.returncode}")
                child.requests.send_bytes(payload)
                break
            except OSError as exc:
                # Died while idle (killed from outside): no query was lost, try another.
                self._replace(child, f"was found dead ({exc})")
        else:
            raise StoreError("no query process could be started")
        try:
            remaining = max(0.0, deadline - time.monotonic())
            if not child.answers.poll(None if limit is None else remaining):
                self._replace(child, f"passed the {limit:g} s limit")
                raise QueryTimeout(limit or 0.0)
            message = child.answers.recv_bytes()
            (size,) = HEADER_SIZE.unpack_from(message)
            status, kind, detail = pickle.loads(message[HEADER_SIZE.size : HEADER_SIZE.size + size])
            data = message[HEADER_SIZE.size + size :]
        except QueryTimeout:
            raise
        except (EOFError, OSError) as exc:
            code = child.process.poll()
            self._replace(child, f"failed ({exc}; exit status {code})")
            raise StoreError(
                f"the query process ended unexpectedly (exit status {code}): "
                "the query may need more memory than the server allows"
            ) from exc
        except BaseException:
            # Interrupted mid-answer: what is left in its pipe is unknown.
            self._replace(child, "was interrupted")
            raise
        self._idle.put(child)
        if status == "ok":
            return kind, data if detail else None
        raise _rebuilt(status, kind, detail)

    def _checkout(self, limit: float | None, deadline: float) -> _Child:
        """An idle child, waited for until the deadline."""
        try:
            if limit is None:
                return self._idle.get()
            return self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise QueryTimeout(
                limit or 0.0, f"every query process stayed busy for {limit:g} s"
            ) from None

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
        *,
        results_format: QueryResultsFormat | None,
        graph_format: RdfFormat | None,
        timeout: float | None = None,
        max_rows: int | None = None,
        max_bytes: int | None = None,
        prefixes: dict[str, str] | None = None,
        union_default_graph: bool = True,
        default_graphs: list[NamedNode] | None = None,
        named_graphs: list[NamedNode] | None = None,
    ) -> SerializedResult:
        request = {
            "sparql": sparql,
            "dataset": {
                "union_default_graph": union_default_graph,
                "default_graphs": default_graphs,
                "named_graphs": named_graphs,
                "substitutions": None,
            },
            "results_format": results_format.media_type if results_format else None,
            "graph_format": graph_format.media_type if graph_format else None,
            "boolean_format": results_format.media_type if results_format else None,
            "max_rows": max_rows,
            "max_bytes": _smaller(max_bytes, self.max_bytes),
            "prefixes": prefixes,
        }
        kind, data = self._ask(request, timeout)
        return SerializedResult(kind, data)

    # -- the rest runs here ----------------------------------------------------

    def published_generation(self) -> str | None:
        return self.local.published_generation()

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
        self._closed = True
        self._to_start.put(False)
        if threading.current_thread() is not self._starter_thread:
            self._starter_thread.join(timeout=REAP_SECONDS)
        while True:
            try:
                child = self._idle.get_nowait()
            except queue.Empty:
                break
            child.kill()
        self.local.close()


def isolate(
    store: GraphStore, *, processes: int, timeout: float | None, max_bytes: int | None = None
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


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a no-op elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def child_main(argv: list[str]) -> int:
    """Serve requests from the parent until its pipe closes."""
    path, requests_fd, answers_fd = argv[0], int(argv[1]), int(argv[2])
    _die_with_parent()
    # Interrupts are for the parent (Ctrl-C in a terminal reaches the whole group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="query process %(process)d: %(message)s")
    requests = Connection(requests_fd, writable=False)
    answers = Connection(answers_fd, readable=False)
    store = EmbeddedStore(path, read_only=True)
    while True:
        try:
            request = pickle.loads(requests.recv_bytes())
        except (EOFError, OSError):
            return 0
        header, data = _answer(store, request)
        # One message (header size, header, bytes): one wake-up of the parent per query.
        encoded = pickle.dumps(header, pickle.HIGHEST_PROTOCOL)
        answers.send_bytes(HEADER_SIZE.pack(len(encoded)) + encoded + (data or b""))


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
