"""Which outbound requests a SPARQL text may make the server send: none, unless listed.

pyoxigraph (like rdflib) runs SERVICE by fetching the service IRI over HTTP, and
LOAD by fetching the source, and nothing in its API turns that off: the service
must stop such text before it reaches the store.

* By default SERVICE (queries and updates) and LOAD (updates) are refused by the
  lexical scan of alliance/sparql_text.py, which reads every spelling Oxigraph's grammar
  or the specification's accepts (letter case, codepoint escapes, keywords glued
  to other tokens, comments between tokens). The scan never needs to understand
  the text, so it cannot be talked out of a refusal by text a parser reads
  differently.
* With an allowlist (`--service-allow`, `--load-allow`), a text whose SERVICE or
  LOAD targets are all constant IRIs of the list runs. The targets are read by a
  real parser (rdflib's), after prefix expansion; since rdflib and Oxigraph do
  not read every text alike, the text is refused unless the parser finds exactly
  as many calls as the scan, and texts whose reading could differ (codepoint
  escapes, BASE, relative IRIs) are refused rather than interpreted.

Only http and https IRIs can ever be listed: `file:` and every other scheme are
refused here and when the server starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from alliance.sparql_text import has_codepoint_escapes, has_word, keyword_count

#: Longest text whose targets are read by rdflib's parser (pyparsing is slow on big texts).
PARSE_LIMIT = 100_000
SCHEMES = ("http", "https")


class Refused(Exception):
    """The text would make the server fetch something it may not; the message says what."""


def allowed_target(value: str) -> str:
    """`value` if it may ever be listed (an absolute http(s) IRI with a host), else ValueError."""
    parts = urlsplit(value)
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute http(s) IRI; only those can be allowed")
    if any(c.isspace() or c in '<>"{}|^`\\' for c in value):
        raise ValueError(f"{value!r} is not a valid IRI")
    return value


def allowlist(values: Iterable[str]) -> tuple[str, ...]:
    """The allowlist given on the command line or in the environment (space-separated)."""
    return tuple(allowed_target(v) for value in values for v in value.split())


def check_query(text: str, services: Iterable[str] = ()) -> None:
    """Raise Refused unless every SERVICE of the query targets an IRI of `services`."""
    _check(text, {"SERVICE": frozenset(services)}, update=False)


def check_update(text: str, services: Iterable[str] = (), loads: Iterable[str] = ()) -> None:
    """Raise Refused unless every SERVICE and LOAD of the update targets an allowed IRI."""
    _check(text, {"SERVICE": frozenset(services), "LOAD": frozenset(loads)}, update=True)


def _check(text: str, allowed: dict[str, frozenset[str]], *, update: bool) -> None:
    present = [keyword for keyword in allowed if has_word(text, keyword)]
    for keyword in present:
        if not allowed[keyword]:
            raise Refused(f"{keyword} is disabled on this endpoint.")
    if not present:
        return
    names = " and ".join(present)
    if has_codepoint_escapes(text):
        raise Refused(f"{names} targets are not read in a text with \\u escapes; write them out.")
    if has_word(text, "BASE"):
        raise Refused(f"{names} targets are not read in a text with BASE; use absolute IRIs.")
    if len(text) > PARSE_LIMIT:
        raise Refused(f"{names} targets are read in texts of at most {PARSE_LIMIT:,} characters.")
    found = _targets(text, update=update)
    for keyword in present:
        targets = found.get(keyword, [])
        if len(targets) != keyword_count(text, keyword):
            raise Refused(
                f"The {keyword} targets of this text could not all be read; "
                f"write each {keyword} with a constant IRI."
            )
        for target in targets:
            if target is None:
                raise Refused(f"{keyword} with a variable target is not allowed here.")
            if target not in allowed[keyword] or urlsplit(target).scheme.lower() not in SCHEMES:
                raise Refused(f"{keyword} <{target}> is not allowed on this endpoint.")


def _targets(text: str, *, update: bool) -> dict[str, list[str | None]]:
    """The IRI of each SERVICE and LOAD, as rdflib's parser reads them (None: a variable)."""
    from rdflib import URIRef
    from rdflib.plugins.sparql.algebra import translateQuery, translateUpdate
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    try:
        if update:
            nodes = list(_nodes(translateUpdate(parseUpdate(text)).algebra))
        else:
            nodes = list(_nodes(translateQuery(parseQuery(text)).algebra))
    except RecursionError:
        raise Refused("The SERVICE targets could not be read (nested SERVICE).") from None
    except Exception as exc:  # any failure to read the text is a refusal, never a pass
        raise Refused(f"The SERVICE / LOAD targets could not be read: {exc}") from None
    found: dict[str, list[str | None]] = {"SERVICE": [], "LOAD": []}
    for name, term in nodes:
        keyword = "SERVICE" if name == "ServiceGraphPattern" else "LOAD"
        found[keyword].append(str(term) if isinstance(term, URIRef) else None)
    return found


def _nodes(value: object) -> Iterator[tuple[str, object]]:
    """(name, target) of each ServiceGraphPattern and Load in an rdflib algebra tree."""
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [value]
    while stack:  # iterative: the tree may be deep
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "ServiceGraphPattern":
                yield item.name, item.get("term")
            elif item.name == "Load":
                yield item.name, item.get("iri")
            stack.extend(item.values())
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set):
            stack.extend(item)
