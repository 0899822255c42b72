"""Territories in time, on the bundled data: counts, perimeters and changes at past dates.

The figures are INSEE's and the cited sources' (ingest/reference/SOURCES.md): 36,658 communes
on 1 January 2015, 35,885 in 2016, 35,416 in 2017, 34,970 in 2019, 34,875 in today's list;
the Métropole de Lyon had 59 communes when the pact was signed and has 58 since Oullins and
Pierre-Bénite merged; Lille's signatory of 2016 is the body merged away in 2020.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pyoxigraph import QuerySolutions

from alliance.ingest.curated import CuratedFacts
from alliance.ingest.reference.history import read_epci_2020, read_versions, rebuild_history
from alliance.ingest.source import SourceError
from alliance.namespaces import ID
from alliance.queries import named_queries
from alliance.queries.parameters import bind
from alliance.store import GraphStore

QUERIES = named_queries()
COMMUNE = "http://rdf.insee.fr/def/geo#Commune"
ALLI = "https://w3id.org/alliance/ontology#"
LYON = ID + "epci/200046977"
LILLE_2016, LILLE_TODAY = ID + "epci/245900410", ID + "epci/200093201"


def run(store: GraphStore, name: str, **params: str) -> list[dict[str, str | None]]:
    """A named query's rows as {column: value}, its parameters bound as the web API binds them."""
    query = QUERIES[name]
    result = store.query(query.sparql(), substitutions=bind(query.parameters, params) or None)
    assert isinstance(result, QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: getattr(s[n], "value", None) for n in names} for s in result]


def counts(store: GraphStore, **params: str) -> dict[str, int]:
    return {r["kind"]: int(r["count"] or 0) for r in run(store, "territory-counts", **params)}


@pytest.mark.parametrize(
    ("day", "communes"),
    [("2015-01-01", 36658), ("2016-01-01", 35885), ("2017-01-01", 35416), ("2019-01-01", 34970)],
)
def test_commune_counts_are_insee_s(store: GraphStore, day: str, communes: int) -> None:
    assert counts(store, date=day) == {COMMUNE: communes}


def test_today_s_counts(store: GraphStore) -> None:
    today = counts(store)
    assert today[COMMUNE] == 34875
    assert today[ALLI + "Metropole"] == 22
    assert today["http://rdf.insee.fr/def/geo#Region"] == 18


def test_the_2020_epci_list_is_counted_by_its_natures(store: GraphStore) -> None:
    listed = counts(store, date="2020-01-01")
    assert COMMUNE not in listed  # the commune history ends on 1 January 2019: not guessed
    assert listed[ALLI + "CommunauteCommunes"] == 997
    assert sum(listed.values()) == 1255  # 1,254 EPCI and the Métropole de Lyon


def members(store: GraphStore, territory: str, **params: str) -> list[dict[str, str | None]]:
    return run(store, "territory-members", territory=territory, **params)


def test_lyon_had_59_communes_at_the_pact_and_has_58_today(store: GraphStore) -> None:
    at_pact = members(store, LYON, date="2016-07-06")
    today = members(store, LYON)
    assert len(at_pact) == 59 and len(today) == 58
    names = {r["name"] for r in at_pact}
    assert {"Oullins", "Pierre-Bénite"} <= names
    assert "Oullins-Pierre-Bénite" in {r["name"] for r in today}
    # the communes of 2016 are the versions of that day, not today's communes
    oullins = next(r for r in at_pact if r["name"] == "Oullins")
    assert oullins["commune"] == ID + "commune/69149/1943-01-01"


def test_lille_s_perimeter_through_its_mergers(store: GraphStore) -> None:
    assert len(members(store, LILLE_2016, date="2016-07-06")) == 85
    assert len(members(store, LILLE_2016, date="2017-06-01")) == 90
    assert members(store, LILLE_2016) == []  # gone from today's list
    assert len(members(store, LILLE_TODAY)) == 95
    # no source gives today's body a perimeter before it was created
    assert members(store, LILLE_TODAY, date="2016-07-06") == []


def test_a_perimeter_no_source_gives_answers_nothing(store: GraphStore) -> None:
    creusot = ID + "epci/247100290"
    assert members(store, creusot, date="2015-03-13") == []
    assert len(members(store, creusot, date="2017-06-01")) == 34


def test_the_pact_s_lille_signatory_is_the_2016_body(store: GraphStore) -> None:
    rows = run(store, "cq14-pact-signatories-in-2016")
    assert len({r["signatory"] for r in rows}) == 15
    lille = next(r for r in rows if r["signatory"] == LILLE_2016)
    assert lille["siren"] == "245900410"
    assert lille["successor"] == LILLE_TODAY
    assert lille["communes"] == "85"
    assert lille["basis"] == "https://w3id.org/alliance/vocab/claim-basis/inferred"
    assert "Weppes" in (lille["reason"] or "")
    lyon = next(r for r in rows if r["signatory"] == LYON)
    assert lyon["communes"] == "59"


def test_pilot_urban_parties_in_2015_and_today(store: GraphStore) -> None:
    rows = {r["urban"]: r for r in run(store, "cq13-pilot-urban-members-over-time")}
    assert (rows[LYON]["communes2015"], rows[LYON]["communesToday"]) == ("59", "58")
    brest = rows[ID + "epci/242900314"]
    assert (brest["communes2015"], brest["communesToday"]) == ("8", "8")
    creusot = rows[ID + "epci/247100290"]
    assert creusot["communes2015"] is None and creusot["communesToday"] == "34"


def test_what_changed_for_the_signatories_since_the_pact(store: GraphStore) -> None:
    rows = run(store, "cq15-signatory-changes-since-pact")
    lille = [r for r in rows if r["signatory"] == LILLE_2016]
    joined = {r["toName"] for r in lille if r["date"] == "2017-01-01"}
    assert joined == {"Aubers", "Bois-Grenier", "Fromelles", "Le Maisnil", "Radinghem-en-Weppes"}
    merged = [r for r in lille if r["to"] == LILLE_TODAY]
    assert [r["date"] for r in merged] == ["2020-03-14"]
    strasbourg = {r["toName"] for r in rows if r["signatory"] == ID + "epci/246700488"}
    assert len(strasbourg) == 5 and "Hangenbieten" in strasbourg


def test_a_commune_s_history(store: GraphStore) -> None:
    rows = run(store, "territory-history", territory=ID + "commune/74010")
    merged = [r for r in rows if r["date"] == "2017-01-01"]
    assert {r["fromName"] for r in merged} >= {"Annecy", "Annecy-le-Vieux", "Seynod"}
    assert "commune devenant déléguée" in {r["change"] for r in merged}


def test_today_s_queries_do_not_meet_past_versions(store: GraphStore) -> None:
    rows = store.query('SELECT ?c WHERE { ?c <http://rdf.insee.fr/def/geo#nom> "Lyon" }')
    assert [r["c"].value for r in rows] == [ID + "commune/69123"]


def test_the_graphs_say_the_date_they_describe(store: GraphStore) -> None:
    rows = store.query(
        "SELECT ?g ?d WHERE { GRAPH ?g { ?g <http://purl.org/dc/terms/temporal> ?d } }",
        union_default_graph=False,
    )
    dates = {(r["g"].value.rsplit("/", 1)[1], r["d"].value) for r in rows}
    assert ("territories", "2025-01-01") in dates
    assert {("territory-history", "2019-01-01"), ("territory-history", "2020-01-01")} <= dates


def test_the_gate_refuses_a_fact_naming_a_body_not_yet_created(tmp_path: Path) -> None:
    facts = tmp_path / "facts"
    shutil.copytree(CuratedFacts().directory, facts)
    signatures = facts / "signatures.csv"
    signatures.write_text(
        signatures.read_text(encoding="utf-8").replace("epci:245900410", "epci:200093201"),
        encoding="utf-8",
    )
    parties = facts / "parties.csv"
    parties.write_text(
        parties.read_text(encoding="utf-8").replace("epci:245900410", "epci:200093201"),
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as refused:
        list(CuratedFacts(facts).build())
    messages = [str(p) for p in refused.value.problems]
    assert any(
        "signatures.csv, row 9" in m and "did not exist on 2020-01-01" in m for m in messages
    )


def test_rebuild_resolves_changes_to_communes(tmp_path: Path) -> None:
    """A merger through a commune déléguée leads from each old commune to the new one."""
    package = tmp_path / "package"
    (package / "data").mkdir(parents=True)
    (package / "package.json").write_text('{"version": "0.8.0"}', encoding="utf-8")
    entries = [
        {
            "id": "COM-01001@1943-01-01",
            "type": "COM",
            "code": "01001",
            "nom": "Aval",
            "dateFin": "2016-01-01",
            "raisonFin": "commune devenant déléguée",
            "successeur": "COMD-01001@2016-01-01",
        },
        {
            "id": "COM-01002@1943-01-01",
            "type": "COM",
            "code": "01002",
            "nom": "Amont",
            "dateFin": "2016-01-01",
            "raisonFin": "commune devenant déléguée",
            "successeur": "COMD-01002@2016-01-01",
        },
        {
            "id": "COMD-01001@2016-01-01",
            "type": "COMD",
            "code": "01001",
            "nom": "Aval",
            "dateDebut": "2016-01-01",
            "pole": "COM-01001@2016-01-01",
        },
        {
            "id": "COMD-01002@2016-01-01",
            "type": "COMD",
            "code": "01002",
            "nom": "Amont",
            "dateDebut": "2016-01-01",
            "pole": "COM-01001@2016-01-01",
        },
        {
            "id": "COM-01001@2016-01-01",
            "type": "COM",
            "code": "01001",
            "nom": "Val-Neuf",
            "dateDebut": "2016-01-01",
            "raisonDebut": "commune nouvelle",
        },
    ]
    (package / "data/historique-communes.json").write_text(json.dumps(entries), "utf-8")
    epci = [{"code": "200000001", "nom": "CC Test", "type": "CC", "membres": [{"code": "01001"}]}]
    (package / "data/epci.json").write_text(json.dumps(epci), encoding="utf-8")
    summary = rebuild_history(package, tmp_path / "out")
    assert summary["counts"]["communes_valid"]["2015-01-01"] == 2
    assert summary["counts"]["communes_valid"]["2017-01-01"] == 1
    versions = {v.key: v for v in read_versions(tmp_path / "out")}
    assert versions["01001@1943-01-01"].successors == ("01001@2016-01-01",)
    assert versions["01002@1943-01-01"].successors == ("01001@2016-01-01",)
    assert versions["01001@2016-01-01"].name == "Val-Neuf"
    assert [e.members for e in read_epci_2020(tmp_path / "out")] == [("01001",)]
    again = rebuild_history(package, tmp_path / "again")
    assert again["files"] == summary["files"]  # byte-identical output
