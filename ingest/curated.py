"""The curated facts source: CSV tables a curator edits, checked, then turned into `id:graph/facts`.

Why CSV: a curator edits these tables in a spreadsheet or a text editor, and a reviewer reads a
diff of them. Each table is described once, as data (`TABLES`: columns, kinds, targets), and one
generic checker walks that description, so adding a column is one line and every problem comes
back at once, located as a spreadsheet shows it (file, row with the header as row 1, column).
The format is documented for curators in `ingest/facts/SCHEMA.md`; the IRIs and terms follow
`docs/model.md`.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

from pyoxigraph import Literal, NamedNode, Triple

from alliance.ingest.reference.snapshot import ReferenceCodes, reference_codes
from alliance.ingest.source import Progress, SourceError, no_progress
from alliance.namespaces import (
    VOCAB,
    alli,
    dcterms,
    foaf,
    idns,
    org,
    rdf,
    rdfs,
    schema,
    xsd,
)
from alliance.problems import Problem

log = logging.getLogger(__name__)

#: The bundled tables (package data of `alliance.ingest.facts`).
FACTS_DIR = Path(__file__).resolve().parent / "facts"

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SIREN_RE = re.compile(r"^\d{9}$")
COG_RE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INTEGER_RE = re.compile(r"^[1-9]\d*$")
LIST_SEPARATOR = ";"

#: The SKOS concepts of docs/model.md ("SKOS schemes"), by scheme: cells naming a concept are
#: checked against this list. Keep it in step with the model and `ontology/vocab/`.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "cooperation-domain": (
        "short-food-circuits",
        "telemedicine",
        "distance-learning",
        "waste-treatment-recovery",
    ),
    "instrument-kind": (
        "reciprocity-contract",
        "metropolitan-pact",
        "interministerial-committee",
        "metropolitan-pole",
    ),
    "territory-kind": (
        "commune",
        "departement",
        "region",
        "metropole",
        "communaute-urbaine",
        "communaute-agglomeration",
        "communaute-communes",
        "pays",
        "parc-naturel-regional",
        "massif",
        "periurban-area",
    ),
    "status": ("decided", "experimental", "pilot", "signed", "generalisation-envisaged"),
    "party-role": (
        "urban",
        "rural",
        "periurban",
        "state",
        "metropolis",
        "association-of-authorities",
    ),
}

#: actors.csv `kind` → (class, territory-kind concept or None for bodies without a territory)
ACTOR_KINDS: dict[str, tuple[NamedNode, str | None]] = {
    "state": (alli.State, None),
    "association-of-authorities": (alli.AssociationOfAuthorities, None),
    "pays": (alli.Pays, "pays"),
    "parc-naturel-regional": (alli.ParcNaturelRegional, "parc-naturel-regional"),
    "massif": (alli.Massif, "massif"),
}

#: agreements.csv `kind` → class
AGREEMENT_KINDS: dict[str, NamedNode] = {
    "reciprocity-contract": alli.ReciprocityContract,
    "metropolitan-pact": alli.MetropolitanPact,
    "cooperation-agreement": alli.CooperationAgreement,
}

#: Reference territories a cell may name as `prefix:code`; the IRI is `id:{prefix}/{code}`.
TERRITORY_PREFIXES = ("epci", "commune", "departement", "region")


# --- the declarative description of the tables ----------------------------------------------------


class Kind(Enum):
    """What a cell holds, hence how it is checked."""

    ID = "slug, unique in the table"
    TEXT = "text"
    DATE = "date YYYY-MM-DD"
    INTEGER = "positive whole number"
    URL = "http(s) address"
    CHOICE = "one of a fixed list"
    CONCEPT = "concept of a SKOS scheme"
    REF = "id of a row of another table"
    AGENT = "actor id, or reference territory epci:SIREN / commune:COG / departement:CODE / …"
    PLACE = "reference commune written commune:COG"


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, what it holds, and whether it may be empty."""

    name: str
    kind: Kind
    required: bool = False
    many: bool = False  # a `;`-separated list
    target: str = ""  # the table (REF) or the scheme (CONCEPT)
    choices: tuple[str, ...] = ()  # CHOICE

    def expected(self) -> str:
        """What a curator should write in this column, for messages."""
        if self.kind is Kind.REF:
            what = f"the id of a row of {self.target}.csv"
        elif self.kind is Kind.CONCEPT:
            what = f"a concept of vocab:{self.target} ({', '.join(CONCEPTS[self.target])})"
        elif self.kind is Kind.CHOICE:
            what = f"one of: {', '.join(self.choices)}"
        else:
            what = f"a {self.kind.value}"
        return f"a list of {what}, separated by ';'" if self.many else what


@dataclass(frozen=True)
class Table:
    """One CSV file: its columns, its key, and whether each row must cite a source."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ("id",)
    sourced: bool = True

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def all_columns(self) -> tuple[Column, ...]:
        extra = (SOURCE,) if self.sourced else ()
        return self.columns + extra + (NOTE,)

    def column(self, name: str) -> Column:
        return next(c for c in self.all_columns() if c.name == name)


ID = Column("id", Kind.ID, required=True)
SOURCE = Column("source", Kind.REF, required=True, many=True, target="sources")
NOTE = Column("note", Kind.TEXT)  # for curators only: never published
LABELS = (
    Column("label_fr", Kind.TEXT, required=True),
    Column("label_en", Kind.TEXT, required=True),
)
DESCRIPTIONS = (
    Column("description_fr", Kind.TEXT, required=True),
    Column("description_en", Kind.TEXT, required=True),
)
DESCRIBED = LABELS + DESCRIPTIONS


def _concepts(name: str, scheme: str, required: bool = False, many: bool = True) -> Column:
    return Column(name, Kind.CONCEPT, required=required, many=many, target=scheme)


def _refs(name: str, table: str, required: bool = False, many: bool = True) -> Column:
    return Column(name, Kind.REF, required=required, many=many, target=table)


TABLES: tuple[Table, ...] = (
    Table(
        "sources",
        (
            ID,
            Column("title", Kind.TEXT, required=True),
            Column("title_en", Kind.TEXT, required=True),
            Column("publisher", Kind.TEXT),
            Column("date", Kind.DATE),
            Column("url", Kind.URL),
            _refs("references", "sources"),
        ),
        sourced=False,
    ),
    Table(
        "actors",
        (ID, Column("kind", Kind.CHOICE, required=True, choices=tuple(ACTOR_KINDS)), *DESCRIBED),
    ),
    Table("posts", (ID, Column("post_in", Kind.AGENT, required=True), *DESCRIBED)),
    Table(
        "people",
        (ID, Column("name", Kind.TEXT, required=True), _refs("posts", "posts"), *DESCRIPTIONS),
    ),
    Table("objectives", (ID, *DESCRIBED, _refs("facilitated_by", "instruments"))),
    Table(
        "decisions",
        (
            ID,
            *DESCRIBED,
            Column("date", Kind.DATE, required=True),
            Column("location", Kind.PLACE),
            _refs("see_also", "sources"),
        ),
    ),
    Table(
        "decision-parts",
        (
            _refs("decision", "decisions", required=True, many=False),
            Column("number", Kind.INTEGER, required=True),
            *DESCRIBED,
        ),
        key=("decision", "number"),
    ),
    Table(
        "instruments",
        (
            ID,
            _concepts("kind", "instrument-kind", required=True, many=False),
            *DESCRIBED,
            _concepts("status", "status"),
            _refs("launched_by", "decisions", many=False),
            Column("launched_within_part", Kind.INTEGER),
            _concepts("cooperation_domains", "cooperation-domain"),
            _refs("generalisation_envisaged_in", "agreements"),
            _concepts("suited_for", "territory-kind"),
            _refs("serves", "objectives"),
        ),
    ),
    Table(
        "agreements",
        (
            ID,
            Column("kind", Kind.CHOICE, required=True, choices=tuple(AGREEMENT_KINDS)),
            *DESCRIBED,
            Column("date", Kind.DATE),
            _concepts("status", "status"),
            _refs("implements_instrument", "instruments", many=False),
            _concepts("cooperation_domains", "cooperation-domain"),
            _refs("serves", "objectives"),
            _refs("see_also", "sources"),
        ),
    ),
    Table(
        "parties",
        (
            _refs("agreement", "agreements", required=True, many=False),
            Column("party", Kind.AGENT, required=True),
            _concepts("role", "party-role", required=True, many=False),
        ),
        key=("agreement", "party"),
    ),
    Table(
        "events",
        (
            ID,
            *DESCRIBED,
            Column("date", Kind.DATE, required=True),
            Column("location", Kind.PLACE),
            _refs("in_presence_of", "people"),
        ),
    ),
    Table(
        "signatures",
        (
            _refs("agreement", "agreements", required=True, many=False),
            Column("on_behalf_of", Kind.AGENT, required=True),
            _refs("signed_by", "people", many=False),
            _refs("signatory_post", "posts", many=False),
            Column("date", Kind.DATE, required=True),
            _refs("event", "events", many=False),
        ),
        key=("agreement", "on_behalf_of"),
    ),
    Table(
        "commitments",
        (
            ID,
            _refs("agreement", "agreements", required=True, many=False),
            *DESCRIBED,
            Column("statement_fr", Kind.TEXT, required=True),
            Column("statement_en", Kind.TEXT, required=True),
            Column("committed_by", Kind.AGENT, required=True, many=True),
            Column("committed_to", Kind.AGENT, many=True),
            _concepts("cooperation_domains", "cooperation-domain"),
            _refs("serves", "objectives"),
            _refs("reciprocal_of", "commitments"),
        ),
    ),
)
TABLES_BY_NAME = {t.name: t for t in TABLES}


# --- reading --------------------------------------------------------------------------------------


@dataclass
class Row:
    """One data row, with its row number as a spreadsheet shows it (header = row 1)."""

    table: Table
    number: int
    cells: dict[str, str]

    def one(self, column: str) -> str:
        return self.cells.get(column, "")

    def many(self, column: str) -> list[str]:
        return split_list(self.one(column))

    @property
    def key(self) -> str:
        return " / ".join(self.one(c) for c in self.table.key)

    def problem(self, column: str | None, message: str) -> Problem:
        return Problem(file=self.table.file, row=self.number, field=column, message=message)


def split_list(cell: str) -> list[str]:
    """The items of a `;`-separated cell; empty items (e.g. a trailing `;`) are ignored."""
    return [item.strip() for item in cell.split(LIST_SEPARATOR) if item.strip()]


def decode(path: Path, raw: bytes) -> tuple[str, Problem | None]:
    """The text of a table, and a problem locating its first byte that is not UTF-8.

    A badly encoded file is still decoded (with replacement characters) so that its ids stay
    known: one wrong byte then yields one problem, not one per row referring to that table.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 ("Unicode text" in a spreadsheet): read as UTF-8 it would give one garbled
        # problem per column and row; say it once, and read it anyway to keep its ids known.
        message = (
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark), not UTF-8; "
            "save the file as UTF-8 (CSV UTF-8 in a spreadsheet)"
        )
        problem = Problem(file=path.name, row=1, line=1, message=message)
        return raw.decode("utf-16", errors="replace"), problem
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0  # spreadsheets often write one
    try:
        return raw[bom:].decode("utf-8"), None
    except UnicodeDecodeError as error:
        start = bom + error.start
        prefix = raw[bom:start].decode("utf-8")
        records = list(csv.reader(io.StringIO(prefix, newline="")))
        at_row_start = not prefix or prefix.endswith(("\n", "\r"))
        row = len(records) + 1 if at_row_start else len(records)
        header = [c.strip() for c in records[0]] if records else []
        cell = 0 if at_row_start else len(records[-1]) - 1
        column = header[cell] if row > 1 and cell < len(header) else None
        line = raw[:start].count(b"\n") + 1
        message = (
            f"not valid UTF-8: byte 0x{raw[start]:02x} at byte offset {start} (line {line}); "
            "save the file as UTF-8 (CSV UTF-8 in a spreadsheet)"
        )
        problem = Problem(file=path.name, row=row, line=line, field=column, message=message)
        return raw[bom:].decode("utf-8", errors="replace"), problem


def read_table(path: Path, table: Table) -> tuple[list[Row], list[Problem]]:
    """The rows of one table and the problems of its shape (encoding, header, cell counts)."""
    text, problem = decode(path, path.read_bytes())
    problems: list[Problem] = [problem] if problem else []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    header: list[str] = []
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            if number == 1:
                header = [name.strip() for name in record]
                problems += check_header(table, header)
            elif any(cell.strip() for cell in record):
                if len(record) != len(header):
                    problems.append(malformed(table, number, len(record), len(header)))
                    continue
                cells = {n: c.strip() for n, c in zip(header, record, strict=True) if n}
                rows.append(Row(table, number, cells))
    except csv.Error as error:
        message = (
            f"malformed CSV ({error}) while reading line {reader.line_num}; look for an "
            "unclosed or stray double quote in this row: a quoted cell must end with '\"'"
        )
        problems.append(
            Problem(file=table.file, row=number + 1, line=reader.line_num, message=message)
        )
    if number == 0:
        problems.append(Problem(table.file, "empty file: the header row is missing", row=1))
    return rows, problems


def malformed(table: Table, number: int, cells: int, expected: int) -> Problem:
    message = (
        f"malformed row: it has {cells} cells but the header has {expected}; "
        "a cell holding a comma must be quoted"
    )
    return Problem(file=table.file, row=number, message=message)


def check_header(table: Table, header: list[str]) -> Iterator[Problem]:
    """Unknown, repeated or missing columns, reported on row 1."""
    known = {c.name for c in table.all_columns()}
    expected = ", ".join(c.name for c in table.all_columns())
    seen: set[str] = set()
    for name in header:
        if not name:
            yield Problem(table.file, "a column has no name in the header", row=1)
        elif name in seen:
            yield Problem(table.file, f"column '{name}' appears twice", row=1, field=name)
        elif name not in known:
            message = f"unknown column '{name}'; the columns of {table.file} are: {expected}"
            yield Problem(table.file, message, row=1, field=name)
        seen.add(name)
    for column in table.all_columns():
        if column.required and column.name not in seen:
            message = f"missing required column '{column.name}' ({column.expected()})"
            yield Problem(table.file, message, row=1, field=column.name)


# --- checking -------------------------------------------------------------------------------------


@dataclass
class Facts:
    """Every table's rows, indexed by key, with the reference codes they are checked against."""

    rows: dict[str, list[Row]]
    codes: ReferenceCodes
    index: dict[str, dict[str, Row]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, rows in self.rows.items():
            self.index[name] = {}
            for row in rows:
                self.index[name].setdefault(row.key, row)

    def get(self, table: str, key: str) -> Row | None:
        return self.index[table].get(key)


def check(facts: Facts) -> list[Problem]:
    """Every problem of the tables' content: cells, keys, references, and cross-table rules."""
    problems: list[Problem] = []
    for table in TABLES:
        problems += check_keys(facts.rows[table.name])
        for row in facts.rows[table.name]:
            for column in table.all_columns():
                problems += check_cell(facts, row, column)
    for rule in (check_parts, check_signatures, check_commitments, check_roles):
        problems += rule(facts)
    return problems


def check_keys(rows: list[Row]) -> Iterator[Problem]:
    """A key names one row only."""
    first: dict[str, int] = {}
    for row in rows:
        if not all(row.one(c) for c in row.table.key):
            continue  # reported as an empty required cell
        if row.key in first:
            columns = ", ".join(row.table.key)
            message = (
                f"duplicate {columns} '{row.key}': row {first[row.key]} already has it; "
                "each row needs its own"
            )
            yield row.problem(row.table.key[-1], message)
        first.setdefault(row.key, row.number)


def check_cell(facts: Facts, row: Row, column: Column) -> Iterator[Problem]:
    """An empty required cell, or each item of the cell that is not what the column expects."""
    if column.name not in row.cells:
        return  # a missing column is reported once, on row 1
    value = row.one(column.name)
    items = split_list(value) if column.many else ([value] if value else [])
    if not items:
        if column.required:
            what = "every row needs a source" if column is SOURCE else "required value is empty"
            yield row.problem(column.name, f"{what}; expected {column.expected()}")
        return
    for item in items:
        message = check_value(facts, column, item)
        if message:
            yield row.problem(column.name, message)


def check_value(facts: Facts, column: Column, value: str) -> str | None:
    """Why `value` does not fit `column`, or None."""
    kind = column.kind
    if kind is Kind.ID:
        return bad_slug(value)
    if kind is Kind.DATE:
        return bad_date(value)
    if kind is Kind.INTEGER and not INTEGER_RE.match(value):
        return f"'{value}' is not a {kind.value}"
    if kind is Kind.URL:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
            return f"'{value}' is not an http(s) address such as http://periurbain.cget.gouv.fr"
    if kind is Kind.CHOICE and value not in column.choices:
        return f"unknown {column.name} '{value}'; expected {column.expected()}"
    if kind is Kind.CONCEPT and value not in CONCEPTS[column.target]:
        return (
            f"unknown concept '{value}' in vocab:{column.target}; expected one of: "
            f"{', '.join(CONCEPTS[column.target])}"
        )
    if kind is Kind.REF and facts.get(column.target, value) is None:
        return f"unknown id '{value}': no row of {column.target}.csv has this id"
    if kind is Kind.AGENT:
        return bad_agent(facts, value)
    if kind is Kind.PLACE:
        if not value.startswith("commune:"):
            return f"'{value}' is not a place: expected a reference commune written commune:COG"
        return bad_territory(facts.codes, value)
    return None


def bad_slug(value: str) -> str | None:
    if SLUG_RE.match(value):
        return None
    return (
        f"'{value}' is not a valid id: use lowercase ASCII letters, digits and single hyphens, "
        "e.g. pays-d-aurillac"
    )


def bad_date(value: str) -> str | None:
    try:
        if DATE_RE.match(value):
            date.fromisoformat(value)
            return None
    except ValueError:
        pass
    return f"'{value}' is not a date: write it as YYYY-MM-DD, e.g. 2015-03-13"


def bad_agent(facts: Facts, value: str) -> str | None:
    """A party is a curated actor (its id) or a reference territory (`prefix:code`)."""
    if ":" in value:
        return bad_territory(facts.codes, value)
    if facts.get("actors", value) is None:
        return (
            f"unknown party '{value}': expected the id of a row of actors.csv, or a reference "
            "territory written epci:SIREN, commune:COG, departement:CODE or region:CODE"
        )
    return None


def bad_territory(codes: ReferenceCodes, value: str) -> str | None:
    """A `prefix:code` reference must name an existing reference territory."""
    prefix, _, code = value.partition(":")
    if prefix == "epci":
        if not SIREN_RE.match(code):
            return f"'{code}' is not a SIREN: expected 9 digits, as in epci:200046977"
        if code not in codes.epci:
            return f"no EPCI with SIREN {code} in the reference territories"
    elif prefix == "commune":
        if not COG_RE.match(code):
            return f"'{code}' is not a commune code (COG): expected 5 characters, as in 69123"
        if code not in codes.communes:
            return f"no commune with code (COG) {code} in the reference territories"
    elif prefix == "departement":
        if code not in codes.departements:
            return f"no département with code {code} in the reference territories"
    elif prefix == "region":
        if code not in codes.regions:
            return f"no région with code {code} in the reference territories"
    else:
        return (
            f"unknown kind of reference territory '{prefix}' in '{value}'; expected one of: "
            f"{', '.join(p + ':' for p in TERRITORY_PREFIXES)}"
        )
    return None


def check_parts(facts: Facts) -> Iterator[Problem]:
    """`launched_within_part` names a part of the decision in `launched_by`."""
    for row in facts.rows["instruments"]:
        part = row.one("launched_within_part")
        if not part:
            continue
        decision = row.one("launched_by")
        if not decision:
            message = "launched_within_part needs launched_by: the decision it is a part of"
            yield row.problem("launched_by", message)
        elif facts.get("decision-parts", f"{decision} / {part}") is None:
            message = f"decision '{decision}' has no part {part} in decision-parts.csv"
            yield row.problem("launched_within_part", message)


def launching_decision(facts: Facts, agreement: str) -> Row | None:
    """The decision that launched the instrument an agreement implements, if any."""
    row = facts.get("agreements", agreement)
    instrument = facts.get("instruments", row.one("implements_instrument")) if row else None
    return facts.get("decisions", instrument.one("launched_by")) if instrument else None


def check_signatures(facts: Facts) -> Iterator[Problem]:
    """A signature is by a party, after the launching decision, consistent with its event/post."""
    for row in facts.rows["signatures"]:
        agreement, party, signed = row.one("agreement"), row.one("on_behalf_of"), row.one("date")
        known = facts.get("agreements", agreement) is not None
        if known and facts.get("parties", f"{agreement} / {party}") is None:
            message = f"'{party}' signs but is not a party of '{agreement}' in parties.csv"
            yield row.problem("on_behalf_of", message)
        decision = launching_decision(facts, agreement)
        if decision and signed and not bad_date(signed) and signed < decision.one("date"):
            message = (
                f"signature dated {signed}, before the decision '{decision.one('id')}' "
                f"({decision.one('date')}) that launched the instrument '{agreement}' implements"
            )
            yield row.problem("date", message)
        event = facts.get("events", row.one("event"))
        if event and signed and event.one("date") != signed:
            message = f"signature dated {signed} but its event is dated {event.one('date')}"
            yield row.problem("date", message)
        yield from check_signatory(facts, row)


def check_signatory(facts: Facts, row: Row) -> Iterator[Problem]:
    """The post belongs to the signing party, and the signing person holds it."""
    post = facts.get("posts", row.one("signatory_post"))
    if post is None:
        return
    if post.one("post_in") != row.one("on_behalf_of"):
        message = (
            f"post '{post.one('id')}' is a post in '{post.one('post_in')}', "
            f"not in '{row.one('on_behalf_of')}'"
        )
        yield row.problem("signatory_post", message)
    person = facts.get("people", row.one("signed_by"))
    if person and post.one("id") not in person.many("posts"):
        message = f"'{person.one('id')}' does not hold post '{post.one('id')}' in people.csv"
        yield row.problem("signed_by", message)


def check_commitments(facts: Facts) -> Iterator[Problem]:
    """Whoever commits is a party of the agreement; a commitment is not reciprocal of itself."""
    for row in facts.rows["commitments"]:
        agreement = row.one("agreement")
        if facts.get("agreements", agreement) is None:
            continue
        for party in row.many("committed_by"):
            if facts.get("parties", f"{agreement} / {party}") is None:
                message = f"'{party}' commits but is not a party of '{agreement}' in parties.csv"
                yield row.problem("committed_by", message)
        if row.one("id") in row.many("reciprocal_of"):
            yield row.problem("reciprocal_of", "a commitment cannot be reciprocal of itself")


def check_roles(facts: Facts) -> Iterator[Problem]:
    """A party in the role `metropolis` is a reference EPCI of nature métropole (ME)."""
    for row in facts.rows["parties"]:
        party = row.one("party")
        if row.one("role") != "metropolis" or not party.startswith("epci:"):
            continue
        nature = facts.codes.epci.get(party.removeprefix("epci:"), ("", ""))[1]
        if nature and nature != "ME":
            message = f"role metropolis needs an EPCI of nature ME; {party} has nature {nature}"
            yield row.problem("role", message)


# --- IRIs -----------------------------------------------------------------------------------------


def concept(scheme: str, name: str) -> NamedNode:
    return NamedNode(f"{VOCAB}{scheme}/{name}")


def agent_iri(ref: str) -> NamedNode:
    """`epci:SIREN` → id:epci/SIREN (and likewise); a curated actor's id → id:actor/{id}."""
    prefix, sep, code = ref.partition(":")
    return idns[f"{prefix}/{code}"] if sep else idns[f"actor/{ref}"]


def agent_slug(ref: str) -> str:
    """The last IRI segment of a participation or signature: `epci:200046977` → epci-200046977."""
    prefix, sep, code = ref.partition(":")
    return f"{prefix}-{code.lower()}" if sep else ref


def part_iri(decision: str, number: str) -> NamedNode:
    return idns[f"decision/{decision}/part/{int(number)}"]


# --- building -------------------------------------------------------------------------------------


def fr(text: str) -> Literal:
    return Literal(text, language="fr")


def en(text: str) -> Literal:
    return Literal(text, language="en")


def xsd_date(text: str) -> Literal:
    return Literal(text, datatype=xsd.date)


class Emitter:
    """Turns checked facts into triples, one method per table."""

    def __init__(self, facts: Facts):
        self.facts = facts

    def link(
        self, subject: NamedNode, predicate: NamedNode, objects: Iterable[NamedNode]
    ) -> Iterator[Triple]:
        for obj in objects:
            yield Triple(subject, predicate, obj)

    def common(self, subject: NamedNode, row: Row, kind: NamedNode) -> Iterator[Triple]:
        """Type, labels, descriptions and sources: what every curated resource has."""
        yield Triple(subject, rdf.type, kind)
        if "label_fr" in row.cells:
            yield Triple(subject, rdfs.label, fr(row.one("label_fr")))
            yield Triple(subject, rdfs.label, en(row.one("label_en")))
        if "description_fr" in row.cells:
            yield Triple(subject, dcterms.description, fr(row.one("description_fr")))
            yield Triple(subject, dcterms.description, en(row.one("description_en")))
        yield from self.link(subject, dcterms.source, map(self.source, row.many("source")))

    @staticmethod
    def source(slug: str) -> NamedNode:
        return idns[f"source/{slug}"]

    def concepts(
        self, subject: NamedNode, predicate: NamedNode, row: Row, column: str, scheme: str
    ) -> Iterator[Triple]:
        for name in row.many(column):
            yield Triple(subject, predicate, concept(scheme, name))

    def refs(
        self, subject: NamedNode, predicate: NamedNode, row: Row, column: str, base: str
    ) -> Iterator[Triple]:
        for slug in row.many(column):
            yield Triple(subject, predicate, idns[f"{base}/{slug}"])

    def date(self, subject: NamedNode, row: Row, column: str = "date") -> Iterator[Triple]:
        if row.one(column):
            yield Triple(subject, dcterms.date, xsd_date(row.one(column)))

    def party_label(self, ref: str, language: str) -> str:
        """A party's name: its curated label, or its official name in the reference data."""
        prefix, sep, code = ref.partition(":")
        codes = self.facts.codes
        if not sep:
            return self.facts.index["actors"][ref].one(f"label_{language}")
        if prefix == "epci":
            return codes.epci[code][0]
        names = {"commune": codes.communes, "departement": codes.departements}
        return names.get(prefix, codes.regions)[code]

    def agreement_label(self, slug: str, language: str) -> str:
        return self.facts.index["agreements"][slug].one(f"label_{language}")

    # one method per table, named after it ------------------------------------------------

    def sources(self, row: Row) -> Iterator[Triple]:
        doc = self.source(row.one("id"))
        yield Triple(doc, rdf.type, foaf.Document)
        yield Triple(doc, dcterms["title"], fr(row.one("title")))  # .title is a str method
        yield Triple(doc, rdfs.label, fr(row.one("title")))
        yield Triple(doc, rdfs.label, en(row.one("title_en")))
        if row.one("publisher"):
            yield Triple(doc, dcterms.publisher, Literal(row.one("publisher")))
        yield from self.date(doc, row)
        if row.one("url"):
            yield Triple(doc, foaf.page, NamedNode(row.one("url")))
        yield from self.refs(doc, dcterms.references, row, "references", "source")

    def actors(self, row: Row) -> Iterator[Triple]:
        actor = agent_iri(row.one("id"))
        cls, territory_kind = ACTOR_KINDS[row.one("kind")]
        yield from self.common(actor, row, cls)
        if territory_kind:
            yield Triple(actor, alli.territoryKind, concept("territory-kind", territory_kind))

    def posts(self, row: Row) -> Iterator[Triple]:
        post = idns[f"post/{row.one('id')}"]
        yield from self.common(post, row, org.Post)
        yield Triple(post, org.postIn, agent_iri(row.one("post_in")))

    def people(self, row: Row) -> Iterator[Triple]:
        person = idns[f"person/{row.one('id')}"]
        yield from self.common(person, row, foaf.Person)
        yield Triple(person, foaf.name, Literal(row.one("name")))
        yield Triple(person, rdfs.label, fr(row.one("name")))
        yield Triple(person, rdfs.label, en(row.one("name")))
        yield from self.refs(person, org.holds, row, "posts", "post")

    def objectives(self, row: Row) -> Iterator[Triple]:
        objective = idns[f"objective/{row.one('id')}"]
        yield from self.common(objective, row, alli.PolicyObjective)
        yield from self.refs(objective, alli.facilitatedBy, row, "facilitated_by", "instrument")

    def decisions(self, row: Row) -> Iterator[Triple]:
        decision = idns[f"decision/{row.one('id')}"]
        yield from self.common(decision, row, alli.Decision)
        yield from self.date(decision, row)
        if row.one("location"):
            yield Triple(decision, schema.location, agent_iri(row.one("location")))
        yield from self.refs(decision, rdfs.seeAlso, row, "see_also", "source")

    def decision_parts(self, row: Row) -> Iterator[Triple]:
        part = part_iri(row.one("decision"), row.one("number"))
        yield from self.common(part, row, alli.DecisionPart)
        yield Triple(part, dcterms.isPartOf, idns[f"decision/{row.one('decision')}"])
        number = Literal(str(int(row.one("number"))), datatype=xsd.integer)
        yield Triple(part, alli.partNumber, number)

    def instruments(self, row: Row) -> Iterator[Triple]:
        instrument = idns[f"instrument/{row.one('id')}"]
        yield from self.common(instrument, row, alli.PolicyInstrument)
        yield Triple(instrument, alli.instrumentKind, concept("instrument-kind", row.one("kind")))
        yield from self.concepts(instrument, alli.status, row, "status", "status")
        yield from self.refs(instrument, alli.launchedBy, row, "launched_by", "decision")
        if row.one("launched_within_part"):
            part = part_iri(row.one("launched_by"), row.one("launched_within_part"))
            yield Triple(instrument, alli.launchedWithin, part)
        yield from self.concepts(
            instrument, alli.cooperationDomain, row, "cooperation_domains", "cooperation-domain"
        )
        yield from self.refs(
            instrument,
            alli.generalisationEnvisagedIn,
            row,
            "generalisation_envisaged_in",
            "agreement",
        )
        yield from self.concepts(instrument, alli.suitedFor, row, "suited_for", "territory-kind")
        yield from self.refs(instrument, alli.serves, row, "serves", "objective")

    def agreements(self, row: Row) -> Iterator[Triple]:
        agreement = idns[f"agreement/{row.one('id')}"]
        yield from self.common(agreement, row, AGREEMENT_KINDS[row.one("kind")])
        yield from self.date(agreement, row)
        yield from self.concepts(agreement, alli.status, row, "status", "status")
        yield from self.refs(
            agreement, alli.implementsInstrument, row, "implements_instrument", "instrument"
        )
        yield from self.concepts(
            agreement, alli.cooperationDomain, row, "cooperation_domains", "cooperation-domain"
        )
        yield from self.refs(agreement, alli.serves, row, "serves", "objective")
        yield from self.refs(agreement, rdfs.seeAlso, row, "see_also", "source")

    def parties(self, row: Row) -> Iterator[Triple]:
        slug, party = row.one("agreement"), row.one("party")
        agreement = idns[f"agreement/{slug}"]
        participation = idns[f"agreement/{slug}/party/{agent_slug(party)}"]
        yield Triple(agreement, alli.hasParty, agent_iri(party))
        yield Triple(agreement, alli.participation, participation)
        yield from self.common(participation, row, alli.Participation)
        yield Triple(participation, alli.party, agent_iri(party))
        yield Triple(participation, alli.partyRole, concept("party-role", row.one("role")))
        of_fr, of_en = self.agreement_label(slug, "fr"), self.agreement_label(slug, "en")
        label_fr = f"{self.party_label(party, 'fr')}, partie à « {of_fr} »"
        label_en = f"{self.party_label(party, 'en')}, party to “{of_en}”"
        yield Triple(participation, rdfs.label, fr(label_fr))
        yield Triple(participation, rdfs.label, en(label_en))

    def events(self, row: Row) -> Iterator[Triple]:
        event = idns[f"event/{row.one('id')}"]
        yield from self.common(event, row, alli.SigningCeremony)
        yield from self.date(event, row)
        if row.one("location"):
            yield Triple(event, schema.location, agent_iri(row.one("location")))
        yield from self.refs(event, alli.inPresenceOf, row, "in_presence_of", "person")

    def signatures(self, row: Row) -> Iterator[Triple]:
        slug, party = row.one("agreement"), row.one("on_behalf_of")
        signature = idns[f"agreement/{slug}/signature/{agent_slug(party)}"]
        yield from self.common(signature, row, alli.Signature)
        yield Triple(signature, alli.signedAgreement, idns[f"agreement/{slug}"])
        yield Triple(signature, alli.signedOnBehalfOf, agent_iri(party))
        yield from self.refs(signature, alli.signedBy, row, "signed_by", "person")
        yield from self.refs(signature, alli.signatoryPost, row, "signatory_post", "post")
        yield from self.date(signature, row)
        yield from self.refs(signature, alli.atEvent, row, "event", "event")
        label_fr = f"Signature de « {self.agreement_label(slug, 'fr')} » pour "
        label_en = f"Signature of “{self.agreement_label(slug, 'en')}” on behalf of "
        yield Triple(signature, rdfs.label, fr(label_fr + self.party_label(party, "fr")))
        yield Triple(signature, rdfs.label, en(label_en + self.party_label(party, "en")))

    def commitments(self, row: Row) -> Iterator[Triple]:
        commitment = idns[f"commitment/{row.one('id')}"]
        yield from self.common(commitment, row, alli.Commitment)
        yield Triple(commitment, alli.inAgreement, idns[f"agreement/{row.one('agreement')}"])
        yield Triple(commitment, alli.statement, fr(row.one("statement_fr")))
        yield Triple(commitment, alli.statement, en(row.one("statement_en")))
        yield from self.link(commitment, alli.committedBy, map(agent_iri, row.many("committed_by")))
        yield from self.link(commitment, alli.committedTo, map(agent_iri, row.many("committed_to")))
        yield from self.concepts(
            commitment, alli.cooperationDomain, row, "cooperation_domains", "cooperation-domain"
        )
        yield from self.refs(commitment, alli.serves, row, "serves", "objective")
        for other in row.many("reciprocal_of"):  # mutual: one side written is enough
            yield Triple(commitment, alli.reciprocalOf, idns[f"commitment/{other}"])
            yield Triple(idns[f"commitment/{other}"], alli.reciprocalOf, commitment)


# --- the source -----------------------------------------------------------------------------------


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
            emit = getattr(emitter, table.name.replace("-", "_"))
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
