"""The sources Alliance knows: the bundled ones, and files or folders a user names."""

from __future__ import annotations

import re
from pathlib import Path

from alliance.ingest.curated import CuratedFacts
from alliance.ingest.rdf_files import RdfFiles, file_source, ontology_source
from alliance.ingest.source import Source
from alliance.ingest.territories import Territories
from alliance.ingest.territory_history import TerritoryHistory


def bundled_sources() -> list[Source]:
    """The sources the service is built from, in ingest order."""
    return [ontology_source(), Territories(), TerritoryHistory(), CuratedFacts()]


class UnknownSource(ValueError):
    """A SOURCE argument that names neither a bundled source nor an existing path."""


def resolve(spec: str) -> Source:
    """A source from a command-line argument.

    `territories`, `territory-history`, `facts`, `ontology`: a bundled source. A folder: curated
    CSV tables (graph `facts`). An RDF file: its own graph `file-{stem}`.
    `NAME=PATH` chooses the graph name for a folder or a file.
    """
    bundled = {s.name: s for s in bundled_sources()}
    if spec in bundled:
        return bundled[spec]
    name, sep, location = spec.partition("=")
    if not sep:
        name, location = "", spec
    elif not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name):
        raise UnknownSource(f"{spec}: graph name must be lowercase letters, digits and hyphens")
    path = Path(location)
    if path.is_dir():
        return CuratedFacts(path, name=name or "facts")
    if path.is_file():
        source = file_source(path)
        return RdfFiles(name or source.name, source.title, source.paths) if name else source
    known = ", ".join(bundled)
    raise UnknownSource(f"{spec}: no such source ({known}) nor file or folder")
