"""The embedded store: Oxigraph on disk, published as immutable generations.

Why generations: on these machines Oxigraph removes about 30k quads a
second, so replacing the territories graph in place (DROP then load, or
MOVE from a staging graph) takes tens of seconds and shows readers a
half-replaced graph meanwhile. Instead every write builds a new Oxigraph
folder and publishes it by atomically renaming a pointer file:

    STORE/
      CURRENT              name of the published generation (replaced atomically)
      generations/0007/    a complete Oxigraph store, never written once published
      generations/0008/    being built by a writer, invisible until CURRENT names it
      unions/0007/         its union index (store/union_index.py), built before publishing
      .lock                held by the one writer

A new generation starts as a hard-linked backup of the current one (cheap),
then changed graphs are edited in it; when a large graph changes, loading the
kept graphs into a fresh folder is faster than deleting, so the writer does that.
Readers open the published generation read-only (safe: nobody writes it) and
reopen when CURRENT changes. A writer killed at any moment leaves CURRENT
untouched; its unfinished folder is removed by the next writer.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from pyoxigraph import DefaultGraph, NamedNode, Quad, RdfFormat, Store, Triple, Variable

from alliance.store import union_index
from alliance.store.base import GraphStore, GraphWriter, QueryResult, StoreError

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
GENERATIONS = "generations"
#: Generations kept after a publish, so that open readers finish on the old one.
KEEP_GENERATIONS = 2
#: Deleting a quad costs about this many times more than loading one.
DELETE_COST = 4


class EmbeddedStore(GraphStore):
    """A folder of Oxigraph generations behind the GraphStore interface."""

    def __init__(self, path: str | Path, *, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._union: Store | None = None
        self._generation: str | None = None
        if not read_only:
            self.path.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_dir():
            raise StoreError(f"no store at {self.path}")

    # -- reading ---------------------------------------------------------------

    def published_generation(self) -> str | None:
        """Name of the published generation, or None for an empty store."""
        try:
            name = (self.path / CURRENT).read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def version(self) -> str | None:
        """The published generation, which every publish replaces ("empty" before any)."""
        return self.published_generation() or "empty"

    def identity(self) -> str:
        return hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:12]

    def content_key(self) -> str:
        """The published generation and its folder's inode, which tells a rebuilt store
        (the same number again, in a new folder) from the one before."""
        generation = self.published_generation()
        if generation is None:
            return f"{self.identity()}-empty"
        try:
            inode = self._generation_dir(generation).stat().st_ino
        except OSError:
            inode = 0
        return f"{self.identity()}-{generation}-{inode}"

    def _current(self) -> Store:
        """The Oxigraph store of the published generation, reopened when it changed."""
        return self._opened()[0]

    def _opened(self) -> tuple[Store, Store | None]:
        """The published generation and its union index (None if it has none)."""
        name = self.published_generation()
        with self._lock:
            if self._store is None or name != self._generation:
                self._union = None
                if name is None:
                    self._store = Store()  # an empty, in-memory stand-in
                else:
                    self._store = Store.read_only(str(self._generation_dir(name)))
                    twin = self.path / union_index.UNIONS / name
                    if twin.is_dir():
                        self._union = Store.read_only(str(twin))
                self._generation = name
            return self._store, self._union

    def query(
        self,
        sparql: str,
        *,
        union_default_graph: bool = True,
        default_graphs: list[NamedNode] | None = None,
        named_graphs: list[NamedNode] | None = None,
        substitutions: dict[str, object] | None = None,
    ) -> QueryResult:
        kwargs: dict[str, object] = {}
        store, union = self._opened()
        if default_graphs is not None:
            kwargs["default_graph"] = default_graphs
        elif union_default_graph and union is not None:
            store = union  # the same named graphs, their union in its default graph
        elif union_default_graph:
            kwargs["use_default_graph_as_union"] = True
        if named_graphs is not None:
            kwargs["named_graphs"] = named_graphs
        if substitutions:
            kwargs["substitutions"] = {Variable(k): v for k, v in substitutions.items()}
        try:
            return store.query(sparql, **kwargs)
        except SyntaxError as exc:
            raise StoreError(str(exc)) from exc
        except OSError as exc:
            raise StoreError(f"store error: {exc}") from exc

    def graphs(self) -> list[NamedNode]:
        return sorted(
            (g for g in self._current().named_graphs() if isinstance(g, NamedNode)),
            key=lambda g: g.value,
        )

    def graph_size(self, graph: NamedNode) -> int:
        return _count(self._current(), graph)

    def triples(self, graph: NamedNode) -> Iterator[Triple]:
        for quad in self._current().quads_for_pattern(None, None, None, graph):
            yield quad.triple

    def dump(self, out: IO[bytes], mime_type: str = "application/n-quads") -> None:
        fmt = RdfFormat.from_media_type(mime_type)
        if fmt is None or not fmt.supports_datasets:
            raise StoreError(f"{mime_type} cannot hold named graphs")
        self._current().dump(out, format=fmt)

    def close(self) -> None:
        # Readers hold published generations read-only; writers flush their own.
        with self._lock:
            self._store = None
            self._union = None
            self._generation = None

    # -- writing ---------------------------------------------------------------

    @contextmanager
    def writer(self) -> Iterator[GraphWriter]:
        if self.read_only:
            raise StoreError("the store was opened read-only")
        lock_file = open(self.path / ".lock", "a+")  # noqa: SIM115 - held for the block
        try:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"another process is writing to {self.path}") from None
            self._remove_unpublished()
            writer = _GenerationWriter(self)
            try:
                yield writer
                writer.publish()
            except BaseException:
                writer.abandon()
                raise
            self._remove_old_generations()
        finally:
            lock_file.close()

    def _generation_dir(self, name: str) -> Path:
        return self.path / GENERATIONS / name

    def _generation_names(self) -> list[str]:
        folder = self.path / GENERATIONS
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir())

    def _remove_unpublished(self) -> None:
        """Remove folders that a killed writer left behind (never the published one)."""
        published = self.published_generation()
        for name in self._generation_names():
            if published is None or name > published:
                log.info("removing unfinished generation %s", name)
                shutil.rmtree(self._generation_dir(name), ignore_errors=True)
        self._remove_orphan_unions()

    def _remove_old_generations(self) -> None:
        published = self.published_generation()
        older = [n for n in self._generation_names() if published and n < published]
        for name in older[: max(0, len(older) - (KEEP_GENERATIONS - 1))]:
            shutil.rmtree(self._generation_dir(name), ignore_errors=True)
        self._remove_orphan_unions()

    def _remove_orphan_unions(self) -> None:
        """Remove union indexes whose generation is gone or was never published."""
        folder = self.path / union_index.UNIONS
        if not folder.is_dir():
            return
        published = self.published_generation()
        kept = {n for n in self._generation_names() if published and n <= published}
        for twin in folder.iterdir():
            if twin.name not in kept:
                shutil.rmtree(twin, ignore_errors=True)


class _GenerationWriter(GraphWriter):
    """Builds the next generation; see the module docstring."""

    def __init__(self, owner: EmbeddedStore):
        self.owner = owner
        self.base = owner.published_generation()
        number = int(self.base) + 1 if self.base else 1
        self.name = f"{number:06d}"
        self.dir = owner._generation_dir(self.name)
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        # Graph replacements are applied at publish time, so that one
        # generation is built once whatever the number of changed graphs; the other
        # changes after them, in the order they were asked.
        self._graphs: dict[NamedNode, list[Triple] | None] = {}
        self._changes: list[tuple[str, str | list[Quad]]] = []
        #: the quads added or removed one by one, as applied (see union_index.build)
        self._touched: list[Quad] = []

    def replace_graph(self, graph: NamedNode, triples: Iterable[Triple]) -> int:
        materialised = triples if isinstance(triples, list) else list(triples)
        self._graphs[graph] = materialised
        return len(materialised)

    def drop_graph(self, graph: NamedNode) -> None:
        self._graphs[graph] = None

    def update(self, sparql_update: str) -> None:
        # Applied (and parsed) at publish; a failure there abandons the generation.
        self._changes.append(("update", sparql_update))

    def add_quads(self, quads: Iterable[Quad]) -> None:
        self._changes.append(("add", list(quads)))

    def remove_quads(self, quads: Iterable[Quad]) -> None:
        self._changes.append(("remove", list(quads)))

    def clear_default_graph(self) -> None:
        self._changes.append(("clear-default", []))

    def publish(self) -> None:
        if not self._graphs and not self._changes:
            return
        store = self._build()
        for kind, change in self._changes:
            if kind == "clear-default":  # its quads as they are at this point of the write
                change = list(store.quads_for_pattern(None, None, None, DefaultGraph()))
                kind = "remove"
            if kind == "add":
                store.extend(change)  # type: ignore[arg-type]
                self._touched += change  # type: ignore[arg-type]
            elif kind == "remove":
                for quad in change:
                    store.remove(quad)  # type: ignore[arg-type]
                self._touched += change  # type: ignore[arg-type]
            else:
                try:
                    store.update(change)  # type: ignore[arg-type]
                except (SyntaxError, OSError) as exc:
                    raise StoreError(str(exc)) from exc
        store.flush()
        self._build_union(store)
        del store
        pointer = self.owner.path / CURRENT
        tmp = pointer.with_name(CURRENT + ".tmp")
        with open(tmp, "w") as handle:
            handle.write(self.name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, pointer)
        _fsync_dir(self.owner.path)
        log.info("published generation %s", self.name)

    def _build(self) -> Store:
        """The new generation with the graph replacements applied (updates come after)."""
        base_dir = self.owner._generation_dir(self.base) if self.base else None
        changed = set(self._graphs)
        removed = kept = 0
        if base_dir is not None:
            base_store = Store.read_only(str(base_dir))
            # Only graph replacements can make a fresh load cheaper than a copy; the kept
            # graphs are counted only as far as the comparison needs.
            if changed and not self._changes:
                graphs = [g for g in base_store.named_graphs() if isinstance(g, NamedNode)]
                removed = sum(_count(base_store, g) for g in graphs if g in changed)
                for graph in (g for g in graphs if g not in changed):
                    kept += _count(base_store, graph, removed * DELETE_COST + 1 - kept)
                    if removed * DELETE_COST < kept:
                        break
        if base_dir is not None and (self._changes or removed * DELETE_COST < kept):
            base_store.backup(str(self.dir))
            del base_store
            store = Store(str(self.dir))
            for graph in changed:
                store.remove_graph(graph)
        else:
            store = Store(str(self.dir))
            if base_dir is not None:
                store.bulk_extend(
                    q
                    for g in base_store.named_graphs()
                    if g not in changed
                    for q in base_store.quads_for_pattern(None, None, None, g)
                )
                store.bulk_extend(base_store.quads_for_pattern(None, None, None, DefaultGraph()))
                del base_store
        for graph, triples in self._graphs.items():
            if triples is not None:
                store.bulk_extend(Quad(t.subject, t.predicate, t.object, graph) for t in triples)
        return store

    def _build_union(self, store: Store) -> None:
        """The new generation's union index, before it is published (see union_index.py)."""
        unions = self.owner.path / union_index.UNIONS
        previous = unions / self.base if self.base else None
        base_dir = self.owner._generation_dir(self.base) if self.base else None
        union_index.build(
            store,
            unions / self.name,
            previous=previous if previous is not None and previous.is_dir() else None,
            previous_generation=Store.read_only(str(base_dir)) if base_dir else None,
            replaced=self._graphs,
            touched=self._touched,
            updated=any(kind == "update" for kind, _ in self._changes),
        )

    def abandon(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.owner.path / union_index.UNIONS / self.name, ignore_errors=True)


def _count(store: Store, graph: NamedNode, at_most: int | None = None) -> int:
    """The triples of `graph`, counted up to `at_most` when given."""
    # str(NamedNode) is its validated N-Triples form, safe to place in a query.
    pattern = f"GRAPH {graph} {{ ?s ?p ?o }}"
    if at_most is not None:
        pattern = f"SELECT * {{ {pattern} }} LIMIT {max(0, at_most)}"
    result = store.query(f"SELECT (COUNT(*) AS ?n) {{ {pattern} }}")
    return int(next(iter(result))["n"].value)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
