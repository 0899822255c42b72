"""What every ingestible source provides, and how it reports bad input.

A source turns files into the triples of one named graph. The pipeline
(`alliance.ingest.pipeline`) checksums its inputs, validates what it builds,
and replaces the graph atomically; a source only has to build triples, or
raise `SourceError` naming where the input is wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pyoxigraph import NamedNode, Triple

#: Called with (done, total, what) while a source builds; total may be None.
Progress = Callable[[int, "int | None", str], None]


def no_progress(done: int, total: int | None, what: str) -> None:
    """The progress callback used when nobody watches."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input, located as precisely as the format allows."""

    file: str
    message: str
    row: int | None = None  # 1-based data row in a table (the header is row 1)
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class SourceError(Exception):
    """A source's input is wrong; carries every problem found, not only the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Source(Protocol):
    """A named, self-describing input of the graph."""

    #: short name, also the last segment of the graph IRI (`id/graph/{name}`)
    name: str
    #: one line for `alliance ingest --list` and the graph's dcterms:title
    title: str

    def inputs(self) -> list[Path]:
        """The files whose content defines this source's version (checksummed)."""
        ...

    def primary_sources(self) -> list[NamedNode]:
        """Documents or datasets this source's facts come from (prov:hadPrimarySource)."""
        ...

    def build(self, progress: Progress = no_progress) -> Iterator[Triple]:
        """Every triple of the source's graph (without the PROV description).

        Raises SourceError when the input is wrong.
        """
        ...


@dataclass
class FileSet:
    """Helper for sources: checksum a list of files in a stable order."""

    paths: list[Path] = field(default_factory=list)

    def checksum(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(self.paths, key=lambda p: p.name):
            digest.update(path.name.encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        return "sha256:" + digest.hexdigest()
