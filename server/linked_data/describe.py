"""Fetching what the store says about one resource, with the named graph of each statement.

The linked-data pages, the vocabulary pages and the RDF answers all read a resource through
these functions, so that "what a page shows" and "what the Turtle holds" come from the same
queries. Terms are written into queries only in their N-Triples form, which pyoxigraph has
validated when the NamedNode was built (an IRI cannot hold `>`, spaces or quotes), so request
data can never change a query's shape. (pyoxigraph's `substitutions` would be nicer, but it
only binds variables that the SELECT projects.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Store

from alliance.namespaces import DCTERMS, FOAF, GEO, IGEO, PROV, RDFS, SH, SKOS, alli, igeo
from alliance.queries import QUERIES_DIR, read_query

Term = NamedNode | BlankNode | Literal


class Queryable(Protocol):
    """What these functions need of a store: SPARQL over the union of its named graphs."""

    def query(self, sparql: str, **kwargs: Any) -> Any: ...


class MemorySource:
    """An in-memory pyoxigraph store seen through the `Queryable` protocol.

    Used when the data must come from files (the ontology and SKOS schemes before any
    ingest, the shapes): the files are loaded into one named graph, and queries see the
    union of named graphs like they do on the real store.
    """

    def __init__(self, store: Store):
        self.store = store

    def query(self, sparql: str, **_: Any) -> Any:
        return self.store.query(sparql, use_default_graph_as_union=True)


#: Predicates whose value names a resource, best first.
LABEL_PREDICATES = [
    f"{RDFS}label",
    f"{SKOS}prefLabel",
    f"{DCTERMS}title",
    f"{FOAF}name",
    f"{SH}name",
    f"{IGEO}nom",
]
#: How many IRIs one VALUES block holds when labels are fetched in batches.
BATCH = 500


@dataclass(frozen=True)
class Statement:
    """One triple about a resource and the named graph that holds it."""

    subject: NamedNode | BlankNode
    predicate: NamedNode
    object: Term
    graph: NamedNode | None


def _nt(term: NamedNode) -> str:
    """The N-Triples form of an IRI, safe inside a query (see the module docstring)."""
    if not isinstance(term, NamedNode):
        raise TypeError(f"only IRIs are written into queries, not {term!r}")
    return str(term)


def exists(source: Queryable, iri: NamedNode) -> bool:
    """Whether the store mentions `iri` at all, as a subject or as an object."""
    r = _nt(iri)
    result = source.query(f"ASK {{ {{ {r} ?p ?o }} UNION {{ ?x ?q {r} }} }}")
    return bool(result)


def statements(source: Queryable, iri: NamedNode) -> list[Statement]:
    """Every triple with `iri` as subject, from every named graph, with its graph."""
    rows = source.query(f"SELECT ?p ?o ?g WHERE {{ GRAPH ?g {{ {_nt(iri)} ?p ?o }} }}")
    return [Statement(iri, row["p"], row["o"], row["g"]) for row in rows]


def statements_in_graph(
    source: Queryable, graph: NamedNode, subjects: Iterable[NamedNode]
) -> list[Statement]:
    """Triples of `graph` whose subject is one of `subjects` (a graph's own description)."""
    nodes = sorted(set(subjects), key=lambda n: n.value)
    found: list[Statement] = []
    for start in range(0, len(nodes), BATCH):
        values = " ".join(_nt(n) for n in nodes[start : start + BATCH])
        rows = source.query(
            f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} "
            f"GRAPH {_nt(graph)} {{ ?s ?p ?o }} }}"
        )
        found.extend(Statement(row["s"], row["p"], row["o"], graph) for row in rows)
    return found


def graph_description(source: Queryable, graph: NamedNode) -> list[Statement]:
    """The PROV description a graph holds of itself: the graph, its ingest activity, its
    input files and the software that ran (see `alliance.ingest.pipeline.describe`)."""
    own = statements(source, graph)
    own = [s for s in own if s.graph == graph]
    linked = {
        s.object
        for s in own
        if isinstance(s.object, NamedNode)
        and s.predicate.value in (f"{PROV}wasGeneratedBy", f"{PROV}wasDerivedFrom")
    }
    activities = statements_in_graph(source, graph, linked)
    agents = {
        s.object
        for s in activities
        if isinstance(s.object, NamedNode) and s.predicate.value == f"{PROV}wasAssociatedWith"
    }
    return own + activities + statements_in_graph(source, graph, agents - linked - {graph})


def as_quads(found: Iterable[Statement]) -> list[Quad]:
    """The statements as quads, keeping the graph of each."""
    return [
        Quad(s.subject, s.predicate, s.object, s.graph)
        if s.graph is not None
        else Quad(s.subject, s.predicate, s.object)
        for s in found
    ]


@dataclass(frozen=True)
class Labels:
    """The names of one resource by language ('' for a plain string)."""

    by_lang: dict[str, str]

    def pick(self, *langs: str) -> str | None:
        return self.pick_lang(*langs)[0]

    def pick_lang(self, *langs: str) -> tuple[str | None, str | None]:
        """The best name and its language ('' for a plain string), preferring `langs`."""
        for lang in (*langs, "fr", "en", ""):
            if lang in self.by_lang:
                return self.by_lang[lang], lang
        for lang, text in self.by_lang.items():
            return text, lang
        return None, None

    @property
    def fr(self) -> str | None:
        return self.pick("fr")

    @property
    def en(self) -> str | None:
        return self.by_lang.get("en")


def labels_from(found: Iterable[Statement]) -> Labels:
    """The best names among a resource's own statements."""
    return _best_labels((s.predicate.value, s.object) for s in found)


def _best_labels(pairs: Iterable[tuple[str, Term]]) -> Labels:
    ranked: dict[str, tuple[int, str]] = {}
    for predicate, value in pairs:
        if predicate not in LABEL_PREDICATES or not isinstance(value, Literal):
            continue
        rank = LABEL_PREDICATES.index(predicate)
        lang = value.language or ""
        if lang not in ranked or rank < ranked[lang][0]:
            ranked[lang] = (rank, value.value)
    return Labels({lang: text for lang, (_, text) in ranked.items()})


def labels(source: Queryable, iris: Iterable[NamedNode]) -> dict[NamedNode, Labels]:
    """Names of many resources at once (those without any name are left out).

    One query per label predicate and batch: with the predicate in a second VALUES block,
    Oxigraph joins badly (seconds for the 900 communes of a département).
    """
    nodes = sorted({n for n in iris if isinstance(n, NamedNode)}, key=lambda n: n.value)
    pairs: dict[NamedNode, list[tuple[str, Term]]] = defaultdict(list)
    for start in range(0, len(nodes), BATCH):
        values = " ".join(_nt(n) for n in nodes[start : start + BATCH])
        for predicate in LABEL_PREDICATES:
            rows = source.query(
                f"SELECT ?s ?l WHERE {{ VALUES ?s {{ {values} }} ?s <{predicate}> ?l }}"
            )
            for row in rows:
                pairs[row["s"]].append((predicate, row["l"]))
    return {node: _best_labels(found) for node, found in pairs.items()}


def primary_sources(
    source: Queryable, graphs: Iterable[NamedNode | None]
) -> dict[NamedNode, list[NamedNode]]:
    """Each graph's prov:hadPrimarySource, as the graph states it about itself."""
    found: dict[NamedNode, list[NamedNode]] = {}
    for graph in {g for g in graphs if g is not None}:
        g = _nt(graph)
        rows = source.query(
            f"SELECT ?src WHERE {{ GRAPH {g} {{ {g} <{PROV}hadPrimarySource> ?src }} }}"
        )
        found[graph] = sorted((row["src"] for row in rows), key=lambda n: str(n))
    return found


@dataclass(frozen=True)
class Incoming:
    subject: NamedNode | BlankNode
    predicate: NamedNode
    graph: NamedNode | None


def incoming(
    source: Queryable,
    iri: NamedNode,
    *,
    limit: int,
    exclude: Iterable[NamedNode] = (),
) -> tuple[list[Incoming], int]:
    """Statements pointing at `iri` (at most `limit`) and how many there are in all."""
    r = _nt(iri)
    excluded = " ".join(_nt(p) for p in exclude)
    not_in = f"FILTER(?p NOT IN ({', '.join(_nt(p) for p in exclude)}))" if excluded else ""
    rows = source.query(
        f"SELECT ?s ?p ?g WHERE {{ GRAPH ?g {{ ?s ?p {r} }} {not_in} }} LIMIT {int(limit)}"
    )
    # Sorted here, not by ORDER BY: Oxigraph sorts every match (35k communes point at the
    # "commune" concept) before applying LIMIT, which takes seconds.
    found = sorted(
        (Incoming(row["s"], row["p"], row["g"]) for row in rows),
        key=lambda i: (i.predicate.value, str(i.subject)),
    )
    total_rows = source.query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p {r} }} {not_in} }}"
    )
    total = int(next(iter(total_rows))["n"].value)
    return found, total


def members(
    source: Queryable, iri: NamedNode, predicate: NamedNode, *, limit: int
) -> tuple[list[NamedNode], int]:
    """Distinct resources `?m` with `?m predicate iri` (e.g. the communes of an EPCI)."""
    rows = source.query(
        f"SELECT DISTINCT ?m WHERE {{ ?m {_nt(predicate)} {_nt(iri)} FILTER(isIRI(?m)) }}"
    )
    found = [row["m"] for row in rows]
    return found[:limit], len(found)


#: Links followed upwards to tell which larger territories a territory lies in.
PART_OF = [alli.memberOf, igeo.subdivisionDirecteDe]


def part_of(source: Queryable, iri: NamedNode) -> list[tuple[NamedNode, list[NamedNode]]]:
    """The territories `iri` lies in (EPCI, département, région…), each with its types."""
    path = "|".join(_nt(p) for p in PART_OF)
    rows = source.query(
        f"SELECT DISTINCT ?t ?type WHERE {{ {_nt(iri)} ({path})+ ?t FILTER(isIRI(?t)) "
        "OPTIONAL { ?t a ?type } }"
    )
    types: dict[NamedNode, list[NamedNode]] = {}
    for row in rows:
        found = types.setdefault(row["t"], [])
        if row["type"] is not None and row["type"] not in found:
            found.append(row["type"])
    return list(types.items())


@dataclass(frozen=True)
class InTime:
    """One line of a territory's history: a version, a change, or a perimeter known."""

    what: str  # "version", "predecessor", "successor" or "perimeter"
    item: NamedNode
    start: str | None = None
    end: str | None = None
    on: str | None = None
    kind: str | None = None
    count: str | None = None
    basis: str | None = None


def in_time(source: Queryable, iri: NamedNode) -> list[InTime]:
    """What the territory history says of `iri`: its versions, changes and known perimeters."""
    a, o = _nt(iri), "https://w3id.org/alliance/ontology#"
    rows = source.query(
        f"""PREFIX alli: <{o}> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT DISTINCT ?what ?item ?start ?end ?on ?kind ?count ?basis WHERE {{
          {{ ?item dcterms:isVersionOf {a} . BIND("version" AS ?what) }}
          UNION {{
            {a} alli:validFrom ?start . BIND({a} AS ?item) BIND("version" AS ?what)
            FILTER NOT EXISTS {{ {a} alli:perimeterOf ?territory }}
          }}
          UNION {{
            {a} alli:predecessor ?item . BIND("predecessor" AS ?what)
            OPTIONAL {{ ?c alli:fromVersion ?item ; alli:toVersion {a} ;
                         alli:changeDate ?on ; alli:changeKind ?kind }}
          }}
          UNION {{
            {a} alli:successor ?item . BIND("successor" AS ?what)
            OPTIONAL {{ ?c alli:fromVersion {a} ; alli:toVersion ?item ;
                         alli:changeDate ?on ; alli:changeKind ?kind }}
          }}
          UNION {{
            ?item alli:perimeterOf {a} . BIND("perimeter" AS ?what)
            OPTIONAL {{ ?item alli:describesDate ?on }}
            OPTIONAL {{ ?item alli:memberCount ?count }}
            OPTIONAL {{ ?item alli:basis ?basis }}
          }}
          OPTIONAL {{ ?item alli:validFrom ?start }}
          OPTIONAL {{ ?item alli:validUntil ?end }}
        }}"""
    )

    def text(term: Term | None) -> str | None:
        return None if term is None else term.value

    found = [
        InTime(
            what=row["what"].value,
            item=row["item"],
            start=text(row["start"]),
            end=text(row["end"]),
            on=text(row["on"]),
            kind=text(row["kind"]),
            count=text(row["count"]),
            basis=row["basis"].value.rsplit("/", 1)[-1] if row["basis"] is not None else None,
        )
        for row in rows
    ]
    order = ("version", "predecessor", "successor", "perimeter")
    return sorted(found, key=lambda t: (order.index(t.what), t.start or t.on or "", t.item.value))


def point(found: Iterable[Statement], source: Queryable, iri: NamedNode) -> str | None:
    """The WKT of the resource's point: its own geo:asWKT or that of its geometry."""
    for s in found:
        if s.predicate.value == f"{GEO}asWKT" and isinstance(s.object, Literal):
            return s.object.value
    r = _nt(iri)
    rows = source.query(
        f"SELECT ?wkt WHERE {{ {{ {r} <{GEO}hasDefaultGeometry>/<{GEO}asWKT> ?wkt }} "
        f"UNION {{ {r} <{GEO}hasGeometry>/<{GEO}asWKT> ?wkt }} }} LIMIT 1"
    )
    for row in rows:
        return row["wkt"].value
    return None


def count(source: Queryable, sparql: str) -> int:
    """The ?n of a one-row COUNT query."""
    for row in source.query(sparql):
        return int(row["n"].value)
    return 0


@dataclass(frozen=True)
class Step:
    """One dated step of an agreement's life: a milestone, a signature, its own date."""

    item: NamedNode
    date: str
    kind: str  # the milestone kind's last segment, "signature" or "agreement"
    basis: str | None


def timeline(source: Queryable, iri: NamedNode) -> list[Step]:
    """The agreement's milestones, signatures and date, by date, with those of the agreements
    it follows and that follow it (a contract shows its pair's designation and its protocol);
    dates that sources give differently are all kept."""
    a, o = _nt(iri), "https://w3id.org/alliance/ontology#"
    rows = source.query(
        f"""PREFIX alli: <{o}> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT DISTINCT ?item ?date ?kind ?basis WHERE {{
          {{
            {{ BIND({a} AS ?agreement) }}
            UNION {{ {a} alli:follows ?agreement }}
            UNION {{ ?agreement alli:follows {a} }}
            {{ ?item alli:milestoneOf ?agreement ; alli:milestoneKind ?kind ; dcterms:date ?date }}
            UNION {{ ?agreement dcterms:date ?date . BIND(?agreement AS ?item)
                     BIND("agreement" AS ?kind) }}
          }}
          UNION {{
            ?item alli:signedAgreement {a} ; dcterms:date ?date . BIND("signature" AS ?kind)
          }}
          OPTIONAL {{ ?item alli:basis ?basis }}
        }}"""
    )
    steps = [
        Step(
            item=row["item"],
            date=row["date"].value,
            kind=row["kind"].value.rsplit("/", 1)[-1],
            basis=row["basis"].value.rsplit("/", 1)[-1] if row["basis"] is not None else None,
        )
        for row in rows
    ]
    return sorted(steps, key=lambda s: (s.date, s.kind, s.item.value))


@dataclass(frozen=True)
class Cited:
    """A source document and what it supports about a resource, by kind of claim."""

    source: NamedNode
    publisher: str | None
    date: str | None
    bases: tuple[str, ...]
    statements: int


def cited_sources(source: Queryable, agreement: NamedNode) -> list[Cited]:
    """The documents behind what is said of an agreement (the `agreement-sources` query)."""
    query = read_query(QUERIES_DIR / "agreement-sources.rq")
    rows = source.query(query.sparql(), substitutions={"agreement": agreement})
    by_source: dict[str, dict[str, Any]] = {}
    for row in rows:
        doc = row["source"]
        entry = by_source.setdefault(
            doc.value,
            {"source": doc, "publisher": row["publisher"], "date": row["sourceDate"],
             "bases": set(), "statements": set()},
        )  # fmt: skip
        if row["basis"] is not None:
            entry["bases"].add(row["basis"].value.rsplit("/", 1)[-1])
        entry["statements"].add(row["statement"].value)
    return [
        Cited(
            source=e["source"],
            publisher=e["publisher"].value if e["publisher"] is not None else None,
            date=e["date"].value if e["date"] is not None else None,
            bases=tuple(sorted(e["bases"])),
            statements=len(e["statements"]),
        )
        for e in sorted(by_source.values(), key=lambda e: e["source"].value)
    ]


@dataclass(frozen=True)
class TakesPart:
    """An agreement a territory takes part in, and the party it reaches it through."""

    agreement: NamedNode
    kind: NamedNode
    date: str | None
    via: NamedNode | None


def agreements_of(source: Queryable, territory: NamedNode) -> list[TakesPart]:
    """Today's agreements of a territory, directly or through membership.

    The `territory-agreements` named query, so that the page and the API agree."""
    query = read_query(QUERIES_DIR / "territory-agreements.rq")
    rows = source.query(query.sparql(), substitutions={"territory": territory})
    found = {
        (row["agreement"].value, row["date"].value if row["date"] else None): TakesPart(
            agreement=row["agreement"],
            kind=row["kind"],
            date=row["date"].value if row["date"] is not None else None,
            via=row["via"],
        )
        for row in rows
    }
    return sorted(found.values(), key=lambda t: (t.date or "9999", t.agreement.value))
