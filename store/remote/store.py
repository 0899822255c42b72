"""The remote store's reads, and the writes it publishes (see writer.py)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

import requests
from pyoxigraph import NamedNode, Quad, RdfFormat, Triple, parse, serialize

from alliance.store.base import (
    Answer,
    Dataset,
    GraphStore,
    GraphWriter,
    SerializedResult,
    in_process_only,
)
from alliance.store.errors import StoreError
from alliance.store.limits import QueryResult
from alliance.store.remote import union as remote_union
from alliance.store.remote.answers import parse_answer
from alliance.store.remote.engines import (
    DEADLOCK_RETRIES,
    ENGINES,
    GENERIC,
    GRAPH_ACCEPT,
    OXIGRAPH,
    RESULTS_ACCEPT,
    VIRTUOSO,
    Engine,
    check,
    deadlocked,
)
from alliance.store.remote.names import (
    GRAPHS_TTL_SECONDS,
    NO_GRAPH,
    PRIVATE_PREFIX,
    STAGING_PREFIX,
    STATE_GRAPH,
    VERSION,
    stamp_of,
)
from alliance.store.remote.rewrite import mentions_graph, query_form, with_values
from alliance.store.remote.transport import Transport
from alliance.store.remote.writer import RemoteWriter, has_blank_node

log = logging.getLogger(__name__)

#: Staging graphs older than this are a killed writer's leftovers.
STALE_STAGING_SECONDS = 6 * 3600

Progress = Callable[[int, int | None, str], None]


def is_remote(location: object) -> bool:
    """Whether a --store value names a remote SPARQL endpoint rather than a folder."""
    return isinstance(location, str) and location.lower().startswith(("http://", "https://"))


class RemoteStore(GraphStore):
    """A SPARQL 1.1 server (query, update, Graph Store Protocol) behind GraphStore."""

    def __init__(
        self,
        query_url: str,
        *,
        update_url: str | None = None,
        gsp_url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        read_only: bool = False,
        engine: str | None = None,
        batch_size: int | None = None,
        timeout: float = 300.0,
        progress: Progress | None = None,
    ):
        self.url = query_url
        self.update_url = update_url
        self.gsp_url = gsp_url
        self.user = user
        self.password = password or ""
        self.read_only = read_only
        self.timeout = timeout
        #: told (done, total, what) while a writer uploads
        self.progress = progress
        self._engine = ENGINES[engine] if engine else None
        self._batch_size = batch_size
        self.http = Transport(user, self.password, timeout)
        self._local = threading.local()  # the serving thread's query time limit
        self._lock = threading.Lock()
        #: (when, published graphs, union graph or None), reused for GRAPHS_TTL_SECONDS
        self._graphs: tuple[float, list[NamedNode], NamedNode | None] | None = None

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    def identity(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]

    # -- HTTP ------------------------------------------------------------------------------

    def _request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        """One HTTP exchange with the server (see transport.Transport.request)."""
        return self.http.request(method, url, **kwargs)

    @property
    def engine(self) -> Engine:
        """The engine behind the URL, from its Server header (asked once)."""
        if self._engine is None:
            response = self._request(
                "GET", self.url, params={"query": "ASK {}"}, headers={"Accept": RESULTS_ACCEPT}
            )
            server = response.headers.get("Server", "").lower()
            if "virtuoso" in server:
                self._engine = VIRTUOSO
            elif "oxigraph" in server:
                self._engine = OXIGRAPH
            else:
                self._engine = GENERIC
            log.info("%s: %s engine", self.url, self._engine.name)
        return self._engine

    @property
    def batch_size(self) -> int:
        return self._batch_size or self.engine.batch

    # -- reading ---------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        union_default_graph: bool = True,
        default_graphs: list[NamedNode] | None = None,
        named_graphs: list[NamedNode] | None = None,
        substitutions: dict[str, object] | None = None,
    ) -> QueryResult:
        if substitutions:
            sparql = with_values(sparql, substitutions)
        params: list[tuple[str, str]] = []
        if default_graphs is not None or named_graphs is not None:
            params += [("default-graph-uri", g.value) for g in default_graphs or []]
            params += [("named-graph-uri", g.value) for g in named_graphs or []]
        elif union_default_graph:
            published, union = self._published()
            published = published or [NO_GRAPH]
            if union is None:
                params += [("default-graph-uri", g.value) for g in published]
                params += [("named-graph-uri", g.value) for g in published]
            else:  # one graph is much faster than a list (see remote_union)
                params.append(("default-graph-uri", union.value))
                if mentions_graph(sparql):
                    params += [("named-graph-uri", g.value) for g in published]
        # Otherwise the engine's own default graph: Oxigraph's plain default graph, and on
        # Virtuoso the union of every graph (it has no other). FROM in the query then applies.
        body, media_type = self._select(sparql, params, getattr(self._local, "timeout", None))
        return self._parse(body, media_type, substitutions or {})

    def query_serialized(
        self,
        sparql: str,
        answer: Answer,
        *,
        dataset: Dataset | None = None,
        timeout: float | None = None,
    ) -> SerializedResult:
        """The default's answer, with `timeout` as the HTTP client's limit.

        Past it the connection is closed and QueryTimeout raised, so that the serving thread
        is free again (the remote server stops the query at its own limit). The answer is
        parsed and written here rather than passed on as the server wrote it: Virtuoso's
        bytes are not standard (see answers.py).
        """
        self._local.timeout = None if in_process_only() else timeout
        try:
            return super().query_serialized(sparql, answer, dataset=dataset, timeout=timeout)
        finally:
            self._local.timeout = None

    def _select(
        self, sparql: str, params: list[tuple[str, str]], timeout: float | None = None
    ) -> tuple[bytes, str]:
        """Send a query; returns the answer's body and media type."""
        graph_form = query_form(sparql) in ("CONSTRUCT", "DESCRIBE")
        accept = GRAPH_ACCEPT if graph_form else RESULTS_ACCEPT
        return self.http.query(self.url, sparql, params, accept, timeout)

    def _parse(self, body: bytes, media_type: str, substitutions: dict[str, object]) -> QueryResult:
        return parse_answer(
            body,
            media_type,
            url=self.url,
            normalise_json=self.engine.normalise_json,
            substitutions=substitutions,
        )

    def graphs(self) -> list[NamedNode]:
        return self._published()[0]

    def _published(self) -> tuple[list[NamedNode], NamedNode | None]:
        """The published graphs and the union graph (if kept), as seen at most
        GRAPHS_TTL_SECONDS ago."""
        with self._lock:
            cached = self._graphs
        if cached is not None and time.monotonic() - cached[0] < GRAPHS_TTL_SECONDS:
            return list(cached[1]), cached[2]
        # Stamped before asking: a writer drops an unlinked union GRAPHS_TTL_SECONDS after
        # unlinking it, so no reader may use a pointer read earlier than that.
        asked = time.monotonic()
        every = self._all_graphs()
        found = sorted((g for g in every if not self._hidden(g)), key=lambda g: g.value)
        union = remote_union.pointer(self) if self.engine.keeps_union else None
        if union is not None and union not in every:
            union = None  # pointing to a graph that is gone: never trust an empty union
        with self._lock:
            self._graphs = (asked, found, union)
        return list(found), union

    def _all_graphs(self) -> list[NamedNode]:
        rows = self.query(self.engine.list_graphs, union_default_graph=False)
        return [row["g"] for row in rows if isinstance(row["g"], NamedNode)]  # type: ignore[union-attr]

    def _hidden(self, graph: NamedNode) -> bool:
        return graph.value.startswith((PRIVATE_PREFIX, *self.engine.internal_prefixes))

    def _forget_graphs(self) -> None:
        with self._lock:
            self._graphs = None

    def graph_size(self, graph: NamedNode) -> int:
        rows = self.query(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}",
            union_default_graph=False,
        )
        for row in rows:  # type: ignore[union-attr]
            return int(row["n"].value)
        return 0

    def triples(self, graph: NamedNode) -> Iterator[Triple]:
        """The graph's triples: one Graph Store Protocol GET, or a CONSTRUCT without GSP."""
        if self.gsp_url is None:
            result = self.query(
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}",
                union_default_graph=False,
            )
            yield from result  # type: ignore[misc]
            return
        response = self._request(
            "GET",
            self.gsp_url,
            params={"graph": graph.value},
            headers={"Accept": "application/n-triples"},
        )
        if response.status_code == 404:
            return
        check(response, self.gsp_url)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        fmt = RdfFormat.from_media_type(media_type) or RdfFormat.N_TRIPLES
        yield from parse(response.content, fmt)  # type: ignore[misc]

    def dump(self, out: IO[bytes], mime_type: str = "application/n-quads") -> None:
        fmt = RdfFormat.from_media_type(mime_type)
        if fmt is None or not fmt.supports_datasets:
            raise StoreError(f"{mime_type} cannot hold named graphs")
        quads = (
            Quad(t.subject, t.predicate, t.object, graph)
            for graph in self.graphs()
            for t in self.triples(graph)
        )
        serialize(quads, out, fmt)

    def version(self) -> str:
        """The content's version: the marker each publish writes, and every graph's checksum.

        One small query, so that caches can ask on every request. The marker changes with
        every publish through a writer (updates and the Graph Store endpoint included); the
        checksums notice sources that another tool published.
        """
        rows = self.query(
            f"SELECT ?g ?k WHERE {{ {{ GRAPH {STATE_GRAPH} {{ {STATE_GRAPH} {VERSION} ?k }} }}"
            f" UNION {{ GRAPH ?g {{ ?g <https://w3id.org/alliance/ontology#inputChecksum> ?k }}"
            " } }",
            union_default_graph=False,
        )
        parts = sorted(
            f"{getattr(row['g'], 'value', '')} {row['k'].value}"
            for row in rows  # type: ignore[union-attr]
        )
        if not parts:
            return "empty"
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    # -- writing ---------------------------------------------------------------------------

    def _update(self, text: str) -> None:
        """One SPARQL Update request; retried on a transaction deadlock."""
        if self.update_url is None:
            raise StoreError(f"{self.url}: no update endpoint (--store-update)")
        for attempt in range(DEADLOCK_RETRIES + 1):
            response = self._request(
                "POST",
                self.update_url,
                data=text.encode("utf-8"),
                headers={"Content-Type": "application/sparql-update; charset=utf-8"},
            )
            if deadlocked(response) and attempt < DEADLOCK_RETRIES:
                log.warning("%s: transaction deadlock, retrying", self.update_url)
                time.sleep(0.2 * 2**attempt)
                continue
            if response.status_code == 400:
                message = response.text.strip()[:2000]
                raise StoreError(message) from SyntaxError(message)
            check(response, self.update_url)
            return

    def _copy_graph(
        self,
        source: NamedNode,
        target: NamedNode,
        params: tuple[tuple[str, str], ...],
        body: bytes | None = None,
    ) -> None:
        """Add `source`'s triples to `target`: its N-Triples through the Graph Store Protocol
        (one GET, unless the caller has them as `body`, and one POST with the engine's
        bulk-load `params`).

        Triples with a blank node are copied inside the store instead (one small update):
        an upload would mint new blank nodes, and the union must share its blank nodes with
        the graphs (a query may join both on one).
        """
        assert self.gsp_url is not None
        if body is None:
            response = self._request(
                "GET",
                self.gsp_url,
                params={"graph": source.value},
                headers={"Accept": "application/n-triples"},
            )
            check(response, self.gsp_url)
            body = response.content
        blank = False
        if b"_:" in body:  # perhaps a blank node (or a literal that looks like one)
            triples = list(parse(body, RdfFormat.N_TRIPLES))
            plain = [t for t in triples if not has_blank_node(t)]
            blank = len(plain) < len(triples)
            body = serialize(plain, format=RdfFormat.N_TRIPLES) or b""
        if body:
            response = self._request(
                "POST",
                self.gsp_url,
                params=[("graph", target.value), *params],
                data=body,
                headers={"Content-Type": "application/n-triples"},
            )
            check(response, self.gsp_url)
        if blank:
            self._update(
                f"INSERT {{ GRAPH {target} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {source} {{ ?s ?p ?o }}"
                " FILTER (isBlank(?s) || isBlank(?o)) }"
            )

    def _post_triples(self, graph: NamedNode, triples: list[Triple]) -> None:
        """Add triples to a graph: a GSP POST of N-Triples, or INSERT DATA without GSP."""
        body = serialize(triples, format=RdfFormat.N_TRIPLES)
        assert body is not None
        if self.gsp_url is None:
            self._update(f"INSERT DATA {{ GRAPH {graph} {{\n{body.decode()}}} }}")
            return
        for attempt in range(DEADLOCK_RETRIES + 1):
            response = self._request(
                "POST",
                self.gsp_url,
                params={"graph": graph.value},
                data=body,
                headers={"Content-Type": "application/n-triples"},
            )
            if deadlocked(response) and attempt < DEADLOCK_RETRIES:
                # Re-posting is harmless: RDF graphs are sets (blank nodes excepted, and
                # those all travel in one batch, see _batches).
                log.warning("%s: transaction deadlock, retrying", self.gsp_url)
                time.sleep(0.2 * 2**attempt)
                continue
            check(response, self.gsp_url)
            return

    @contextmanager
    def writer(self) -> Iterator[GraphWriter]:
        if self.read_only:
            raise StoreError("the store was opened read-only")
        if self.update_url is None:
            raise StoreError(f"{self.url}: writing needs an update endpoint (--store-update)")
        self._remove_stale_staging()
        writer = RemoteWriter(self)
        try:
            yield writer
            writer.publish()
        except BaseException:
            writer.abandon()
            raise
        finally:
            self._forget_graphs()

    def _remove_stale_staging(self) -> None:
        now = time.time()
        for graph in self._all_graphs():
            if not graph.value.startswith(STAGING_PREFIX):
                continue
            stamp = stamp_of(graph, STAGING_PREFIX)
            if stamp is not None and now - stamp > STALE_STAGING_SECONDS:
                log.info("dropping a killed writer's staging graph %s", graph.value)
                self._update(f"DROP SILENT GRAPH {graph}")
