"""Small protocol details real clients rely on (Fuseki and Virtuoso behave the same way)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, parse

from alliance.server.app import create_app
from alliance.server.settings import Settings

SD = "http://www.w3.org/ns/sparql-service-description#"
COMMUNE = "/id/commune/69123"


@pytest.fixture(scope="module")
def clients(bundled_store_dir: Path):  # noqa: ANN201
    """A read-only app and one with a write token, over the bundled store."""
    read_only = create_app(Settings(store=str(bundled_store_dir)))
    writable = create_app(Settings(store=str(bundled_store_dir), write_token="token"))
    yield read_only.test_client(), writable.test_client()
    for app in (read_only, writable):
        app.extensions["alliance.store"].close()


def service_description(client) -> set[tuple[str, str]]:  # noqa: ANN001
    reply = client.get("/sparql", headers={"Accept": "application/n-triples"})
    assert reply.status_code == 200
    quads = parse(reply.data, format=RdfFormat.N_TRIPLES)
    return {(q.predicate.value, q.object.value) for q in quads}


def test_the_service_description_lists_the_write_endpoints_only_when_enabled(clients) -> None:  # noqa: ANN001
    read_only, writable = clients
    languages = {o for p, o in service_description(read_only) if p == SD + "supportedLanguage"}
    assert languages == {SD + "SPARQL11Query"}
    described = service_description(writable)
    endpoints = {o for p, o in described if p == SD + "endpoint"}
    assert endpoints == {
        "http://localhost/sparql",
        "http://localhost/sparql/update",
        "http://localhost/store",
    }
    assert (SD + "supportedLanguage", SD + "SPARQL11Update") in described
    conforms = (
        "http://purl.org/dc/terms/conformsTo",
        "http://www.w3.org/TR/sparql11-http-rdf-update/",
    )
    assert conforms in described


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/json", "application/ld+json"),
        ("text/n3", "text/turtle"),
        ("application/json, text/html;q=0.5", "application/ld+json"),
    ],
)
def test_resources_answer_plain_json_with_json_ld_and_n3_with_turtle(
    clients,
    accept: str,
    media_type: str,  # noqa: ANN001
) -> None:
    reply = clients[0].get(COMMUNE, headers={"Accept": accept})
    assert reply.status_code == 200
    assert reply.mimetype == media_type
    fmt = RdfFormat.from_media_type(media_type)
    names = {q.object.value for q in parse(reply.data, format=fmt, base_iri="http://localhost/")}
    assert "Lyon" in names


def test_the_turtle_dump_names_its_charset_once(clients) -> None:  # noqa: ANN001
    reply = clients[0].head("/dumps/alliance.ttl")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/turtle; charset=utf-8"
