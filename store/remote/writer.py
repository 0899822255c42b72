"""The remote store's writer: stage replaced graphs, then publish everything in one update."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

from alliance.store.base import GraphWriter
from alliance.store.errors import StoreError
from alliance.store.remote import union as remote_union
from alliance.store.remote.names import STAGING_PREFIX, STATE_GRAPH, VERSION

if TYPE_CHECKING:
    from alliance.store.remote.store import RemoteStore

log = logging.getLogger(__name__)


class RemoteWriter(GraphWriter):
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
        for batch in batches(materialised, self.owner.batch_size):
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


def batches(triples: list[Triple], size: int) -> Iterator[list[Triple]]:
    """Batches of at most `size` triples; every triple with a blank node in one batch.

    A blank node label only means the same node within one request, so triples sharing
    one must travel together. Our sources mint IRIs, so this batch is small or empty.
    """
    blank = [t for t in triples if has_blank_node(t)]
    if blank:
        yield blank
    plain = [t for t in triples if t not in set(blank)] if blank else triples
    for start in range(0, len(plain), size):
        yield plain[start : start + size]


def has_blank_node(triple: Triple) -> bool:
    return isinstance(triple.subject, BlankNode) or isinstance(triple.object, BlankNode)
