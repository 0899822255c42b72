"""Pages and VoID say what the territory history knows: dates, changes, perimeters."""

from __future__ import annotations

import html
import re

import rdflib
from flask.testing import FlaskClient

from alliance.namespaces import ID

DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")


def in_time(client: FlaskClient, path: str) -> str:
    """The text of a page's "In time" section ("" when it has none)."""
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200
    section = re.search(
        r'<section id="in-time".*?</section>', response.get_data(as_text=True), re.S
    )
    text = re.sub(r"<[^>]+>", " ", section.group(0)) if section else ""
    return re.sub(r"\s+", " ", html.unescape(text))


def test_a_gone_signatory_shows_its_successor_and_perimeters(client: FlaskClient) -> None:
    text = in_time(client, "/id/epci/245900410")
    assert "successor on 2020-03-14" in text and "Haute-Deûle" in text
    assert "2015-01-01 – 2017-01-01: 85 communes (inferred)" in text
    assert "on 2020-01-01: 90 communes (stated)" in text


def test_a_past_commune_version_resolves_with_its_dates(client: FlaskClient) -> None:
    text = in_time(client, "/id/commune/69149/1943-01-01")
    assert "Oullins" in text and "version in force 1943-01-01" in text
    turtle = client.get("/id/commune/69149/1943-01-01", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=turtle.get_data(as_text=True), format="turtle")
    subject = rdflib.URIRef(ID + "commune/69149/1943-01-01")
    assert str(
        graph.value(subject, rdflib.URIRef("https://w3id.org/alliance/ontology#validFrom"))
    ) == ("1943-01-01")


def test_today_s_commune_lists_its_versions(client: FlaskClient) -> None:
    text = in_time(client, "/id/commune/74010")  # Annecy, a commune nouvelle of 2017
    assert "version in force 2017-01-01" in text


def test_the_pact_names_lille_s_body_of_2016(client: FlaskClient) -> None:
    page = client.get("/id/agreement/pacte-etat-metropoles", headers={"Accept": "text/html"})
    text = html.unescape(page.get_data(as_text=True))
    assert "/id/epci/245900410" in text and "/id/epci/200093201" not in text
    assert "SIREN 245900410, jusqu'au 2020-03-14" in text


def test_void_says_the_days_the_reference_graphs_describe(client: FlaskClient) -> None:
    response = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=response.get_data(as_text=True), format="turtle")
    days = {(str(g).rsplit("/", 1)[1], str(d)) for g, d in graph.subject_objects(DCTERMS.temporal)}
    assert days == {
        ("territories", "2025-01-01"),
        ("territory-history", "2019-01-01"),
        ("territory-history", "2020-01-01"),
    }
