"""Reading a server's answers into the types the embedded store returns.

SPARQL JSON and XML results are parsed by pyoxigraph; Virtuoso's JSON is normalised first:
it writes blank nodes as `nodeID://b123` (not a valid label), literals as the old
`typed-literal`, and ASK answers as a one-row SELECT of `__ASK_RETVAL`. Graph answers are
loaded into a small in-memory store, whose CONSTRUCT gives the QueryTriples callers expect.
"""

from __future__ import annotations

import json
import re

from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    Quad,
    QueryBoolean,
    QueryResultsFormat,
    RdfFormat,
    Store,
    parse,
    parse_query_results,
)

from alliance.store.errors import StoreError
from alliance.store.limits import QueryResult


def parse_answer(
    body: bytes,
    media_type: str,
    *,
    url: str,
    normalise_json: bool,
    substitutions: dict[str, object],
) -> QueryResult:
    """The answer `url` gave (`media_type`), as a QuerySolutions, QueryBoolean or QueryTriples."""
    if media_type in ("application/sparql-results+json", "application/json"):
        if normalise_json:
            body, boolean = _normalise_json(body, substitutions)
            if boolean is not None:
                return _boolean(boolean)
        return parse_query_results(body, QueryResultsFormat.JSON)
    if media_type == "application/sparql-results+xml":
        return parse_query_results(body, QueryResultsFormat.XML)
    rdf = RdfFormat.from_media_type(media_type)
    if media_type == "text/plain":
        rdf = RdfFormat.N_TRIPLES
    if rdf is None:
        raise StoreError(f"{url} answered in an unexpected format: {media_type!r}")
    # A QueryTriples (what the embedded store returns for CONSTRUCT and DESCRIBE) can
    # only come from pyoxigraph's own engine: load the answer into a small store.
    local = Store()
    try:
        local.bulk_extend(Quad(t.subject, t.predicate, t.object) for t in parse(body, rdf))
    except SyntaxError as exc:
        raise StoreError(f"{url} answered malformed RDF: {exc}") from exc
    return local.query("CONSTRUCT WHERE { ?s ?p ?o }")


def _boolean(value: bool) -> QueryBoolean:
    result = parse_query_results(
        json.dumps({"head": {}, "boolean": value}).encode(), QueryResultsFormat.JSON
    )
    assert isinstance(result, QueryBoolean)
    return result


_BNODE_CHARS = re.compile(r"[^A-Za-z0-9_]")


def _normalise_json(
    body: bytes, substitutions: dict[str, object] | None = None
) -> tuple[bytes, bool | None]:
    """Virtuoso's JSON results made standard; the boolean when it answered an ASK.

    Its ASK answer is a SELECT of one `__ASK_RETVAL` integer; its blank node labels are
    `nodeID://b123` (pyoxigraph accepts only the N-Triples label syntax). It also stores no
    xsd:boolean (`false` comes back as `0`), so a substituted variable is given back as the
    term it was bound to, as pyoxigraph's substitution does.
    """
    fixed = {name: _json_term(term) for name, term in (substitutions or {}).items()}
    document = json.loads(body)
    variables = document.get("head", {}).get("vars", [])
    bindings = document.get("results", {}).get("bindings", [])
    if variables == ["__ASK_RETVAL"]:
        value = bindings[0].get("__ASK_RETVAL", {}).get("value", "0") if bindings else "0"
        return body, value not in ("0", "false")
    for binding in bindings:
        for name in fixed.keys() & binding.keys():
            binding[name] = fixed[name]
        for term in binding.values():
            kind = term.get("type")
            if kind == "typed-literal":
                term["type"] = "literal"
            elif kind == "bnode":
                term["value"] = _BNODE_CHARS.sub("_", term["value"].removeprefix("nodeID://"))
    return json.dumps(document).encode(), None


def _json_term(term: object) -> dict[str, str]:
    """A term in the SPARQL JSON results format."""
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        if term.language:
            return {"type": "literal", "value": term.value, "xml:lang": term.language}
        return {"type": "literal", "value": term.value, "datatype": term.datatype.value}
    return {"type": "literal", "value": str(term)}
