"""Data holding markup is shown as text on every page, and every page sends its safety headers.

A resource whose labels, literals and IRIs hold markup is written through the write
server; each HTML page that shows it must escape it (no tag, no attribute, no
`javascript:` link comes through), and carry a Content-Security-Policy that would
stop a script that slipped through anyway.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

live = pytest.importorskip("alliance_tests_live")  # loaded by conftest.py

ID = "https://w3id.org/alliance/id/"
GRAPH = f"{ID}graph/markup-test"
SUBJECT = f"{ID}test/markup"
#: An IRI may hold quotes and parentheses: it must not close an attribute.
ODD_IRI = f"{ID}test/x'onmouseover='alert(4)'"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
#: What must never appear in a page as markup.
RAW = [SCRIPT, "<img src=x", "onmouseover='alert", 'href="javascript:', "href='javascript:"]


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


DATA = f"""
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX igeo: <http://rdf.insee.fr/def/geo#>
PREFIX alli: <https://w3id.org/alliance/ontology#>
INSERT DATA {{ GRAPH <{GRAPH}> {{
  <{SUBJECT}> rdfs:label {_literal(SCRIPT)}@fr, {_literal(IMG)}@en ;
      skos:definition {_literal(IMG + SCRIPT)} ;
      igeo:nom {_literal(SCRIPT)} ;
      alli:territoryKind <https://w3id.org/alliance/vocab/territory-kind/pays> ;
      rdfs:seeAlso <javascript:alert(3)>, <{ODD_IRI}> .
  <{ODD_IRI}> rdfs:label {_literal(IMG)} ; rdfs:seeAlso <{SUBJECT}> .
}} }}
"""


@pytest.fixture(scope="module")
def marked(write_server):
    reply = live.http(
        "POST",
        f"{write_server.url}/sparql/update",
        data=DATA,
        headers={
            "Content-Type": "application/sparql-update",
            "Authorization": f"Bearer {write_server.token}",
        },
    )
    assert reply.status == 204, reply.text
    return write_server


def check_page(reply, *, shows: str = "&lt;script&gt;alert(1)&lt;/script&gt;") -> None:
    """The page shows the markup as text, never as markup, and sends the safety headers."""
    assert reply.status == 200, reply.text[:500]
    assert reply.media_type == "text/html"
    html = reply.text
    assert shows in html
    for raw in RAW:
        assert raw not in html, raw
    # No element besides the page's own carries an event handler.
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", html, re.IGNORECASE)
    policy = reply.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"])
    assert nonce, policy
    # Every inline script and style carries this answer's nonce.
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        assert f'nonce="{nonce.group(1)}"' in tag or " src=" in tag, tag
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "same-origin"


def test_resource_page_escapes_data(marked):
    check_page(live.http("GET", f"{marked.url}/id/test/markup", headers={"Accept": "text/html"}))


def test_incoming_page_escapes_the_odd_iri(marked):
    path = quote(ODD_IRI[len(ID) :], safe="/'()")
    reply = live.http("GET", f"{marked.url}/id/{path}", headers={"Accept": "text/html"})
    check_page(reply, shows="&lt;img src=x")


def test_query_results_page_escapes_data(marked):
    query = f"SELECT ?p ?o ?s WHERE {{ <{SUBJECT}> ?p ?o OPTIONAL {{ ?s ?q <{SUBJECT}> }} }}"
    reply = live.http("GET", marked.sparql, params={"query": query, "format": "html"})
    check_page(reply)
    # The query text itself, echoed in the form, is escaped too.
    query = f'SELECT ("{SCRIPT}" AS ?x) {{}} # </textarea>{SCRIPT}'
    reply = live.http("GET", marked.sparql, params={"query": query, "format": "html"})
    check_page(reply)
    assert "</textarea><script>" not in reply.text


def test_api_page_escapes_data_and_parameters(marked):
    reply = live.http(
        "GET",
        f"{marked.url}/api/queries/find-territory",
        params={"name": SCRIPT, "format": "html"},
    )
    check_page(reply)


def test_validation_report_escapes_data(marked):
    turtle = (
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "@prefix alli: <https://w3id.org/alliance/ontology#> .\n"
        f"<{ID}agreement/markup> a alli:ReciprocityContract ;\n"
        f"  rdfs:label {_literal(SCRIPT)}@fr, {_literal(IMG)}@en ;\n"
        f"  alli:hasParty <{ID}epci/200046977> .\n"
    )
    reply = live.http(
        "POST",
        f"{marked.url}/validate",
        data=turtle,
        headers={"Content-Type": "text/turtle", "Accept": "text/html"},
    )
    check_page(reply)
    # A refusal echoes the pasted text and the parser's message: escaped as well.
    broken = f"{SCRIPT} {IMG}"
    reply = live.http(
        "POST",
        f"{marked.url}/validate",
        data=f"data={quote(broken)}&syntax=turtle",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )
    assert reply.status == 400
    html = reply.text
    for raw in RAW:
        assert raw not in html, raw
    assert "content-security-policy" in reply.headers


@pytest.mark.parametrize(
    "path", ["/", "/sparql", "/api", "/ontology", "/vocab", "/shapes", "/dumps", "/validate"]
)
def test_every_page_sends_the_headers(server, path):
    reply = live.http("GET", f"{server.url}{path}", headers={"Accept": "text/html"})
    assert reply.status == 200
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_other_answers_allow_nothing(server):
    reply = live.http("GET", server.sparql, params={"query": "ASK {}", "format": "json"})
    assert reply.headers["content-security-policy"].startswith("default-src 'none'")
    assert reply.headers["x-content-type-options"] == "nosniff"
