"""What a store raises: the errors every backend reports the same way."""

from __future__ import annotations


class StoreError(Exception):
    """The store could not do what was asked (bad query, I/O error…)."""


class QueryTimeout(StoreError):
    """A query ran past its time limit and was stopped (nothing of its answer is kept)."""

    def __init__(self, seconds: float, reason: str | None = None):
        super().__init__(reason or f"the query was stopped after its time limit of {seconds:g} s")
        self.seconds = seconds


class QueryProcessDied(StoreError):
    """The process evaluating a query ended while it worked (a crash, or its memory cap).

    `cause` says how, for people; `memory` is true when it most likely passed its memory
    cap. Nothing of the answer is kept, and the store is unharmed.
    """

    def __init__(self, cause: str, *, memory: bool = False):
        super().__init__(f"the query process ended while evaluating the query: {cause}")
        self.cause = cause
        self.memory = memory


class ResultTooLarge(StoreError):
    """A query's answer passed a result limit: `limit` is "rows" or "bytes", `value` the limit.

    Raised instead of truncating, so that a client never takes part of an answer
    for all of it (CSV and TSV have no place to say "truncated").
    """

    def __init__(self, limit: str, value: int):
        unit = "rows" if limit == "rows" else "bytes"
        super().__init__(f"the answer has more than {value:,} {unit}, this service's limit")
        self.limit = limit
        self.value = value
