"""What every ingestible source provides, and how it reports bad input.

A source turns files into the triples of one named graph. The pipeline
(`alliance.ingest.pipeline`) checksums its inputs, validates what it builds,
and replaces the graph atomically; a source only has to build triples, or
raise `SourceError` naming where the input is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from pyoxigraph import NamedNode, Triple

from alliance.problems import Problem

#: Called with (done, total, what) while a source builds; total may be None.
Progress = Callable[[int, "int | None", str], None]


def no_progress(done: int, total: int | None, what: str) -> None:
    """The progress callback used when nobody watches."""


class SourceError(Exception):
    """A source's input is wrong; carries every problem found, not only the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


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
