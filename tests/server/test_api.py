"""The named-query API (/api…) on the bundled store: the catalogue, every query with its example
parameters, the formats, refused parameters, injection attempts, the OpenAPI description
(validated, then used by schemathesis to generate requests), and one real server."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator, ValidationError
from openapi_spec_validator import validate as validate_openapi
from pyoxigraph import Literal, QueryResultsFormat, QuerySolutions, parse_query_results
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from alliance.queries import NamedQuery, named_queries
from alliance.server.app import create_app
from alliance.server.settings import Settings
from alliance.store import GraphStore

live = sys.modules["alliance_tests_live"]  # loaded by conftest.py

ID = "https://w3id.org/alliance/id/"
LYON_EPCI = f"{ID}epci/200046977"
LYON_AURILLAC = f"{ID}agreement/contrat-reciprocite-lyon-aurillac"
QUERIES: dict[str, NamedQuery] = named_queries()
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
INJECTION = "x> } ; DROP ALL ; #"


@pytest.fixture(scope="session")
def api_app(bundled_store_dir: Path, store: GraphStore) -> Flask:
    return create_app(Settings(store=str(bundled_store_dir)), store=store)


@pytest.fixture()
def client(api_app: Flask) -> FlaskClient:
    return api_app.test_client()


def get_json(client: FlaskClient, url: str, status: int = 200, **headers: str) -> dict:
    response = client.get(url, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def rows_of(client: FlaskClient, query: str, /, **params: str) -> dict:
    text = "&".join(f"{k}={v}" for k, v in params.items())
    return get_json(client, f"/api/queries/{query}" + (f"?{text}" if text else ""))


# -- the catalogue ----------------------------------------------------------------------------


def test_catalogue_lists_every_query(client: FlaskClient) -> None:
    listed = get_json(client, "/api/queries")["queries"]
    assert [q["name"] for q in listed] == list(QUERIES)
    assert len(listed) >= 15
    for entry in listed:
        query = QUERIES[entry["name"]]
        assert entry["title"] == query.title and entry["description"] == query.description
        assert entry["links"]["self"] == f"/api/queries/{query.name}"
        assert [p["name"] for p in entry["parameters"]] == [p.name for p in query.parameters]
        assert entry["columns"] and entry["sparql"] == query.text
    epci = next(q for q in listed if q["name"] == "epci-communes")
    assert epci["parameters"] == [
        {
            "name": "epci",
            "type": "iri",
            "required": True,
            "default": None,
            "example": LYON_EPCI,
            "description": "the EPCI, e.g. the Métropole de Lyon; its IRI ends with its SIREN.",
        },
        {
            "name": "minPopulation",
            "type": "integer",
            "required": False,
            "default": 0,
            "example": 10000,
            "description": "leave out communes with fewer inhabitants (municipal population); "
            "0 keeps them all.",
        },
    ]


def test_catalogue_and_api_page_for_browsers(client: FlaskClient) -> None:
    for url in ("/api", "/api/queries"):
        response = client.get(url, headers={"Accept": BROWSER_ACCEPT})
        assert response.status_code == 200 and response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        for query in QUERIES.values():
            assert f'id="{query.name}"' in html
        assert "each pilot pair&#39;s urban party" in html  # autoescaped text
        assert "<script" not in html  # no JavaScript needed
        assert "curl 'http://localhost/api/queries/epci-communes?epci=" in html
        assert 'href="/api/openapi.json"' in html


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_query_answers_its_example_link(client: FlaskClient, name: str) -> None:
    entry = next(q for q in get_json(client, "/api/queries")["queries"] if q["name"] == name)
    answer = get_json(client, entry["links"]["example"])
    assert set(answer) == {"query", "parameters", "columns", "rows", "count"}
    assert answer["query"] == name
    assert answer["count"] == len(answer["rows"]) > 0
    assert answer["columns"] == entry["columns"]
    for row in answer["rows"]:
        assert list(row) == answer["columns"]  # every column, in order, null when unbound
        assert all(v is None or isinstance(v, str | int | float | bool) for v in row.values())
    examples = dict(parse_qsl(urlsplit(entry["links"]["example"]).query))
    for parameter in entry["parameters"]:
        expected = parameter["example"] if parameter["name"] in examples else parameter["default"]
        assert answer["parameters"][parameter["name"]] == expected


# -- formats ----------------------------------------------------------------------------------


def test_plain_json_rows(client: FlaskClient) -> None:
    answer = rows_of(client, "epci-communes", epci=LYON_EPCI)
    assert answer["count"] == 58
    assert answer["parameters"] == {"epci": LYON_EPCI, "minPopulation": 0}
    lyon = answer["rows"][0]
    assert lyon == {
        "epci": LYON_EPCI,
        "minPopulation": 0,
        "commune": f"{ID}commune/69123",
        "code": "69123",
        "name": "Lyon",
        "population": lyon["population"],
        "departement": f"{ID}departement/69",
    }
    assert isinstance(lyon["population"], int) and lyon["population"] > 500_000
    contracts = rows_of(client, "cq1-pilot-contracts")["rows"]
    labels = {r["label"] for r in contracts}  # language-tagged: the text alone
    assert "Binôme pilote Métropole de Lyon – Pays d'Aurillac" in labels
    pact = rows_of(client, "pact-signatories")["rows"]
    assert {r["date"] for r in pact} == {"2016-07-06"}
    assert sum(1 for r in pact if r["siren"] is None) == 2  # the State and France urbaine


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Accept": "application/json"},
        {"Accept": "*/*"},
        {"Accept": "application/json, */*;q=0.1"},
    ],
)
def test_json_rows_are_the_default(client: FlaskClient, headers: dict[str, str]) -> None:
    url = f"/api/queries/agreement-parties?agreement={LYON_AURILLAC}"
    answer = get_json(client, url, **headers)
    assert {r["party"] for r in answer["rows"]} == {LYON_EPCI, f"{ID}actor/pays-d-aurillac"}


@pytest.mark.parametrize(
    ("how", "media_type"),
    [
        ({"format": "csv"}, "text/csv"),
        ({"Accept": "text/csv"}, "text/csv"),
        ({"format": "tsv"}, "text/tab-separated-values"),
        ({"Accept": "text/tab-separated-values"}, "text/tab-separated-values"),
        ({"format": "sparql-json"}, "application/sparql-results+json"),
        ({"Accept": "application/sparql-results+json"}, "application/sparql-results+json"),
        ({"format": "xml"}, "application/sparql-results+xml"),
        ({"Accept": "application/sparql-results+xml"}, "application/sparql-results+xml"),
    ],
)
def test_w3c_results_formats(client: FlaskClient, how: dict[str, str], media_type: str) -> None:
    url = f"/api/queries/epci-communes?epci={LYON_EPCI}"
    headers = {k: v for k, v in how.items() if k == "Accept"}
    if "format" in how:
        url += f"&format={how['format']}"
    response = client.get(url, headers=headers)
    assert response.status_code == 200 and response.mimetype == media_type
    body = response.get_data()
    if media_type == "text/csv":  # pyoxigraph does not parse CSV results (lossy): read it
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        assert len(rows) == 58 and rows[0]["commune"] == f"{ID}commune/69123"
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        return
    parsed = parse_query_results(body, QueryResultsFormat.from_media_type(media_type))
    assert isinstance(parsed, QuerySolutions)
    solutions = list(parsed)
    assert len(solutions) == 58
    assert solutions[0]["commune"].value == f"{ID}commune/69123"


def test_sparql_json_keeps_language_tags(client: FlaskClient) -> None:
    response = client.get("/api/queries/cq1-pilot-contracts?format=sparql-json")
    parsed = parse_query_results(response.get_data(), QueryResultsFormat.JSON)
    assert {s["label"].language for s in parsed} == {"fr"}
    html = client.get("/api/queries/cq1-pilot-contracts", headers={"Accept": BROWSER_ACCEPT})
    assert html.mimetype == "text/html"
    assert 'href="/id/epci/200046977"' in html.get_data(as_text=True)  # IRIs link to pages


def test_parameter_values_are_echoed_typed(client: FlaskClient) -> None:
    answer = rows_of(client, "find-territory", name="lyon", exact="true")
    assert answer["parameters"] == {"name": "lyon", "exact": True}
    assert [r["territory"] for r in answer["rows"]] == [f"{ID}commune/69123"]
    dates = rows_of(client, "timeline", **{"from": "2016-01-01", "to": "2016-12-31"})
    assert dates["parameters"] == {"from": "2016-01-01", "to": "2016-12-31"}
    assert {"2016-07-06", "2016-11-04"} <= {r["date"] for r in dates["rows"]}
    assert all(r["date"].startswith("2016-") for r in dates["rows"])
    assert rows_of(client, "cq9-territory-involvement")["parameters"] == {"territory": None}


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parameter", "reason"),
    [
        ("/api/queries/epci-communes", "epci", "missing"),
        ("/api/queries/epci-communes?epci=", "epci", "empty"),
        ("/api/queries/epci-communes?epci=200046977", "epci", "not an absolute http(s) IRI"),
        (f"/api/queries/epci-communes?epci={LYON_EPCI}&minPopulation=many", "minPopulation", ""),
        (f"/api/queries/epci-communes?epci={LYON_EPCI}&epci={LYON_EPCI}", "epci", "one value"),
        (f"/api/queries/epci-communes?epci={LYON_EPCI}&epic=1", "epic", "unknown parameter"),
        ("/api/queries/timeline?from=2016-13-01", "from", "not a calendar date"),
        ("/api/queries/find-territory?name=Lyon&exact=maybe", "exact", "not a boolean"),
        ("/api/queries/cq1-pilot-contracts?format=pdf", "format", "use one of"),
    ],
)
def test_a_wrong_parameter_is_a_400_naming_it(
    client: FlaskClient, url: str, parameter: str, reason: str
) -> None:
    error = get_json(client, url, status=400)
    assert error["parameter"] == parameter
    assert reason in error["reason"]
    assert parameter in error["error"]


def test_unknown_query_is_a_404(client: FlaskClient) -> None:
    for name in ("nope", "cq1-pilot-contracts.rq", "a/b"):
        error = get_json(client, f"/api/queries/{name}", status=404)
        assert error["query"] == name and "/api/queries" in error["reason"]
    assert get_json(client, "/api/queries/a%0Ab", status=404)["query"] == "a\nb"
    for path in ("/api/queries/", "/api/nothing", "/api/openapi.yaml"):
        assert "/api/openapi.json" in get_json(client, path, status=404)["reason"]


def test_not_acceptable_is_a_406(client: FlaskClient) -> None:
    error = get_json(client, "/api/queries/cq1-pilot-contracts", status=406, Accept="image/png")
    assert "application/json" in error["reason"]


def test_injection_attempts_are_refused_or_taken_literally(
    client: FlaskClient, store: GraphStore
) -> None:
    size = sum(store.graph_size(g) for g in store.graphs())
    for name, parameter in (
        ("epci-communes", "epci"),
        ("resource-sources", "resource"),
        ("cq9-territory-involvement", "territory"),
    ):
        for value in (INJECTION, f"{LYON_EPCI}> }} ; DROP ALL ; #", f"<{LYON_EPCI}> . ?s ?p ?o"):
            response = client.get(f"/api/queries/{name}", query_string={parameter: value})
            assert response.status_code == 400, value
            assert response.get_json()["parameter"] == parameter
    # a string parameter takes the text as a literal: no territory has that name
    answer = get_json(client, "/api/queries/find-territory?name=" + "x%3E%20%7D%20%3B%20DROP")
    assert answer["parameters"]["name"] == "x> } ; DROP" and answer["rows"] == []
    response = client.get("/api/queries/find-territory", query_string={"name": INJECTION})
    assert response.status_code == 200 and response.get_json()["count"] == 0
    quoted = client.get("/api/queries/find-territory", query_string={"name": 'Lyon") || true #'})
    assert quoted.get_json()["count"] == 0
    assert sum(store.graph_size(g) for g in store.graphs()) == size


def test_api_answers_carry_cors_headers(client: FlaskClient) -> None:
    response = client.get("/api/queries/cq5-cooperation-domains")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# -- the OpenAPI description ------------------------------------------------------------------


def test_openapi_document_is_valid_and_complete(client: FlaskClient) -> None:
    document = get_json(client, "/api/openapi.json")
    validate_openapi(document)  # raises on an invalid document
    assert document["openapi"].startswith("3.")
    for query in QUERIES.values():
        operation = document["paths"][f"/api/queries/{query.name}"]["get"]
        assert operation["summary"] == query.title
        declared = [p for p in operation["parameters"] if "name" in p]
        assert [p["name"] for p in declared] == [p.name for p in query.parameters]
        for parameter in declared:
            assert "example" in parameter and parameter["description"]
        content = operation["responses"]["200"]["content"]
        assert {"application/json", "application/sparql-results+json", "text/csv"} <= set(content)
        assert {"400", "406"} <= set(operation["responses"])
    assert "404" in document["paths"]["/api/queries/{name}"]["get"]["responses"]


def test_friendly_json_matches_its_openapi_schema(client: FlaskClient) -> None:
    document = get_json(client, "/api/openapi.json")
    registry = Registry().with_resource("urn:api", DRAFT202012.create_resource(document))
    for name in ("epci-communes", "find-territory", "cq9-territory-involvement"):
        path = f"/api/queries/{name}".replace("~", "~0").replace("/", "~1")
        pointer = f"urn:api#/paths/{path}/get/responses/200/content/application~1json/schema"
        validator = Draft202012Validator({"$ref": pointer}, registry=registry)
        entry = next(q for q in get_json(client, "/api/queries")["queries"] if q["name"] == name)
        answer = get_json(client, entry["links"]["example"])
        validator.validate(answer)
        with pytest.raises(ValidationError, match="Additional properties"):
            validator.validate({**answer, "extra": 1})
        with pytest.raises(ValidationError):
            validator.validate({**answer, "rows": [{"unknown column": 1}]})


@pytest.fixture(scope="session")
def api_schema(api_app: Flask) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)


generated = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@generated.parametrize()
@settings(
    max_examples=20,  # per operation: about a minute in all
    deadline=None,
    derandomize=True,  # the same requests on every run: CI does not flake
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_generated_requests_conform_to_the_openapi_document(case: schemathesis.Case) -> None:
    """Every generated request gets a documented status, media type and body, never a 5xx;
    schema-valid values are accepted and schema-invalid ones refused."""
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            positive_data_acceptance,
            negative_data_rejection,
        ]
    )


# -- a real server ----------------------------------------------------------------------------


def test_through_the_real_server(server) -> None:
    reply = live.http("GET", f"{server.url}/api/queries/epci-communes", params={"epci": LYON_EPCI})
    assert reply.status == 200 and reply.media_type == "application/json"
    assert json.loads(reply.text)["count"] == 58
    page = live.http("GET", f"{server.url}/api", headers={"Accept": BROWSER_ACCEPT})
    assert page.status == 200 and "Named-query API" in page.text
    refused = live.http("GET", f"{server.url}/api/queries/epci-communes")
    assert refused.status == 400 and json.loads(refused.text)["parameter"] == "epci"
    document = json.loads(live.http("GET", f"{server.url}/api/openapi.json").text)
    validate_openapi(document)
    rows = live.http(
        "GET",
        f"{server.url}/api/queries/cq5-cooperation-domains",
        headers={"Accept": "application/sparql-results+json"},
    )
    parsed = parse_query_results(rows.body, QueryResultsFormat.JSON)
    assert len(list(parsed)) > 4  # the instrument's four, and the signed contracts' themes
    assert Literal("télémédecine", language="fr") in {
        s["label"] for s in parse_query_results(rows.body, QueryResultsFormat.JSON)
    }
