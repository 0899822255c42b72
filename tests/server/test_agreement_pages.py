"""Agreement pages show their timeline and sources; territory pages their agreements."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient


def section(client: FlaskClient, path: str, name: str) -> str:
    """The text of one section of a resource page ("" when it has none)."""
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200
    found = re.search(rf'<section id="{name}".*?</section>', response.get_data(as_text=True), re.S)
    text = re.sub(r"<[^>]+>", " ", found.group(0)) if found else ""
    return re.sub(r"\s+", " ", html.unescape(text))


def test_a_contract_page_shows_both_signature_dates_and_its_sources(
    client: FlaskClient,
) -> None:
    path = "/id/agreement/contrat-reciprocite-toulouse-portes-de-gascogne-2017"
    timeline = section(client, path, "timeline")
    assert "2017-06: signature, stated" in timeline
    assert "2017-07-10: signature, stated" in timeline
    assert timeline.index("2017-06:") < timeline.index("2017-07-10:")
    sources = section(client, path, "sources")
    assert "Réussir" in sources and "Banque des Territoires" in sources
    assert "a reported view" in sources and "inferred" in sources


def test_a_commune_page_lists_the_agreements_it_takes_part_in(client: FlaskClient) -> None:
    text = section(client, "/id/commune/29024", "agreements")
    assert "through Pays Centre-Ouest Bretagne" in text
    assert "2016-11-04" in text and "Brest" in text


def test_a_metropolis_page_lists_its_agreements_directly(client: FlaskClient) -> None:
    text = section(client, "/id/epci/200046977", "agreements")
    assert "Pacte État-métropoles" in text and "directly" in text
    assert "Binôme pilote Métropole de Lyon – Pays d'Aurillac" in text
