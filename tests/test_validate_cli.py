"""`alliance validate` on real data: known-bad inputs give the expected results, in every format."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

from alliance.cli import main
from alliance.namespaces import ALLI, ID, graph_iri

FACTS_DIR = Path(__file__).resolve().parents[1] / "ingest" / "facts"
ALSH = "https://w3id.org/alliance/shapes#"
CONTRACT = f"{ID}agreement/test-contract"
COMMITMENT = f"{ID}commitment/test-commitment"
LYON_AURILLAC = "contrat-reciprocite-brest-cob-2016"  # a signed contract
RURAL_FR = "Le contrat de réciprocité n'a aucune partie de rôle rural ou périurbain."
RURAL_EN = "The reciprocity contract has no party with the rural or periurban role."
NON_PARTY_FR = "L'engagement est pris par une organisation qui n'est pas partie à l'accord."
NON_PARTY_EN = "The commitment is made by an organisation that is not a party to the agreement."
SCRIPT = "<script>alert(1)</script>"

#: A reciprocity contract with an urban party only, and a commitment by a non-party (shared
#: with the web and browser tests); relative IRIs resolve against ID, as the service reads them.
BAD_TURTLE = f"@base <{ID}> .\n" + (
    Path(__file__).parent / "data" / "broken-contract.ttl"
).read_text(encoding="utf-8")
assert SCRIPT in BAD_TURTLE

CUSTOM_SHAPES = """\
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex:PersonShape a sh:NodeShape ;
    sh:targetClass ex:Person ;
    sh:property [ sh:path ex:name ; sh:minCount 1 ; sh:severity sh:Warning ;
                  sh:message "Une personne a un nom."@fr , "A person has a name."@en ] .
"""


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(
        main, ["validate", *map(str, args)], env={"ALLIANCE_STORE": None}, catch_exceptions=False
    )


def run_json(*args: str | Path) -> tuple[int, dict]:
    outcome = run("--format", "json", *args)
    return outcome.exit_code, json.loads(outcome.stdout)


def find(document: dict, shape: str, focus: str) -> dict:
    matches = [r for r in document["results"] if r["shape"] == shape and r["focus"] == focus]
    assert len(matches) == 1, document["results"]
    return matches[0]


def table_row(folder: Path, table: str, first_cell: str, second_cell: str | None = None) -> int:
    """The spreadsheet row number (header = 1) of the first row starting with these cells."""
    with open(folder / table, encoding="utf-8", newline="") as f:
        for number, record in enumerate(csv.reader(f), start=1):
            if record[0] == first_cell and second_cell in (None, record[1]):
                return number
    raise AssertionError(f"no row {first_cell} in {table}")


@pytest.fixture(scope="module")
def bad_ttl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "bad.ttl"
    path.write_text(BAD_TURTLE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bad_report(bad_ttl: Path, bundled_store_dir: Path) -> dict:
    code, document = run_json("--store", bundled_store_dir, bad_ttl)
    assert code == 1
    return document


def edited_facts(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the bundled tables with one edit in parties.csv."""
    folder = tmp_path / "facts"
    shutil.copytree(FACTS_DIR, folder, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    parties = folder / "parties.csv"
    text = parties.read_text(encoding="utf-8")
    assert old in text
    parties.write_text(text.replace(old, new), encoding="utf-8")
    return folder


# --- what is found --------------------------------------------------------------------------------


def test_reciprocity_contract_without_rural_party(bad_report: dict) -> None:
    result = find(bad_report, ALSH + "ReciprocityContract-ruralOrPeriurban", CONTRACT)
    assert result["severity"] == "Violation"
    assert result["path"] == ALLI + "participation"
    assert result["component"] == str(SH.QualifiedMinCountConstraintComponent)
    assert result["message"] == RURAL_FR
    assert result["focus_label"] == "Contrat de test"
    assert result["link"] == CONTRACT
    assert result["page"] == "/id/agreement/test-contract"
    assert result["location"]["file"].endswith("bad.ttl")
    assert not bad_report["conforms"]


def test_commitment_by_a_non_party_keeps_its_message_language(
    bad_ttl: Path, bad_report: dict, bundled_store_dir: Path
) -> None:
    """pySHACL drops SHACL-SPARQL messages' tags; the report finds them back in the shapes."""
    result = find(bad_report, ALSH + "CommitmentByPartyShape", COMMITMENT)
    assert result["severity"] == "Violation"
    assert result["path"] == ALLI + "committedBy"
    assert result["value"] == f"<{ID}actor/pays-d-aurillac>"
    assert result["value_label"] == "Pays d'Aurillac"  # from the store
    assert result["message"] == NON_PARTY_FR
    _, english = run_json("--lang", "en", "--store", bundled_store_dir, bad_ttl)
    result = find(english, ALSH + "CommitmentByPartyShape", COMMITMENT)
    assert result["message"] == NON_PARTY_EN
    assert find(english, ALSH + "ReciprocityContract-ruralOrPeriurban", CONTRACT)["message"] == (
        RURAL_EN
    )


def test_without_store_the_bundled_sources_are_the_context(bad_ttl: Path, bad_report: dict) -> None:
    code, alone = run_json(bad_ttl)
    assert code == 1

    def keys(document: dict) -> set[tuple[str, ...]]:
        return {(r["shape"], r["focus"], r["severity"], r["message"]) for r in document["results"]}

    assert keys(alone) == keys(bad_report)
    assert {r["shape"] for r in alone["results"]} == {
        ALSH + "ReciprocityContract-ruralOrPeriurban",
        ALSH + "CommitmentByPartyShape",
        ALSH + "Agreement-parties",
    }


def test_curated_edit_that_only_a_shape_catches_points_at_its_row(
    tmp_path: Path, bundled_store_dir: Path
) -> None:
    """The CSV loader accepts two urban parties; the shapes want a rural or periurban one."""
    folder = edited_facts(
        tmp_path,
        f"{LYON_AURILLAC},pays-centre-ouest-bretagne,rural,",
        f"{LYON_AURILLAC},pays-centre-ouest-bretagne,urban,",
    )
    code, document = run_json("--store", bundled_store_dir, folder)
    assert code == 1
    assert not document["problems"]
    [result] = document["results"]
    assert result["shape"] == ALSH + "ReciprocityContract-ruralOrPeriurban"
    assert result["focus"] == f"{ID}agreement/{LYON_AURILLAC}"
    assert result["message"] == RURAL_FR
    assert result["location"]["file"] == str(folder / "agreements.csv")
    assert result["location"]["row"] == table_row(folder, "agreements.csv", LYON_AURILLAC)


def test_curated_table_problems_are_reported(tmp_path: Path) -> None:
    folder = edited_facts(
        tmp_path,
        f"{LYON_AURILLAC},pays-centre-ouest-bretagne,rural,",
        f"{LYON_AURILLAC},pays-centre-ouest-bretagne,villageois,",
    )
    code, document = run_json(folder / "parties.csv")  # a .csv stands for its folder
    assert code == 1
    assert not document["conforms"]
    [problem] = document["problems"]
    assert problem["file"] == str(folder / "parties.csv")
    assert problem["row"] == table_row(
        folder, "parties.csv", LYON_AURILLAC, "pays-centre-ouest-bretagne"
    )
    assert problem["field"] == "role"
    assert "villageois" in problem["message"]
    text = run(folder).stdout
    assert "parties.csv" in text and "villageois" in text


def test_the_bundled_facts_conform() -> None:
    outcome = run(FACTS_DIR)
    assert outcome.exit_code == 0, outcome.stdout
    assert "Conforme" in outcome.stdout


def test_the_store_is_validated_without_file(bundled_store_dir: Path) -> None:
    """The published dataset has no Violation; its Warnings and Infos make it not conform."""
    code, document = run_json("--store", bundled_store_dir)
    store_graphs = {
        graph_iri(name) for name in ("ontology", "territories", "territory-history", "facts")
    }
    assert code == 1
    counts = document["counts"]["severity"]
    assert counts["Violation"] == 0
    assert counts["Warning"] + counts["Info"] == document["counts"]["total"] > 0
    for result in document["results"]:
        assert result["location"]["graph"] in {g.value for g in store_graphs}
        assert result["location"]["sources"]
        assert result["focus_label"]


@pytest.mark.slow
def test_the_store_validation_equals_a_full_pyshacl_run(store, full_validation) -> None:  # noqa: ANN001
    from alliance.ingest.validate_inputs import validate_store
    from alliance.shapes.curator_report import build_report
    from alliance.shapes.gate import shapes_graph

    full = full_validation
    report = build_report(validate_store(store), shapes_graph())

    def n3(node: object) -> str | None:
        return node.n3() if node is not None else None  # type: ignore[attr-defined]

    found = {
        (f.severity, n3(f.focus), n3(f.path), n3(f.value), n3(f.shape), str(f.component))
        for f in report.findings
    }
    expected = {
        (r.severity, r.focus, r.path, r.value, r.source_shape, r.component) for r in full.results
    }
    assert found == expected


# --- languages and formats ------------------------------------------------------------------------


def test_lang_chooses_messages_labels_and_words(bad_ttl: Path, bundled_store_dir: Path) -> None:
    french = run("--store", bundled_store_dir, bad_ttl).stdout
    english = run("--store", bundled_store_dir, "--lang", "en", bad_ttl).stdout
    assert "Non conforme" in french and RURAL_FR in french and "Contrat de test" in french
    assert "Does not conform" in english and RURAL_EN in english and "Test contract" in english
    assert RURAL_EN not in french and RURAL_FR not in english


def test_turtle_is_a_validation_report(bad_ttl: Path, bundled_store_dir: Path) -> None:
    outcome = run("--store", bundled_store_dir, "--format", "turtle", bad_ttl)
    graph = Graph().parse(data=outcome.stdout, format="turtle")
    [report] = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(report, SH.conforms).toPython() is False
    results = list(graph.objects(report, SH.result))
    assert len(results) == 3
    shapes = {graph.value(r, SH.sourceShape) for r in results}
    assert URIRef(ALSH + "CommitmentByPartyShape") in shapes
    [sparql] = [
        r
        for r in results
        if graph.value(r, SH.sourceShape) == URIRef(ALSH + "CommitmentByPartyShape")
    ]
    messages = {(m.language, str(m)) for m in graph.objects(sparql, SH.resultMessage)}
    assert messages == {("fr", NON_PARTY_FR), ("en", NON_PARTY_EN)}
    for result in results:
        assert graph.value(result, RDF.type) == SH.ValidationResult
        assert graph.value(result, SH.focusNode) is not None
        assert graph.value(result, SH.resultSeverity) == SH.Violation
        assert graph.value(result, SH.sourceConstraintComponent) is not None


def test_csv_has_a_header_and_one_row_per_result(bad_ttl: Path, bundled_store_dir: Path) -> None:
    outcome = run("--store", bundled_store_dir, "--format", "csv", bad_ttl)
    rows = list(csv.DictReader(io.StringIO(outcome.stdout)))
    assert len(rows) == 3
    assert {"severity", "focus", "focus_label", "path", "value", "message", "shape"} <= set(rows[0])
    assert {r["message"] for r in rows} >= {RURAL_FR, NON_PARTY_FR}


def test_html_groups_by_shape_and_escapes_labels(bad_ttl: Path, bundled_store_dir: Path) -> None:
    outcome = run("--store", bundled_store_dir, "--format", "html", bad_ttl)
    html = outcome.stdout
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<section class="shape">') == 3
    for name in ("partie rurale ou périurbaine", "engagement pris par une partie"):
        assert name in html
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f'href="{CONTRACT}"' in html


def test_malformed_file_is_an_error_with_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text('@prefix ex: <http://ex/> .\nex:a ex:b ex:c .\nex:d ex:e "open .\n')
    outcome = run(broken)
    assert outcome.exit_code == 2
    assert "broken.ttl, line 3, column" in outcome.stderr
    assert not outcome.stdout


# --- a general SHACL tool -------------------------------------------------------------------------


def test_shapes_option_replaces_the_project_shapes(tmp_path: Path, bad_ttl: Path) -> None:
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(CUSTOM_SHAPES)
    data = tmp_path / "people.ttl"
    data.write_text(
        "@prefix ex: <http://example.org/> .\n"
        "ex:bob a ex:Person .\nex:ann a ex:Person ; ex:name 'Ann' .\n"
    )
    code, document = run_json("--shapes", shapes, "--lang", "en", data, bad_ttl)
    assert code == 1  # a Warning alone: SHACL's sh:conforms is false
    [result] = document["results"]  # the project's shapes are not used
    assert (result["focus"], result["severity"]) == ("http://example.org/bob", "Warning")
    assert result["path"] == "http://example.org/name"
    assert result["message"] == "A person has a name."
    assert result["location"]["file"] == str(data)
    data.write_text("@prefix ex: <http://example.org/> .\nex:ann a ex:Person ; ex:name 'Ann' .\n")
    outcome = run("--shapes", shapes, data)
    assert outcome.exit_code == 0
    assert "Conforme" in outcome.stdout
