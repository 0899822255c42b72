"""Who may write, and how a request's write reaches the store.

/sparql/update and /store exist only when the server was started with a write
token (`--write-token` / ALLIANCE_WRITE_TOKEN): without one they answer 404, as
if absent. With one, a request must carry `Authorization: Bearer TOKEN`; the
comparison is constant-time and the token is never logged.

Every write goes through `GraphStore.writer()`, so it is published atomically. The
store admits one writer at a time across processes and refuses a second at once;
gunicorn runs several workers, so a request waits a little for its turn instead
of failing.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from flask import request

from alliance.server.app import current_settings, current_store
from alliance.server.sparql_errors import ProtocolError
from alliance.store import StoreError
from alliance.store.base import GraphWriter

#: How long a write waits for another writer (another worker, or `alliance ingest`).
WAIT_SECONDS = 30.0

_in_process = threading.Lock()


def check_write_access() -> None:
    """Raise ProtocolError (404, 401, 403) unless this request may write."""
    token = current_settings().write_token
    if token is None:
        raise ProtocolError(404, "Not Found: writes are disabled on this server.")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="alliance"'}
    if scheme.lower() != "bearer" or not given.strip():
        raise ProtocolError(401, "This operation needs 'Authorization: Bearer TOKEN'.", challenge)
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ProtocolError(403, "The token is not valid for writing.", challenge)


@contextmanager
def writing(wait: float = WAIT_SECONDS) -> Iterator[GraphWriter]:
    """The store's writer, once it is free (ProtocolError 503 if it stays busy)."""
    store = current_store()
    deadline = time.monotonic() + wait
    with _in_process:
        while True:
            stack = ExitStack()
            try:
                writer = stack.enter_context(store.writer())
            except StoreError as exc:
                # Raised on entering: the lock is held elsewhere (nothing was changed yet).
                if time.monotonic() >= deadline:
                    raise ProtocolError(
                        503, f"The store is busy: {exc}", {"Retry-After": "5"}
                    ) from None
                time.sleep(0.05)
                continue
            with stack:
                yield writer
            return
