"""Writing a query result under row and byte limits: the one place they are counted.

Used in-process by `GraphStore.query_serialized`'s default and by the query
processes of `alliance.store.isolated`. A limit hit stops the serializer at
once (the writer raises), so an oversized answer costs neither memory nor time
beyond the limit, and ends as `ResultTooLarge`, never as a truncated answer.
Rows are counted exactly: solutions on SPARQL TSV (one line per row, line
breaks inside terms escaped), graphs one triple at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyoxigraph import (
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Triple,
    parse_query_results,
    serialize,
)

from alliance.store.errors import ResultTooLarge

#: What a query answers: solutions (SELECT), a boolean (ASK) or triples (CONSTRUCT, DESCRIBE).
QueryResult = QuerySolutions | QueryBoolean | QueryTriples


class LimitHit(Exception):
    """Raised inside the serializer's writer: a limit was passed (see ResultTooLarge)."""

    def __init__(self, limit: str, value: int):
        super().__init__(limit, value)
        self.limit = limit
        self.value = value


class LimitedOutput:
    """A write-only buffer that stops the serializer as soon as a limit is passed."""

    def __init__(self, max_bytes: int | None, max_lines: int | None = None):
        self.parts: list[bytes] = []
        self.size = 0
        self.lines = 0
        self.max_bytes = max_bytes
        self.max_lines = max_lines

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise LimitHit("bytes", self.max_bytes)
        if self.max_lines is not None:
            self.lines += data.count(b"\n")
            if self.lines > self.max_lines:
                raise LimitHit("rows", self.max_lines - 1)
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def value(self) -> bytes:
        return b"".join(self.parts)


def _counted(triples: Iterable[Triple], max_rows: int | None) -> Iterator[Triple]:
    for n, triple in enumerate(triples, 1):
        if max_rows is not None and n > max_rows:
            raise LimitHit("rows", max_rows)
        yield triple


def serialize_result(
    result: QueryResult,
    *,
    results_format: QueryResultsFormat | None,
    graph_format: RdfFormat | None,
    boolean_format: QueryResultsFormat | None,
    max_rows: int | None,
    max_bytes: int | None,
    prefixes: dict[str, str] | None,
) -> tuple[str, bytes | None]:
    """(kind, bytes) of a result: kind is "solutions", "boolean" or "triples"; bytes are
    None when no format was given for that kind. Raises ResultTooLarge past a limit."""
    try:
        if isinstance(result, QueryBoolean):
            if boolean_format is None:
                return "boolean", None
            return "boolean", result.serialize(format=boolean_format)
        if isinstance(result, QuerySolutions):
            if results_format is None:
                return "solutions", None
            if max_rows is None:
                out = LimitedOutput(max_bytes)
                result.serialize(out, format=results_format)
                return "solutions", out.value()
            # Rows are counted exactly on TSV (one line per row, line breaks in terms escaped);
            # other formats are written from it again, in Rust.
            tsv_cap = None if max_bytes is None else max(max_bytes * 4, 1 << 20)
            tsv = LimitedOutput(tsv_cap, max_rows + 1)
            try:
                result.serialize(tsv, format=QueryResultsFormat.TSV)
            except LimitHit as hit:
                # Past 4x the byte limit in TSV, no results format would fit in it.
                raise hit if hit.limit == "rows" else LimitHit("bytes", max_bytes or 0) from None
            if results_format == QueryResultsFormat.TSV:
                if max_bytes is not None and tsv.size > max_bytes:
                    raise LimitHit("bytes", max_bytes)
                return "solutions", tsv.value()
            out = LimitedOutput(max_bytes)
            parse_query_results(tsv.value(), QueryResultsFormat.TSV).serialize(
                out, format=results_format
            )
            return "solutions", out.value()
        assert isinstance(result, QueryTriples)
        if graph_format is None:
            return "triples", None
        out = LimitedOutput(max_bytes)
        serialize(_counted(result, max_rows), out, graph_format, prefixes=prefixes)
        return "triples", out.value()
    except LimitHit as hit:
        raise ResultTooLarge(hit.limit, hit.value) from None
