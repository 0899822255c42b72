"""Printing query results: a readable table, or a W3C format serialised by pyoxigraph.

Also the plain JSON value of a term (`plain_value`), for clients that want rows of values
rather than the W3C JSON's typed bindings.
"""

from __future__ import annotations

import math
import re
from typing import IO

from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    serialize,
)

from alliance import formats
from alliance.namespaces import PREFIXES, XSD

#: What `alliance query --format` writes besides its table (alliance.formats' names).
RESULTS_FORMATS: dict[str, QueryResultsFormat] = {
    f.name: f.pyoxigraph  # type: ignore[misc]
    for f in formats.RESULTS
}
GRAPH_FORMATS: dict[str, RdfFormat] = {
    name: formats.BY_NAME[name].pyoxigraph  # type: ignore[misc]
    for name in ("turtle", "ntriples", "jsonld")
}
#: Longest namespaces first, so that `id:` does not shadow a longer one.
_BY_LENGTH = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))


#: Datatypes whose values are JSON integers, and JSON numbers.
INTEGER_TYPES = frozenset(
    XSD + name
    for name in (
        "integer int long short byte nonNegativeInteger positiveInteger negativeInteger "
        "nonPositiveInteger unsignedLong unsignedInt unsignedShort unsignedByte"
    ).split()
)
NUMBER_TYPES = frozenset(XSD + name for name in ("decimal", "double", "float"))
BOOLEAN_TYPE = XSD + "boolean"


class OutputError(ValueError):
    """The asked format does not fit the kind of result."""


#: Local names that stay valid SPARQL once prefixed (no "/" or other reserved characters).
_PLAIN_LOCAL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")


def short(term: object) -> str:
    """A term as a person reads it and can paste back into a query.

    IRIs become prefixed names when the local part is plain (`alli:memberOf`);
    others, such as `…/id/commune/69123`, stay whole IRIs.
    """
    if isinstance(term, NamedNode):
        for prefix, iri in _BY_LENGTH:
            local = term.value[len(iri) :]
            if term.value.startswith(iri) and _PLAIN_LOCAL.match(local):
                return f"{prefix}:{local}"
        return f"<{term.value}>"
    if isinstance(term, Literal):
        return term.value + (f"@{term.language}" if term.language else "")
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    return "" if term is None else str(term)


def plain_value(term: object) -> str | int | float | bool | None:
    """A term as a plain JSON value: an IRI or a text as a string, a number as a number.

    Integers and decimals become JSON numbers, booleans JSON booleans; any other literal is
    its lexical form, a language tag dropped (the query names its columns by language, and
    the W3C formats keep the tag); a blank node is `_:id`; unbound is None. A value that
    does not parse as its datatype (or is NaN or infinite) stays a string.
    """
    if term is None:
        return None
    if isinstance(term, NamedNode):
        return term.value
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    if isinstance(term, Literal):
        datatype = term.datatype.value
        try:
            if datatype in INTEGER_TYPES:
                return int(term.value)
            if datatype in NUMBER_TYPES:
                number = float(term.value)
                return number if math.isfinite(number) else term.value
        except ValueError:
            return term.value
        if datatype == BOOLEAN_TYPE and term.value in ("true", "false", "1", "0"):
            return term.value in ("true", "1")
        return term.value
    return str(term)  # RDF-star triples: their N-Triples text


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain text table with aligned columns."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out) + "\n"


def print_results(result: object, fmt: str, out: IO[bytes]) -> None:
    """Write `result` (from GraphStore.query) to `out` in `fmt`."""
    if isinstance(result, QuerySolutions):
        if fmt in RESULTS_FORMATS:
            result.serialize(out, format=RESULTS_FORMATS[fmt])
            return
        if fmt != "table":
            raise OutputError(f"{fmt} is for CONSTRUCT/DESCRIBE; use table, json, xml, csv or tsv")
        header = [v.value for v in result.variables]
        rows = [[short(solution[v]) for v in header] for solution in result]
        out.write(table(header, rows).encode())
    elif isinstance(result, QueryBoolean):
        if fmt in RESULTS_FORMATS:
            result.serialize(out, format=RESULTS_FORMATS[fmt])
        else:
            out.write(b"true\n" if bool(result) else b"false\n")
    elif isinstance(result, QueryTriples):
        rdf_format = GRAPH_FORMATS.get("turtle" if fmt == "table" else fmt)
        if rdf_format is None:
            raise OutputError(f"{fmt} is for SELECT/ASK; use turtle, ntriples or jsonld")
        serialize(result, out, format=rdf_format, prefixes=PREFIXES)
    out.flush()
