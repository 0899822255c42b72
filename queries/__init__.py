"""Named SPARQL queries: one `.rq` file per question users ask of the graph.

The name of a query is its file name without `.rq`. The text is plain SPARQL 1.1 that uses the
project's prefixes (`alli:`, `igeo:`, `org:`, `skos:`, `dcterms:`, `prov:`…) without declaring
them: they are prepended when the query runs. IRIs whose local name would hold a `/` (every
`https://w3id.org/alliance/id/…` and `…/vocab/…` IRI) are written in full, `<…>`.

Each file starts with a header of `#` comment lines, `# key: value`; a value goes on over the
following lines that start with `#` and at least two spaces:

    # title: Communes of an EPCI
    # description: The member communes of one EPCI with their INSEE code and population.
    # note: the population is the municipal population of the reference data.
    # param: epci iri example https://w3id.org/alliance/id/epci/200046977 — the EPCI.
    # param: minPopulation integer default 0 — leave out communes with fewer inhabitants;
    #   continued here.

`title` and `description` are required; `question` names the competency question a query
answers (cq1…cq9, as `# question: 9`); `note` says what a user should know (a cap, a
caveat). A header line that is neither `# key: value` nor a continuation is an error: free
comments go after the first line of SPARQL. There is one `param` line per parameter, in this
exact syntax:

    # param: NAME TYPE [optional | default VALUE] [example VALUE] — DESCRIPTION

- NAME is a variable of the query, written without `?`, that appears in its SELECT projection
  (pyoxigraph binds only projected variables). `format` is reserved for the web API.
- TYPE is one of `iri` (an absolute http or https IRI, written bare or in `<…>`), `string`,
  `integer` (64-bit, `xsd:integer`), `date` (`YYYY-MM-DD`, `xsd:date`) or `boolean` (`true`
  or `false`, `xsd:boolean`). Values are taken as written: no spaces are trimmed.
- `default VALUE` binds VALUE when the caller gives none; `optional` leaves the variable
  unbound when the caller gives none, so the query answers for every value. Without either
  the parameter is required.
- `variable VAR` binds the value to `?VAR` rather than to the variable of the parameter's own
  name, for a query whose answer has a column of that name with another meaning.
- `example VALUE` is a value that gives answers on the bundled data (the default when absent;
  every parameter needs one or the other): the API's documentation, its OpenAPI description
  and the tests use it. A VALUE with spaces is written in double quotes.
- The description follows an em dash `—` (or ` -- `).

Values are never pasted into the query: `NamedQuery.bind` parses each one as its declared type
into an RDF term, and the store binds the terms to the variables (pyoxigraph's
`substitutions`). A bound variable is seen by triple patterns and FILTER expressions, but not
by BOUND() nor by BIND in a group where no pattern binds it: queries use parameters in
patterns and comparisons only. A query also runs with nothing bound (the SPARQL page's
examples, `GraphStore.query` without substitutions): an unbound variable in a pattern matches
every value, and a FILTER writes `COALESCE(?param, default)` with the declared default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alliance.namespaces import sparql_prefixes
from alliance.queries.parameters import (
    DeclarationError,
    Parameter,
    ParameterError,
    Term,
    bind,
    parse_declaration,
)

__all__ = [
    "DeclarationError",
    "NamedQuery",
    "Parameter",
    "ParameterError",
    "QueryFileError",
    "named_queries",
    "read_query",
]

QUERIES_DIR = Path(__file__).resolve().parent
HEADER_LINE = re.compile(r"^# ?([A-Za-z_-]+)\s*:\s*(.*)$")
CONTINUATION = re.compile(r"^#\s{2,}(\S.*)$")


class QueryFileError(ValueError):
    """A query file whose header does not follow the syntax above."""


@dataclass(frozen=True)
class NamedQuery:
    name: str
    path: Path
    title: str
    description: str
    text: str
    #: every header key but `param`, with its value
    header: dict[str, str] = field(default_factory=dict)
    #: the declared parameters, in file order
    parameters: tuple[Parameter, ...] = ()

    def sparql(self) -> str:
        """The query with the project's prefixes declared ahead of its own."""
        return sparql_prefixes() + self.text

    def bind(self, given: Mapping[str, str]) -> dict[str, Term]:
        """Terms for the store's `substitutions`, from text values by parameter name.

        Defaults are filled in; raises ParameterError for an unknown or missing
        parameter or a value that is not of the declared type.
        """
        return bind(self.parameters, given)


def read_header(path: Path, text: str) -> list[tuple[str, str]]:
    """The `(key, value)` pairs of the leading comment block, continuation lines joined."""
    entries: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        continued = CONTINUATION.match(line)
        if continued and entries:
            key, value = entries[-1]
            entries[-1] = (key, f"{value} {continued.group(1).strip()}")
            continue
        match = HEADER_LINE.match(line)
        if match:
            entries.append((match.group(1).lower(), match.group(2).strip()))
        elif line.strip("# "):
            raise QueryFileError(f"{path.name}, line {number}: expected '# key: value'")
    return entries


def read_query(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    header: dict[str, str] = {}
    parameters: list[Parameter] = []
    for key, value in read_header(path, text):
        if key != "param":
            header[key] = value
            continue
        try:
            parameter = parse_declaration(value)
        except DeclarationError as exc:
            raise QueryFileError(f"{path.name}: param {exc}") from None
        if not re.search(rf"[?$]{parameter.var}\b", body):
            raise QueryFileError(f"{path.name}: param {parameter.name} is not a query variable")
        if any(p.name == parameter.name for p in parameters):
            raise QueryFileError(f"{path.name}: param {parameter.name} is declared twice")
        parameters.append(parameter)
    return NamedQuery(
        name=path.stem,
        path=path,
        title=header.get("title", path.stem),
        description=header.get("description", ""),
        text=text,
        header=header,
        parameters=tuple(parameters),
    )


def named_queries(directory: Path = QUERIES_DIR) -> dict[str, NamedQuery]:
    """Every named query in `directory`, by name."""
    return {p.stem: read_query(p) for p in sorted(directory.glob("*.rq"))}
