"""The SPARQL endpoint through the real HTTP stack: protocol, formats, negotiation, errors,
datasets, the query page, the write endpoints and the Python clients people use."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import warnings
from html import escape, unescape
from urllib.parse import quote, urlencode

import pytest
from pyoxigraph import QueryResultsFormat, RdfFormat, parse, parse_query_results
from rdflib import Graph
from rdflib import URIRef as RdflibIRI
from rdflib.compare import isomorphic
from SPARQLWrapper import JSON, POST, POSTDIRECTLY, TURTLE, SPARQLWrapper

from alliance.namespaces import graph_iri
from alliance.store import GraphStore

live = sys.modules["alliance_tests_live"]  # loaded by conftest.py
http = live.http

ALLI = "https://w3id.org/alliance/ontology#"
PACT = "https://w3id.org/alliance/id/agreement/pacte-etat-metropoles"
LYON = "https://w3id.org/alliance/id/epci/200046977"
COMMUNES = "https://w3id.org/alliance/id/commune/"
PACT_METROPOLES = f"""
PREFIX alli: <{ALLI}>
SELECT ?metropole WHERE {{
  <{PACT}> alli:hasParty ?metropole .
  ?metropole alli:epciNature <https://w3id.org/alliance/vocab/territory-kind/metropole>
}}
"""
LYON_MEMBERS = f"SELECT (COUNT(?c) AS ?n) WHERE {{ ?c <{ALLI}memberOf> <{LYON}> }}"
LYON_DESCRIPTION = f"CONSTRUCT WHERE {{ <{LYON}> ?p ?o }}"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
FACTS = graph_iri("facts")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def solutions(reply) -> list[dict[str, str]]:
    assert reply.status == 200, reply.body[:500]
    fmt = QueryResultsFormat.from_media_type(reply.media_type)
    results = parse_query_results(reply.body, format=fmt)
    names = [v.value for v in results.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in results]


def count(reply) -> int:
    return int(solutions(reply)[0]["n"])


def query(server, text: str, **params: str):
    return http("GET", server.sparql, params={"query": text, **params})


# -- the answers ----------------------------------------------------------------------------


def test_the_pact_has_fifteen_metropolitan_signatories(server):
    reply = query(server, PACT_METROPOLES)
    assert reply.media_type == "application/sparql-results+json"
    found = {row["metropole"] for row in solutions(reply)}
    assert len(found) == 15
    assert LYON in found


def test_lyon_has_58_member_communes(server):
    assert count(query(server, LYON_MEMBERS)) == 58


# -- formats and negotiation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept",
    [
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/tab-separated-values",
    ],
)
def test_select_in_each_parseable_results_format(server, accept):
    reply = http("GET", server.sparql, params={"query": LYON_MEMBERS}, headers={"Accept": accept})
    assert reply.media_type == accept
    assert count(reply) == 58


def test_select_in_csv(server):
    reply = http(
        "GET", server.sparql, params={"query": LYON_MEMBERS}, headers={"Accept": "text/csv"}
    )
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.text.splitlines() == ["n", "58"]


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "text/csv"])
def test_ask_answers(server, accept):
    reply = http(
        "GET",
        server.sparql,
        params={"query": f"ASK {{ <{LYON}> ?p ?o }}"},
        headers={"Accept": accept},
    )
    assert reply.status == 200 and reply.media_type == accept
    assert b"true" in reply.body


@pytest.mark.parametrize(
    "accept",
    [
        "text/turtle",
        "application/n-triples",
        "application/ld+json",
        "application/rdf+xml",
        "application/n-quads",
        "application/trig",
    ],
)
def test_construct_in_each_rdf_format(server, store: GraphStore, accept):
    reply = http(
        "GET", server.sparql, params={"query": LYON_DESCRIPTION}, headers={"Accept": accept}
    )
    assert reply.status == 200, reply.body[:300]
    assert reply.media_type == accept
    triples = list(parse(reply.body, format=RdfFormat.from_media_type(accept)))
    assert len(triples) == len(list(store.query(LYON_DESCRIPTION)))


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
        (
            "application/sparql-results+json;q=0.1, text/tab-separated-values",
            "text/tab-separated-values",
        ),
        ("*/*", "application/sparql-results+json"),
        ("application/json", "application/sparql-results+json"),
        ("text/csv, */*;q=0.1", "text/csv"),
        (BROWSER_ACCEPT, "text/html"),
    ],
)
def test_accept_q_values(server, accept, expected):
    reply = http("GET", server.sparql, params={"query": LYON_MEMBERS}, headers={"Accept": accept})
    assert reply.status == 200
    assert reply.media_type == expected


def test_missing_accept_gets_json(server):
    reply = http("GET", server.sparql, params={"query": LYON_MEMBERS})
    assert reply.media_type == "application/sparql-results+json"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"format": "csv"}, "text/csv"),
        ({"format": "tsv"}, "text/tab-separated-values"),
        ({"format": "xml"}, "application/sparql-results+xml"),
        ({"output": "xml"}, "application/sparql-results+xml"),
        ({"results": "csv"}, "text/csv"),
        ({"format": "application/sparql-results+json"}, "application/sparql-results+json"),
        (
            {"format": "json", "output": "json", "results": "json"},
            "application/sparql-results+json",
        ),
        ({"format": "html"}, "text/html"),
    ],
)
def test_format_parameter_overrides_accept(server, params, expected):
    reply = http(
        "GET",
        server.sparql,
        params={"query": LYON_MEMBERS, **params},
        headers={"Accept": "application/sparql-results+json;q=0.5, text/html"},
    )
    assert reply.status == 200
    assert reply.media_type == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("turtle", "text/turtle"),
        ("ttl", "text/turtle"),
        ("nt", "application/n-triples"),
        ("ntriples", "application/n-triples"),
        ("jsonld", "application/ld+json"),
        ("json-ld", "application/ld+json"),
        ("json", "application/ld+json"),
        ("xml", "application/rdf+xml"),
        ("rdfxml", "application/rdf+xml"),
        ("nquads", "application/n-quads"),
        ("trig", "application/trig"),
    ],
)
def test_format_short_names_for_graphs(server, value, expected):
    reply = query(server, LYON_DESCRIPTION, format=value)
    assert reply.status == 200
    assert reply.media_type == expected


def test_sparqlwrapper_style_repeated_format_values(server):
    # SPARQLWrapper sends `format=tsv&format=text/tab-separated-values` for TSV.
    reply = http(
        "GET",
        server.sparql,
        params=[
            ("query", LYON_MEMBERS),
            ("format", "tsv"),
            ("format", "text/tab-separated-values"),
        ],
    )
    assert reply.media_type == "text/tab-separated-values"


def test_nothing_acceptable_is_406(server):
    reply = http(
        "GET", server.sparql, params={"query": LYON_MEMBERS}, headers={"Accept": "image/png"}
    )
    assert reply.status == 406
    assert reply.media_type == "text/plain"
    assert "application/sparql-results+json" in reply.text
    assert query(server, LYON_MEMBERS, format="png").status == 406
    assert query(server, LYON_MEMBERS, format="turtle").status == 406  # a SELECT is no graph


# -- protocol: methods, media types, errors -------------------------------------------------


def test_get_form_post_and_direct_post_agree(server):
    by_get = count(query(server, LYON_MEMBERS))
    by_form = count(
        http(
            "POST",
            server.sparql,
            data=f"query={quote(LYON_MEMBERS)}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    )
    by_body = count(
        http(
            "POST",
            server.sparql,
            data=LYON_MEMBERS,
            headers={"Content-Type": "application/sparql-query"},
        )
    )
    by_body_charset = count(
        http(
            "POST",
            server.sparql,
            data=LYON_MEMBERS,
            headers={"Content-Type": "application/sparql-query; charset=UTF-8"},
        )
    )
    assert by_get == by_form == by_body == by_body_charset == 58


def test_malformed_query_is_400_with_the_parser_message(server):
    reply = query(server, "SELECT * WHERE { ?s ?p }")
    assert reply.status == 400
    assert reply.media_type == "text/plain"
    assert reply.text.startswith("Malformed query: line 1, column 25: ")
    assert "Oxigraph's message: error at 1:25" in reply.text  # the parser's own, kept


DOCS_QUERY = "SELECT ?c ?n WHERE { ?c a igeo:Commune ; igeo:nom ?n } LIMIT 3"
IGEO_DECLARATION = "PREFIX igeo: <http://rdf.insee.fr/def/geo#>"


def test_undeclared_prefix_is_named_with_its_declaration_in_text(server):
    reply = query(server, DOCS_QUERY)
    assert reply.status == 400 and reply.media_type == "text/plain"
    first, second = reply.text.splitlines()[:2]
    assert first == (
        "Malformed query: line 1, column 27: the prefix igeo: is not declared; add this line "
        "at the top of the query:"
    )
    assert second == IGEO_DECLARATION
    # With the declaration, the query runs as typed: three communes.
    fixed = solutions(query(server, f"{IGEO_DECLARATION}\n{DOCS_QUERY}"))
    assert len(fixed) == 3 and all(r["c"].startswith(COMMUNES) for r in fixed)


@pytest.mark.parametrize(
    "headers, params",
    [
        ({"Accept": "application/sparql-results+json"}, {}),
        ({"Accept": "application/sparql-results+json,*/*;q=0.9"}, {}),  # YASGUI's
        ({"Accept": "application/json"}, {}),
        ({}, {"format": "json"}),
    ],
)
def test_malformed_query_in_json_for_json_clients(server, headers, params):
    reply = http("GET", server.sparql, params={"query": "SELEC ?x", **params}, headers=headers)
    assert reply.status == 400 and reply.media_type == "application/json"
    body = json.loads(reply.body)
    assert body["error"] == "Malformed query"
    assert body["message"] == (
        "Line 1, column 1: ‘SELEC’ is not a SPARQL keyword; did you mean SELECT?"
    )
    assert (body["line"], body["column"], body["suggestions"]) == (1, 1, ["SELECT"])
    assert body["parser"].startswith("error at 1:9")


def test_malformed_query_json_gives_the_declaration(server):
    reply = http(
        "POST",
        server.sparql,
        data=DOCS_QUERY,
        headers={"Content-Type": "application/sparql-query", "Accept": "application/json"},
    )
    body = json.loads(reply.body)
    assert (body["prefix"], body["declaration"], body["line"], body["column"]) == (
        "igeo",
        IGEO_DECLARATION,
        1,
        27,
    )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "ASK {}"),
        (None, "ASK {}"),
        (None, "query=ASK%20%7B%7D"),
        ("application/json", '{"query": "ASK {}"}'),
    ],
)
def test_unsupported_request_media_type_is_415(server, content_type, body):
    headers = {"Content-Type": content_type} if content_type else {}
    reply = http("POST", server.sparql, data=body, headers=headers)
    assert reply.status == 415
    assert "application/sparql-query" in reply.text


def test_non_utf8_query_is_refused(server):
    reply = http(
        "POST",
        server.sparql,
        data="ASK {}".encode("utf-16"),
        headers={"Content-Type": "application/sparql-query; charset=UTF-16"},
    )
    assert 400 <= reply.status < 500


def test_several_queries_are_refused(server):
    reply = http("GET", server.sparql, params=[("query", "ASK {}"), ("query", "SELECT * {}")])
    assert reply.status == 400


def test_service_is_refused(server):
    reply = query(server, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    assert reply.status == 400
    assert "SERVICE is disabled on this endpoint" in reply.text
    glued = "PREFIX : <http://127.0.0.1:9/> SELECT * WHERE { ?s ?p true SERVICE:x { ?s ?p ?o } }"
    assert query(server, glued).status == 400


def test_service_in_a_string_is_not_a_call(server):
    reply = query(server, 'SELECT ("SERVICE <http://x/> {}" AS ?text) WHERE {}')
    assert solutions(reply) == [{"text": "SERVICE <http://x/> {}"}]


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("GET", {"params": {"update": "CLEAR ALL"}}),
        (
            "POST",
            {
                "data": "update=CLEAR%20ALL",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
        ),
        ("POST", {"data": "CLEAR ALL", "headers": {"Content-Type": "application/sparql-update"}}),
    ],
)
def test_updates_are_refused_on_the_query_endpoint(server, method, kwargs):
    reply = http(method, server.sparql, **kwargs)
    assert reply.status == 400
    assert "/sparql/update" in reply.text


def test_query_as_update_is_refused(server):
    reply = query(server, "INSERT DATA { <http://a> <http://b> <http://c> }")
    assert reply.status == 400


# -- CORS -----------------------------------------------------------------------------------


def test_preflight(server):
    reply = http(
        "OPTIONS",
        server.sparql,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == "*"
    assert "POST" in reply.headers["access-control-allow-methods"]
    assert "content-type" in reply.headers["access-control-allow-headers"].lower()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/sparql", {"params": {"query": "SELECT * {"}}, 400),
        (
            "GET",
            "/sparql",
            {"params": {"query": "ASK {}"}, "headers": {"Accept": "image/png"}},
            406,
        ),
        ("POST", "/sparql", {"data": "ASK {}", "headers": {"Content-Type": "text/plain"}}, 415),
        ("GET", "/no-such-page", {}, 404),
        ("PUT", "/sparql", {"data": "x", "headers": {"Content-Type": "text/plain"}}, 405),
    ],
)
def test_errors_carry_cors_headers(server, method, path, kwargs, status):
    reply = http(method, server.url + path, **kwargs)
    assert reply.status == status
    assert reply.headers.get("access-control-allow-origin") == "*"


def test_write_endpoints_send_cors_headers_only_to_allowed_origins(tmp_path) -> None:  # noqa: ANN001
    from alliance.server.app import create_app
    from alliance.server.settings import Settings
    from alliance.store import open_store

    def preflight(client, path: str, origin: str):  # noqa: ANN001, ANN202
        headers = {"Origin": origin, "Access-Control-Request-Method": "PUT"}
        return client.open(path, method="OPTIONS", headers=headers)

    for allowed, origin, expected in [
        ((), "https://app.example.org", None),
        (("https://app.example.org",), "https://app.example.org", "https://app.example.org"),
        (("https://app.example.org",), "https://evil.example", None),
        (("*",), "https://any.example", "https://any.example"),
    ]:
        with open_store(tmp_path / f"store{len(allowed)}{expected is None}") as store:
            settings = Settings(write_token="t", cors_origins=allowed)
            client = create_app(settings, store=store).test_client()
            for path in ("/store", "/sparql/update"):
                reply = preflight(client, path, origin)
                assert reply.headers.get("Access-Control-Allow-Origin") == expected, path
                if expected:
                    assert "PUT" in reply.headers["Access-Control-Allow-Methods"]
                assert "Origin" in reply.headers.get("Vary", "")
            # Reading faces allow any origin, but never PUT or DELETE.
            reply = preflight(client, "/sparql", origin)
            assert reply.headers["Access-Control-Allow-Origin"] == "*"
            assert "PUT" not in reply.headers["Access-Control-Allow-Methods"]


def test_too_large_body_is_413_with_cors_headers(server):
    # Announce a body over the limit and send only its start: the server answers at once.
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\nquery=" % (11 * 1024 * 1024)
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head = answer.split(b"\r\n\r\n")[0].decode("latin-1").lower()
    assert head.startswith("http/1.1 413")
    assert "access-control-allow-origin: *" in head


# -- datasets -------------------------------------------------------------------------------


def test_default_graph_is_the_union_of_the_sources(server, store: GraphStore):
    # The RDF merge of the graphs: a triple several sources state (the software agent
    # that built each graph) counts once.
    merged = "SELECT (COUNT(*) AS ?n) { SELECT DISTINCT ?s ?p ?o { GRAPH ?g { ?s ?p ?o } } }"
    total = int(next(iter(store.query(merged, union_default_graph=False)))["n"].value)
    sizes = [store.graph_size(g) for g in store.graphs()]
    assert max(sizes) < total < sum(sizes)
    assert count(query(server, COUNT_ALL)) == total
    assert count(query(server, COUNT_ALL, **{"default-graph": "union"})) == total


def test_plain_default_graph_on_request(server, store: GraphStore):
    plain = int(next(iter(store.query(COUNT_ALL, union_default_graph=False)))["n"].value)
    assert count(query(server, COUNT_ALL, **{"default-graph": "plain"})) == plain
    assert plain < sum(store.graph_size(g) for g in store.graphs())


def test_bad_default_graph_mode_is_400(server):
    assert query(server, COUNT_ALL, **{"default-graph": "everything"}).status == 400


def test_default_graph_uri(server, store: GraphStore):
    reply = query(server, COUNT_ALL, **{"default-graph-uri": FACTS.value})
    assert count(reply) == store.graph_size(FACTS)


def test_default_graph_uris_repeat(server, store: GraphStore):
    territories = graph_iri("territories")
    reply = http(
        "GET",
        server.sparql,
        params=[
            ("query", COUNT_ALL),
            ("default-graph-uri", FACTS.value),
            ("default-graph-uri", territories.value),
        ],
    )
    assert count(reply) == store.graph_size(FACTS) + store.graph_size(territories)


def test_named_graph_uri(server):
    text = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    reply = http(
        "POST",
        server.sparql + "?" + urlencode({"named-graph-uri": FACTS.value}),
        data=text,
        headers={"Content-Type": "application/sparql-query"},
    )
    assert solutions(reply) == [{"g": FACTS.value}]


def test_from_in_the_query_is_honoured(server, store: GraphStore):
    reply = query(server, f"SELECT (COUNT(*) AS ?n) FROM {FACTS} WHERE {{ ?s ?p ?o }}")
    assert count(reply) == store.graph_size(FACTS)


def test_invalid_graph_iri_is_400(server):
    assert query(server, COUNT_ALL, **{"default-graph-uri": "not an iri"}).status == 400


# -- service description and query page -----------------------------------------------------


@pytest.mark.parametrize("accept", [None, "text/turtle", "*/*"])
def test_service_description(server, store: GraphStore, accept):
    reply = http("GET", server.sparql, headers={"Accept": accept} if accept else {})
    assert reply.status == 200
    assert reply.media_type == "text/turtle"
    graph = Graph().parse(data=reply.text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    (service,) = graph.subjects(RdflibIRI(sd + "endpoint"), RdflibIRI(server.sparql))
    formats = set(graph.objects(service, RdflibIRI(sd + "resultFormat")))
    assert RdflibIRI("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in formats
    assert len(formats) == 10
    names = {str(n) for n in graph.objects(None, RdflibIRI(sd + "name"))}
    assert names == {g.value for g in store.graphs()}
    assert "default-graph=plain" in reply.text


def test_service_description_in_json_ld(server):
    reply = http("GET", server.sparql, headers={"Accept": "application/ld+json"})
    assert reply.media_type == "application/ld+json"
    assert json.loads(reply.body)


def test_query_page_for_browsers(server):
    reply = http("GET", server.sparql, headers={"Accept": BROWSER_ACCEPT})
    assert reply.status == 200 and reply.media_type == "text/html"
    page = reply.text
    assert '<form class="sparql-form"' in page and 'action="/sparql"' in page
    assert '<textarea id="query" name="query"' in page
    assert '<select id="format" name="format">' in page
    assert "default-graph=plain" in page
    assert 'class="example"' in page
    # YASGUI from this server's files, nothing from another host.
    assert '<script src="/static/yasgui/yasgui.min.js" defer></script>' in page
    assert '<link rel="stylesheet" href="/static/yasgui/yasgui.min.css">' in page
    assert "https://cdn." not in page
    # The editor's lists: the project's prefixes, the graph's classes, the examples.
    config = json.loads(
        re.search(
            r'<script type="application/json" id="sparql-editor-config">(.*?)</script>', page, re.S
        ).group(1)
    )
    assert config["prefixes"]["igeo"] == "http://rdf.insee.fr/def/geo#"
    assert "http://rdf.insee.fr/def/geo#Commune" in config["classes"]
    assert "http://rdf.insee.fr/def/geo#nom" in config["properties"]
    assert ALLI + "memberOf" in config["properties"]
    assert {e["name"] for e in config["examples"]} >= {"pact-metropoles", "lyon-members"}
    assert config["query"].startswith("PREFIX ")


def test_yasgui_files_are_served_with_their_licence(server):
    script = http("GET", server.url + "/static/yasgui/yasgui.min.js")
    assert script.status == 200 and len(script.body) == 1053836
    assert hashlib.sha384(script.body).digest() == base64.b64decode(
        "QmjBmzRqk7JDGhGYmjP89IdwnsVo/+1by9ZDF50Nc1rgDCte3t6US8lSCPoS1/bx"
    )
    licence = http("GET", server.url + "/static/yasgui/LICENSE.txt")
    assert licence.status == 200 and "The MIT License" in licence.text


def test_examples_prefill_the_form(server):
    reply = http(
        "GET", server.sparql, params={"example": "lyon-members"}, headers={"Accept": BROWSER_ACCEPT}
    )
    assert "200046977" in reply.text


def test_results_page_shows_rows(server):
    reply = http(
        "GET", server.sparql, params={"query": PACT_METROPOLES}, headers={"Accept": BROWSER_ACCEPT}
    )
    assert reply.media_type == "text/html"
    assert reply.text.count("<tr>") == 16  # the header and 15 rows
    assert "15 rows." in reply.text
    assert "format=csv" in reply.text  # download links


def test_results_page_escapes_what_it_reflects(server):
    text = 'SELECT ("<script>alert(1)</script>" AS ?x) WHERE {} # <script>alert(2)</script>'
    reply = http("GET", server.sparql, params={"query": text}, headers={"Accept": BROWSER_ACCEPT})
    assert reply.status == 200
    assert "<script>alert" not in reply.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply.text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in reply.text


def test_ask_and_construct_pages(server):
    ask = http(
        "GET",
        server.sparql,
        params={"query": f"ASK {{ <{LYON}> ?p ?o }}"},
        headers={"Accept": BROWSER_ACCEPT},
    )
    assert ask.media_type == "text/html" and '<strong id="boolean">true</strong>' in ask.text
    graph = http(
        "GET", server.sparql, params={"query": LYON_DESCRIPTION}, headers={"Accept": BROWSER_ACCEPT}
    )
    assert graph.media_type == "text/html"
    assert "<th>?subject</th>" in graph.text and "Métropole de Lyon" in graph.text
    assert "format=turtle" in graph.text


def test_relative_iris_resolve_against_the_endpoint(server):
    reply = query(server, "SELECT ?x WHERE { BIND(<relative> AS ?x) }")
    assert solutions(reply) == [{"x": server.url + "/relative"}]


def test_errors_come_back_in_the_page_for_browsers_with_the_query_as_typed(server):
    typed = "SELECT <script>alert(1)</script>"
    reply = http("GET", server.sparql, params={"query": typed}, headers={"Accept": BROWSER_ACCEPT})
    assert reply.status == 400
    assert reply.media_type == "text/html"
    assert "<script>alert" not in reply.text
    assert "SELECT &lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in reply.text
    assert '<div class="query-error" id="query-error" role="alert">' in reply.text


@pytest.mark.parametrize("answer_as", ["html", "csv"])
def test_the_plain_form_keeps_the_query_and_offers_the_declaration(server, answer_as):
    # What a browser without scripts sends from the form, whatever the chosen format.
    reply = http(
        "GET",
        server.sparql,
        params={"query": DOCS_QUERY, "format": answer_as},
        headers={"Accept": BROWSER_ACCEPT},
    )
    assert reply.status == 400 and reply.media_type == "text/html"
    page = reply.text
    assert f'aria-describedby="query-error">{escape(DOCS_QUERY)}</textarea>' in page
    start = page.index('id="query-error"')
    error = page[start : page.index("</div>", start)]
    assert (
        "Line 1, column 27: the prefix igeo: is not declared; add this line at the top of the "
        "query:"
    ) in error
    assert escape(IGEO_DECLARATION) in error
    # The offered link runs the query with the declaration added.
    fixed_link = re.search(r'class="add-declaration" href="([^"]+)"', error)
    assert fixed_link is not None
    fixed = http(
        "GET", server.url + unescape(fixed_link.group(1)), headers={"Accept": BROWSER_ACCEPT}
    )
    assert fixed.status == 200 and "3 rows." in fixed.text


def test_every_page_has_an_icon(server):
    page = http("GET", server.url + "/", headers={"Accept": BROWSER_ACCEPT}).text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    for path in ("/favicon.ico", "/static/favicon.svg"):
        icon = http("GET", server.url + path)
        assert icon.status == 200 and icon.media_type == "image/svg+xml"
        assert icon.body.startswith(b"<svg ")


# -- writes ---------------------------------------------------------------------------------


def test_write_endpoints_do_not_exist_without_a_token(server):
    assert (
        http(
            "POST",
            server.url + "/sparql/update",
            data="CLEAR ALL",
            headers={"Content-Type": "application/sparql-update"},
        ).status
        == 404
    )
    assert http("GET", server.url + "/store?default").status == 404
    assert (
        http(
            "PUT", server.url + "/store?default", data="", headers={"Content-Type": "text/turtle"}
        ).status
        == 404
    )


def bearer(server, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or server.token}"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 403), ({"Authorization": "Basic eDp5"}, 401)],
)
def test_updates_need_the_token(write_server, headers, status):
    reply = http(
        "POST",
        write_server.url + "/sparql/update",
        data="INSERT DATA { <http://example.org/a> <http://example.org/b> 1 }",
        headers={"Content-Type": "application/sparql-update", **headers},
    )
    assert reply.status == status
    assert reply.headers.get("www-authenticate", "").startswith("Bearer")
    assert http("GET", write_server.url + "/store?default", headers=headers).status == status


def test_update_round_trip(write_server):
    graph = "http://example.org/update-test"
    reply = http(
        "POST",
        write_server.url + "/sparql/update",
        data=f"INSERT DATA {{ GRAPH <{graph}> {{ <http://example.org/s> <p> 7 }} }}",
        headers={"Content-Type": "application/sparql-update", **bearer(write_server)},
    )
    assert reply.status == 204, reply.text
    found = query(write_server, f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert solutions(found) == [{"o": "7"}]
    form = http(
        "POST",
        write_server.url + "/sparql/update",
        data=urlencode({"update": f"DROP GRAPH <{graph}>"}),
        headers={"Content-Type": "application/x-www-form-urlencoded", **bearer(write_server)},
    )
    assert form.status == 204
    found = query(write_server, f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert b"false" in found.body


def test_update_with_protocol_dataset(write_server):
    auth = {"Content-Type": "application/sparql-update", **bearer(write_server)}
    source, target = "http://example.org/source", "http://example.org/target"
    setup = (
        f"DROP SILENT GRAPH <{target}> ; "
        f"INSERT DATA {{ GRAPH <{source}> {{ <http://example.org/a> a <http://example.org/T> }} }}"
    )
    assert http("POST", write_server.url + "/sparql/update", data=setup, headers=auth).status == 204
    copy = f"INSERT {{ GRAPH <{target}> {{ ?s a ?t }} }} WHERE {{ ?s a ?t }}"
    reply = http(
        "POST",
        write_server.url + "/sparql/update?" + urlencode({"using-graph-uri": source}),
        data=copy,
        headers=auth,
    )
    assert reply.status == 204, reply.text
    found = query(write_server, f"SELECT ?s WHERE {{ GRAPH <{target}> {{ ?s ?p ?o }} }}")
    assert solutions(found) == [{"s": "http://example.org/a"}]
    conflict = http(
        "POST",
        write_server.url + "/sparql/update?" + urlencode({"using-graph-uri": source}),
        data=f"WITH <{target}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
        headers=auth,
    )
    assert conflict.status == 400


def test_malformed_update_is_400(write_server):
    reply = http(
        "POST",
        write_server.url + "/sparql/update",
        data="CLEAR XYZ",
        headers={"Content-Type": "application/sparql-update", **bearer(write_server)},
    )
    assert reply.status == 400 and reply.text.startswith("Malformed update:")


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("LOAD <http://127.0.0.1:9/data.ttl>", "LOAD"),
        ("load silent <http://127.0.0.1:9/data.ttl> INTO GRAPH <http://g>", "LOAD"),
        ("INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", "SERVICE"),
    ],
)
def test_load_and_service_are_refused_in_updates(write_server, text, word):
    reply = http(
        "POST",
        write_server.url + "/sparql/update",
        data=text,
        headers={"Content-Type": "application/sparql-update", **bearer(write_server)},
    )
    assert reply.status == 400
    assert f"{word} is disabled" in reply.text


def test_graph_store_round_trip(write_server):
    store = write_server.url + "/store"
    graph = {"graph": "http://example.org/gsp-test"}
    auth = bearer(write_server)
    turtle = "@prefix ex: <http://example.org/> . ex:a ex:knows ex:b , [ ex:name 'x' ] ."
    put = http(
        "PUT", store, params=graph, data=turtle, headers={"Content-Type": "text/turtle", **auth}
    )
    assert put.status == 201, put.text
    again = http(
        "PUT", store, params=graph, data=turtle, headers={"Content-Type": "text/turtle", **auth}
    )
    assert again.status == 204
    got = http("GET", store, params=graph, headers={"Accept": "application/n-triples", **auth})
    assert got.status == 200 and got.media_type == "application/n-triples"
    assert isomorphic(
        Graph().parse(data=got.text, format="nt"), Graph().parse(data=turtle, format="turtle")
    )
    head = http("HEAD", store, params=graph, headers=auth)
    assert head.status == 200 and head.body == b""

    more = "<http://example.org/c> <http://example.org/knows> <http://example.org/d> ."
    post = http(
        "POST",
        store,
        params=graph,
        data=more,
        headers={"Content-Type": "application/n-triples", **auth},
    )
    assert post.status == 204
    got = http("GET", store, params=graph, headers={"Accept": "application/n-triples", **auth})
    assert len(Graph().parse(data=got.text, format="nt")) == 4
    # The same data in RDF/XML and JSON-LD bodies, into other graphs.
    got_rdfxml = http("GET", store, params=graph, headers={"Accept": "application/rdf+xml", **auth})
    assert got_rdfxml.status == 200
    copy = {"graph": "http://example.org/gsp-copy"}
    assert (
        http(
            "PUT",
            store,
            params=copy,
            data=got_rdfxml.body,
            headers={"Content-Type": "application/rdf+xml", **auth},
        ).status
        == 201
    )
    jsonld = http("GET", store, params=copy, headers={"Accept": "application/ld+json", **auth})
    assert (
        http(
            "PUT",
            store,
            params=copy,
            data=jsonld.body,
            headers={"Content-Type": "application/ld+json", **auth},
        ).status
        == 204
    )
    copied = http("GET", store, params=copy, headers={"Accept": "text/turtle", **auth})
    assert isomorphic(
        Graph().parse(data=copied.text, format="turtle"), Graph().parse(data=got.text, format="nt")
    )

    # The default graph; and it is what `default-graph=plain` queries.
    default = http(
        "PUT",
        store + "?default",
        data='<http://example.org/x> <http://example.org/y> "1" .',
        headers={"Content-Type": "application/n-triples", **auth},
    )
    assert default.status == 204
    assert count(query(write_server, COUNT_ALL, **{"default-graph": "plain"})) == 1
    dumped = http("GET", store, headers={"Accept": "application/n-quads", **auth})
    names = {graph["graph"], copy["graph"], "DEFAULT"}
    quads = [
        q
        for q in parse(dumped.body, format=RdfFormat.N_QUADS)
        if getattr(q.graph_name, "value", "DEFAULT") in names
    ]
    assert len(quads) == 4 + 4 + 1

    for target in (graph, copy):
        assert http("DELETE", store, params=target, headers=auth).status == 204
        assert http("GET", store, params=target, headers=auth).status == 404
        assert http("DELETE", store, params=target, headers=auth).status == 404
    assert http("DELETE", store + "?default", headers=auth).status == 204
    assert count(query(write_server, COUNT_ALL, **{"default-graph": "plain"})) == 0


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("text/turtle", "this is not turtle", 400),
        ("application/pdf", "%PDF", 415),
        ("application/n-quads", "<http://a> <http://b> <http://c> <http://g> .", 400),
    ],
)
def test_graph_store_refuses_bad_bodies(write_server, content_type, body, status):
    reply = http(
        "PUT",
        write_server.url + "/store",
        params={"graph": "http://example.org/bad"},
        data=body,
        headers={"Content-Type": content_type, **bearer(write_server)},
    )
    assert reply.status == status


def test_graph_store_needs_a_graph_to_write(write_server):
    reply = http(
        "PUT",
        write_server.url + "/store",
        data="",
        headers={"Content-Type": "text/turtle", **bearer(write_server)},
    )
    assert reply.status == 400
    both = http(
        "GET", write_server.url + "/store?default&graph=http://a/", headers=bearer(write_server)
    )
    assert both.status == 400


# -- the Python clients ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "POSTDIRECTLY"])
def test_sparqlwrapper_json(server, method):
    client = SPARQLWrapper(server.sparql)
    client.setQuery(PACT_METROPOLES)
    client.setReturnFormat(JSON)
    if method != "GET":
        client.setMethod(POST)
    if method == "POSTDIRECTLY":
        client.setRequestMethod(POSTDIRECTLY)
    result = client.queryAndConvert()
    found = {b["metropole"]["value"] for b in result["results"]["bindings"]}
    assert len(found) == 15 and LYON in found


def test_sparqlwrapper_construct_and_default_xml(server):
    client = SPARQLWrapper(server.sparql)
    client.setQuery(LYON_DESCRIPTION)
    client.setReturnFormat(TURTLE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "unknown response format" warning
        graph = client.queryAndConvert()
    graph = Graph().parse(data=graph, format="turtle") if isinstance(graph, bytes) else graph
    assert (RdflibIRI(LYON), None, None) in graph
    client = SPARQLWrapper(server.sparql)  # XML, SPARQLWrapper's default
    client.setQuery(LYON_MEMBERS)
    document = client.queryAndConvert()
    assert "58" in document.toxml()


def test_rdflib_sparqlstore(server):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = Graph(store=SPARQLStore(server.sparql))
    found = {str(row[0]) for row in graph.query(PACT_METROPOLES)}
    assert len(found) == 15 and LYON in found
    members = list(graph.triples((None, RdflibIRI(ALLI + "memberOf"), RdflibIRI(LYON))))
    assert len(members) == 58
    post = Graph(store=SPARQLStore(server.sparql, method="POST"))
    assert len(list(post.query(LYON_MEMBERS))) == 1
    assert int(next(iter(post.query(LYON_MEMBERS)))[0]) == 58


def test_concurrent_queries(server):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: count(query(server, LYON_MEMBERS)), range(32)))
    assert answers == [58] * 32
