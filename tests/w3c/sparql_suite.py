"""The W3C SPARQL 1.1 conformance tests, run against a SPARQL endpoint over HTTP.

What it runs, from the public suite in ../shared/suites/w3c-sparql11 (never copied here):

* every query evaluation test (mf:QueryEvaluationTest, mf:CSVResultFormatTest) that needs
  neither an entailment regime nor a remote SERVICE: 235 tests. Each test's data is loaded
  through the Graph Store Protocol (/store: the default graph and one named graph per
  file), its query is POSTed to /sparql with `default-graph=plain` (the W3C tests expect
  the plain default graph, not our union), and its answer is compared with the expected
  one as a multiset, with blank nodes matched by graph isomorphism, numeric literals by
  value and language tags case-insensitively; ORDER BY answers must also come in order.
* the protocol tests (protocol/manifest.ttl), HTTP exchanges replayed as written, with
  `/sparql/` mapped to /sparql for queries and /sparql/update for updates.

The endpoint is the root URL of an Alliance server started with a write token:

    python -m tests.w3c.sparql_suite http://127.0.0.1:8000 --token TOKEN
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import logging
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Namespace, URIRef
from rdflib import Literal as RdflibLiteral
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.term import Node

log = logging.getLogger(__name__)

SUITE = Path(__file__).resolve().parents[3] / "shared/suites/w3c-sparql11"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RS = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/result-set#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
XSD = "http://www.w3.org/2001/XMLSchema#"

#: Folders whose tests need what the service deliberately lacks.
EXCLUDED = {"entailment": "entailment regimes", "service": "remote SERVICE endpoints"}
QUERY_TYPES = (MF.QueryEvaluationTest, MF.CSVResultFormatTest)
RDF_FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".rdf": ox.RdfFormat.RDF_XML,
}
RESULT_FORMATS = {
    ".srx": ox.QueryResultsFormat.XML,
    ".srj": ox.QueryResultsFormat.JSON,
    ".tsv": ox.QueryResultsFormat.TSV,
}
INTEGERS = {
    "integer", "int", "long", "short", "byte", "nonNegativeInteger", "nonPositiveInteger",
    "positiveInteger", "negativeInteger", "unsignedInt", "unsignedLong", "unsignedShort",
    "unsignedByte",
}  # fmt: skip
RESULTS_MEDIA = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}


# -- HTTP ---------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    media_type: str
    body: bytes


class Endpoint:
    """The server under test: /sparql, /sparql/update and /store under one root URL."""

    def __init__(self, root: str, token: str | None):
        self.root = root.rstrip("/")
        parts = urlsplit(self.root)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    def exchange(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> Reply:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            media = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
            return Reply(response.status, media, response.read())
        finally:
            connection.close()

    def write(self, method: str, params: str, body: bytes | None = None) -> None:
        headers = {**self.auth}
        if body is not None:
            headers["Content-Type"] = "application/n-triples"
        reply = self.exchange(method, f"/store?{params}", body, headers)
        if reply.status >= 300 and not (method == "DELETE" and reply.status == 404):
            raise RuntimeError(f"{method} /store?{params}: {reply.status} {reply.body[:300]!r}")

    def put_graph(self, graph: str | None, ntriples: bytes) -> None:
        self.write("PUT", "default" if graph is None else urlencode({"graph": graph}), ntriples)

    def delete_graph(self, graph: str) -> None:
        self.write("DELETE", urlencode({"graph": graph}))

    def query(self, text: str, accept: str) -> Reply:
        return self.exchange(
            "POST",
            "/sparql?default-graph=plain",
            text.encode("utf-8"),
            {"Content-Type": "application/sparql-query", "Accept": accept},
        )


class Dataset:
    """What the store holds now, so that consecutive tests on the same data skip the load."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self.default: tuple[str, ...] | None = None
        self.named: set[str] = set()

    def load(self, default: list[str], named: list[str]) -> None:
        if self.default != tuple(default):
            self.endpoint.put_graph(None, b"".join(ntriples(f) for f in default))
            self.default = tuple(default)
        for graph in sorted(self.named - set(named)):
            self.endpoint.delete_graph(graph)
            self.named.discard(graph)
        for graph in named:
            if graph not in self.named:
                self.endpoint.put_graph(graph, ntriples(graph))
                self.named.add(graph)

    def forget(self) -> None:
        self.default, self.named = None, set()


def local(iri: str) -> Path:
    return Path(unquote(urlsplit(iri).path))


def ntriples(iri: str) -> bytes:
    """A data file of the suite as N-Triples (relative IRIs resolved against its own IRI)."""
    path = local(iri)
    quads = ox.parse(path=path, format=RDF_FORMATS[path.suffix], base_iri=iri)
    return ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES)


# -- comparing answers --------------------------------------------------------------------


def normal_literal(value: str, datatype: str | None, language: str | None) -> RdflibLiteral:
    """A literal in a form where equal values compare equal.

    Numbers are compared by value within XSD's primitive value spaces: the integer
    types and decimal are decimals ("-3"^^xsd:negativeInteger = -3 = -3.0), float and
    double are doubles (1.0e6 = "1000000"^^xsd:double). Language tags ignore case.
    """
    if language:
        return RdflibLiteral(value, lang=language.lower())
    if datatype is None or datatype == XSD + "string":
        return RdflibLiteral(value)
    name = datatype[len(XSD) :] if datatype.startswith(XSD) else None
    try:
        if name in INTEGERS or name == "decimal":
            number = Decimal(value.strip())
            if number.is_finite():
                number = number.normalize() if number else Decimal(0)
                text = format(number, "f")
                return RdflibLiteral(text, datatype=URIRef(XSD + "decimal"))
        elif name in ("double", "float"):
            return RdflibLiteral(repr(float(value.strip())), datatype=URIRef(XSD + "double"))
    except (ValueError, InvalidOperation):
        pass
    return RdflibLiteral(value, datatype=URIRef(datatype))


def term(node: object) -> Node:
    """A pyoxigraph term as a normalised rdflib term."""
    if isinstance(node, ox.NamedNode):
        return URIRef(node.value)
    if isinstance(node, ox.BlankNode):
        return BNode(node.value)
    if isinstance(node, ox.Literal):
        return normal_literal(node.value, node.datatype.value, node.language)
    return RdflibLiteral(str(node))


Row = dict[str, Node]


def solutions_graph(rows: list[Row]) -> Graph:
    """A result set as a graph: isomorphism then matches multisets and blank nodes at once."""
    graph = Graph()
    for row in rows:
        solution = BNode()
        graph.add((solution, RDF.type, RS.ResultSolution))
        for name, value in row.items():
            binding = BNode()
            graph.add((solution, RS.binding, binding))
            graph.add((binding, RS.variable, RdflibLiteral(name)))
            graph.add((binding, RS.value, value))
    return graph


def same_rows(expected: list[Row], actual: list[Row]) -> bool:
    if len(expected) != len(actual):
        return False
    if not any(isinstance(v, BNode) for r in expected + actual for v in r.values()):
        return Counter(frozenset(r.items()) for r in expected) == Counter(
            frozenset(r.items()) for r in actual
        )
    return isomorphic(solutions_graph(expected), solutions_graph(actual))


def rows_of(results: ox.QuerySolutions) -> list[Row]:
    names = [v.value for v in results.variables]
    return [{n: term(s[n]) for n in names if s[n] is not None} for s in results]


def result_set_rows(graph: Graph) -> list[Row] | bool:
    """The rows (or boolean) of a result set written in the rs: vocabulary."""
    result_set = next(graph.subjects(RDF.type, RS.ResultSet))
    boolean = graph.value(result_set, RS.boolean)
    if boolean is not None:
        return bool(boolean.toPython())
    rows = []
    for solution in graph.objects(result_set, RS.solution):
        row = {}
        for binding in graph.objects(solution, RS.binding):
            value = graph.value(binding, RS.value)
            row[str(graph.value(binding, RS.variable))] = rdflib_normal(value)
        rows.append((graph.value(solution, RS.index), row))
    rows.sort(key=lambda pair: int(pair[0]) if pair[0] is not None else 0)
    return [row for _, row in rows]


def rdflib_normal(node: Node) -> Node:
    if isinstance(node, RdflibLiteral):
        return normal_literal(
            str(node), str(node.datatype) if node.datatype else None, node.language
        )
    return node


def rdf_graph(data: bytes | Path, fmt: ox.RdfFormat, base: str | None = None) -> Graph:
    graph = Graph()
    source = (
        ox.parse(path=data, format=fmt, base_iri=base)
        if isinstance(data, Path)
        else (ox.parse(data, format=fmt, base_iri=base))
    )
    for quad in source:
        graph.add((term(quad.subject), term(quad.predicate), term(quad.object)))
    return graph


NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_cell(cell: str) -> Node:
    """A CSV cell: the lexical form only, so numbers are compared as numbers (1.0E6 = 1000000)."""
    if cell.startswith("_:"):
        return BNode(cell[2:])
    if NUMBER.fullmatch(cell):
        return RdflibLiteral(repr(float(cell)))
    return RdflibLiteral(cell)


def csv_rows(text: str) -> tuple[list[str], list[Row]]:
    reader = list(csv.reader(io.StringIO(text)))
    header, body = reader[0], [r for r in reader[1:] if r]
    rows = [
        {name: csv_cell(cell) for name, cell in zip(header, record, strict=False) if cell != ""}
        for record in body
    ]
    return header, rows


def order_keys(text: str, base: str) -> list[str] | None:
    """The variables of a query's ORDER BY when they are plain variables; None otherwise."""
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.plugins.sparql.parserutils import CompValue
    from rdflib.term import Variable

    try:
        algebra = prepareQuery(text, base=base).algebra
    except Exception:  # noqa: BLE001 - rdflib cannot parse every valid query
        return None

    def walk(node: object) -> Iterator[CompValue]:
        if isinstance(node, CompValue):
            yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                yield from walk(value)

    for node in walk(algebra):
        if node.name == "OrderBy":
            keys = []
            for condition in node.expr:
                expr = condition.expr if isinstance(condition, CompValue) else condition
                if not isinstance(expr, Variable):
                    return None
                keys.append(str(expr))
            return keys
    return None


def in_order(expected: list[Row], actual: list[Row], keys: list[str] | None) -> bool:
    def key(row: Row) -> tuple:
        names = keys if keys is not None else sorted(row)
        return tuple("_:" if isinstance(row.get(n), BNode) else (n, row.get(n)) for n in names)

    return [key(r) for r in expected] == [key(r) for r in actual]


# -- query evaluation tests ---------------------------------------------------------------


@dataclass
class QueryTest:
    name: str
    query: str
    result: str
    data: list[str] = field(default_factory=list)
    graph_data: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    name: str
    passed: bool
    detail: str = ""


def first(graph: Graph, predicate: URIRef) -> Node | None:
    """The object of the manifest's one `predicate` statement."""
    return next(graph.objects(None, predicate), None)


def manifest_graph(path: Path) -> Graph:
    return Graph().parse(path, format="turtle", publicID=path.resolve().as_uri())


def query_tests(suite: Path = SUITE) -> list[QueryTest]:
    """The query evaluation tests of the suite that need neither entailment nor SERVICE."""
    top = manifest_graph(suite / "manifest-all.ttl")
    tests = []
    for include in Collection(top, first(top, MF.include)):
        path = local(str(include))
        if path.parent.name in EXCLUDED:
            continue
        graph = manifest_graph(path)
        entries = first(graph, MF.entries)
        for entry in Collection(graph, entries) if entries else []:
            if not any((entry, RDF.type, t) in graph for t in QUERY_TYPES):
                continue
            action = graph.value(entry, MF.action)
            tests.append(
                QueryTest(
                    name=f"{path.parent.name}/{str(entry).rsplit('#', 1)[-1]}",
                    query=str(graph.value(action, QT.query)),
                    result=str(graph.value(entry, MF.result)),
                    data=sorted(str(d) for d in graph.objects(action, QT.data)),
                    graph_data=sorted(str(d) for d in graph.objects(action, QT.graphData)),
                )
            )
    return tests


def accept_for(result: str) -> str:
    suffix = Path(result).suffix
    if suffix == ".csv":
        return "text/csv"
    if suffix == ".tsv":
        return "text/tab-separated-values"
    return "application/sparql-results+json, application/n-triples;q=0.9"


def run_query_test(test: QueryTest, endpoint: Endpoint, dataset: Dataset) -> Outcome:
    dataset.load(test.data, test.graph_data)
    text = local(test.query).read_text(encoding="utf-8")
    reply = endpoint.query(f"BASE <{test.query}>\n{text}", accept_for(test.result))
    if reply.status != 200:
        return Outcome(test.name, False, f"HTTP {reply.status}: {reply.body[:200]!r}")
    expected_path = local(test.result)
    suffix = expected_path.suffix
    if suffix == ".csv":
        want_header, want = csv_rows(expected_path.read_text(encoding="utf-8"))
        got_header, got = csv_rows(reply.body.decode("utf-8"))
        ok = set(want_header) == set(got_header) and same_rows(want, got)
        return Outcome(test.name, ok, "" if ok else "CSV answers differ")
    if reply.media_type in RESULTS_MEDIA:
        actual = ox.parse_query_results(reply.body, format=RESULTS_MEDIA[reply.media_type])
        if suffix in RESULT_FORMATS:
            expected = ox.parse_query_results(path=expected_path, format=RESULT_FORMATS[suffix])
            want = bool(expected) if isinstance(expected, ox.QueryBoolean) else rows_of(expected)
        else:
            want = result_set_rows(rdf_graph(expected_path, RDF_FORMATS[suffix], test.result))
        got = bool(actual) if isinstance(actual, ox.QueryBoolean) else rows_of(actual)
        if isinstance(want, bool) or isinstance(got, bool):
            ok = want == got
            return Outcome(test.name, ok, "" if ok else f"expected {want}, got {got}")
        if not same_rows(want, got):
            return Outcome(
                test.name, False, f"expected {len(want)} rows, got {len(got)} (or values differ)"
            )
        if re.search(r"\bORDER\s+BY\b", text, re.IGNORECASE):
            keys = order_keys(text, test.query)
            if not in_order(want, got, keys):
                return Outcome(test.name, False, "rows out of order")
        return Outcome(test.name, True)
    if suffix in RDF_FORMATS:
        want_graph = rdf_graph(expected_path, RDF_FORMATS[suffix], test.result)
        got_graph = rdf_graph(reply.body, ox.RdfFormat.N_TRIPLES)
        ok = isomorphic(want_graph, got_graph)
        detail = "" if ok else f"graphs differ ({len(want_graph)} vs {len(got_graph)} triples)"
        return Outcome(test.name, ok, detail)
    return Outcome(test.name, False, f"unexpected answer type {reply.media_type}")


# -- protocol tests -----------------------------------------------------------------------

STATUS_CLASSES = {
    "StatusCode2xx": range(200, 300),
    "StatusCode3xx": range(300, 400),
    "StatusCode4xx": range(400, 500),
    "StatusCode5xx": range(500, 600),
}
FORMAT_MEDIA = {
    "boolean": {"application/sparql-results+json", "application/sparql-results+xml"},
    "tabular": set(RESULTS_MEDIA) | {"text/csv"},
    "RDF": {
        "application/rdf+xml",
        "text/turtle",
        "application/n-triples",
        "application/ld+json",
        "application/n-quads",
        "application/trig",
    },
}


def is_update(name: str, path: str, headers: dict[str, str], body: str) -> bool:
    content_type = headers.get("content-type", "")
    if "sparql-query" in content_type or body.startswith("query=") or "query=" in path:
        return False
    return name.startswith(("update_", "bad_update")) or "sparql-update" in content_type


def run_protocol_test(graph: Graph, test: Node, endpoint: Endpoint) -> Outcome:
    name = str(test).rsplit("#", 1)[-1]
    reset = endpoint.exchange(
        "POST",
        "/sparql/update",
        b"DROP ALL",
        {"Content-Type": "application/sparql-update", **endpoint.auth},
    )
    if reset.status >= 300:
        return Outcome(name, False, f"could not reset the store: {reset.status}")
    for data in graph.objects(test, UT.graphData):
        file, label = graph.value(data, UT.graph), graph.value(data, RDFS.label)
        endpoint.put_graph(str(label), ntriples(str(file)))
    action = graph.value(test, MF.action)
    for request in Collection(graph, graph.value(action, HT.requests)):
        path = str(graph.value(request, HT.absolutePath))
        method = str(graph.value(request, HT.methodName))
        headers = {}
        header_list = graph.value(request, HT.headers)
        for header in Collection(graph, header_list) if header_list else []:
            headers[str(graph.value(header, HT.fieldName)).lower()] = str(
                graph.value(header, HT.fieldValue)
            )
        body_node = graph.value(request, HT.body)
        text = str(graph.value(body_node, CNT.chars)) if body_node is not None else ""
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = text.encode(encoding) if body_node is not None else None
        update = is_update(name, path, headers, text)
        target = "/sparql/update" if update else "/sparql"
        rest = path[len("/sparql/") :]
        if update:
            headers.update(endpoint.auth)
        reply = endpoint.exchange(method, target + rest, body, headers)
        response = graph.value(request, HT.resp)
        allowed = [
            STATUS_CLASSES[str(s).rsplit("#", 1)[-1]]
            for s in graph.objects(response, MF.expectedStatus)
        ]
        if allowed and not any(reply.status in r for r in allowed):
            return Outcome(
                name, False, f"{method} {target}: HTTP {reply.status} {reply.body[:150]!r}"
            )
        wanted_format = graph.value(response, MF.expectedFormat)
        if wanted_format is not None and reply.media_type not in FORMAT_MEDIA[str(wanted_format)]:
            return Outcome(name, False, f"answer in {reply.media_type}, not {wanted_format}")
        wanted = graph.value(response, MF.expectedBoolean)
        if wanted is not None:
            fmt = RESULTS_MEDIA.get(reply.media_type)
            answer = ox.parse_query_results(reply.body, format=fmt) if fmt else None
            if not isinstance(answer, ox.QueryBoolean) or bool(answer) != wanted.toPython():
                return Outcome(name, False, f"expected boolean {wanted}, got {reply.body[:100]!r}")
    return Outcome(name, True)


def protocol_tests(endpoint: Endpoint, suite: Path = SUITE) -> list[Outcome]:
    graph = manifest_graph(suite / "protocol" / "manifest.ttl")
    return [
        run_protocol_test(graph, test, endpoint)
        for test in Collection(graph, first(graph, MF.entries))
    ]


# -- the whole run ------------------------------------------------------------------------


@dataclass
class Report:
    queries: list[Outcome]
    protocol: list[Outcome]

    @staticmethod
    def passed(outcomes: list[Outcome]) -> int:
        return sum(o.passed for o in outcomes)

    def text(self) -> str:
        lines = []
        for title, outcomes in (("query evaluation", self.queries), ("protocol", self.protocol)):
            lines.append(
                f"W3C SPARQL 1.1 {title}: {self.passed(outcomes)} passed, "
                f"{len(outcomes) - self.passed(outcomes)} failed of {len(outcomes)}"
            )
            lines += [f"  FAILED {o.name}: {o.detail}" for o in outcomes if not o.passed]
        return "\n".join(lines)


def run_suite(root: str, token: str | None, suite: Path = SUITE) -> Report:
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)  # ill-typed test literals
    endpoint = Endpoint(root, token)
    dataset = Dataset(endpoint)
    queries = []
    for test in query_tests(suite):
        try:
            queries.append(run_query_test(test, endpoint, dataset))
        except Exception as exc:  # noqa: BLE001 - one broken test must not stop the run
            log.debug("test %s", test.name, exc_info=True)
            dataset.forget()
            queries.append(Outcome(test.name, False, f"{type(exc).__name__}: {exc}"))
    return Report(queries, protocol_tests(endpoint, suite))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="root URL of the server (it serves /sparql, /store)")
    parser.add_argument("--token", default=os.environ.get("ALLIANCE_WRITE_TOKEN"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not SUITE.is_dir():
        log.error("no suite at %s", SUITE)
        return 2
    report = run_suite(args.url, args.token)
    log.info("%s", report.text())
    return 0 if all(o.passed for o in report.queries + report.protocol) else 1


if __name__ == "__main__":
    sys.exit(main())
