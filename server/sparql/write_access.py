"""Who may write, and how a request's write reaches the store.

/sparql/update and /store exist only when the server was started with a write
token (`--write-token` / ALLIANCE_WRITE_TOKEN): without one they answer 404, as
if absent. With one, a request must carry `Authorization: Bearer TOKEN`; the
comparison is constant-time and the token is never logged.

Every write goes through `GraphStore.writer()`, so it is published atomically. The
store admits one writer at a time across processes and refuses a second at once;
gunicorn runs several workers, so a request waits a little for its turn instead of
failing, and never without end: past `WAIT_SECONDS` it is answered 503 with
Retry-After, well before gunicorn's worker timeout. Within a worker, writes wait for one
another on a lock, and at most `waiting_slots()` of them at a time: the next ones are
answered 503 at once, so that waiting writes never take all the threads that queries
need (five concurrent writers on four threads made a plain `ASK {}` wait 15 s).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from flask import request

from alliance.server.context import current_settings, current_store
from alliance.server.web.errors import ProtocolError
from alliance.store import StoreError
from alliance.store.base import GraphWriter

#: How long a write waits for another writer (another worker, or `alliance ingest`).
WAIT_SECONDS = 20.0
#: What a refused writer is told to wait before trying again.
RETRY_AFTER = "2"

_in_process = threading.Lock()
_waiting = 0
_waiting_lock = threading.Lock()


def waiting_slots() -> int:
    """How many writes may wait in this worker besides the one writing: a quarter of the
    threads that serve costly requests (at least one), so that most stay free for queries."""
    return max(1, current_settings().threads // 4)


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


def _busy(reason: str) -> ProtocolError:
    return ProtocolError(
        503, f"The store is busy: {reason}; try again shortly.", {"Retry-After": RETRY_AFTER}
    )


@contextmanager
def _turn_in_this_worker(deadline: float) -> Iterator[None]:
    """This worker's write lock, waited for by a bounded number of writes, until `deadline`."""
    global _waiting
    if not _in_process.acquire(blocking=False):
        with _waiting_lock:
            if _waiting >= waiting_slots():
                raise _busy("other writes are already waiting")
            _waiting += 1
        try:
            acquired = _in_process.acquire(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            with _waiting_lock:
                _waiting -= 1
        if not acquired:
            raise _busy(f"another write kept it for over {WAIT_SECONDS:g} s")
    try:
        yield
    finally:
        _in_process.release()


@contextmanager
def writing(wait: float = WAIT_SECONDS) -> Iterator[GraphWriter]:
    """The store's writer, once it is free (ProtocolError 503 if it stays busy)."""
    store = current_store()
    deadline = time.monotonic() + wait
    with _turn_in_this_worker(deadline):
        while True:
            stack = ExitStack()
            try:
                writer = stack.enter_context(store.writer())
            except StoreError as exc:
                # Raised on entering: the lock is held elsewhere (nothing was changed yet).
                if time.monotonic() >= deadline:
                    raise _busy(str(exc)) from None
                time.sleep(0.05)
                continue
            with stack:
                yield writer
            return
