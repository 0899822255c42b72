"""The tables, described as data: each column's name, kind, requirement and target."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pyoxigraph import NamedNode

from alliance.namespaces import (
    alli,
)

#: The bundled tables (package data of `alliance.ingest.facts`).
FACTS_DIR = Path(__file__).resolve().parent.parent / "facts"

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SIREN_RE = re.compile(r"^\d{9}$")
COG_RE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: a date as precise as the source gives it: a day, a month or a year
PARTIAL_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
YEAR_RE = re.compile(r"^\d{4}$")
DECIMAL_RE = re.compile(r"^\d+(\.\d+)?$")
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
        "economic-development",
        "employment-integration",
        "energy-transition",
        "environment",
        "health",
        "culture",
        "public-services",
        "agriculture-food",
        "tourism",
        "mobility",
        "teleworking",
        "higher-education-research",
        "urban-renewal",
        "digital-city",
        "maritime-economy",
    ),
    "instrument-kind": (
        "reciprocity-contract",
        "metropolitan-pact",
        "interministerial-committee",
        "metropolitan-pole",
        "investment-fund",
        "rurality-contract",
        "metropolitan-innovation-pact",
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
        "region",
    ),
    "claim-basis": ("stated", "reported-view", "inferred"),
    "milestone-kind": (
        "designation",
        "protocol",
        "signature",
        "announcement",
        "follow-up",
        "review",
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
    "metropolitan-innovation-pact": alli.MetropolitanInnovationPact,
    "pilot-pair": alli.PilotPair,
}

#: How a cell names a curated resource of another table (`agreement:ID`…): prefix → table, and
#: the first segment of its IRI.
RESOURCE_PREFIXES: dict[str, tuple[str, str]] = {
    "agreement": ("agreements", "agreement"),
    "instrument": ("instruments", "instrument"),
    "actor": ("actors", "actor"),
    "person": ("people", "person"),
    "post": ("posts", "post"),
    "decision": ("decisions", "decision"),
    "objective": ("objectives", "objective"),
}

#: Reference territories a cell may name as `prefix:code`; the IRI is `id:{prefix}/{code}`.
TERRITORY_PREFIXES = ("epci", "commune", "departement", "region")


# --- the declarative description of the tables ----------------------------------------------------


class Kind(Enum):
    """What a cell holds, hence how it is checked."""

    ID = "slug, unique in the table"
    TEXT = "text"
    DATE = "date YYYY-MM-DD"
    PARTIAL_DATE = "date YYYY-MM-DD, or YYYY-MM or YYYY when the source gives no day"
    YEAR = "year YYYY"
    DECIMAL = "number such as 7400000 or 1.55 (digits, a dot before decimals)"
    INTEGER = "positive whole number"
    URL = "http(s) address"
    CHOICE = "one of a fixed list"
    CONCEPT = "concept of a SKOS scheme"
    REF = "id of a row of another table"
    AGENT = "actor id, or reference territory epci:SIREN / commune:COG / departement:CODE / …"
    PLACE = "reference commune written commune:COG"
    RESOURCE = (
        "curated resource written agreement:ID, instrument:ID, actor:ID, person:ID, post:ID, "
        "decision:ID or objective:ID, or a reference territory epci:SIREN / commune:COG / …"
    )


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
        extra = (SOURCE, *CLAIM) if self.sourced else ()
        return self.columns + extra + (NOTE,)

    def column(self, name: str) -> Column:
        return next(c for c in self.all_columns() if c.name == name)


ID = Column("id", Kind.ID, required=True)
SOURCE = Column("source", Kind.REF, required=True, many=True, target="sources")
NOTE = Column("note", Kind.TEXT)  # for curators only: never published
#: What every sourced row's claim rests on: the source's statement (the default), a view the
#: source reports (whose, in `view_of`), or the curators' inference (with its published reason).
CLAIM = (
    Column("basis", Kind.CONCEPT, target="claim-basis"),
    Column("view_of", Kind.REF, many=True, target="people"),
    Column("reason_fr", Kind.TEXT),
    Column("reason_en", Kind.TEXT),
)
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
            Column("date", Kind.PARTIAL_DATE),
            Column("url", Kind.URL),
            _refs("references", "sources"),
        ),
        sourced=False,
    ),
    Table(
        "actors",
        (
            ID,
            Column("kind", Kind.CHOICE, required=True, choices=tuple(ACTOR_KINDS)),
            *DESCRIBED,
            Column("departements", Kind.AGENT, many=True),
        ),
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
            Column("legal_basis_fr", Kind.TEXT),
            Column("legal_basis_en", Kind.TEXT),
        ),
    ),
    Table(
        "agreements",
        (
            ID,
            Column("kind", Kind.CHOICE, required=True, choices=tuple(AGREEMENT_KINDS)),
            *DESCRIBED,
            Column("date", Kind.PARTIAL_DATE),
            _concepts("status", "status"),
            _refs("implements_instrument", "instruments", many=False),
            _concepts("cooperation_domains", "cooperation-domain"),
            _refs("serves", "objectives"),
            _refs("see_also", "sources"),
            _refs("follows", "agreements"),
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
    Table(
        "milestones",
        (
            ID,
            _refs("agreement", "agreements", required=True, many=False),
            _concepts("kind", "milestone-kind", required=True, many=False),
            *DESCRIBED,
            Column("date", Kind.PARTIAL_DATE, required=True),
            Column("location", Kind.PLACE),
            _refs("people", "people"),
        ),
    ),
    Table(
        "amounts",
        (
            ID,
            Column("about", Kind.RESOURCE, required=True),
            *DESCRIBED,
            Column("value", Kind.DECIMAL, required=True),
            Column("currency", Kind.CHOICE, required=True, choices=("EUR",)),
            Column("year", Kind.YEAR, required=True),
        ),
    ),
    Table(
        "claims",
        (
            ID,
            Column("about", Kind.RESOURCE, required=True, many=True),
            Column("statement_fr", Kind.TEXT, required=True),
            Column("statement_en", Kind.TEXT, required=True),
            Column("date", Kind.PARTIAL_DATE),
        ),
    ),
    Table(
        "perimeters",
        (
            ID,
            _refs("territory", "actors", required=True, many=False),
            *DESCRIBED,
            Column("members", Kind.AGENT, many=True),
            Column("member_count", Kind.INTEGER),
            Column("from", Kind.PARTIAL_DATE),
            Column("until", Kind.PARTIAL_DATE),
            Column("describes", Kind.PARTIAL_DATE),
        ),
    ),
    Table(
        "tenures",
        (
            _refs("person", "people", required=True, many=False),
            _refs("post", "posts", required=True, many=False),
            Column("from", Kind.PARTIAL_DATE),
            Column("until", Kind.PARTIAL_DATE),
        ),
        key=("person", "post", "from", "source"),  # each source's account of a tenure
    ),
)
TABLES_BY_NAME = {t.name: t for t in TABLES}
