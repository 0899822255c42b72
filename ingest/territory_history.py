"""The territories in time: the `id:graph/territory-history` graph.

Today's territories (`territories.py`) keep their IRIs and direct triples, so queries written
for today's graph keep working. Beside them this source describes what the bundled history
knows (docs/model.md, "Territories in time"):

- every version of every commune since 1943 (their source is the graph's: INSEE's COG history,
  `prov:hadPrimarySource`; no triple per version repeats it) (`id:commune/{code}/{start}`, an
  `alli:CommuneVersion`), valid from `alli:validFrom` until the day before `alli:validUntil`,
  linked to the versions before and after it (`alli:successor`, `alli:predecessor`) and
  through an `alli:TerritorialChange` that carries the change's date and INSEE's kind of change;
- the perimeters of the EPCI on the days a source lists them (`alli:Perimeter`): the DGCL's
  list of 1 January 2020 (`alli:describesDate`), and the perimeters over a span of dates that
  a cited source gives (`ingest/reference/perimeters.csv`, `alli:validFrom`/`alli:validUntil`),
  each saying whether the source states it or the curators inferred it, and why;
- the EPCI of 2020 that are gone today (`alli:FormerEPCI`), so that a fact of 2016 can name
  the body that signed then.

A version is linked to today's commune (`dcterms:isVersionOf`) only when it was still in
force at the history's end and today's commune has the same code and name: the history stops
on 1 January 2019, so what changed since is not dated here.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Triple

from alliance.ingest.reference.history import (
    EPCI_2020_FILE,
    EPCI_CHANGES_FILE,
    EPCI_VINTAGE,
    HISTORY_END,
    HISTORY_JSON,
    PACKAGE_DIR,
    PERIMETER_SOURCES_FILE,
    PERIMETERS_FILE,
    VERSIONS_FILE,
    CommuneVersion,
    read_epci_2020,
    read_versions,
)
from alliance.ingest.reference.snapshot import reference_codes
from alliance.ingest.source import Progress, SourceError, no_progress
from alliance.ingest.territories import (
    ETALAB_LICENCE,
    NATURES,
    SOURCE_BANATIC,
    SOURCE_COG,
)
from alliance.ingest.territories import SOURCE_PAGES as REFERENCE_PAGES
from alliance.namespaces import ID, VOCAB, alli, dcterms, foaf, graph_iri, igeo, org, rdf, rdfs, xsd
from alliance.problems import Problem

log = logging.getLogger(__name__)

SOURCE_COG_HISTORY = NamedNode(f"{ID}source/insee-cog-history")
SOURCE_EPCI_2020 = NamedNode(f"{ID}source/banatic-epci-2020")
SOURCE_DECOUPAGE = NamedNode(f"{ID}source/decoupage-administratif")
PROGRESS_EVERY = 5000

#: Where a reader finds each dataset: the history and the 2020 list are parts of the COG and
#: BANATIC, published on their pages.
SOURCE_PAGES = {
    SOURCE_COG_HISTORY: REFERENCE_PAGES[SOURCE_COG],
    SOURCE_EPCI_2020: REFERENCE_PAGES[SOURCE_BANATIC],
    SOURCE_DECOUPAGE: NamedNode("https://github.com/datagouv/decoupage-administratif"),
}

#: (node, fr label, en label, publisher, the date its data describes)
SOURCE_DOCUMENTS = (
    (
        SOURCE_COG_HISTORY,
        "Historique des communes du Code officiel géographique, depuis 1943",
        "History of the communes of the official geographic code, since 1943",
        "Institut national de la statistique et des études économiques (Insee)",
        HISTORY_END,
    ),
    (
        SOURCE_EPCI_2020,
        "Liste des EPCI à fiscalité propre et de leurs communes membres au 1er janvier 2020",
        "EPCI with own taxation and their member communes on 1 January 2020",
        "Direction générale des collectivités locales (DGCL), ministère de l'Intérieur",
        EPCI_VINTAGE,
    ),
    (
        SOURCE_DECOUPAGE,
        "@etalab/decoupage-administratif 0.8.0 : découpage administratif français en JSON",
        "@etalab/decoupage-administratif 0.8.0: French administrative divisions as JSON",
        "Etalab (Direction interministérielle du numérique), packaging data of Insee and DGCL",
        EPCI_VINTAGE,
    ),
)

PERIMETER_COLUMNS = (
    "territory",
    "valid_from",
    "valid_until",
    "members",
    "count",
    "basis",
    "reason",
    "source",
)
SOURCE_COLUMNS = ("id", "title", "publisher", "date", "url")
CHANGE_COLUMNS = ("date", "from", "to", "change", "basis", "reason", "source")
BASES = ("stated", "inferred")


def version_iri(key: str) -> NamedNode:
    """`69149@1943-01-01` → id:commune/69149/1943-01-01."""
    code, _, start = key.partition("@")
    return NamedNode(f"{ID}commune/{code}/{start}")


@dataclass
class TerritoryHistory:
    """Source of `id:graph/territory-history`: commune versions, changes, dated perimeters."""

    directory: Path = PACKAGE_DIR
    name: str = "territory-history"
    title: str = (
        "Territories in time: INSEE's commune history since 1943, the DGCL's EPCI list of "
        "1 January 2020, and EPCI perimeters at past dates from cited sources"
    )

    def inputs(self) -> list[Path]:
        names = (
            VERSIONS_FILE,
            EPCI_2020_FILE,
            HISTORY_JSON,
            PERIMETERS_FILE,
            PERIMETER_SOURCES_FILE,
            EPCI_CHANGES_FILE,
        )
        return [self.directory / n for n in names]

    def primary_sources(self) -> list[NamedNode]:
        return [SOURCE_COG_HISTORY, SOURCE_EPCI_2020, SOURCE_DECOUPAGE]

    def build(self, progress: Progress = no_progress) -> Iterator[Triple]:
        """Every triple of the history graph; raises SourceError before emitting any."""
        versions = list(read_versions(self.directory))
        epcis = list(read_epci_2020(self.directory))
        perimeters, changes, sources = self._curated(versions, epcis)
        graph = graph_iri(self.name)
        yield from _documents(graph)
        yield from _versions(versions, progress)
        ended = {row["from"]: row["date"] for row in changes}
        yield from _epci_2020(epcis, versions, ended)
        yield from _epci_changes(changes)
        yield from _curated_perimeters(perimeters, changes, sources, versions, epcis)

    # --- the curated perimeters --------------------------------------------------------------

    def _curated(
        self, versions: list[CommuneVersion], epcis: list
    ) -> tuple[list[dict[str, str]], list[dict[str, str]], dict[str, dict[str, str]]]:
        """The hand-kept tables (perimeters, EPCI changes, their sources), checked."""
        problems: list[Problem] = []
        sources = {
            row["id"]: row
            for _, row in _rows(self.directory / PERIMETER_SOURCES_FILE, SOURCE_COLUMNS, problems)
        }
        path = self.directory / PERIMETERS_FILE
        known = {e.siren for e in epcis} | set(reference_codes().epci)
        codes = {v.code for v in versions}
        rows: list[dict[str, str]] = []
        for number, row in _rows(path, PERIMETER_COLUMNS, problems):

            def bad(column: str, message: str, number: int = number) -> None:
                problems.append(Problem(str(path), message, row=number, field=column))

            if row["territory"] not in known:
                bad("territory", f"no EPCI with SIREN {row['territory']} in 2020 or today")
            if not (row["valid_from"] < row["valid_until"]):
                bad("valid_until", "valid_until must be after valid_from (YYYY-MM-DD)")
            if row["basis"] not in BASES:
                bad("basis", f"basis must be one of {', '.join(BASES)}")
            if row["basis"] == "inferred" and not row["reason"]:
                bad("reason", "an inferred perimeter needs its reason")
            for source in row["source"].split():
                if source not in sources:
                    bad("source", f"unknown source '{source}' (see {PERIMETER_SOURCES_FILE})")
            base, *edits = row["members"].split()
            if base not in ("epci-2020", "none"):
                bad("members", "members start with epci-2020 or none, then +CODE / -CODE")
            for edit in edits:
                if edit[:1] not in ("+", "-") or edit[1:] not in codes:
                    bad("members", f"'{edit}' is not +CODE or -CODE of a known commune")
            rows.append(row)
        changes: list[dict[str, str]] = []
        path = self.directory / EPCI_CHANGES_FILE
        for number, row in _rows(path, CHANGE_COLUMNS, problems):
            for column in ("from", "to"):
                if row[column] not in known:
                    message = f"no EPCI {row[column]} in 2020 or today"
                    problems.append(Problem(str(path), message, row=number, field=column))
            if row["basis"] not in BASES or (row["basis"] == "inferred" and not row["reason"]):
                problems.append(
                    Problem(
                        str(path),
                        "basis: stated, or inferred with a reason",
                        row=number,
                        field="basis",
                    )
                )
            for source in row["source"].split():
                if source not in sources:
                    problems.append(
                        Problem(str(path), f"unknown source '{source}'", row=number, field="source")
                    )
            changes.append(row)
        if problems:
            raise SourceError(problems)
        return rows, changes, sources


def _rows(
    path: Path, columns: tuple[str, ...], problems: list[Problem]
) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != columns:
                problems.append(Problem(str(path), f"header must be {','.join(columns)}", row=1))
                return
            for number, row in enumerate(reader, start=2):
                if None in row or any(v is None for v in row.values()):
                    problems.append(Problem(str(path), "wrong number of fields", row=number))
                    continue
                yield number, {k: v.strip() for k, v in row.items()}
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        problems.append(Problem(str(path), f"cannot read: {error}"))


def _date(value: str) -> Literal:
    return Literal(value, datatype=xsd.date)


def _documents(graph: NamedNode) -> Iterator[Triple]:
    for node, label_fr, label_en, publisher, day in SOURCE_DOCUMENTS:
        yield Triple(node, rdf.type, foaf.Document)
        yield Triple(node, dcterms.title, Literal(label_fr, language="fr"))
        yield Triple(node, rdfs.label, Literal(label_fr, language="fr"))
        yield Triple(node, rdfs.label, Literal(label_en, language="en"))
        yield Triple(node, dcterms.publisher, Literal(publisher))
        yield Triple(node, dcterms.license, ETALAB_LICENCE)
        yield Triple(node, dcterms.temporal, _date(day))
        yield Triple(node, foaf.page, SOURCE_PAGES[node])
        yield Triple(graph, dcterms.temporal, _date(day))
    yield Triple(SOURCE_DECOUPAGE, dcterms.source, SOURCE_COG_HISTORY)
    yield Triple(SOURCE_DECOUPAGE, dcterms.source, SOURCE_EPCI_2020)
    yield Triple(SOURCE_COG_HISTORY, dcterms.isPartOf, SOURCE_COG)
    yield Triple(SOURCE_EPCI_2020, dcterms.isPartOf, SOURCE_BANATIC)


def _versions(versions: list[CommuneVersion], progress: Progress) -> Iterator[Triple]:
    """Each commune version, and each change between two versions."""
    T, L = Triple, Literal
    today = reference_codes().communes
    # not igeo:codeINSEE / igeo:nom, so that queries written for today's graph do not meet
    # the 43k past versions: alli:versionCode and alli:versionName are their sub-properties
    a, label, nom, code_insee = rdf.type, rdfs.label, alli.versionName, alli.versionCode
    by_key = {v.key: v for v in versions}
    total = len(versions)
    for done, v in enumerate(versions):
        if done % PROGRESS_EVERY == 0:
            progress(done, total, "commune versions")
        s = version_iri(v.key)
        yield T(s, a, alli.CommuneVersion)
        yield T(s, code_insee, L(v.code))
        yield T(s, nom, L(v.name))
        span = f"{v.start} – {v.end}" if v.end else f"{v.start} –"
        yield T(s, label, L(f"{v.name} ({v.code}, {span})", language="fr"))
        yield T(s, alli.validFrom, _date(v.start))
        if v.end:
            yield T(s, alli.validUntil, _date(v.end))
        elif today.get(v.code) == v.name:
            yield T(s, dcterms.isVersionOf, NamedNode(f"{ID}commune/{v.code}"))
        for key in v.successors:
            after = by_key[key]
            t = version_iri(key)
            day = after.start
            kind = v.end_reason if v.end == day and v.end_reason else after.start_reason
            change = NamedNode(f"{ID}change/{day}/{v.code}-{after.code}")
            yield T(s, alli.successor, t)
            yield T(t, alli.predecessor, s)
            yield T(change, a, alli.TerritorialChange)
            yield T(change, alli.changeDate, _date(day))
            yield T(change, alli.changeKind, L(kind or "changement", language="fr"))
            yield T(change, alli.fromVersion, s)
            yield T(change, alli.toVersion, t)
    progress(total, total, "commune versions")


def _in_force(versions: list[CommuneVersion], day: str) -> dict[str, NamedNode]:
    """Code → the version in force on `day` (the last known one after the history's end)."""
    day = min(day, HISTORY_END)
    return {
        v.code: version_iri(v.key)
        for v in versions
        if v.start <= day and (not v.end or v.end > day)
    }


def _overlapping(
    versions: list[CommuneVersion], start: str, end: str
) -> dict[str, list[NamedNode]]:
    """Code → every version in force at some day of [start, end): a span may see a change."""
    found: dict[str, list[NamedNode]] = {}
    for v in versions:
        if v.start < end and (not v.end or v.end > start):
            found.setdefault(v.code, []).append(version_iri(v.key))
    return found


def _epci_2020(
    epcis: list, versions: list[CommuneVersion], ended: dict[str, str]
) -> Iterator[Triple]:
    """The 2020 list: one perimeter per EPCI, and the EPCI of 2020 that are gone today."""
    T, N, L = Triple, NamedNode, Literal
    a, source = rdf.type, dcterms.source
    today = reference_codes().epci
    kinds = f"{VOCAB}territory-kind/"
    members_at = _in_force(versions, EPCI_VINTAGE)
    day = _date(EPCI_VINTAGE)
    for e in epcis:
        body = N(f"{ID}epci/{e.siren}")
        if e.siren not in today:
            cls, slug = NATURES[e.nature]
            yield T(body, a, alli.FormerEPCI)
            yield T(body, a, org.FormalOrganization)
            yield T(body, alli.siren, L(e.siren))
            yield T(body, igeo.nom, L(e.name))
            # the label tells it from today's body of the same name
            until_fr = f"jusqu'au {ended[e.siren]}" if e.siren in ended else "liste de 2020"
            until_en = f"until {ended[e.siren]}" if e.siren in ended else "2020 list"
            yield T(body, rdfs.label, L(f"{e.name} (SIREN {e.siren}, {until_fr})", language="fr"))
            yield T(body, rdfs.label, L(f"{e.name} (SIREN {e.siren}, {until_en})", language="en"))
            yield T(body, alli.epciNature, N(kinds + slug))
            yield T(body, source, SOURCE_EPCI_2020)
        perimeter = N(f"{ID}epci/{e.siren}/perimeter/{EPCI_VINTAGE}")
        yield T(perimeter, a, alli.Perimeter)
        yield T(perimeter, rdfs.label, L(f"{e.name} : périmètre au {EPCI_VINTAGE}", language="fr"))
        yield T(perimeter, rdfs.label, L(f"{e.name}: perimeter on {EPCI_VINTAGE}", language="en"))
        yield T(perimeter, alli.perimeterOf, body)
        yield T(perimeter, alli.describesDate, day)
        yield T(perimeter, alli.kindOnDate, NATURES[e.nature][0])
        yield T(perimeter, alli.memberCount, L(str(len(e.members)), datatype=xsd.integer))
        yield T(perimeter, alli.basis, N(f"{VOCAB}claim-basis/stated"))
        yield T(perimeter, source, SOURCE_EPCI_2020)
        for code in e.members:
            # the 2020 list names codes; the version is the one the history (to 2019) knows
            if code in members_at:
                yield T(perimeter, alli.hasMember, members_at[code])
            else:
                yield T(perimeter, alli.unresolvedMemberCode, L(code))


def _epci_changes(rows: list[dict[str, str]]) -> Iterator[Triple]:
    """A merger or renaming between two EPCI bodies, as a dated change."""
    T, N, L = Triple, NamedNode, Literal
    for row in rows:
        before, after = N(f"{ID}epci/{row['from']}"), N(f"{ID}epci/{row['to']}")
        change = N(f"{ID}change/{row['date']}/{row['from']}-{row['to']}")
        yield T(before, alli.successor, after)
        yield T(after, alli.predecessor, before)
        yield T(change, rdf.type, alli.TerritorialChange)
        yield T(change, alli.changeDate, _date(row["date"]))
        yield T(change, alli.changeKind, L(row["change"], language="fr"))
        yield T(change, alli.fromVersion, before)
        yield T(change, alli.toVersion, after)
        yield T(change, alli.basis, N(f"{VOCAB}claim-basis/{row['basis']}"))
        if row["reason"]:
            yield T(change, alli.basisReason, L(row["reason"], language="en"))
        for source in row["source"].split():
            yield T(change, dcterms.source, N(f"{ID}source/{source}"))
        yield T(before, alli.validUntil, _date(row["date"]))


def _curated_perimeters(
    rows: list[dict[str, str]],
    changes: list[dict[str, str]],
    sources: dict[str, dict[str, str]],
    versions: list[CommuneVersion],
    epcis: list,
) -> Iterator[Triple]:
    """Perimeters over a span of dates, from perimeters.csv, each with its basis and source."""
    T, N, L = Triple, NamedNode, Literal
    a = rdf.type
    lists = {e.siren: e.members for e in epcis}
    names = {e.siren: e.name for e in epcis}
    used = {source for row in changes for source in row["source"].split()}
    for row in rows:
        body = N(f"{ID}epci/{row['territory']}")
        perimeter = N(f"{ID}epci/{row['territory']}/perimeter/{row['valid_from']}")
        base, *edits = row["members"].split()
        codes = set(lists.get(row["territory"], ())) if base == "epci-2020" else set()
        for edit in edits:
            (codes.add if edit[0] == "+" else codes.discard)(edit[1:])
        members_at = _overlapping(versions, row["valid_from"], row["valid_until"])
        yield T(perimeter, a, alli.Perimeter)
        name, span = names.get(row["territory"], row["territory"]), row["valid_from"]
        span_fr = f"du {span} au {row['valid_until']} (exclu)"
        span_en = f"from {span} to {row['valid_until']} (excluded)"
        yield T(perimeter, rdfs.label, L(f"{name} : périmètre {span_fr}", language="fr"))
        yield T(perimeter, rdfs.label, L(f"{name}: perimeter {span_en}", language="en"))
        yield T(perimeter, alli.perimeterOf, body)
        yield T(perimeter, alli.validFrom, _date(row["valid_from"]))
        yield T(perimeter, alli.validUntil, _date(row["valid_until"]))
        yield T(perimeter, alli.basis, N(f"{VOCAB}claim-basis/{row['basis']}"))
        if row["reason"]:
            yield T(perimeter, alli.basisReason, L(row["reason"], language="en"))
        if base == "none":
            yield T(perimeter, alli.perimeterUnknown, L(True))
        else:
            yield T(perimeter, alli.memberCount, L(str(len(codes)), datatype=xsd.integer))
        if row["count"]:
            yield T(perimeter, alli.statedMemberCount, L(row["count"], datatype=xsd.integer))
        for code in sorted(codes):
            if code in members_at:
                for member in members_at[code]:
                    yield T(perimeter, alli.hasMember, member)
            else:
                yield T(perimeter, alli.unresolvedMemberCode, L(code))
        for source in row["source"].split():
            used.add(source)
            yield T(perimeter, dcterms.source, N(f"{ID}source/{source}"))
    for source in sorted(used):
        doc, row = N(f"{ID}source/{source}"), sources[source]
        yield T(doc, a, foaf.Document)
        # the original title, in the document's language: the label in both languages
        yield T(doc, dcterms.title, L(row["title"]))
        yield T(doc, rdfs.label, L(row["title"], language="fr"))
        yield T(doc, rdfs.label, L(row["title"], language="en"))
        yield T(doc, dcterms.publisher, L(row["publisher"]))
        if row["date"]:
            yield T(doc, dcterms.date, _date(row["date"]))
        yield T(doc, foaf.page, N(row["url"]))
