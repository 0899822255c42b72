"""What a curator posts to /validate, turned into what `alliance validate` would load.

Data is RDF (Turtle, JSON-LD, N-Triples, RDF/XML) or one curated CSV table. An RDF document
becomes one `Loaded` item, as a FILE argument of the command would; relative IRIs resolve
against the Alliance IRI namespace (`<agreement/x>` is `id:agreement/x`). A table replaces the
same-named one among copies of the bundled tables and the folder is built as the command
builds a folder (`alliance.ingest.validate_inputs.load_inputs`), so the table is checked together
with the tables it refers to.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from pyoxigraph import RdfFormat

from alliance import formats
from alliance.ingest.curated import FACTS_DIR, TABLES, TABLES_BY_NAME
from alliance.ingest.rdf_files import _location
from alliance.ingest.validate_inputs import Loaded, load_inputs
from alliance.namespaces import ID
from alliance.problems import Problem
from alliance.server.web import sandbox
from alliance.server.web.errors import ProtocolError
from alliance.server.web.input_guards import check_rdf_document

log = logging.getLogger(__name__)

#: How a table's location is shown (`facts/agreements.csv`, row 4): the bundled folder's name.
TABLES_SHOWN = "facts"


@dataclass(frozen=True)
class Syntax:
    """A syntax a curator may post: RDF (with its pyoxigraph format) or a curated table."""

    key: str  # the form's and the `syntax` parameter's value
    label: str
    format: RdfFormat | None  # None: a curated CSV table
    media_types: tuple[str, ...]
    suffixes: tuple[str, ...]


def _rdf_syntax(name: str, *, but_media_types: tuple[str, ...] = ()) -> Syntax:
    """One of the project's RDF formats (alliance.formats) as a syntax of the form."""
    found = formats.BY_NAME[name]
    media_types = (found.media_type, *found.other_media_types)
    return Syntax(
        found.name,
        found.label,
        found.pyoxigraph,  # type: ignore[arg-type]
        tuple(m for m in media_types if m not in but_media_types),
        found.suffixes,
    )


SYNTAXES: tuple[Syntax, ...] = (
    _rdf_syntax("turtle", but_media_types=("text/n3",)),  # N3 is read as N3, not Turtle
    _rdf_syntax("jsonld"),
    _rdf_syntax("ntriples", but_media_types=("text/plain",)),
    _rdf_syntax("rdfxml"),
    Syntax("csv", "curated table (CSV)", None, ("text/csv",), (".csv",)),
)
BY_KEY = {s.key: s for s in SYNTAXES}
BY_MEDIA_TYPE = {m: s for s in SYNTAXES for m in s.media_types}
BY_SUFFIX = {x: s for s in SYNTAXES for x in s.suffixes}


class InputError(Exception):
    """The posted data cannot be validated: an HTTP status, a message, and located problems."""

    def __init__(self, status: int, message: str, problems: list[Problem] | None = None):
        self.status = status
        self.message = message
        self.problems = problems or []
        super().__init__(message)

    def text(self) -> str:
        return "\n".join([self.message, *(str(p) for p in self.problems)])


@dataclass
class Posted:
    """One document to validate: its bytes, syntax, the name it is shown under, its table."""

    data: bytes
    syntax: Syntax
    shown: str  # the uploaded file's name, or "pasted data"
    table: str | None = None  # for a curated table: its name (`agreements`)

    @property
    def description(self) -> str:
        """What was validated, for the report's heading."""
        if self.syntax.format is None:
            return f"{TABLES_SHOWN}/{self.table}.csv ({self.shown}), with the other bundled tables"
        return f"{self.shown} ({self.syntax.label})"


def syntax_for(name: str | None, requested: str | None) -> Syntax:
    """The syntax asked for (`requested`, a key), else the one the file name's ending tells."""
    if requested and requested != "auto":
        if requested not in BY_KEY:
            known = ", ".join(BY_KEY)
            raise InputError(400, f"unknown syntax {requested!r}; use one of {known}")
        return BY_KEY[requested]
    suffix = PurePath(name or "").suffix.lower()
    if suffix in BY_SUFFIX:
        return BY_SUFFIX[suffix]
    if name:
        known = ", ".join(sorted(BY_SUFFIX))
        raise InputError(
            415, f"cannot tell the syntax of {name!r} from its name ({known}); choose one"
        )
    return BY_KEY["turtle"]


def table_name(given: str | None, filename: str | None) -> str:
    """The curated table a CSV replaces: `given`, else the uploaded file's name."""
    name = (given or PurePath(filename or "").name or "").strip()
    name = name[:-4] if name.lower().endswith(".csv") else name
    if name not in TABLES_BY_NAME:
        known = ", ".join(t.name for t in TABLES)
        what = f"unknown table {name!r}" if name else "which table is it? (table=NAME)"
        raise InputError(400, f"{what}; the curated tables are: {known}")
    return name


def load_posted(posted: Posted) -> tuple[list[Loaded], list[Problem]]:
    """The posted document as `alliance validate` loads a FILE: items, and table problems."""
    if posted.syntax.format is None:
        assert posted.table is not None
        return _load_table(posted.data, posted.table)
    return [_load_rdf(posted)], []


def _graph_name(shown: str) -> str:
    """The graph the document would be ingested into, as `file_source` names a file's graph."""
    slug = re.sub(r"[^a-z0-9]+", "-", PurePath(shown).stem.lower()).strip("-") or "data"
    return f"file-{slug}"


def _load_rdf(posted: Posted) -> Loaded:
    assert posted.syntax.format is not None
    try:
        check_rdf_document(posted.data, posted.syntax.media_types[0], "document")
    except ProtocolError as exc:
        raise InputError(400, exc.message) from None
    try:  # in a parsing process: a hostile document ends it, not the server
        quads = sandbox.parse_rdf(
            posted.data,
            posted.syntax.format,
            base=ID,
            memory=sandbox.app_memory(),
            without_named_graphs=False,
            rename_blank_nodes=False,
            what="document",
        )
    except SyntaxError as exc:
        line, column = _location(exc)
        problem = Problem(posted.shown, str(exc), line=line, column=column)
        raise InputError(400, f"malformed {posted.syntax.label}", [problem]) from exc
    except sandbox.ParseFailed as exc:
        raise InputError(exc.status, exc.message) from None
    except (ValueError, OSError) as exc:
        problem = Problem(posted.shown, str(exc))
        raise InputError(400, f"malformed {posted.syntax.label}", [problem]) from exc
    triples = [quad.triple for quad in quads]
    log.info("%s: %d triples posted for validation", posted.shown, len(triples))
    return Loaded(_graph_name(posted.shown), posted.shown, triples)


def _load_table(data: bytes, table: str) -> tuple[list[Loaded], list[Problem]]:
    with tempfile.TemporaryDirectory(prefix="alliance-validate-") as work:
        folder = Path(work) / TABLES_SHOWN
        folder.mkdir()
        for item in TABLES:
            if (FACTS_DIR / item.file).is_file():
                shutil.copyfile(FACTS_DIR / item.file, folder / item.file)
        (folder / f"{table}.csv").write_bytes(data)
        loaded, problems = load_inputs([folder])
    # Show the tables as the bundled folder's, never the temporary folder's path.
    for item in loaded:
        item.shown = TABLES_SHOWN
    shown = [
        dataclasses.replace(p, file=str(PurePath(TABLES_SHOWN) / PurePath(p.file).name))
        for p in problems
    ]
    return loaded, shown
