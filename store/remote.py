"""The remote store: any SPARQL 1.1 server behind the GraphStore interface.

Chosen by `open_store` when the location is an http(s) URL: the SPARQL query endpoint, with
the update endpoint and the Graph Store Protocol endpoint beside it (`--store-update`,
`--store-gsp`) and credentials for HTTP basic or digest auth, whichever the server asks for
(`--store-user`, `--store-password`). Tested against Oxigraph server and Virtuoso 7.

Reading. Queries go through SPARQLWrapper, asking for SPARQL JSON results (N-Triples for
graph results), and the answers are parsed by pyoxigraph into the same types the embedded
store returns, so the rest of the code cannot tell the stores apart. Virtuoso's answers are
normalised first: it writes blank nodes as `nodeID://b123` (not a valid label), literals as
the old `typed-literal`, and ASK answers as a one-row SELECT of `__ASK_RETVAL`.

The union default graph (GraphStore.query's default) is asked for explicitly, on every engine,
as the protocol's `default-graph-uri` / `named-graph-uri` listing the published graphs: the
staging graphs of a write in progress and the engine's own graphs (Virtuoso keeps its
configuration in graphs of its own) must never show, and neither Oxigraph's
`union-default-graph` nor Virtuoso's all-graphs default graph would hide them. Oxigraph server
and Virtuoso evaluate such a list slowly: there the union is kept as one private graph
instead, and asked for as the only `default-graph-uri` (see remote_union). Queries travel over
one kept-alive connection per thread (see sparql_client). Variable
substitutions (pyoxigraph's `substitutions`, which a remote engine does not have) become a
one-row `VALUES` block opening each group of the query (see `with_values`; the tests check
that it answers like pyoxigraph's substitution for every named query).

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

from __future__ import annotations

import ast
import hashlib
import json
import logging
import re
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import requests
from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    Quad,
    QueryBoolean,
    QueryResultsFormat,
    RdfFormat,
    Store,
    Triple,
    parse,
    parse_query_results,
    serialize,
)
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from alliance.sparql_text import lexemes
from alliance.store import remote_union
from alliance.store.base import (
    GraphStore,
    GraphWriter,
    QueryResult,
    QueryTimeout,
    SerializedResult,
    StoreError,
    in_process_only,
)
from alliance.store.remote_names import (
    GRAPHS_TTL_SECONDS,
    NO_GRAPH,
    PRIVATE_PREFIX,
    STAGING_PREFIX,
    STATE_GRAPH,
    VERSION,
    stamp_of,
)
from alliance.store.sparql_client import KeptAliveWrapper

log = logging.getLogger(__name__)

#: Staging graphs older than this are a killed writer's leftovers.
STALE_STAGING_SECONDS = 6 * 3600

Progress = Callable[[int, int | None, str], None]

RESULTS_ACCEPT = "application/sparql-results+json, application/sparql-results+xml;q=0.9"
# Asked for by the query's form: Virtuoso answers CONSTRUCT in SPARQL JSON when allowed to.
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.8, application/rdf+xml;q=0.5"


@dataclass(frozen=True)
class Engine:
    """What differs between SPARQL servers, as far as this store is concerned."""

    name: str
    #: triples per upload request
    batch: int
    #: graphs the engine keeps for itself, never listed as published
    internal_prefixes: tuple[str, ...] = ()
    #: the query that lists the named graphs fastest (Virtuoso takes minutes over DISTINCT)
    list_graphs: str = "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    #: up to this many bytes of N-Triples, a replaced graph travels inside the publishing
    #: update itself (INSERT DATA) instead of through a staging graph (see _RemoteWriter)
    inline_bytes: int = 0
    #: the engine's JSON results need normalising (see the module docstring)
    normalise_json: bool = False
    #: keep the union of the published graphs as one graph: the engine evaluates a list of
    #: default graphs slowly (see remote_union)
    keeps_union: bool = False
    #: Graph Store upload parameters that load a graph in bulk, outside any transaction: the
    #: union is uploaded with them. None: it is copied inside the store (`ADD`)
    union_load: tuple[tuple[str, str], ...] | None = None


# Oxigraph runs an update as one transaction but moves quads slowly (a staged MOVE of the
# territories graph took 3 minutes here, against 20 s to upload it): its graphs travel
# inside the publishing update, which its server accepts up to well over 100 MB.
OXIGRAPH = Engine(
    "oxigraph",
    batch=100_000,
    list_graphs="SELECT ?g WHERE { GRAPH ?g {} }",
    inline_bytes=96 * 1024 * 1024,
    keeps_union=True,
    union_load=(("no_transaction", ""),),
)
# Virtuoso deadlocks on large single loads (seen with 17 MB PUTs on a fresh database);
# a few thousand triples per request load reliably.
VIRTUOSO = Engine(
    "virtuoso",
    batch=5_000,
    internal_prefixes=(
        "http://www.openlinksw.com/",
        "http://www.w3.org/ns/ldp#",
        "http://localuriqaserver/",
        "http://www.w3.org/2002/07/owl#",
    ),
    normalise_json=True,
    keeps_union=True,  # its ADD copies the bundled data in about 3 s
)
GENERIC = Engine("sparql", batch=10_000)
ENGINES = {e.name: e for e in (OXIGRAPH, VIRTUOSO, GENERIC)}

#: Longest encoded query (with its dataset parameters) sent by GET; longer ones are POSTed.
MAX_GET_QUERY = 4000

#: Retries of a request that failed on a transaction deadlock (Virtuoso 40001 / SR172).
DEADLOCK_RETRIES = 6


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
        self._local = threading.local()
        self._auth: dict[str, AuthBase | None] = {}
        self._lock = threading.Lock()
        #: (when, published graphs, union graph or None), reused for GRAPHS_TTL_SECONDS
        self._graphs: tuple[float, list[NamedNode], NamedNode | None] | None = None

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    # -- HTTP ------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def _request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        """One HTTP exchange, authenticated the way the server asks (basic or digest).

        The first request to a URL goes without credentials; a 401 answer names the
        scheme in WWW-Authenticate, which is then used for that URL from then on.
        """
        kwargs.setdefault("timeout", self.timeout)
        try:
            auth = self._auth.get(url)
            response = self._session().request(method, url, auth=auth, **kwargs)  # type: ignore[arg-type]
            if response.status_code == 401 and self.user is not None and auth is None:
                auth = self._auth_for(response.headers.get("WWW-Authenticate", ""))
                self._auth[url] = auth
                response = self._session().request(method, url, auth=auth, **kwargs)  # type: ignore[arg-type]
        except requests.RequestException as exc:
            raise StoreError(f"{url}: {exc}") from exc
        if response.status_code == 401:
            raise StoreError(
                f"{url}: the server refused the credentials"
                if self.user is not None
                else f"{url}: the server asks for credentials (--store-user, --store-password)"
            )
        return response

    def _auth_for(self, challenge: str) -> AuthBase:
        if challenge.strip().lower().startswith("digest"):
            return HTTPDigestAuth(self.user or "", self.password)
        return HTTPBasicAuth(self.user or "", self.password)

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
        """The default's answer, with `timeout` as the HTTP client's limit.

        Past it the connection is closed and QueryTimeout raised, so that the serving thread
        is free again (the remote server stops the query at its own limit). The answer is
        parsed and written here rather than passed on as the server wrote it: Virtuoso's
        bytes are not standard (see the module docstring).
        """
        self._local.timeout = None if in_process_only() else timeout
        try:
            return super().query_serialized(
                sparql,
                results_format=results_format,
                graph_format=graph_format,
                timeout=timeout,
                max_rows=max_rows,
                max_bytes=max_bytes,
                prefixes=prefixes,
                union_default_graph=union_default_graph,
                default_graphs=default_graphs,
                named_graphs=named_graphs,
            )
        finally:
            self._local.timeout = None

    def _select(
        self, sparql: str, params: list[tuple[str, str]], timeout: float | None = None
    ) -> tuple[bytes, str]:
        """Send a query through SPARQLWrapper; returns the answer's body and media type."""
        from SPARQLWrapper import BASIC, DIGEST, GET, POST, URLENCODED
        from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, SPARQLWrapperException

        wrapper = KeptAliveWrapper(self.url)
        # GET where the URL stays short: servers answer it with less work (Virtuoso: 0.4 ms
        # of its CPU per query of the benchmark mix).
        short = len(urllib.parse.urlencode([("query", sparql), *params])) <= MAX_GET_QUERY
        wrapper.setMethod(GET if short else POST)
        wrapper.setRequestMethod(URLENCODED)
        wrapper.setOnlyConneg(True)  # Oxigraph refuses the format/output parameters
        wrapper.setTimeout(max(1, int(timeout or self.timeout)))
        wrapper.setQuery(sparql)
        for name, value in params:
            wrapper.addParameter(name, value)
        graph_form = query_form(sparql) in ("CONSTRUCT", "DESCRIBE")
        wrapper.addCustomHttpHeader("Accept", GRAPH_ACCEPT if graph_form else RESULTS_ACCEPT)
        if self.user is not None:
            auth = self._query_auth()
            if auth is not None:
                wrapper.setHTTPAuth(DIGEST if isinstance(auth, HTTPDigestAuth) else BASIC)
                wrapper.setCredentials(self.user, self.password)
        try:
            result = wrapper.query()
            response = result.response
            body = response.read()
            media_type = response.headers.get("Content-Type", "")
        except QueryBadFormed as exc:
            message = _server_message(exc)
            raise StoreError(message) from SyntaxError(message)
        except SPARQLWrapperException as exc:
            message = _server_message(exc)
            if _is_evaluation_error(message):
                raise StoreError(message) from RuntimeError(message)
            raise StoreError(f"{self.url}: {message}") from exc
        except OSError as exc:  # urllib's URLError, timeouts, refused connections
            reason = getattr(exc, "reason", exc)
            if timeout is not None and isinstance(reason, TimeoutError | socket.timeout):
                raise QueryTimeout(timeout) from exc
            raise StoreError(f"{self.url}: {exc}") from exc
        return body, media_type.split(";")[0].strip().lower()

    def _query_auth(self) -> AuthBase | None:
        """Whether queries need credentials, and which scheme: asked once with `ASK {}`."""
        if self.url not in self._auth:
            self._request("GET", self.url, params={"query": "ASK {}"})
            self._auth.setdefault(self.url, None)  # answered without credentials
        return self._auth.get(self.url)

    def _parse(self, body: bytes, media_type: str, substitutions: dict[str, object]) -> QueryResult:
        if media_type in ("application/sparql-results+json", "application/json"):
            if self.engine.normalise_json:
                body, boolean = _normalise_json(body, substitutions)
                if boolean is not None:
                    return _boolean(boolean)
            return parse_query_results(body, QueryResultsFormat.JSON)
        if media_type == "application/sparql-results+xml":
            return parse_query_results(body, QueryResultsFormat.XML)
        rdf = RdfFormat.from_media_type(media_type)
        if media_type == "text/plain":
            rdf = RdfFormat.N_TRIPLES
        if rdf is None:
            raise StoreError(f"{self.url} answered in an unexpected format: {media_type!r}")
        # A QueryTriples (what the embedded store returns for CONSTRUCT and DESCRIBE) can
        # only come from pyoxigraph's own engine: load the answer into a small store.
        local = Store()
        try:
            local.bulk_extend(Quad(t.subject, t.predicate, t.object) for t in parse(body, rdf))
        except SyntaxError as exc:
            raise StoreError(f"{self.url} answered malformed RDF: {exc}") from exc
        return local.query("CONSTRUCT WHERE { ?s ?p ?o }")

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
        _check(response, self.gsp_url)
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
            if _deadlocked(response) and attempt < DEADLOCK_RETRIES:
                log.warning("%s: transaction deadlock, retrying", self.update_url)
                time.sleep(0.2 * 2**attempt)
                continue
            if response.status_code == 400:
                message = response.text.strip()[:2000]
                raise StoreError(message) from SyntaxError(message)
            _check(response, self.update_url)
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
            _check(response, self.gsp_url)
            body = response.content
        blank = False
        if b"_:" in body:  # perhaps a blank node (or a literal that looks like one)
            triples = list(parse(body, RdfFormat.N_TRIPLES))
            plain = [t for t in triples if not _has_blank_node(t)]
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
            _check(response, self.gsp_url)
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
            if _deadlocked(response) and attempt < DEADLOCK_RETRIES:
                # Re-posting is harmless: RDF graphs are sets (blank nodes excepted, and
                # those all travel in one batch, see _batches).
                log.warning("%s: transaction deadlock, retrying", self.gsp_url)
                time.sleep(0.2 * 2**attempt)
                continue
            _check(response, self.gsp_url)
            return

    @contextmanager
    def writer(self) -> Iterator[GraphWriter]:
        if self.read_only:
            raise StoreError("the store was opened read-only")
        if self.update_url is None:
            raise StoreError(f"{self.url}: writing needs an update endpoint (--store-update)")
        self._remove_stale_staging()
        writer = _RemoteWriter(self)
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


class _RemoteWriter(GraphWriter):
    """Stages replaced graphs, then publishes every change in one update request."""

    def __init__(self, owner: RemoteStore):
        self.owner = owner
        self.token = f"{int(time.time())}:{uuid.uuid4().hex}"
        self.staged: list[NamedNode] = []
        #: N-Triples carried by the publishing update itself so far
        self.inline_bytes = 0
        #: the publishing request's operations, in the order they were asked for, each with
        #: whether it only maintains the union graph in place (see remote_union)
        self.operations: list[tuple[str, bool]] = []
        #: whether the engine keeps a union graph, and whether this write rebuilds it
        self.keeps_union = owner.engine.keeps_union
        self.rebuild_union = False
        #: triples of the graphs changed so far (old and new), while an in-place update is
        #: still possible
        self.changed_triples = 0
        #: the N-Triples of the graphs this write replaces, for a rebuild of the union
        #: (saves reading them back); forgotten if an update may change them
        self.bodies: dict[NamedNode, bytes] = {}

    def _changing(self, graph: NamedNode, new_triples: int) -> None:
        """Count a change to `graph` against the union's in-place limit."""
        if not self.keeps_union or self.rebuild_union:
            return
        total = self.changed_triples + new_triples
        if total <= remote_union.INCREMENTAL_LIMIT:
            total += self.owner.graph_size(graph)
        if total > remote_union.INCREMENTAL_LIMIT:
            self.rebuild_union = True
        self.changed_triples = total

    def replace_graph(self, graph: NamedNode, triples: Iterable[Triple]) -> int:
        materialised = triples if isinstance(triples, list) else list(triples)
        if not materialised:
            self.drop_graph(graph)
            return 0
        if self.owner.engine.inline_bytes:
            body = serialize(materialised, format=RdfFormat.N_TRIPLES)
            assert body is not None
            if self.inline_bytes + len(body) <= self.owner.engine.inline_bytes:
                self.inline_bytes += len(body)
                self._changing(graph, len(materialised))
                if self.keeps_union:
                    self.bodies[graph] = body
                    self.operations.append((remote_union.forget_operation(graph), True))
                self.operations += [
                    (f"DROP SILENT GRAPH {graph}", False),
                    (f"INSERT DATA {{ GRAPH {graph} {{\n{body.decode()}}} }}", False),
                ]
                if self.keeps_union:
                    self.operations.append((remote_union.add_operation(graph), True))
                log.info("%s: %d triples to publish in the update", graph.value, len(materialised))
                return len(materialised)
        staging = NamedNode(f"{STAGING_PREFIX}{self.token}:{len(self.staged)}")
        self.staged.append(staging)
        self.owner._update(f"DROP SILENT GRAPH {staging}")
        total, done = len(materialised), 0
        say = self.owner.progress
        for batch in _batches(materialised, self.owner.batch_size):
            self.owner._post_triples(staging, batch)
            done += len(batch)
            if say is not None:
                say(done, total, f"uploading {graph.value}")
            log.debug("%s: %d/%d triples staged", graph.value, done, total)
        log.info("%s: %d triples staged in %s", graph.value, total, staging.value)
        self.rebuild_union = True
        self.operations.append((f"MOVE {staging} TO {graph}", False))
        return total

    def drop_graph(self, graph: NamedNode) -> None:
        self.bodies.pop(graph, None)
        self._changing(graph, 0)
        if self.keeps_union:
            self.operations.append((remote_union.forget_operation(graph), True))
        self.operations.append((f"DROP SILENT GRAPH {graph}", False))

    def update(self, sparql_update: str) -> None:
        # Sent with the rest at publish, in order; a malformed update fails the whole request.
        self.operations.append((sparql_update, False))
        self.bodies.clear()
        if not self.keeps_union or self.rebuild_union:
            return
        touched = remote_union.data_triples(sparql_update)
        self.changed_triples += len(touched or ())
        if touched is None or self.changed_triples > remote_union.INCREMENTAL_LIMIT:
            self.rebuild_union = True  # what it changes is unknown here
            return
        if touched:
            self.operations += [(op, True) for op in remote_union.reconcile_operations(touched)]

    def publish(self) -> None:
        owner = self.owner
        if not self.operations:
            self._repair_union()
            return
        marker = Literal(uuid.uuid4().hex)
        if not self.keeps_union:
            operations = [text for text, _ in self.operations]
            operations += [
                f"DROP SILENT GRAPH {STATE_GRAPH}",
                f"INSERT DATA {{ GRAPH {STATE_GRAPH} {{ {STATE_GRAPH} {VERSION} {marker} }} }}",
            ]
            owner._update(" ;\n".join(operations))
            self.staged = []  # moved away: nothing left to drop
            log.info("published %d change(s) to %s", len(self.operations), owner.url)
            return
        owner._forget_graphs()
        rebuild = self.rebuild_union or owner._published()[1] is None
        operations = [remote_union.UNLINK] if rebuild else []
        operations += [text for text, maintains in self.operations if not (rebuild and maintains)]
        operations += [
            f"DELETE WHERE {{ GRAPH {STATE_GRAPH} {{ {STATE_GRAPH} {VERSION} ?v }} }}",
            f"INSERT DATA {{ GRAPH {STATE_GRAPH} {{ {STATE_GRAPH} {VERSION} {marker} }} }}",
        ]
        owner._update(" ;\n".join(operations))
        unlinked = time.monotonic()
        self.staged = []
        changes = sum(1 for _, maintains in self.operations if not maintains)
        log.info("published %d change(s) to %s", changes, owner.url)
        if not rebuild:
            # The in-place upkeep follows the pointer inside the update: if another writer
            # unlinked the union just before, there is none now, and that writer's rebuild
            # will be refused (the marker is ours). Then this writer builds it.
            owner._forget_graphs()
            rebuild = owner._published()[1] is None
        if rebuild:
            self._rebuild_union(marker, unlinked)

    def _repair_union(self) -> None:
        """Nothing to publish: build the union if the store has none (filled by another
        tool, or its last writer was killed before the union was built)."""
        if not self.keeps_union:
            return
        self.owner._forget_graphs()
        published, union = self.owner._published()
        if published and union is None:
            self._rebuild_union(remote_union.current_marker(self.owner), time.monotonic())

    def _rebuild_union(self, marker: Literal | None, unlinked: float) -> None:
        try:
            remote_union.rebuild(self.owner, marker, unlinked, known=self.bodies)
        except Exception as exc:  # noqa: BLE001 - the changes are published; union queries
            # list the published graphs until the next write builds a union
            log.warning("%s: the union graph could not be built: %s", self.owner.url, exc)

    def abandon(self) -> None:
        for staging in self.staged:
            try:
                self.owner._update(f"DROP SILENT GRAPH {staging}")
            except StoreError as exc:  # the original error matters more
                log.warning("could not drop %s: %s", staging.value, exc)


def _batches(triples: list[Triple], size: int) -> Iterator[list[Triple]]:
    """Batches of at most `size` triples; every triple with a blank node in one batch.

    A blank node label only means the same node within one request, so triples sharing
    one must travel together. Our sources mint IRIs, so this batch is small or empty.
    """
    blank = [t for t in triples if _has_blank_node(t)]
    if blank:
        yield blank
    plain = [t for t in triples if t not in set(blank)] if blank else triples
    for start in range(0, len(plain), size):
        yield plain[start : start + size]


def _has_blank_node(triple: Triple) -> bool:
    return isinstance(triple.subject, BlankNode) or isinstance(triple.object, BlankNode)


def _check(response: requests.Response, url: str) -> None:
    if response.status_code >= 400:
        raise StoreError(f"{url}: {response.status_code} {response.text.strip()[:2000]}")


def _deadlocked(response: requests.Response) -> bool:
    return response.status_code >= 500 and ("40001" in response.text or "SR172" in response.text)


def _server_message(exc: Exception) -> str:
    """The server's own text from a SPARQLWrapper exception, without its boilerplate."""
    text = str(exc)
    marker = "Response:\n"
    if marker in text:
        text = text.split(marker, 1)[1]
    if text.startswith(("b'", 'b"')):
        try:
            text = ast.literal_eval(text.strip()).decode("utf-8", "replace")
        except (ValueError, SyntaxError, AttributeError):
            pass  # keep the text as it was
    return text.strip()[:2000]


def _is_evaluation_error(message: str) -> bool:
    """A query that parsed but could not be evaluated (the server's 500 for a bad cast…)."""
    return bool(re.search(r"\b(SR\d+|22\d{3}|type error)\b", message))


def _boolean(value: bool) -> QueryBoolean:
    result = parse_query_results(
        json.dumps({"head": {}, "boolean": value}).encode(), QueryResultsFormat.JSON
    )
    assert isinstance(result, QueryBoolean)
    return result


_BNODE_CHARS = re.compile(r"[^A-Za-z0-9_]")


def _normalise_json(
    body: bytes, substitutions: dict[str, object] | None = None
) -> tuple[bytes, bool | None]:
    """Virtuoso's JSON results made standard; the boolean when it answered an ASK.

    Its ASK answer is a SELECT of one `__ASK_RETVAL` integer; its blank node labels are
    `nodeID://b123` (pyoxigraph accepts only the N-Triples label syntax). It also stores no
    xsd:boolean (`false` comes back as `0`), so a substituted variable is given back as the
    term it was bound to, as pyoxigraph's substitution does.
    """
    fixed = {name: _json_term(term) for name, term in (substitutions or {}).items()}
    document = json.loads(body)
    variables = document.get("head", {}).get("vars", [])
    bindings = document.get("results", {}).get("bindings", [])
    if variables == ["__ASK_RETVAL"]:
        value = bindings[0].get("__ASK_RETVAL", {}).get("value", "0") if bindings else "0"
        return body, value not in ("0", "false")
    for binding in bindings:
        for name in fixed.keys() & binding.keys():
            binding[name] = fixed[name]
        for term in binding.values():
            kind = term.get("type")
            if kind == "typed-literal":
                term["type"] = "literal"
            elif kind == "bnode":
                term["value"] = _BNODE_CHARS.sub("_", term["value"].removeprefix("nodeID://"))
    return json.dumps(document).encode(), None


def _json_term(term: object) -> dict[str, str]:
    """A term in the SPARQL JSON results format."""
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        if term.language:
            return {"type": "literal", "value": term.value, "xml:lang": term.language}
        return {"type": "literal", "value": term.value, "datatype": term.datatype.value}
    return {"type": "literal", "value": str(term)}


# -- substitutions -------------------------------------------------------------------------


def query_form(sparql: str) -> str | None:
    """SELECT, CONSTRUCT, DESCRIBE or ASK: the first such keyword outside IRIs, strings and
    comments (SPARQLWrapper's own guess is misled by a comment or a prefix)."""
    for match in lexemes(sparql):
        if match.lastgroup == "run":
            word = match.group().upper()
            if word in ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK"):
                return word
    return None


def mentions_graph(sparql: str) -> bool:
    """Whether the query has a GRAPH keyword (outside IRIs, strings and comments): only
    then do its named graphs matter."""
    return any(
        match.lastgroup == "run" and match.group().upper() == "GRAPH" for match in lexemes(sparql)
    )


def with_values(sparql: str, substitutions: dict[str, object]) -> str:
    """The query with `substitutions` bound by a VALUES block opening each of its groups.

    pyoxigraph substitutes the variables everywhere in the query before evaluation. A
    single VALUES block at the start of the WHERE clause is not the same: a FILTER in a
    nested group or a UNION branch runs before that join and sees the variable unbound.
    So every group of the pattern gets the one-row block (a group that holds a sub-SELECT
    excepted: it can hold nothing else; its own WHERE gets it). Terms are written in their
    N-Triples form, valid SPARQL that cannot change the query's shape. The short form
    `CONSTRUCT WHERE { … }` admits only triples: it gets a trailing VALUES clause instead.
    """
    names = " ".join(f"?{name}" for name in substitutions)
    values = " ".join(str(term) for term in substitutions.values())
    block = f" VALUES ({names}) {{ ({values}) }} "
    tokens = [
        (m.lastgroup or "other", m.group(), m.end())
        for m in lexemes(sparql)
        if m.lastgroup != "comment" and not m.group().isspace()
    ]
    has_where = _has_where(tokens)
    cuts: list[int] = []
    parens = braces = 0
    in_pattern = values_header = False
    previous = ""
    for index, (kind, text, end) in enumerate(tokens):
        upper = text.upper()
        if kind == "run" and braces == 0 and parens == 0 and upper == "WHERE":
            if previous == "CONSTRUCT":
                return f"{sparql}\n{block}"
            in_pattern = True
        elif kind == "run" and upper == "VALUES":
            values_header = True  # the next { opens a data block, not a group
        elif kind == "other" and text == "(":
            parens += 1
        elif kind == "other" and text == ")":
            parens -= 1
        elif kind == "other" and text == "{":
            data_block, values_header = values_header, False
            if braces == 0 and parens == 0 and not has_where and not data_block:
                in_pattern = True
            if in_pattern and not data_block and not _opens_data_block(tokens, index):
                following = tokens[index + 1][1].upper() if index + 1 < len(tokens) else ""
                if following != "SELECT":
                    cuts.append(end)
            braces += 1
        elif kind == "other" and text == "}":
            braces -= 1
        previous = upper
    if not cuts:
        return f"{sparql}\n{block}"
    pieces, done = [], 0
    for cut in cuts:
        pieces += [sparql[done:cut], block]
        done = cut
    pieces.append(sparql[done:])
    return "".join(pieces)


def _opens_data_block(tokens: list[tuple[str, str, int]], index: int) -> bool:
    """Whether the { at `index` follows `VALUES ?x` or `VALUES (?x …)` (a data block)."""
    back = index - 1
    if back >= 0 and tokens[back][1] == ")":
        while back >= 0 and tokens[back][1] != "(":
            back -= 1
        back -= 1
    elif back >= 0 and tokens[back][1].startswith(("?", "$")):
        back -= 1
    return back >= 0 and tokens[back][1].upper() == "VALUES"


def _has_where(tokens: list[tuple[str, str, int]]) -> bool:
    braces = parens = 0
    for kind, text, _ in tokens:
        if kind == "run" and braces == 0 and parens == 0 and text.upper() == "WHERE":
            return True
        if kind == "other":
            braces += {"{": 1, "}": -1}.get(text, 0)
            parens += {"(": 1, ")": -1}.get(text, 0)
    return False
