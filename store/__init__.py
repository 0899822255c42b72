"""Store access: the only code that talks to a triple store.

Everything else depends on the `GraphStore` interface defined in
`alliance.store.base`; `open_store` picks the implementation from the
location (a folder for the embedded Oxigraph store, an http(s) URL for a remote SPARQL
server).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from alliance.store.base import GraphStore, StoreError
from alliance.store.embedded import EmbeddedStore
from alliance.store.remote import RemoteStore, is_remote

__all__ = [
    "EmbeddedStore",
    "GraphStore",
    "StoreAccess",
    "StoreError",
    "default_store_dir",
    "open_store",
]


def default_store_dir() -> Path:
    """Where the store lives when neither --store nor ALLIANCE_STORE says otherwise.

    Follows the XDG base-directory convention so that the store survives
    between runs and never lands inside a source checkout by surprise.
    """
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "alliance" / "store"


class StoreAccess(TypedDict):
    """How to reach a remote store beyond its query endpoint: `open_store`'s keywords."""

    update: str | None
    gsp: str | None
    user: str | None
    password: str | None


def open_store(
    location: str | Path | None = None,
    *,
    read_only: bool = False,
    update: str | None = None,
    gsp: str | None = None,
    user: str | None = None,
    password: str | None = None,
) -> GraphStore:
    """Open the store at `location`: a folder (default: `default_store_dir()`) for the
    embedded store, or the http(s) URL of a SPARQL query endpoint for a remote one, with
    its update and Graph Store Protocol endpoints and credentials (see alliance.store.remote).
    """
    if is_remote(str(location) if location is not None else None):
        return RemoteStore(
            str(location),
            update_url=update,
            gsp_url=gsp,
            user=user,
            password=password,
            read_only=read_only,
        )
    path = Path(location) if location is not None else default_store_dir()
    return EmbeddedStore(path, read_only=read_only)
