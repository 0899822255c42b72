"""Web validation (/validate, /validate/latest, /shapes) over the bundled store, in process.

Werkzeug's test client drives the whole WSGI stack. The data of the tests is known-bad: a
reciprocity contract with an urban party only (and so a single party), and a commitment by an
organisation that is not a party to its agreement.
"""

from __future__ import annotations

import html as htmllib
import io
import json
import re
from pathlib import Path

import pytest
import rdflib
from flask import Flask
from flask.testing import FlaskClient
from rdflib.namespace import DCTERMS, RDF, SH

from alliance.ingest.reference.certificate import certified_report
from alliance.ingest.territories import Territories
from alliance.server.app import create_app
from alliance.server.settings import Settings
from alliance.shapes import SHAPES_FILE
from alliance.store import GraphStore

ID = "https://w3id.org/alliance/id/"
ALLI = "https://w3id.org/alliance/ontology#"
ALSH = "https://w3id.org/alliance/shapes#"
FACTS_DIR = Path(__file__).resolve().parents[2] / "ingest" / "facts"
CONTRACT = f"{ID}agreement/test-contract"
COMMITMENT = f"{ID}commitment/test-commitment"
RURAL = f"{ALSH}ReciprocityContract-ruralOrPeriurban"
NON_PARTY = f"{ALSH}CommitmentByPartyShape"
RURAL_FR = "Le contrat de réciprocité n'a aucune partie de rôle rural ou périurbain."
RURAL_EN = "The reciprocity contract has no party with the rural or periurban role."
NON_PARTY_FR = "L'engagement est pris par une organisation qui n'est pas partie à l'accord."
NON_PARTY_EN = "The commitment is made by an organisation that is not a party to the agreement."
SCRIPT = "<script>alert(1)</script>"
LYON_AURILLAC = "contrat-reciprocite-brest-cob-2016"  # a signed contract

#: Shared with the CLI and browser tests. Relative IRIs resolve against the Alliance namespace,
#: as the service parses posted data.
BAD_TURTLE = (Path(__file__).resolve().parents[1] / "data" / "broken-contract.ttl").read_text(
    encoding="utf-8"
)
assert SCRIPT in BAD_TURTLE
EXPECTED = {(RURAL, CONTRACT), (f"{ALSH}Agreement-parties", CONTRACT), (NON_PARTY, COMMITMENT)}
#: The same data in each RDF syntax the service reads, with its media type.
SYNTAXES = {
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}


def post(client: FlaskClient, data: str | bytes, media_type: str, accept: str, **params: str):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(
        f"/validate{'?' + query if query else ''}",
        data=data.encode("utf-8") if isinstance(data, str) else data,
        headers={"Content-Type": media_type, "Accept": accept},
    )


def keys(document: dict) -> set[tuple[str, str]]:
    return {(r["shape"], r["focus"]) for r in document["results"]}


def find(document: dict, shape: str, focus: str) -> dict:
    [result] = [r for r in document["results"] if (r["shape"], r["focus"]) == (shape, focus)]
    return result


@pytest.fixture(scope="module")
def bad_json(app: Flask) -> dict:
    response = post(app.test_client(), BAD_TURTLE, "text/turtle", "application/json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


# --- POST: what is found --------------------------------------------------------------------------


def test_broken_reciprocity_contract_is_reported(bad_json: dict) -> None:
    assert not bad_json["conforms"]
    assert keys(bad_json) == EXPECTED
    result = find(bad_json, RURAL, CONTRACT)
    assert result["severity"] == "Violation"
    assert result["path"] == ALLI + "participation"
    assert result["component"] == str(SH.QualifiedMinCountConstraintComponent)
    assert result["message"] == RURAL_FR  # French unless asked otherwise
    assert result["focus_label"] == "Contrat de test"
    assert result["page"] == "/id/agreement/test-contract"
    assert bad_json["counts"]["severity"] == {"Violation": 3, "Warning": 0, "Info": 0}
    assert bad_json["validated"] == ["request body (Turtle)"]


def test_message_language_follows_lang(client: FlaskClient, bad_json: dict) -> None:
    """SHACL-SPARQL messages too: pySHACL drops their tags, the report finds them back."""
    assert find(bad_json, NON_PARTY, COMMITMENT)["message"] == NON_PARTY_FR
    assert find(bad_json, NON_PARTY, COMMITMENT)["value_label"] == "Pays d'Aurillac"
    english = post(client, BAD_TURTLE, "text/turtle", "application/json", lang="en").get_json()
    assert find(english, RURAL, CONTRACT)["message"] == RURAL_EN
    assert find(english, NON_PARTY, COMMITMENT)["message"] == NON_PARTY_EN
    assert english["language"] == "en"


def test_the_store_is_never_written(client: FlaskClient, store: GraphStore) -> None:
    before = {g.value: store.graph_size(g) for g in store.graphs()}
    assert post(client, BAD_TURTLE, "text/turtle", "application/json").status_code == 200
    assert {g.value: store.graph_size(g) for g in store.graphs()} == before
    assert not store.query(f"ASK {{ <{CONTRACT}> ?p ?o }}")


@pytest.mark.parametrize("media_type", sorted(SYNTAXES))
def test_each_rdf_syntax_gives_the_same_results(
    client: FlaskClient, bad_json: dict, media_type: str
) -> None:
    graph = rdflib.Graph().parse(data=BAD_TURTLE, format="turtle", publicID=ID)
    data = graph.serialize(format=SYNTAXES[media_type])
    response = post(client, data, media_type, "application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert keys(response.get_json()) == keys(bad_json)


def test_a_conforming_document_conforms(client: FlaskClient) -> None:
    data = f'<{ID}source/lab-periurbain-reciprocite> <{DCTERMS}title> "Le Lab" .\n'
    document = post(client, data, "application/n-triples", "application/json").get_json()
    assert document["conforms"] and not document["results"]


# --- POST: the formats of the report --------------------------------------------------------------


def test_turtle_is_a_standard_validation_report(client: FlaskClient) -> None:
    response = post(client, BAD_TURTLE, "text/turtle", "text/turtle")
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    graph = rdflib.Graph().parse(data=response.get_data(as_text=True), format="turtle")
    [report] = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(report, SH.conforms).toPython() is False
    results = list(graph.objects(report, SH.result))
    found = {
        (str(graph.value(r, SH.sourceShape)), str(graph.value(r, SH.focusNode))) for r in results
    }
    assert found == EXPECTED
    [rural] = [r for r in results if str(graph.value(r, SH.sourceShape)) == RURAL]
    assert graph.value(rural, SH.resultSeverity) == SH.Violation
    messages = {(m.language, str(m)) for m in graph.objects(rural, SH.resultMessage)}
    assert messages == {("fr", RURAL_FR), ("en", RURAL_EN)}


def test_any_accept_gets_turtle_and_format_overrides(client: FlaskClient) -> None:
    assert post(client, BAD_TURTLE, "text/turtle", "*/*").mimetype == "text/turtle"
    response = client.post(
        "/validate?format=json", data=BAD_TURTLE, headers={"Content-Type": "text/turtle"}
    )
    assert response.mimetype == "application/json"
    assert post(client, BAD_TURTLE, "text/turtle", "image/png").status_code == 406


def test_html_report_groups_by_shape_links_and_escapes(client: FlaskClient) -> None:
    response = post(client, BAD_TURTLE, "text/turtle", "text/html", lang="en")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert html.count('<section class="shape">') == 3
    assert RURAL_EN in html and "Does not conform" in html
    assert 'href="/shapes#ReciprocityContract-ruralOrPeriurban"' in html
    assert 'href="/id/actor/pays-d-aurillac"' in html  # a value the store knows
    assert 'href="/id/agreement/test-contract"' not in html  # not in the store: no dead link
    assert 'href="/static/alliance.css"' in html  # the site's page, not a standalone one
    french = post(client, BAD_TURTLE, "text/turtle", "text/html", lang="fr").get_data(as_text=True)
    assert SCRIPT not in french and "Engagement &lt;script&gt;alert(1)&lt;/script&gt;" in french


# --- the form -------------------------------------------------------------------------------------


def test_form_page(client: FlaskClient) -> None:
    response = client.get("/validate", headers={"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert '<textarea id="data" name="data"' in html
    assert '<input type="file" id="file" name="file"' in html
    assert 'enctype="multipart/form-data"' in html
    for key in ("turtle", "jsonld", "ntriples", "rdfxml", "csv"):
        assert f'<option value="{key}"' in html
    assert '<option value="agreements"' in html and '<select id="lang" name="lang">' in html


def test_form_paste_gives_the_html_report(client: FlaskClient) -> None:
    response = client.post(
        "/validate",
        data={"data": BAD_TURTLE, "syntax": "turtle", "lang": "fr"},
        headers={"Accept": "text/html"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('<section class="shape">') == 3 and RURAL_FR in htmllib.unescape(html)
    assert "Contrat de test" in html  # the focus node's label, in the chosen language
    assert "&lt;agreement/test-contract&gt; a alli:ReciprocityContract" in html  # kept in the form


def test_form_upload_takes_the_syntax_from_the_file_name(client: FlaskClient) -> None:
    graph = rdflib.Graph().parse(data=BAD_TURTLE, format="turtle", publicID=ID)
    upload = (io.BytesIO(graph.serialize(format="json-ld").encode()), "contract.jsonld")
    response = client.post(
        "/validate",
        data={"file": upload, "syntax": "auto", "format": "json"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    document = response.get_json()
    assert keys(document) == EXPECTED
    assert document["validated"] == ["contract.jsonld (JSON-LD)"]
    assert find(document, RURAL, CONTRACT)["location"]["file"] == "contract.jsonld"


# --- a curated table ------------------------------------------------------------------------------


def edited(table: str, old: str, new: str) -> str:
    text = (FACTS_DIR / table).read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new)


def test_curated_table_is_validated_with_the_other_tables(client: FlaskClient) -> None:
    """Two urban parties: the CSV checks accept it, the shapes want a rural or periurban one."""
    parties = edited(
        "parties.csv",
        f"{LYON_AURILLAC},pays-centre-ouest-bretagne,rural,",
        f"{LYON_AURILLAC},pays-centre-ouest-bretagne,urban,",
    )
    response = post(client, parties, "text/csv", "application/json", table="parties")
    assert response.status_code == 200
    document = response.get_json()
    assert not document["problems"]
    [result] = document["results"]
    assert (result["shape"], result["focus"]) == (RURAL, f"{ID}agreement/{LYON_AURILLAC}")
    assert result["location"]["file"] == "facts/agreements.csv"
    assert result["location"]["row"] > 1
    html = post(client, parties, "text/csv", "text/html", table="parties.csv").get_data(
        as_text=True
    )
    assert f'href="/id/agreement/{LYON_AURILLAC}"' in html  # the store knows this agreement


def test_curated_table_problems_are_reported(client: FlaskClient) -> None:
    parties = edited(
        "parties.csv",
        f"{LYON_AURILLAC},pays-centre-ouest-bretagne,rural,",
        f"{LYON_AURILLAC},pays-centre-ouest-bretagne,villageois,",
    )
    response = post(client, parties, "text/csv", "application/json", table="parties")
    document = response.get_json()
    assert response.status_code == 200 and not document["conforms"]
    [problem] = document["problems"]
    assert problem["file"] == "facts/parties.csv" and problem["field"] == "role"
    assert "villageois" in problem["message"]


def test_csv_needs_a_known_table(client: FlaskClient) -> None:
    response = post(client, "id\n", "text/csv", "text/plain")
    assert response.status_code == 400 and "table=NAME" in response.get_data(as_text=True)
    response = post(client, "id\n", "text/csv", "text/plain", table="nothing")
    assert response.status_code == 400 and "agreements" in response.get_data(as_text=True)


# --- errors ---------------------------------------------------------------------------------------


def test_malformed_data_is_400_with_line_and_column(client: FlaskClient) -> None:
    broken = '@prefix ex: <http://ex/> .\nex:a ex:b ex:c .\nex:d ex:e "open .\n'
    response = post(client, broken, "text/turtle", "text/plain")
    assert response.status_code == 400
    assert re.search(r"request body, line 3, column \d+", response.get_data(as_text=True))
    document = post(client, broken, "text/turtle", "application/json").get_json()
    [problem] = document["problems"]
    assert problem["line"] == 3 and problem["column"] is not None
    html = client.post(
        "/validate", data={"data": broken}, headers={"Accept": "text/html"}
    ).get_data(as_text=True)
    assert 'id="error"' in html and "pasted data, line 3, column" in html


def test_unsupported_content_type_is_415(client: FlaskClient) -> None:
    response = post(client, b"%PDF-1.4", "application/pdf", "text/plain")
    assert response.status_code == 415
    assert "text/turtle" in response.get_data(as_text=True)


def test_empty_data_is_400(client: FlaskClient) -> None:
    assert post(client, "  \n", "text/turtle", "text/plain").status_code == 400
    response = client.post("/validate", data={"data": ""}, headers={"Accept": "text/html"})
    assert response.status_code == 400


def test_body_over_the_limit_is_413(bundled_store_dir: Path) -> None:
    small = create_app(Settings(store=str(bundled_store_dir), max_body=2048))
    client = small.test_client()
    big = "# padding\n" * 400
    response = post(client, big, "text/turtle", "text/plain")
    assert response.status_code == 413
    response = client.post("/validate", data={"data": big}, headers={"Accept": "text/html"})
    assert response.status_code == 413 and 'id="error"' in response.get_data(as_text=True)
    assert post(client, BAD_TURTLE[:1500], "text/turtle", "text/plain").status_code != 413


# --- the last ingest ------------------------------------------------------------------------------


def test_latest_shows_the_session_ingest_of_three_graphs(client: FlaskClient) -> None:
    response = client.get("/validate/latest", headers={"Accept": "application/json"})
    assert response.status_code == 200
    graphs = {g["graph"]: g for g in response.get_json()["graphs"]}
    assert set(graphs) == {
        f"{ID}graph/{n}" for n in ("ontology", "territories", "territory-history", "facts")
    }
    assert all(g["recorded"] and g["validated_at"] for g in graphs.values())
    territories = graphs[f"{ID}graph/territories"]["report"]
    certificate = certified_report(Territories())
    assert certificate is not None
    assert territories["counts"]["total"] == len(certificate.results)
    assert {(r["focus"], r["shape"]) for r in territories["results"]} == {
        (r.focus.strip("<>"), (r.source_shape or "").strip("<>")) for r in certificate.results
    }
    assert not graphs[f"{ID}graph/facts"]["report"]["counts"]["severity"]["Violation"]


def test_latest_as_html_and_turtle(client: FlaskClient) -> None:
    html = client.get("/validate/latest", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert html.count('class="graph-validation"') == 4
    assert 'href="/id/graph/territories"' in html and '<section class="shape">' in html
    response = client.get("/validate/latest", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=response.get_data(as_text=True), format="turtle")
    reports = list(graph.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 4
    assert {str(graph.value(r, DCTERMS.subject)) for r in reports} == {
        f"{ID}graph/{n}" for n in ("ontology", "territories", "territory-history", "facts")
    }


def test_the_record_is_stored_with_the_graph(store: GraphStore) -> None:
    rows = store.query(
        f"SELECT ?g ?r WHERE {{ GRAPH ?g {{ ?g <{ALLI}lastValidation> ?r }} }}",
        union_default_graph=False,
    )
    records = {row["g"].value: json.loads(row["r"].value) for row in rows}
    assert len(records) == 4
    assert all({"conforms", "counts", "results"} <= set(r) for r in records.values())


# --- shapes ---------------------------------------------------------------------------------------


def test_shapes_page_documents_every_shape(client: FlaskClient) -> None:
    shapes = rdflib.Graph().parse(SHAPES_FILE)
    declared = {
        str(s).rsplit("#", 1)[-1]
        for kind in (SH.NodeShape, SH.PropertyShape)
        for s in shapes.subjects(RDF.type, kind)
    }
    html = client.get("/shapes", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert len(declared) > 100
    missing = sorted(
        name for name in declared if f'<section class="shape-doc" id="{name}">' not in html
    )
    assert not missing
    section = re.search(r'id="Agreement-parties">(.*?)</section>', html, re.S)
    assert section
    text = section.group(1)
    for expected in (
        "alli:hasParty",
        "minCount",
        "<code>2</code>",
        'href="#OrganisationNode"',
        "An agreement binds at least two parties",
        "Un accord lie au moins deux parties",
    ):
        assert expected in text, expected
    assert "<details><summary>SPARQL</summary>" in html and "FILTER NOT EXISTS" in html
    assert 'href="#AgreementShape"' in text  # used by


def test_shapes_turtle_by_negotiation(client: FlaskClient) -> None:
    response = client.get("/shapes", headers={"Accept": "text/turtle"})
    assert response.mimetype == "text/turtle"
    assert response.get_data() == SHAPES_FILE.read_bytes()
    assert client.get("/shapes.ttl").get_data() == SHAPES_FILE.read_bytes()
    assert client.get("/shapes.jsonld").mimetype == "application/ld+json"
