"""Checks on request text that must run before a parser sees it.

**Nesting.** Oxigraph's SPARQL parser and pyoxigraph's JSON-LD parser recurse once per
level of nesting: a few thousand nested `{`, `(` or `[` (or JSON objects) overflow the
native stack and the process dies with SIGSEGV; that kills a gunicorn worker and every
request it was serving (or, for queries run in a query process, answers 500). Its
RDF/XML parser is quadratic in the depth (20,000 nested elements take seconds). No real
query or document nests anywhere near `MAX_DEPTH` levels, so deeper text is refused with
a 400 before it is parsed.

The scans are lexical and linear: strings, IRIs and comments are blanked first (they may
hold any bracket), and a text with fewer opening brackets than the limit is not scanned.

**Encoding.** Werkzeug decodes a query string or form body with replacement characters, so
a query sent by GET with invalid UTF-8 would run, silently changed; it is refused instead,
like an invalid UTF-8 body.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from alliance.server.sparql_errors import ProtocolError

#: Deepest nesting of brackets (or JSON / XML elements) accepted in a request's text.
MAX_DEPTH = 256

_SPARQL_HIDDEN = re.compile(
    r"""<[^<>"{}|^`\\\x00-\x20]*>"""  # IRIs
    r'''|"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\''''  # long strings
    r"""|"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*'"""  # strings
    r"|#[^\n\r]*",  # comments
    re.DOTALL,
)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_XML_HIDDEN = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<![^>]*>|\"[^\"]*\"|'[^']*'", re.DOTALL
)
_XML_TAG = re.compile(rb"<(/?)[^>]*?(/?)>")


def _depth(text: str, opening: str, closing: str) -> int:
    """The deepest nesting of `opening` / `closing` characters in `text` (stops past the limit)."""
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


def _too_deep(what: str) -> ProtocolError:
    return ProtocolError(
        400,
        f"The {what} nests more than {MAX_DEPTH} levels of brackets; this server accepts no "
        "deeper nesting.",
    )


def check_sparql_nesting(text: str, what: str = "query") -> None:
    """Raise ProtocolError 400 if a SPARQL text nests `{ ( [` deeper than MAX_DEPTH."""
    opening = sum(text.count(c) for c in "{([")
    if opening <= MAX_DEPTH:
        return
    bare = _SPARQL_HIDDEN.sub(" ", text)
    if _depth(bare, "{([", "})]") > MAX_DEPTH:
        raise _too_deep(what)


def check_rdf_nesting(data: bytes, media_type: str, what: str = "body") -> None:
    """Raise ProtocolError 400 if a JSON-LD or RDF/XML document nests deeper than MAX_DEPTH."""
    if "json" in media_type:
        if data.count(b"{") + data.count(b"[") <= MAX_DEPTH:
            return
        bare = _JSON_STRING.sub(b'""', data).decode("latin-1")  # brackets are ASCII
        if _depth(bare, "{[", "}]") > MAX_DEPTH:
            raise _too_deep(f"JSON-LD {what}")
    elif "xml" in media_type:
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


def check_utf8_parameters(raw: bytes, what: str = "query string") -> None:
    """Raise ProtocolError 400 if a URL-encoded query string or form is not UTF-8."""
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, f"The {what} is not valid UTF-8: {exc}") from None
