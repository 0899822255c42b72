"""Where derived files are cached, and what is computed once per content of the store.

Dumps, the VoID description and the home-page counts are costly to compute (seconds on the
territories graph) and change only when the store publishes new content. They are cached
under the store's `content_key()` (store/base.py): the published generation for the
embedded store, a version marker or the graphs' checksums for a remote one.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from flask import current_app

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


def memoised(store: GraphStore, name: str, compute: Callable[[], T], *, extra: str = "") -> T:
    """`compute()` once per store content (and `extra`), kept in this process."""
    content = store.content_key()
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
