"""Checking the tables together: keys, every cell against its column's kind, rules across tables."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from alliance.ingest.curated.reading import Row, split_list
from alliance.ingest.curated.schema import (
    COG_RE,
    CONCEPTS,
    DATE_RE,
    DECIMAL_RE,
    INTEGER_RE,
    PARTIAL_DATE_RE,
    RESOURCE_PREFIXES,
    SIREN_RE,
    SLUG_RE,
    SOURCE,
    TABLES,
    TERRITORY_PREFIXES,
    YEAR_RE,
    Column,
    Kind,
)
from alliance.ingest.reference.history import EPCI_VINTAGE
from alliance.ingest.reference.snapshot import GEOGRAPHY_DATE as TODAY_LIST
from alliance.ingest.reference.snapshot import ReferenceCodes
from alliance.problems import Problem


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
    for rule in (
        check_parts,
        check_signatures,
        check_commitments,
        check_roles,
        check_dated_parties,
        check_claims,
        check_spans,
        check_territory_lists,
    ):
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
    if kind is Kind.PARTIAL_DATE:
        return bad_partial_date(value)
    if kind is Kind.YEAR and not YEAR_RE.match(value):
        return f"'{value}' is not a year: write it as YYYY, e.g. 2017"
    if kind is Kind.DECIMAL and not DECIMAL_RE.match(value):
        return (
            f"'{value}' is not a number: write digits with a dot before decimals and no spaces "
            "or units, e.g. 7400000 for 7.4 million"
        )
    if kind is Kind.RESOURCE:
        return bad_resource(facts, value)
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


def start(value: str) -> str:
    """The first day a partial date covers: 2016-11 → 2016-11-01, 2016 → 2016-01-01."""
    return value + "-01-01"[len(value) - 4 :] if len(value) < 10 else value


def bad_partial_date(value: str) -> str | None:
    """A day, a month or a year: as precise as the source, never more."""
    if PARTIAL_DATE_RE.match(value) and not bad_date(start(value)):
        return None
    return (
        f"'{value}' is not a date: write YYYY-MM-DD, or YYYY-MM or YYYY when the source gives "
        "no day, e.g. 2016-11"
    )


def bad_resource(facts: Facts, value: str) -> str | None:
    """`agreement:ID` and the like name a curated row; `epci:SIREN` and the like a territory."""
    prefix, sep, ident = value.partition(":")
    if sep and prefix in RESOURCE_PREFIXES:
        table = RESOURCE_PREFIXES[prefix][0]
        if facts.get(table, ident) is None:
            return f"unknown id '{ident}' in '{value}': no row of {table}.csv has this id"
        return None
    if sep and prefix in TERRITORY_PREFIXES:
        return bad_territory(facts.codes, value)
    prefixes = ", ".join(f"{p}:ID" for p in RESOURCE_PREFIXES)
    return f"'{value}' names no resource; expected one of {prefixes}, or epci:SIREN, commune:COG…"


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
        if code not in codes.epci and code not in codes.former_epci:
            return f"no EPCI with SIREN {code} in the reference territories, today or in 2020"
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
        code = party.removeprefix("epci:")
        nature = (facts.codes.epci.get(code) or facts.codes.former_epci.get(code, ("", "")))[1]
        if nature and nature != "ME":
            message = f"role metropolis needs an EPCI of nature ME; {party} has nature {nature}"
            yield row.problem("role", message)


def check_dated_parties(facts: Facts) -> Iterator[Problem]:
    """A dated fact names the territories of its date, not today's bodies that replaced them.

    The bundled lists bound when an EPCI existed: one of today's EPCI missing from the list of
    1 January 2020 was created after that day; one of that list missing today ended before
    today's list. A signature (dated) and a party of a dated agreement are checked.
    """
    codes = facts.codes
    dated: list[tuple[Row, str, str, str]] = [
        (row, "on_behalf_of", row.one("on_behalf_of"), row.one("date"))
        for row in facts.rows["signatures"]
    ]
    for row in facts.rows["parties"]:
        agreement = facts.get("agreements", row.one("agreement"))
        if agreement is not None:
            dated.append((row, "party", row.one("party"), agreement.one("date")))
    for row, column, party, day in dated:
        prefix, _, code = party.partition(":")
        if prefix != "epci" or not day or bad_partial_date(day) or not codes.epci_2020:
            continue
        if code in codes.epci and code not in codes.epci_2020 and day < EPCI_VINTAGE:
            message = (
                f"{party} did not exist on {EPCI_VINTAGE} (it is not in that day's EPCI list), "
                f"so it cannot be a party on {day}: name the body of that date, e.g. the one it "
                "succeeded (see ingest/reference/epci-changes.csv)"
            )
            yield row.problem(column, message)
        elif code in codes.former_epci and day > TODAY_LIST:
            message = f"{party} is gone from today's EPCI list, so it cannot be a party on {day}"
            yield row.problem(column, message)


def check_claims(facts: Facts) -> Iterator[Problem]:
    """An inference publishes its reason, in both languages; a view says it is one."""
    for table in TABLES:
        if not table.sourced:
            continue
        for row in facts.rows[table.name]:
            basis = row.one("basis") or "stated"
            reasons = [c for c in ("reason_fr", "reason_en") if row.one(c)]
            if basis == "inferred":
                for column in ("reason_fr", "reason_en"):
                    if not row.one(column):
                        message = (
                            "an inferred fact needs its reason, published with it: say in "
                            f"{column} what the inference rests on"
                        )
                        yield row.problem(column, message)
            elif reasons:
                message = f"a reason is given but basis is '{basis}': set basis to inferred"
                yield row.problem("basis", message)
            if row.one("view_of") and basis != "reported-view":
                message = f"view_of names whose view this is, but basis is '{basis}'"
                yield row.problem("basis", message + ": set basis to reported-view")


def check_spans(facts: Facts) -> Iterator[Problem]:
    """A span ends after it starts; an agreement does not follow itself."""
    for name in ("perimeters", "tenures"):
        for row in facts.rows[name]:
            begin, end = row.one("from"), row.one("until")
            if begin and end and not bad_partial_date(begin) and not bad_partial_date(end):
                if start(end) <= start(begin):
                    message = f"until {end} is not after from {begin}"
                    yield row.problem("until", message)
    for row in facts.rows["agreements"]:
        if row.one("id") in row.many("follows"):
            yield row.problem("follows", "an agreement cannot follow itself")


def check_territory_lists(facts: Facts) -> Iterator[Problem]:
    """Members are communes or EPCI; an actor's départements are départements."""
    for row in facts.rows["perimeters"]:
        for member in row.many("members"):
            if member.partition(":")[0] not in ("epci", "commune"):
                message = f"member '{member}' is neither epci:SIREN nor commune:COG"
                yield row.problem("members", message)
    for row in facts.rows["actors"]:
        for code in row.many("departements"):
            if not code.startswith("departement:"):
                message = (
                    f"'{code}' is not a département: write departement:CODE, e.g. departement:15"
                )
                yield row.problem("departements", message)
