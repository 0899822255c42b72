"""Query parameters: their `# param:` declaration, and turning a client's text into an RDF term.

A value is never pasted into SPARQL: it is parsed and checked against its declared type, and
the resulting pyoxigraph term is bound by the engine (pyoxigraph's `substitutions`). The
syntax is documented in the package docstring (`alliance.queries`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from pyoxigraph import Literal, NamedNode

from alliance.namespaces import XSD

#: The types a parameter may declare.
TYPES = ("iri", "string", "integer", "date", "boolean")
#: SPARQL variable names (without `?`) that may be parameters.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Separates the declaration from the description: an em dash, or ` -- ` in plain ASCII.
DASH = re.compile(r"\s+(?:—|--)\s+|\s+(?:—|--)$")
#: Names a client cannot use for a parameter: the API reads them itself.
RESERVED = frozenset({"format"})
#: Longest string value accepted (a name or a fragment of one, not a document).
MAX_STRING = 500
#: xsd:integer as Oxigraph evaluates it: a signed 64-bit integer.
INT64 = (-(2**63), 2**63 - 1)
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
#: IRI characters beyond ASCII: accented Latin letters (write others percent-encoded). The
#: whole of RFC 3987's ucschar would do, but makes the OpenAPI pattern slow to test against.
_UCS = "\u00c0-\u024f"
_CHAR = f"(?:[A-Za-z0-9._~!$&'()*+,;=:@/?{_UCS}-]|%[0-9A-Fa-f]{{2}})"
#: The http(s) IRIs a parameter accepts: a host name, a port, a path, a query, a fragment, all
#: without spaces, quotes or brackets (also the OpenAPI `pattern`, so both agree exactly).
_IRI = (
    f"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~{_UCS}-]+(?::[0-9]{{1,5}})?"
    f"(?:[/?]{_CHAR}*)?(?:#{_CHAR}*)?"
)
#: Written bare or in angle brackets, as in SPARQL and Turtle.
IRI_PATTERN = f"^(?:{_IRI}|<{_IRI}>)$"
IRI = re.compile(IRI_PATTERN)
XSD_DATE = NamedNode(XSD + "date")

Term = NamedNode | Literal


class DeclarationError(ValueError):
    """A `# param:` line that does not follow the syntax."""


class ParameterError(ValueError):
    """A value a client gave (or left out) that the query cannot take."""

    def __init__(self, parameter: str, reason: str):
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: a variable of the query's projection that a client may bind."""

    name: str
    type: str
    required: bool
    description: str
    default: str | None = None
    example: str | None = None
    #: the query variable bound, when it differs from the name (a column that must keep the
    #: parameter's name for another meaning, e.g. `date` asked vs an agreement's `date`)
    variable: str = ""

    @property
    def var(self) -> str:
        """The SPARQL variable (without `?`) the value is bound to."""
        return self.variable or self.name

    def parse(self, text: str) -> Term:
        """The RDF term for `text`, or ParameterError saying what is wrong with it."""
        try:
            return PARSERS[self.type](text)
        except ValueError as exc:
            raise ParameterError(self.name, str(exc)) from None

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": json_value(self.type, self.default),
            "example": json_value(self.type, self.example),
            "description": self.description,
        }


def parse_iri(text: str) -> NamedNode:
    value = text[1:-1] if text.startswith("<") and text.endswith(">") else text
    if not value:
        raise ValueError("empty value: expected an absolute http(s) IRI")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http(s) IRI")
    if not IRI.match(text):
        raise ValueError(f"{value!r} is not a valid IRI (unexpected character or escape)")
    try:
        return NamedNode(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IRI ({exc})") from None


def parse_string(text: str) -> Literal:
    if not text:
        raise ValueError("empty value: expected some text")
    if len(text) > MAX_STRING:
        raise ValueError(f"too long: at most {MAX_STRING} characters")
    return Literal(text)


def parse_integer(text: str) -> Literal:
    if not re.fullmatch(r"[+-]?[0-9]{1,19}", text):
        raise ValueError(f"{text!r} is not an integer")
    number = int(text)
    if not INT64[0] <= number <= INT64[1]:
        raise ValueError(f"{number} is out of range (64-bit integers)")
    return Literal(number)


def parse_date(text: str) -> Literal:
    value = text
    if not DATE.match(value):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    year, rest = value.split("-", 1)
    try:  # year 0000 is valid in xsd:date (XSD 1.1) but not in Python: check its days on 2000
        date.fromisoformat(("2000" if year == "0000" else year) + "-" + rest)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date") from None
    return Literal(value, datatype=XSD_DATE)


def parse_boolean(text: str) -> Literal:
    if text in ("true", "false"):
        return Literal(text == "true")
    raise ValueError(f"{text!r} is not a boolean: use true or false")


PARSERS = {
    "iri": parse_iri,
    "string": parse_string,
    "integer": parse_integer,
    "date": parse_date,
    "boolean": parse_boolean,
}


def json_value(kind: str, text: str | None) -> object:
    """A declared value (default, example) as JSON: numbers and booleans typed, IRIs bare."""
    if text is None:
        return None
    if kind == "integer":
        return int(text)
    if kind == "boolean":
        return text == "true"
    if kind == "iri":
        return text.removeprefix("<").removesuffix(">")
    return text


def parse_declaration(line: str) -> Parameter:
    """A Parameter from the text after `# param:` (continuation lines joined with spaces)."""
    parts = DASH.split(line, maxsplit=1)
    spec = parts[0]
    description = parts[1].strip() if len(parts) > 1 else ""
    try:
        tokens = shlex.split(spec, comments=False, posix=True)
    except ValueError as exc:
        raise DeclarationError(f"{line!r}: {exc}") from None
    if len(tokens) < 2:
        raise DeclarationError(f"{line!r}: expected NAME TYPE, then options and a description")
    name, kind, *options = tokens
    if not NAME.match(name) or name in RESERVED:
        raise DeclarationError(f"{line!r}: {name!r} cannot name a parameter")
    if kind not in TYPES:
        raise DeclarationError(f"{line!r}: type {kind!r} is not one of {', '.join(TYPES)}")
    values: dict[str, str] = {}
    optional = False
    while options:
        word = options.pop(0)
        if word == "optional":
            optional = True
        elif word in ("default", "example", "variable") and options and word not in values:
            values[word] = options.pop(0)
        else:
            raise DeclarationError(f"{line!r}: unexpected {word!r}")
    if not description:
        raise DeclarationError(f"{line!r}: no description (write it after ' — ')")
    parameter = Parameter(
        name=name,
        type=kind,
        required=not optional and "default" not in values,
        description=description,
        default=values.get("default"),
        example=values.get("example", values.get("default")),
        variable=values.get("variable", ""),
    )
    if parameter.variable and not NAME.match(parameter.variable):
        raise DeclarationError(f"{line!r}: {parameter.variable!r} cannot name a variable")
    for which in ("default", "example"):
        if values.get(which) is not None:
            try:
                parameter.parse(values[which])
            except ParameterError as exc:
                raise DeclarationError(f"{line!r}: {which} {exc.reason}") from None
    return parameter


def bind(parameters: tuple[Parameter, ...], given: Mapping[str, str]) -> dict[str, Term]:
    """The terms to substitute for `given` text values, defaults filled in, by query variable.

    Raises ParameterError for an unknown or missing parameter, or a value of the wrong type.
    Optional parameters without a default stay unbound: the query then answers for every value.
    """
    declared = {p.name: p for p in parameters}
    for name in given:
        if name not in declared:
            accepted = ", ".join(declared) or "none"
            raise ParameterError(name, f"unknown parameter (this query accepts: {accepted})")
    terms: dict[str, Term] = {}
    for parameter in parameters:
        text = given.get(parameter.name)
        if text is None:
            if parameter.default is not None:
                text = parameter.default
            elif parameter.required:
                raise ParameterError(parameter.name, f"missing (a required {parameter.type})")
            else:
                continue
        terms[parameter.var] = parameter.parse(text)
    return terms
