"""The curated facts as a `Source` of the ingest pipeline."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from pyoxigraph import NamedNode, Triple

from alliance.ingest.curated.checks import Facts, check
from alliance.ingest.curated.emit import Emitter
from alliance.ingest.curated.reading import Row, read_table
from alliance.ingest.curated.schema import FACTS_DIR, TABLES, TABLES_BY_NAME
from alliance.ingest.reference.snapshot import ReferenceCodes, reference_codes
from alliance.ingest.source import Progress, SourceError, no_progress
from alliance.namespaces import (
    rdf,
)
from alliance.problems import Problem

log = logging.getLogger(__name__)


class CuratedFacts:
    """The curated facts as a `Source`: a folder of CSV tables → the `id:graph/{name}` graph."""

    title = "Curated facts on cooperation between territories (Lab Périurbain page and its sources)"

    def __init__(
        self,
        directory: Path | None = None,
        name: str = "facts",
        codes: ReferenceCodes | None = None,
    ):
        self.directory = Path(directory) if directory is not None else FACTS_DIR
        self.name = name
        self._codes = codes
        #: subject IRI → (table file, row) of the row that minted it, filled by `build`, so that
        #: `alliance validate` can point a curator at the row behind a validation result
        self.locations: dict[str, tuple[str, int]] = {}

    @property
    def codes(self) -> ReferenceCodes:
        """The reference territories' codes, read only when first needed."""
        if self._codes is None:
            self._codes = reference_codes()
        return self._codes

    def inputs(self) -> list[Path]:
        return [self.directory / t.file for t in TABLES if (self.directory / t.file).exists()]

    def primary_sources(self) -> list[NamedNode]:
        """The documents the rows cite in their `source` column."""
        facts = self.load()
        cited = {
            slug
            for table in TABLES
            if table.sourced
            for row in facts.rows[table.name]
            for slug in row.many("source")
        }
        return [Emitter.source(slug) for slug in sorted(cited)]

    def load(self) -> Facts:
        """Read and check every table; raise SourceError listing every problem found."""
        rows: dict[str, list[Row]] = {}
        problems: list[Problem] = []
        for table in TABLES:
            path = self.directory / table.file
            if not path.is_file():
                message = f"missing table {table.file} in {self.directory}"
                problems.append(Problem(table.file, message))
                rows[table.name] = []
                continue
            rows[table.name], found = read_table(path, table)
            problems += found
        problems += unknown_files(self.directory)
        facts = Facts(rows, self.codes)
        problems += check(facts)
        if problems:
            raise SourceError(problems)
        return facts

    def build(self, progress: Progress = no_progress) -> Iterator[Triple]:
        facts = self.load()
        emitter = Emitter(facts)
        seen: set[Triple] = set()  # a fact stated twice (e.g. mutual reciprocal_of) is one triple
        for done, table in enumerate(TABLES):
            progress(done, len(TABLES), table.file)
            emit = emitter.for_table(table.name)
            for row in facts.rows[table.name]:
                for triple in emit(row):
                    if triple.predicate == rdf.type:  # the row that types a resource mints it
                        self.locations.setdefault(triple.subject.value, (table.file, row.number))
                    if triple not in seen:
                        seen.add(triple)
                        yield triple
        progress(len(TABLES), len(TABLES), "done")
        log.info("curated facts: %d triples from %s", len(seen), self.directory)


def unknown_files(directory: Path) -> Iterator[Problem]:
    """A CSV file that is no table is probably misnamed: say so rather than ignore it."""
    for path in sorted(directory.glob("*.csv")):
        if path.stem not in TABLES_BY_NAME:
            names = ", ".join(t.file for t in TABLES)
            yield Problem(path.name, f"unknown table {path.name}; the tables are: {names}")
