"""The time a request spends in the store, reported by the code that runs its queries."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import g, has_request_context

from alliance.store.errors import QueryTimeout

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class QueryStats:
    """What the current request's timed blocks reported (kept on `flask.g`)."""

    seconds: float = 0.0
    depth: int = 0
    started: float = 0.0
    kind: str | None = None
    name: str | None = None
    timeout: bool = False


def _stats() -> QueryStats | None:
    if not has_request_context():
        return None
    stats = g.get("alliance_query")
    if stats is None:
        stats = g.alliance_query = QueryStats()
    return stats


def _is_timeout(exc: BaseException) -> bool:
    """Whether `exc` or what caused it is the store's QueryTimeout."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, QueryTimeout):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def query_timer(kind: str | None = None, name: str | None = None) -> Iterator[None]:
    """Count the block's time as store time of the current request.

    Wrap the code that runs a query *and reads its results* (pyoxigraph evaluates while
    results are read). Blocks may nest: only the outermost one counts. A `QueryTimeout`
    leaving the block (or causing what leaves it) marks the request as timed out.
    Outside a request it does nothing, so store-calling code may use it unconditionally.
    """
    stats = _stats()
    if stats is None:
        yield
        return
    if kind and not stats.kind:
        stats.kind = kind
    if name and not stats.name:
        stats.name = name
    stats.depth += 1
    if stats.depth == 1:
        stats.started = time.perf_counter()
    try:
        yield
    except BaseException as exc:
        if _is_timeout(exc):
            stats.timeout = True
        raise
    finally:
        stats.depth -= 1
        if stats.depth == 0:
            stats.seconds += time.perf_counter() - stats.started


def timed_query(kind: str | None = None) -> Callable[[F], F]:
    """Decorator form of `query_timer`; a query result it returns names the query's form."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with query_timer(kind):
                result = function(*args, **kwargs)
            form = _query_form(result)
            stats = _stats()
            if form and stats is not None and stats.name is None:
                stats.name = form
            return result

        return timed  # type: ignore[return-value]

    return decorate


#: A result's query form, by pyoxigraph class or by a store's `SerializedResult.kind`.
FORMS = {
    "QuerySolutions": "select",
    "QueryBoolean": "ask",
    "QueryTriples": "graph",
    "solutions": "select",
    "boolean": "ask",
    "triples": "graph",
}


def _query_form(result: object) -> str | None:
    """`select`, `ask` or `graph` (CONSTRUCT/DESCRIBE) for a query result, else None."""
    kind = getattr(result, "kind", None)
    return FORMS.get(kind if isinstance(kind, str) else type(result).__name__)
