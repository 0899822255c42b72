"""What became of the agreements: the facts found after the source document, on the bundled data.

Each test asks the bundled store what a researcher or a local officer would ask, through the
named queries of the public API, and checks the answers against the curated tables.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from pyoxigraph import QuerySolutions

from alliance.ingest.curated import FACTS_DIR
from alliance.queries import named_queries
from alliance.store import GraphStore

ID = "https://w3id.org/alliance/id/"
ALLI = "https://w3id.org/alliance/ontology#"
CB = "https://w3id.org/alliance/vocab/claim-basis/"
QUERIES = named_queries()
SEED = f"{ID}source/lab-periurbain-reciprocite"

Row = dict[str, str | None]


def ask(store: GraphStore, name: str, **given: str) -> list[Row]:
    """A named query's rows as plain strings, its parameters given as clients give them."""
    query = QUERIES[name]
    result = store.query(query.sparql(), substitutions=dict(query.bind(given)) or None)
    assert isinstance(result, QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: (s[n].value if s[n] is not None else None) for n in names} for s in result]


def select(store: GraphStore, sparql: str) -> list[Row]:
    prefixes = f"PREFIX alli: <{ALLI}> PREFIX dcterms: <http://purl.org/dc/terms/> "
    prefixes += "PREFIX foaf: <http://xmlns.com/foaf/0.1/> "
    result = store.query(prefixes + sparql)
    assert isinstance(result, QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: (s[n].value if s[n] is not None else None) for n in names} for s in result]


def agreements(rows: list[Row]) -> dict[str, set[str | None]]:
    """Agreement slug → the parties (slugs) it was reached through (None: directly)."""
    found: dict[str, set[str | None]] = {}
    for row in rows:
        slug = (row["agreement"] or "").removeprefix(f"{ID}agreement/")
        via = row["via"].removeprefix(ID) if row["via"] else None
        found.setdefault(slug, set()).add(via)
    return found


def table(name: str) -> list[dict[str, str]]:
    with open(FACTS_DIR / f"{name}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# --- territory-agreements -------------------------------------------------------------------


def test_carhaix_takes_part_in_the_brest_contract_through_the_pays(store: GraphStore) -> None:
    rows = ask(store, "territory-agreements", territory=f"{ID}commune/29024")
    found = agreements(rows)
    assert found["contrat-reciprocite-brest-cob-2016"] == {"actor/pays-centre-ouest-bretagne"}
    assert found["contrat-reciprocite-brest-centre-ouest-bretagne"] == {
        "actor/pays-centre-ouest-bretagne"
    }
    signed = [
        r for r in rows if r["agreement"] == f"{ID}agreement/contrat-reciprocite-brest-cob-2016"
    ]
    assert {r["date"] for r in signed} == {"2016-11-04"}
    assert {r["kind"] for r in signed} == {f"{ALLI}ReciprocityContract"}
    assert {r["territory"] for r in rows} == {f"{ID}commune/29024"}


def test_lyon_takes_part_in_the_pact_the_pair_and_its_innovation_pact(store: GraphStore) -> None:
    found = agreements(ask(store, "territory-agreements", territory=f"{ID}commune/69123"))
    metropole = {"epci/200046977"}
    assert found["pacte-etat-metropoles"] == metropole
    assert found["contrat-reciprocite-lyon-aurillac"] == metropole
    assert found["pacte-metropolitain-innovation-lyon"] == metropole


def test_aurillac_takes_part_in_the_lyon_pair_through_its_pays(store: GraphStore) -> None:
    found = agreements(ask(store, "territory-agreements", territory=f"{ID}commune/15014"))
    assert found == {"contrat-reciprocite-lyon-aurillac": {"actor/pays-d-aurillac"}}


def test_a_metropolis_takes_part_directly(store: GraphStore) -> None:
    found = agreements(ask(store, "territory-agreements", territory=f"{ID}epci/242900314"))
    assert found["contrat-reciprocite-brest-cob-2016"] == {None}
    assert found["pacte-metropolitain-innovation-brest"] == {None}


def test_a_date_leaves_out_later_agreements(store: GraphStore) -> None:
    today = agreements(ask(store, "territory-agreements", territory=f"{ID}epci/200046977"))
    before = agreements(
        ask(store, "territory-agreements", territory=f"{ID}epci/200046977", date="2016-07-06")
    )
    assert "pacte-metropolitain-innovation-lyon" in today
    assert "pacte-metropolitain-innovation-lyon" not in before  # signed in 2017
    assert "pacte-etat-metropoles" in before  # signed that day


def test_the_toulouse_contract_shows_both_signature_dates(store: GraphStore) -> None:
    rows = ask(store, "territory-agreements", territory=f"{ID}epci/243100518")
    slug = f"{ID}agreement/contrat-reciprocite-toulouse-portes-de-gascogne-2017"
    assert {r["date"] for r in rows if r["agreement"] == slug} >= {"2017-06", "2017-07-10"}


# --- agreement-sources ----------------------------------------------------------------------


def test_agreement_sources_keep_conflicting_signature_dates_apart(store: GraphStore) -> None:
    slug = f"{ID}agreement/contrat-reciprocite-toulouse-portes-de-gascogne-2017"
    rows = ask(store, "agreement-sources", agreement=slug)
    signings = {
        (r["date"], (r["source"] or "").removeprefix(f"{ID}source/"))
        for r in rows
        if r["kind"] == f"{ALLI}Milestone" and r["date"] in ("2017-06", "2017-07-10")
    }
    assert ("2017-06", "bdt-nouvelles-toulouse-portes-gascogne-2018") in signings
    assert ("2017-07-10", "reussir-toulouse-portes-gascogne") in signings
    assert all(r["source"] and r["basis"] for r in rows)
    assert all(r["url"] for r in rows)  # every source of this contract is outside the seed
    inferred = [r for r in rows if r["basis"] == f"{CB}inferred"]
    assert inferred and all(r["reason"] for r in inferred)


def test_the_pact_signatories_are_marked_as_the_curators_inference(store: GraphStore) -> None:
    rows = ask(store, "agreement-sources", agreement=f"{ID}agreement/pacte-etat-metropoles")
    signatures = [r for r in rows if r["kind"] == f"{ALLI}Signature"]
    by_basis = {
        r["statement"]: r["basis"] for r in signatures if r["statement"]
    }  # one basis per signature
    lyon = f"{ID}agreement/pacte-etat-metropoles/signature/epci-200046977"
    state = f"{ID}agreement/pacte-etat-metropoles/signature/etat"
    assert by_basis[lyon] == f"{CB}inferred" and by_basis[state] == f"{CB}stated"
    reasons = {r["reason"] for r in signatures if r["statement"] == lyon}
    assert any("fifteen" in (reason or "") for reason in reasons)


# --- the fifteen metropolitan innovation pacts ----------------------------------------------


def test_fifteen_innovation_pacts_each_with_its_metropolis_and_a_cited_source(
    store: GraphStore,
) -> None:
    rows = select(
        store,
        """SELECT ?pact ?metropolis ?source ?url WHERE {
             ?pact a alli:MetropolitanInnovationPact ; alli:follows ?pact0 ;
                   alli:participation ?p ; dcterms:source ?source .
             ?p alli:partyRole <https://w3id.org/alliance/vocab/party-role/metropolis> ;
                alli:party ?metropolis .
             OPTIONAL { ?source foaf:page ?url }
             FILTER(?pact0 = <https://w3id.org/alliance/id/agreement/pacte-etat-metropoles>)
           }""",
    )
    pacts = {r["pact"] for r in rows}
    assert len(pacts) == 15
    assert len({r["metropolis"] for r in rows}) == 15
    assert all(r["url"] for r in rows)
    signatories = {
        r["metropolis"]
        for r in select(
            store,
            """SELECT ?metropolis WHERE {
                 <https://w3id.org/alliance/id/agreement/pacte-etat-metropoles>
                     alli:hasParty ?metropolis . ?metropolis alli:siren [] }""",
        )
    }
    assert {r["metropolis"] for r in rows} == signatories


def test_amounts_are_typed_with_currency_and_year(store: GraphStore) -> None:
    rows = select(
        store,
        """SELECT ?amount ?value ?currency ?year (DATATYPE(?value) AS ?vt) (DATATYPE(?year) AS ?yt)
           WHERE { ?amount a alli:MonetaryAmount ; <https://schema.org/value> ?value ;
                   <https://schema.org/currency> ?currency ; alli:referenceYear ?year }""",
    )
    assert len(rows) == len(table("amounts")) > 10
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert {(r["currency"], r["vt"], r["yt"]) for r in rows} == {
        ("EUR", f"{xsd}decimal", f"{xsd}gYear")
    }


# --- every fact has a source, every outside source an address -------------------------------


def test_every_curated_fact_has_a_source_and_a_basis(store: GraphStore) -> None:
    rows = select(
        store,
        """SELECT ?s WHERE {
             GRAPH <https://w3id.org/alliance/id/graph/facts> { ?s a ?type }
             FILTER(STRSTARTS(STR(?type), STR(alli:)) || ?type IN (foaf:Person,
                    <http://www.w3.org/ns/org#Post>))
             FILTER NOT EXISTS { ?s dcterms:source ?doc ; alli:basis ?basis }
           }""",
    )
    assert rows == []


def test_every_outside_source_has_an_address(store: GraphStore) -> None:
    rows = select(
        store,
        f"""SELECT ?doc WHERE {{
             GRAPH <https://w3id.org/alliance/id/graph/facts> {{ ?doc a foaf:Document }}
             FILTER NOT EXISTS {{ ?doc foaf:page ?url }}
             FILTER NOT EXISTS {{ <{SEED}> dcterms:references ?doc }}
           }}""",
    )
    assert rows == []
    assert len(table("sources")) > 60


@pytest.mark.parametrize("basis", ["reported-view", "inferred"])
def test_views_and_inferences_are_recorded(store: GraphStore, basis: str) -> None:
    rows = select(
        store,
        f"""SELECT ?s ?reason WHERE {{ ?s alli:basis <{CB}{basis}>
              OPTIONAL {{ ?s alli:basisReason ?reason }} }}""",
    )
    assert len({r["s"] for r in rows}) >= 5
    if basis == "inferred":
        assert all(r["reason"] for r in rows)


def test_a_designated_pair_is_not_a_signed_contract(store: GraphStore) -> None:
    rows = select(
        store,
        """SELECT ?contract ?pair WHERE {
             ?contract a alli:ReciprocityContract ; alli:follows ?pair .
             ?pair a alli:PilotPair }""",
    )
    assert {(r["contract"], r["pair"]) for r in rows} >= {
        (
            f"{ID}agreement/contrat-reciprocite-brest-cob-2016",
            f"{ID}agreement/contrat-reciprocite-brest-centre-ouest-bretagne",
        )
    }


def test_the_curators_guide_example_is_in_the_bundled_tables(store: GraphStore) -> None:
    """Section 5 of the guide shows real rows: each is a line of a bundled table, and the
    commands it gives answer as it says."""
    guide = (Path(__file__).parent.parent / "docs" / "curators-guide.md").read_text("utf-8")
    example = guide.split("## 5.", 1)[1]
    lines = [
        line
        for block in re.findall(r"```csv\n(.*?)```", example, re.S)
        for line in block.splitlines()
    ]
    assert len(lines) == 4
    tables = "\n".join(p.read_text("utf-8") for p in FACTS_DIR.glob("*.csv")).splitlines()
    assert all(line in tables for line in lines)
    found = agreements(ask(store, "territory-agreements", territory=f"{ID}commune/15187"))
    assert found == {"contrat-reciprocite-clermont-saint-flour": {"epci/200066660"}}
