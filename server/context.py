"""What a request's code reaches through the running application: its store and settings.

`create_app` (app.py) puts them in the application's extensions; everything below it reads
them here, so that no module has to import the factory (which imports every blueprint).
"""

from __future__ import annotations

from flask import current_app

from alliance.server.settings import Settings
from alliance.store import GraphStore

STORE = "alliance.store"
SETTINGS = "alliance.settings"


def current_store() -> GraphStore:
    """The store the application serves (an isolated or remote one under `alliance serve`)."""
    return current_app.extensions[STORE]


def current_settings() -> Settings:
    """The settings the application was built with (flags of `alliance serve`)."""
    return current_app.extensions[SETTINGS]
