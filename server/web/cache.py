"""What identifies the store's current content, and where derived files are cached.

Dumps, the VoID description and the home-page counts are costly to compute (seconds on the
territories graph) and change only when the store publishes new content. They are cached
under a key naming that content: the published generation for the embedded store, a hash
of the graphs' input checksums and sizes for any other store.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from flask import current_app

from alliance.namespaces import ALLI
from alliance.store.base import GraphStore

T = TypeVar("T")

_memo: dict[tuple[str, str, str], object] = {}
_memo_lock = threading.Lock()


def cache_root() -> Path:
    """The cache folder: app config or ALLIANCE_CACHE_DIR, else a folder in the temp dir."""
    configured = current_app.config.get("ALLIANCE_CACHE_DIR") or os.environ.get(
        "ALLIANCE_CACHE_DIR"
    )
    root = Path(configured) if configured else Path(tempfile.gettempdir()) / "alliance-cache"
    root.mkdir(parents=True, exist_ok=True)
    return root


def store_identity(store: GraphStore) -> str:
    """A short name for the store itself (its folder), shared by all its generations."""
    path = getattr(store, "path", None)
    url = getattr(store, "url", None)  # a remote store: its query endpoint
    text = str(Path(path).resolve()) if path is not None else str(url or type(store).__name__)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def store_key(store: GraphStore) -> str:
    """A name for the store's current content: `{identity}-{content}`."""
    identity = store_identity(store)
    published = getattr(store, "published_generation", None)
    if callable(published):
        generation = published()
        if generation is None:
            return f"{identity}-empty"
        # The generation folder's inode tells a rebuilt store (same number, new folder) apart.
        folder = Path(store.path) / "generations" / generation  # type: ignore[attr-defined]
        try:
            inode = folder.stat().st_ino
        except OSError:
            inode = 0
        return f"{identity}-{generation}-{inode}"
    version = store.version()  # one small query on a remote store
    if version is not None:
        return f"{identity}-{version}"
    parts = []
    for graph in store.graphs():
        rows = store.query(
            f"SELECT ?k WHERE {{ GRAPH {graph} {{ {graph} <{ALLI}inputChecksum> ?k }} }}",
            union_default_graph=False,
        )
        checksums = sorted(str(row["k"].value) for row in rows)
        parts.append(f"{graph.value} {store.graph_size(graph)} {' '.join(checksums)}")
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return f"{identity}-{digest}"


def memoised(store: GraphStore, name: str, compute: Callable[[], T], *, extra: str = "") -> T:
    """`compute()` once per store content (and `extra`), kept in this process."""
    content = store_key(store)
    key = (content, extra, name)
    with _memo_lock:
        if key in _memo:
            return _memo[key]  # type: ignore[return-value]
    value = compute()
    identity = content.split("-", 1)[0]
    with _memo_lock:
        # Forget what older contents of the same store computed: they will not come back.
        for old in [k for k in _memo if k[0] != content and k[0].split("-", 1)[0] == identity]:
            del _memo[old]
        _memo[key] = value
    return value
