"""Checks on request text that must run before a parser sees it.

**SPARQL shape.** Oxigraph's SPARQL parser recurses once per level of nesting and builds
one tree level per operator of a chain: a few thousand nested `{`, `(` or `[`, or a
few thousand `!`, `+` or `&&` in a row (`FILTER(!!!…!true)`, `1 + 1 + …`), overflow the
native stack and the process dies with SIGSEGV; a property path of a few hundred steps
takes it seconds, of a thousand minutes. Queries and updates are parsed in child
processes (store/isolated.py, sandbox.py), where a crash costs no worker, but a client
deserves a clear answer: so deeper or longer text is refused with a 400 naming the limit
before it is parsed. The limits (`MAX_DEPTH`, `MAX_CHAIN`, `MAX_PATH`) are far beyond any
real query and far below what breaks the parser (about 4,000 operators on a 4 MiB stack).

An operator chain is counted lexically, on the text with its IRIs, strings and comments
blanked (sparql_text.blanked): the operators between two separators (`.`, `,`, `;`),
where operands and operators alternate; two operands side by side (the values of a
VALUES block, the terms of a triple) end a chain. A chain inside brackets adds to the
chain around them, as the parser's tree does. Signed numbers count as operands.

**RDF documents.** Nesting and entity declarations: see alliance.rdf_guards.

**Encoding.** Werkzeug decodes a query string or form body with replacement characters, so
a query sent by GET with invalid UTF-8 would run, silently changed; it is refused instead,
like an invalid UTF-8 body.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from alliance import rdf_guards
from alliance.rdf_guards import MAX_DEPTH
from alliance.server.web.errors import ProtocolError
from alliance.sparql_text import blanked

__all__ = ["MAX_CHAIN", "MAX_DEPTH", "MAX_PATH", "check_rdf_document", "check_sparql_nesting"]

#: Most operators in one chain of an expression (nested chains counted together).
MAX_CHAIN = 1000
#: Most steps (`/`, `|`, `^`) in one property path (nested paths counted together).
MAX_PATH = 100

_NAME = r"\w\u00b7\u0300-\u036f\u203f-\u2040"
_SHAPE_TOKEN = re.compile(
    r"(?P<open>[{(\[])|(?P<close>[})\]])"
    rf"|(?P<operand>[+-]?\.?\d[\w.]*(?:[eE][+-]?\d+)?|[?$@:%{_NAME}][{_NAME}.:%\-]*)"
    r"|(?P<datatype>\^\^)"
    r"|(?P<op>&&|\|\||!=|<=|>=)"
    r"|(?P<path>[/|^])"
    r"|(?P<op1>[!+\-*=<>])"
    r"|(?P<separator>[.;,])"
)
_OPERATOR_CHARS = "!+-*/|^&=<>"


def _refused(message: str) -> ProtocolError:
    return ProtocolError(400, message)


def check_sparql_nesting(text: str, what: str = "query") -> None:
    """Raise ProtocolError 400 if a SPARQL text nests deeper than MAX_DEPTH, or chains more
    than MAX_CHAIN operators or MAX_PATH path steps (see the module docstring)."""
    brackets = sum(text.count(c) for c in "{([")
    operators = sum(text.count(c) for c in _OPERATOR_CHARS)
    if brackets <= MAX_DEPTH and operators <= MAX_PATH:
        return
    _check_shape(blanked(text), what)


def _check_shape(bare: str, what: str) -> None:
    # Per open bracket: the chain and path counts around it, and whether an operand ended it.
    outer: list[tuple[int, int]] = []
    chain = path = 0  # counts of the current chain, outer chains included
    base_chain = base_path = 0  # what the enclosing brackets contribute
    after_operand = False
    for match in _SHAPE_TOKEN.finditer(bare):
        kind = match.lastgroup
        if kind == "open":
            outer.append((base_chain, base_path))
            base_chain, base_path = chain, path
            if len(outer) > MAX_DEPTH:
                raise _refused(
                    f"The {what} nests more than {MAX_DEPTH} levels of brackets; this server "
                    "accepts no deeper nesting."
                )
            after_operand = False
        elif kind == "close":
            if outer:
                base_chain, base_path = outer.pop()
            chain, path = base_chain, base_path
            after_operand = True  # a bracketed group is an operand
        elif kind == "operand":
            if after_operand:  # two operands side by side: a new chain starts
                chain, path = base_chain, base_path
            after_operand = True
        elif kind == "separator":
            chain, path = base_chain, base_path
            after_operand = False
        elif kind == "datatype":
            after_operand = False  # "1"^^xsd:int is one operand
        else:
            chain += 1
            if kind == "path":
                path += 1
            after_operand = False
            if chain > MAX_CHAIN:
                raise _refused(
                    f"The {what} chains more than {MAX_CHAIN} operators in one expression; "
                    "this server accepts no longer chains."
                )
            if path > MAX_PATH:
                raise _refused(
                    f"The {what} has a property path of more than {MAX_PATH} steps; this "
                    "server accepts no longer paths."
                )


def check_rdf_document(data: bytes, media_type: str, what: str = "body") -> None:
    """Raise ProtocolError 400 for a document alliance.rdf_guards refuses (entities, depth)."""
    try:
        rdf_guards.check_document(data, media_type, what)
    except rdf_guards.UnsafeDocument as exc:
        raise _refused(exc.message) from None


def check_utf8_parameters(raw: bytes, what: str = "query string") -> None:
    """Raise ProtocolError 400 if a URL-encoded query string or form is not UTF-8."""
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, f"The {what} is not valid UTF-8: {exc}") from None
