"""What clients send is parsed in child processes: uploaded RDF bodies and SPARQL updates.

Why: pyoxigraph's parsers run native code that a hostile text can crash (nesting or
operator chains deep enough to overflow the stack: SIGSEGV) or make allocate without end
(a 956-byte RDF/XML body of nested entities took a worker to 21 GB before the kernel's
out-of-memory killer fired). In a serving process either takes a worker with every
request it serves, or the machine. `input_guards.py` refuses the known shapes before
anything is parsed; whatever they miss ends a child process with a memory cap
(`alliance.children`), and the client gets a 4xx that says so. The worker only ever parses
what a child has already parsed, turned into N-Quads: a flat format without nesting,
prefixes or entities.

Two jobs:

- `parse_rdf`: a request body parsed in a child, its quads sent back as N-Quads.
- `check_update`: a SPARQL update parsed (and run on an empty in-memory store) in a child.
  A syntax error comes back with Oxigraph's message. An update made only of INSERT DATA
  and DELETE DATA comes back as its quads, operation by operation, so that the store
  applies it as the small change it is (store/union_index.py keeps the union index in
  step quad by quad instead of rebuilding it). The split of the text into operations is
  lexical (`alliance.sparql_text.data_operations`), so the child checks it: the operations applied
  quad by quad must leave the same store as the whole update does; if not, the update is
  treated as a general one.

The child parses an update in a thread whose stack (`CHECK_STACK`) is half the stack of
the serving threads (`serving.worker.THREAD_STACK`), so that an update the check accepts
never overflows a serving thread when the store applies it there.

One pool per serving process (and memory cap), `PROCESSES` children, started at first use.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass

from pyoxigraph import BlankNode, Quad, RdfFormat, Store, parse, serialize

from alliance import children
from alliance.server.context import current_settings
from alliance.sparql_text import data_operations

log = logging.getLogger(__name__)

#: Parsing processes per serving process: uploads and updates are rarer than queries.
PROCESSES = 2
#: Seconds one parse may take (a 10 MiB Turtle body takes about two).
PARSE_SECONDS = 60.0
#: Stack of the thread that parses an update in the child.
CHECK_STACK = 4 * 1024 * 1024

_pools: dict[int | None, children.ChildPool] = {}
_pools_lock = threading.Lock()


class ParseFailed(Exception):
    """The child could not parse the text: it crashed, passed its memory cap or its time.

    `status` is the HTTP status to answer: 413 when the text needs more memory or time
    than the server gives a parse, 400 when the parser crashed on it.
    """

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class DataChange:
    """One INSERT DATA or DELETE DATA operation of an update, as quads."""

    insert: bool
    quads: list[Quad]


def pool(memory: int | None) -> children.ChildPool:
    """This process's parsing children with memory cap `memory` (bytes), started at first use."""
    with _pools_lock:
        if memory not in _pools:
            _pools[memory] = children.ChildPool(
                "alliance.server.web.sandbox",
                [],
                processes=PROCESSES,
                timeout=PARSE_SECONDS,
                memory=memory,
                name="parsing process",
            )
        return _pools[memory]


def app_memory() -> int | None:
    """The memory cap the running application gives parsing processes (--query-memory)."""
    return current_settings().query_memory or None


def _ask(request: dict[str, object], memory: int | None, what: str) -> children.Answer:
    try:
        return pool(memory).ask(request)
    except children.ChildTimeout as exc:
        raise ParseFailed(
            f"The {what} could not be parsed within this server's time limit ({exc}).", 413
        ) from None
    except children.ChildDied as exc:
        if exc.memory:
            message = (
                f"The {what} needs more memory to parse than this server allows "
                f"(the parsing process {exc.cause}); nothing was changed."
            )
            raise ParseFailed(message, 413) from None
        message = (
            f"The {what} could not be parsed: the parser stopped on it ({exc.cause}), as it "
            "does on text nested or chained too deeply; nothing was changed."
        )
        raise ParseFailed(message, 400) from None


def _syntax_error(header: tuple) -> SyntaxError:
    _status, message, line, column = header
    error = SyntaxError(message)
    error.lineno, error.offset = line, column
    return error


def parse_rdf(
    data: bytes,
    fmt: RdfFormat,
    *,
    base: str | None,
    memory: int | None,
    without_named_graphs: bool = True,
    rename_blank_nodes: bool = True,
    what: str = "body",
) -> list[Quad]:
    """The quads of an RDF document, parsed in a child process.

    Raises SyntaxError (with `lineno` and `offset` when the parser gives them) for a
    malformed document, ParseFailed when the parser cannot finish, ValueError otherwise.
    """
    request = {
        "job": "parse",
        "data": data,
        "format": fmt.media_type,
        "base": base,
        "without_named_graphs": without_named_graphs,
        "rename_blank_nodes": rename_blank_nodes,
    }
    header, payload = _ask(request, memory, what)
    if header[0] == "ok":
        return list(parse(payload or b"", format=RdfFormat.N_QUADS))
    if header[0] == "syntax":
        raise _syntax_error(header)
    raise ValueError(header[1])


def check_update(text: str, base: str, *, memory: int | None) -> list[DataChange] | None:
    """Check an update's syntax in a child; its quads if it is made only of DATA operations.

    Raises SyntaxError with Oxigraph's message for a malformed update, ParseFailed when
    the parser cannot finish. None: a general update, to be applied as text.
    """
    header, payload = _ask({"job": "update", "text": text, "base": base}, memory, "update")
    if header[0] == "syntax":
        raise _syntax_error(header)
    if header[0] != "data":
        return None
    changes, position = [], 0
    for insert, size in header[1]:
        chunk = (payload or b"")[position : position + size]
        position += size
        changes.append(DataChange(insert, list(parse(chunk, format=RdfFormat.N_QUADS))))
    return changes


# -- the child's side ---------------------------------------------------------------


def _parse_job(request: dict) -> children.Answer:
    fmt = RdfFormat.from_media_type(request["format"])
    try:
        quads = parse(
            request["data"],
            format=fmt,
            base_iri=request["base"],
            without_named_graphs=request["without_named_graphs"],
            rename_blank_nodes=request["rename_blank_nodes"],
        )
        data = serialize(quads, format=RdfFormat.N_QUADS)
    except SyntaxError as exc:
        return ("syntax", str(exc), exc.lineno, exc.offset), None
    except (ValueError, OSError) as exc:
        return ("error", str(exc)), None
    return ("ok",), data


def _update_job(request: dict) -> children.Answer:
    text, base = request["text"], request["base"]
    try:
        Store().update(text, base_iri=base)
    except SyntaxError as exc:
        return ("syntax", str(exc), exc.lineno, exc.offset), None
    except (RuntimeError, OSError, ValueError):
        pass  # evaluation errors on an empty store say nothing about the real one
    changes = _data_changes(text, base, data_operations(text))
    if changes is None:
        return ("general",), None
    encoded = [serialize(change.quads, format=RdfFormat.N_QUADS) for change in changes]
    sizes = [(change.insert, len(data)) for change, data in zip(changes, encoded, strict=True)]
    return ("data", sizes), b"".join(encoded)


def _data_changes(
    text: str, base: str, operations: list[tuple[str, str, str]] | None
) -> list[DataChange] | None:
    """The quads of each DATA operation, as Oxigraph reads them; None if the split is not
    faithful to the whole update, or an insertion has blank nodes (fresh at each run)."""
    if operations is None:
        return None
    changes = []
    try:
        for keyword, prologue, block in operations:
            alone = Store()
            alone.update(f"{prologue}\nINSERT DATA {block}", base_iri=base)
            quads = list(alone)
            if keyword == "INSERT" and any(_has_blank_node(q) for q in quads):
                return None
            changes.append(DataChange(keyword == "INSERT", quads))
    except (SyntaxError, RuntimeError, OSError, ValueError):
        return None
    # The same starting store (every quad a deletion names), the whole update on one,
    # the operations quad by quad on the other: they must end equal.
    removed = [q for change in changes if not change.insert for q in change.quads]
    whole, split = Store(), Store()
    whole.extend(removed)
    split.extend(removed)
    try:
        whole.update(text, base_iri=base)
    except (SyntaxError, RuntimeError, OSError, ValueError):
        return None
    for change in changes:
        for quad in change.quads:
            (split.add if change.insert else split.remove)(quad)
    if set(whole) != set(split):
        log.warning("an update's DATA operations did not match the whole update")
        return None
    return changes


def _has_blank_node(quad: Quad) -> bool:
    return any(isinstance(term, BlankNode) for term in (quad.subject, quad.object))


def _answer(request: dict) -> children.Answer:
    """One job; an out-of-memory error in Python code is reported, not raised."""
    result: list[children.Answer] = []

    def work() -> None:
        try:
            job = _update_job if request.get("job") == "update" else _parse_job
            result.append(job(request))
        except MemoryError:
            result.append((("error", "the parser ran out of memory"), None))

    # A thread of a known stack size (see the module docstring).
    previous = threading.stack_size(CHECK_STACK)
    try:
        thread = threading.Thread(target=work, name="parse")
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)
    return result[0]


def child_main(argv: list[str]) -> int:
    return children.serve(argv, _answer, name="parsing process")


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
