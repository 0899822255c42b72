"""Whole-dataset dumps, built lazily once per store content and kept on disk.

Writing the ~470k quads takes seconds (N-Quads gzip, Turtle of the union), far too long to do
on every request, so each dump is written once into a cache folder named by the store's
content key (see `alliance.server.cache`), with a sidecar recording its size and SHA-256. The
checksum is the ETag of the download and the `spdx:checksum` of the VoID description. Gzip
output is made reproducible (no name, mtime 0) so that equal content gives equal checksums.
Several gunicorn workers may ask at once: a lock file makes one build and the others wait.
"""

from __future__ import annotations

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

from pyoxigraph import RdfFormat, serialize

from alliance.namespaces import PREFIXES
from alliance.server.cache import cache_root, store_key
from alliance.store.base import GraphStore, unbounded

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dump:
    """One downloadable form of the whole dataset."""

    name: str
    #: Content-Type of the download itself
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
            "text/turtle; charset=utf-8",
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


def _write_nquads_gz(store: GraphStore, out: IO[bytes]) -> None:
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
        store.dump(gz, "application/n-quads")


def _write_turtle(store: GraphStore, out: IO[bytes]) -> None:
    with unbounded():  # the service's own whole-store work: no client time limit
        triples = store.query(
            "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o { ?s ?p ?o } }"
        )
    serialize(triples, out, RdfFormat.TURTLE, prefixes=PREFIXES)


WRITERS: dict[str, Callable[[GraphStore, IO[bytes]], None]] = {
    "alliance.nq.gz": _write_nquads_gz,
    "alliance.ttl": _write_turtle,
}


def dumps_dir(store: GraphStore) -> tuple[Path, str]:
    key = store_key(store)
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
            started = time.monotonic()
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            with open(tmp, "wb") as raw:
                hashing = _Hashing(raw)
                WRITERS[name](store, hashing)  # type: ignore[arg-type]
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, folder / name)
            meta_tmp = folder / f".{name}.json.tmp"
            meta_tmp.write_text(
                json.dumps({"size": hashing.size, "sha256": hashing.sha.hexdigest()})
            )
            os.replace(meta_tmp, folder / f"{name}.json")
            log.info(
                "dump %s built for %s: %d bytes in %.1f s",
                name,
                key,
                hashing.size,
                time.monotonic() - started,
            )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    _remove_older(folder)
    built = _read_meta(folder, dump, key)
    assert built is not None
    return built


def all_dumps(store: GraphStore) -> list[Built]:
    return [ensure(store, name) for name in DUMPS]


def _remove_older(current: Path) -> None:
    """Drop the dumps of earlier contents of the same store (they can no longer be asked)."""
    identity = current.name.split("-", 1)[0]
    for folder in current.parent.iterdir():
        if folder != current and folder.is_dir() and folder.name.startswith(identity + "-"):
            shutil.rmtree(folder, ignore_errors=True)
