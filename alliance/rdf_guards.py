"""Checks on an RDF document that must run before pyoxigraph parses it.

Shared by everything that parses documents it did not write: the server's uploads
(`/store`, `/validate`) and the command line's files (`alliance ingest FILE`,
`alliance validate FILE`).

**Entities.** pyoxigraph's RDF/XML parser expands the internal entities a DOCTYPE declares,
without any cap: a 956-byte document of nested entities ("billion laughs") grew a server
worker to 21 GB, and the command line died with SIGABRT. RDF/XML has no need of a DTD,
so a document whose DOCTYPE has an internal subset (`<!DOCTYPE rdf:RDF [ … ]>`, where
entities are declared) is refused before parsing, with the line and column of the DOCTYPE.
Ontology editors still write such subsets to abbreviate namespaces: the message says to
save the file as Turtle (or RDF/XML without entities) instead.

**Nesting.** pyoxigraph's JSON-LD parser recurses once per level of nesting (a few
thousand nested objects overflow the native stack: SIGSEGV), and its RDF/XML parser is
quadratic in the depth (20,000 nested elements take seconds). No real document nests
anywhere near `MAX_DEPTH` levels, so deeper ones are refused.

The scans are lexical and linear: strings, comments and other markup that may hold any
bracket are blanked first, and a document with fewer opening brackets than the limit is
not scanned at all.
"""

from __future__ import annotations

import re

#: Deepest nesting of brackets (or JSON / XML elements) accepted in a document.
MAX_DEPTH = 256

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_XML_HIDDEN = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<![^>]*>|\"[^\"]*\"|'[^']*'", re.DOTALL
)
_XML_TAG = re.compile(rb"<(/?)[^>]*?(/?)>")
#: What may come before the root element: the XML declaration, comments, processing
#: instructions, white space, and at most one DOCTYPE.
_XML_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DOCTYPE = re.compile(
    rb"<!DOCTYPE\s+[^\s\[>]+"
    rb"(?:\s+(?:SYSTEM|PUBLIC)(?:\s+(?:\"[^\"]*\"|'[^']*')){1,2})?\s*(\[|>)"
)


class UnsafeDocument(ValueError):
    """A document refused before parsing; `line` and `column` (1-based) when they are known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def is_xml(media_type: str) -> bool:
    return "xml" in media_type


def check_document(data: bytes, media_type: str, what: str = "document") -> None:
    """Raise UnsafeDocument if the document must not reach the parser (see the module doc).

    `media_type` names its syntax (application/rdf+xml, application/ld+json…); others
    are not checked here.
    """
    if "json" in media_type:
        _check_json_depth(data, what)
    elif is_xml(media_type):
        _check_doctype(data, what)
        _check_xml_depth(data, what)


def _too_deep(what: str) -> UnsafeDocument:
    return UnsafeDocument(
        f"The {what} nests more than {MAX_DEPTH} levels; this service accepts no deeper nesting."
    )


def _depth(text: bytes, opening: bytes, closing: bytes) -> int:
    """The deepest nesting of `opening` / `closing` bytes in `text` (stops past the limit)."""
    depth = deepest = 0
    for char in text:
        if char in opening:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        elif char in closing:
            depth -= 1
    return deepest


def _check_json_depth(data: bytes, what: str) -> None:
    if data.count(b"{") + data.count(b"[") <= MAX_DEPTH:
        return
    if _depth(_JSON_STRING.sub(b'""', data), b"{[", b"}]") > MAX_DEPTH:
        raise _too_deep(f"JSON-LD {what}")


def _check_xml_depth(data: bytes, what: str) -> None:
    if data.count(b"<") <= MAX_DEPTH:
        return
    depth = 0
    for match in _XML_TAG.finditer(_XML_HIDDEN.sub(b" ", data)):
        if match.group(1):
            depth -= 1
        elif not match.group(2):
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(f"RDF/XML {what}")


def _ascii_view(data: bytes) -> bytes:
    """The document's bytes where ASCII markup can be matched (UTF-16 decoded first)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    if data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        codec = "utf-16-le" if data[0] == 0x3C else "utf-16-be"
        return data.decode(codec, errors="replace").encode("utf-8", errors="replace")
    return data


def _check_doctype(data: bytes, what: str) -> None:
    """Refuse a DOCTYPE with an internal subset (or one that cannot be read as without)."""
    text = _ascii_view(data)
    if b"<!DOCTYPE" not in text and b"<!ENTITY" not in text:
        return
    position = 0
    while match := _XML_PROLOG_ITEM.match(text, position):
        position = match.end()
    if not text.startswith(b"<!DOCTYPE", position):
        if b"<!ENTITY" in text[:position]:  # a declaration outside any DOCTYPE: malformed
            raise _entities(text, text.index(b"<!ENTITY"), what)
        return
    doctype = _DOCTYPE.match(text, position)
    if doctype is None or doctype.group(1) == b"[":
        raise _entities(text, position, what)


def _entities(text: bytes, offset: int, what: str) -> UnsafeDocument:
    line = text.count(b"\n", 0, offset) + 1
    column = offset - (text.rfind(b"\n", 0, offset) + 1) + 1
    return UnsafeDocument(
        f"The RDF/XML {what} declares a DOCTYPE with an internal subset (line {line}, column "
        f"{column}): entity declarations (<!ENTITY …>) are refused, since expanding them can "
        "take any amount of memory. Save the data as Turtle, or as RDF/XML without a DOCTYPE "
        "(with full IRIs instead of entities).",
        line,
        column,
    )
