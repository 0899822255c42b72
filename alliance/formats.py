"""Every syntax the project reads or writes, in one table: media types, names, suffixes.

The server's content negotiation, the Graph Store Protocol, the validation form, the command
line and the file readers each used to keep a table of their own; they now take what they
need from `FORMATS`. Parsing and writing stay pyoxigraph's (its format, `pyoxigraph`) or
rdflib's (`rdflib`, for what pyoxigraph does not read).

A textual syntax is sent with `charset=utf-8` (`content_type`); JSON and XML documents carry
their encoding themselves, and HTML pages are written by their own templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyoxigraph import QueryResultsFormat, RdfFormat


@dataclass(frozen=True)
class Format:
    """One syntax: what clients, files and libraries call it."""

    #: the name clients give in `format=` (and the command line in --format)
    name: str
    label: str
    media_type: str
    #: pyoxigraph's reader and writer (an RDF syntax, or a SPARQL results syntax)
    pyoxigraph: RdfFormat | QueryResultsFormat
    #: file suffixes that mean this syntax, the usual one first
    suffixes: tuple[str, ...] = ()
    #: other names clients give in `format=` (SPARQLWrapper sends format, output and results)
    other_names: tuple[str, ...] = ()
    #: other media types clients send for it
    other_media_types: tuple[str, ...] = ()
    #: the W3C format IRI's local name (http://www.w3.org/ns/formats/…)
    w3c: str | None = None
    #: rdflib's name for it
    rdflib: str | None = None
    #: sent with `charset=utf-8`
    textual: bool = field(default=False)

    @property
    def is_rdf(self) -> bool:
        return isinstance(self.pyoxigraph, RdfFormat)

    @property
    def holds_graphs(self) -> bool:
        """Whether it keeps the named graph of each statement (N-Quads, TriG)."""
        return isinstance(self.pyoxigraph, RdfFormat) and self.pyoxigraph.supports_datasets


#: SPARQL results syntaxes, in the order the endpoint prefers them.
RESULTS = (
    Format(
        "json",
        "SPARQL JSON",
        "application/sparql-results+json",
        QueryResultsFormat.JSON,
        (".srj",),
        other_media_types=("application/json",),
        w3c="SPARQL_Results_JSON",
    ),
    Format(
        "xml",
        "SPARQL XML",
        "application/sparql-results+xml",
        QueryResultsFormat.XML,
        (".srx",),
        other_media_types=("application/xml", "text/xml"),
        w3c="SPARQL_Results_XML",
    ),
    Format(
        "csv",
        "CSV",
        "text/csv",
        QueryResultsFormat.CSV,
        (".csv",),
        w3c="SPARQL_Results_CSV",
        textual=True,
    ),
    Format(
        "tsv",
        "TSV",
        "text/tab-separated-values",
        QueryResultsFormat.TSV,
        (".tsv",),
        w3c="SPARQL_Results_TSV",
        textual=True,
    ),
)
#: RDF syntaxes, in the order the service prefers them.
RDF = (
    Format(
        "turtle",
        "Turtle",
        "text/turtle",
        RdfFormat.TURTLE,
        (".ttl",),
        other_names=("ttl", "n3"),
        other_media_types=("application/x-turtle", "text/n3"),
        w3c="Turtle",
        rdflib="turtle",
        textual=True,
    ),
    Format(
        "ntriples",
        "N-Triples",
        "application/n-triples",
        RdfFormat.N_TRIPLES,
        (".nt",),
        other_names=("nt", "n-triples"),
        other_media_types=("text/plain",),
        w3c="N-Triples",
        rdflib="nt",
        textual=True,
    ),
    Format(
        "jsonld",
        "JSON-LD",
        "application/ld+json",
        RdfFormat.JSON_LD,
        (".jsonld", ".json"),
        other_names=("json-ld",),
        other_media_types=("application/json+ld",),
        w3c="JSON-LD",
        rdflib="json-ld",
    ),
    Format(
        "rdfxml",
        "RDF/XML",
        "application/rdf+xml",
        RdfFormat.RDF_XML,
        (".rdf", ".owl", ".xml"),
        other_names=("rdf", "rdf+xml"),
        w3c="RDF_XML",
        rdflib="xml",
    ),
    Format(
        "nquads",
        "N-Quads",
        "application/n-quads",
        RdfFormat.N_QUADS,
        (".nq",),
        other_names=("nq",),
        w3c="N-Quads",
        rdflib="nquads",
        textual=True,
    ),
    Format(
        "trig",
        "TriG",
        "application/trig",
        RdfFormat.TRIG,
        (".trig",),
        w3c="TriG",
        rdflib="trig",
        textual=True,
    ),
    Format(
        "n3",
        "Notation3",
        "text/n3",
        RdfFormat.N3,
        (".n3",),
        rdflib="n3",
        textual=True,
    ),
)
FORMATS = RESULTS + RDF
#: Formats the service writes as RDF answers (N3 is only read, from files).
WRITTEN_RDF = tuple(f for f in RDF if f.name != "n3")

BY_NAME = {name: f for f in FORMATS for name in (f.name, *f.other_names) if f.name != "n3"}
BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS}
BY_SUFFIX = {suffix: f for f in RDF for suffix in f.suffixes}
#: Media types that are read as another format's (text/plain is N-Triples).
MEDIA_TYPE_ALIASES = {
    other: f.media_type
    for f in FORMATS
    if f.name != "n3"
    for other in f.other_media_types
    if other != "text/n3"
} | {"text/n3": "text/turtle"}  # Turtle is N3: what Fuseki and Virtuoso answer for it
#: Media types of other textual answers the service writes.
TEXTUAL = frozenset(f.media_type for f in FORMATS if f.textual) | {"text/plain", "text/html"}


def content_type(media_type: str) -> str:
    """The Content-Type header for an answer of `media_type` (a charset for textual ones)."""
    return f"{media_type}; charset=utf-8" if media_type in TEXTUAL else media_type


def rdf_format_of_suffix(suffix: str) -> RdfFormat | None:
    """The RDF syntax a file name ending in `suffix` holds (`.ttl`, `.rdf`…), if any."""
    found = BY_SUFFIX.get(suffix.lower())
    return found.pyoxigraph if found is not None else None  # type: ignore[return-value]
