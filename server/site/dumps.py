"""Whole-dataset dumps, built lazily once per store content and kept on disk.

Writing the ~470k quads takes seconds (N-Quads gzip, Turtle of the union), far too long to do
on every request, so each dump is written once into a cache folder named by the store's
content key (see `alliance.server.web.cache`), with a sidecar recording its size and SHA-256. The
checksum is the ETag of the download and the `spdx:checksum` of the VoID description. Gzip
output is made reproducible (no name, mtime 0) so that equal content gives equal checksums.
Several gunicorn workers may ask at once: a lock file makes one build and the others wait.
Over a remote store, every dump still missing is written in one pass over its graphs, each
downloaded once.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pyoxigraph import Quad, RdfFormat, Triple, serialize

from alliance.namespaces import PREFIXES
from alliance.server.web.cache import cache_root
from alliance.store.base import GraphStore, unbounded
from alliance.store.remote import RemoteStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dump:
    """One downloadable form of the whole dataset."""

    name: str
    #: Content-Type of the download itself (werkzeug adds the charset of text types)
    media_type: str
    #: the RDF syntax inside (dcat:mediaType)
    rdf_media_type: str
    #: dcat:compressFormat, when the file is compressed
    compress_format: str | None
    title: str
    description: str


DUMPS: dict[str, Dump] = {
    d.name: d
    for d in [
        Dump(
            "alliance.nq.gz",
            "application/gzip",
            "application/n-quads",
            "application/gzip",
            "Alliance, every named graph (N-Quads, gzip)",
            "Every quad of every named graph; the graph of each statement is kept.",
        ),
        Dump(
            "alliance.ttl",
            "text/turtle",
            "text/turtle",
            None,
            "Alliance, union of the graphs (Turtle)",
            "Every distinct triple of the union of the named graphs; graph names are not kept.",
        ),
    ]
}


@dataclass(frozen=True)
class Built:
    dump: Dump
    path: Path
    size: int
    sha256: str
    key: str


class _Hashing:
    """A write-only file wrapper that counts and hashes what passes through."""

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        self.sha.update(view)
        self.size += len(view)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def _gzip(out: IO[bytes]) -> gzip.GzipFile:
    return gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6)


def _write_nquads_gz(store: GraphStore, out: IO[bytes]) -> None:
    with _gzip(out) as gz:
        store.dump(gz, "application/n-quads")


def _write_turtle(store: GraphStore, out: IO[bytes]) -> None:
    with unbounded():  # the service's own whole-store work: no client time limit
        triples = store.query(
            "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o { ?s ?p ?o } }"
        )
    serialize(triples, out, RdfFormat.TURTLE, prefixes=PREFIXES)


def _write_one(name: str) -> Callable[[GraphStore, dict[str, IO[bytes]]], None]:
    def write(store: GraphStore, outs: dict[str, IO[bytes]]) -> None:
        WRITERS[name](store, outs[name])

    return write


def _write_from_downloads(store: GraphStore, outs: dict[str, IO[bytes]]) -> None:
    """A remote store's dumps in one pass over its graphs.

    Every read of a remote store is a download (the territories graph takes about 10 s
    from Virtuoso), and its engine takes as long again for the union's DISTINCT query: so
    each graph is downloaded once, written to the N-Quads dump, and merged into the union
    the Turtle dump holds. (A dict, in download order, rather than an in-memory store: that
    would rewrite literals such as dates in its canonical form, which the engine may not.)
    """
    nquads = outs.get("alliance.nq.gz")
    union: dict[Triple, None] | None = {} if "alliance.ttl" in outs else None
    with contextlib.ExitStack() as stack:
        gz = stack.enter_context(_gzip(nquads)) if nquads is not None else None
        for graph in store.graphs():
            triples = list(store.triples(graph))
            if gz is not None:
                quads = (Quad(t.subject, t.predicate, t.object, graph) for t in triples)
                serialize(quads, gz, RdfFormat.N_QUADS)
            if union is not None:
                union.update(dict.fromkeys(triples))
    if union is not None:
        serialize(union, outs["alliance.ttl"], RdfFormat.TURTLE, prefixes=PREFIXES)


WRITERS: dict[str, Callable[[GraphStore, IO[bytes]], None]] = {
    "alliance.nq.gz": _write_nquads_gz,
    "alliance.ttl": _write_turtle,
}


def dumps_dir(store: GraphStore) -> tuple[Path, str]:
    key = store.content_key()
    return cache_root() / "dumps" / key, key


def _read_meta(folder: Path, dump: Dump, key: str) -> Built | None:
    meta_path = folder / f"{dump.name}.json"
    path = folder / dump.name
    try:
        meta = json.loads(meta_path.read_text())
        size = path.stat().st_size
    except (OSError, ValueError):
        return None
    if meta.get("size") != size or not isinstance(meta.get("sha256"), str):
        return None
    return Built(dump, path, size, meta["sha256"], key)


def ensure(store: GraphStore, name: str) -> Built:
    """The dump `name` of the store's current content, built now if not yet cached."""
    dump = DUMPS[name]
    folder, key = dumps_dir(store)
    found = _read_meta(folder, dump, key)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            found = _read_meta(folder, dump, key)  # built by another worker meanwhile?
            if found is not None:
                return found
            if isinstance(store, RemoteStore):  # one download for every dump still missing
                names = [n for n in DUMPS if n == name or _read_meta(folder, DUMPS[n], key) is None]
                _build(store, folder, key, names, _write_from_downloads)
            else:
                _build(store, folder, key, [name], _write_one(name))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    _remove_older(folder)
    built = _read_meta(folder, dump, key)
    assert built is not None
    return built


def _build(
    store: GraphStore,
    folder: Path,
    key: str,
    names: list[str],
    write: Callable[[GraphStore, dict[str, IO[bytes]]], None],
) -> None:
    """Write the dumps `names` with `write`, each with its sidecar, each replaced at once."""
    started = time.monotonic()
    tmps = {name: folder / f".{name}.{os.getpid()}.tmp" for name in names}
    try:
        with contextlib.ExitStack() as stack:
            raws = {name: stack.enter_context(open(tmp, "wb")) for name, tmp in tmps.items()}
            hashings = {name: _Hashing(raw) for name, raw in raws.items()}
            write(store, hashings)  # type: ignore[arg-type]
            for raw in raws.values():
                raw.flush()
                os.fsync(raw.fileno())
    except BaseException:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
        raise
    for name, tmp in tmps.items():
        os.replace(tmp, folder / name)
        meta_tmp = folder / f".{name}.json.tmp"
        meta_tmp.write_text(
            json.dumps({"size": hashings[name].size, "sha256": hashings[name].sha.hexdigest()})
        )
        os.replace(meta_tmp, folder / f"{name}.json")
    log.info(
        "dump(s) %s built for %s: %s bytes in %.1f s",
        ", ".join(names),
        key,
        ", ".join(str(hashings[name].size) for name in names),
        time.monotonic() - started,
    )


def all_dumps(store: GraphStore) -> list[Built]:
    return [ensure(store, name) for name in DUMPS]


def _remove_older(current: Path) -> None:
    """Drop the dumps of earlier contents of the same store (they can no longer be asked)."""
    identity = current.name.split("-", 1)[0]
    for folder in current.parent.iterdir():
        if folder != current and folder.is_dir() and folder.name.startswith(identity + "-"):
            shutil.rmtree(folder, ignore_errors=True)
