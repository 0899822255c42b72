"""Sources made of RDF files: the ontology and SKOS schemes, or any file a user names.

Parsing is pyoxigraph's; a syntax error becomes a SourceError that names the
file, line and column. RDF/XML declaring entities and documents nested too deeply are
refused before parsing (alliance.rdf_guards).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import NamedNode, RdfFormat, Triple, parse

from alliance import formats
from alliance.ingest.source import Progress, SourceError, no_progress
from alliance.namespaces import ONTOLOGY_IRI
from alliance.ontology import ontology_files
from alliance.problems import Problem
from alliance.rdf_guards import UnsafeDocument, check_document

#: File name endings and the RDF syntax they hold (alliance.formats).
SUFFIXES: dict[str, RdfFormat] = {
    suffix: f.pyoxigraph
    for suffix, f in formats.BY_SUFFIX.items()
    if isinstance(f.pyoxigraph, RdfFormat) and f.name not in ("nquads", "trig")
}


def rdf_format(path: Path) -> RdfFormat | None:
    """The RDF syntax of a file, from its name."""
    return SUFFIXES.get(path.suffix.lower())


def _location(exc: SyntaxError) -> tuple[int | None, int | None]:
    """Line and column (1-based) of a pyoxigraph syntax error, when it says."""
    if exc.lineno is not None:
        return exc.lineno, exc.offset
    match = re.search(r"line (\d+) (?:between columns|column) (\d+)", str(exc))
    if match:
        return int(match.group(1)), int(match.group(2))
    return None, None


def parse_file(path: Path) -> Iterator[Triple]:
    """Every triple of an RDF file; SourceError with line and column when malformed."""
    fmt = rdf_format(path)
    if fmt is None:
        known = ", ".join(sorted(SUFFIXES))
        raise SourceError([Problem(path.name, f"unknown RDF file type; expected one of {known}")])
    if fmt in (RdfFormat.RDF_XML, RdfFormat.JSON_LD):  # entities, deep nesting: refused
        try:
            check_document(path.read_bytes(), fmt.media_type, "file")
        except UnsafeDocument as exc:
            raise SourceError(
                [Problem(path.name, exc.message, line=exc.line, column=exc.column)]
            ) from None
        except OSError as exc:
            raise SourceError([Problem(path.name, str(exc))]) from exc
    try:
        # Blank nodes are kept distinct per file; base IRI makes relative IRIs resolvable.
        quads = list(parse(path=str(path), format=fmt, base_iri=path.resolve().as_uri()))
    except SyntaxError as exc:
        line, column = _location(exc)
        raise SourceError([Problem(path.name, str(exc), line=line, column=column)]) from exc
    except (OSError, ValueError) as exc:
        raise SourceError([Problem(path.name, str(exc))]) from exc
    for quad in quads:
        yield quad.triple


@dataclass
class RdfFiles:
    """One named graph from one or more RDF files."""

    name: str
    title: str
    paths: list[Path] = field(default_factory=list)
    primary: list[NamedNode] = field(default_factory=list)

    def inputs(self) -> list[Path]:
        return list(self.paths)

    def primary_sources(self) -> list[NamedNode]:
        return list(self.primary)

    def build(self, progress: Progress = no_progress) -> Iterator[Triple]:
        problems: list[Problem] = []
        triples: list[Triple] = []
        for done, path in enumerate(self.paths):
            progress(done, len(self.paths), path.name)
            try:
                triples.extend(parse_file(path))
            except SourceError as exc:
                problems.extend(exc.problems)
        if problems:
            raise SourceError(problems)
        progress(len(self.paths), len(self.paths), "files")
        yield from triples


def ontology_source() -> RdfFiles:
    """The ontology and the SKOS schemes, as the `ontology` graph."""
    return RdfFiles(
        name="ontology",
        title="Alliance ontology and SKOS vocabularies",
        paths=ontology_files(),
        primary=[NamedNode(ONTOLOGY_IRI)],
    )


def file_source(path: Path) -> RdfFiles:
    """A user's RDF file as its own graph, named after the file (`id/graph/file-{stem}`)."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "data"
    return RdfFiles(name=f"file-{slug}", title=f"RDF file {path.name}", paths=[path])


__all__ = ["RdfFiles", "file_source", "ontology_source", "parse_file"]
