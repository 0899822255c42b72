"""The SPARQL 1.1 Service Description of /sparql: what a machine needs to use the endpoint.

Answered at GET /sparql without a query (W3C Service Description §3). It says
which result formats the endpoint writes and, above all, what a query without
GRAPH sees: the union of the named graphs (one per source), not the empty plain
default graph; `default-graph=plain` or explicit `default-graph-uri` parameters
change that.
"""

from __future__ import annotations

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from alliance import formats
from alliance.namespaces import RDF, RDFS
from alliance.store import GraphStore

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"
ENTAILMENT = "http://www.w3.org/ns/entailment/"

#: The W3C format IRIs of what the endpoint can write (see negotiation.RESULTS and GRAPHS).
RESULT_FORMATS = [f.w3c for f in (*formats.RESULTS, *formats.WRITTEN_RDF) if f.w3c]

DEFAULT_GRAPH_NOTE = (
    "A query without GRAPH sees the union of every named graph (one per source). "
    "Add the parameter default-graph=plain to query the plain default graph instead, "
    "or give default-graph-uri / named-graph-uri parameters (or FROM / FROM NAMED) "
    "to choose the dataset explicitly. SERVICE is disabled; the endpoint is read-only."
)
#: The W3C Graph Store HTTP Protocol, which Service Description has no term for.
GRAPH_STORE_PROTOCOL = "http://www.w3.org/TR/sparql11-http-rdf-update/"
DCTERMS_CONFORMS_TO = "http://purl.org/dc/terms/conformsTo"


def _iri(value: str) -> NamedNode:
    return NamedNode(value)


def describe(
    endpoint: str,
    store: GraphStore,
    *,
    update_endpoint: str | None = None,
    graph_store_endpoint: str | None = None,
) -> list[Triple]:
    """The description of the query service at `endpoint` over the graphs of `store`.

    With a write token the server also takes SPARQL Update at `update_endpoint` and the
    Graph Store Protocol at `graph_store_endpoint`: each is described as a service of its
    own (both need `Authorization: Bearer TOKEN`).
    """
    service = BlankNode()
    triples = [
        Triple(service, _iri(RDF + "type"), _iri(SD + "Service")),
        Triple(service, _iri(SD + "endpoint"), _iri(endpoint)),
        Triple(service, _iri(SD + "supportedLanguage"), _iri(SD + "SPARQL11Query")),
        Triple(service, _iri(SD + "feature"), _iri(SD + "UnionDefaultGraph")),
        Triple(service, _iri(SD + "defaultEntailmentRegime"), _iri(ENTAILMENT + "Simple")),
        Triple(service, _iri(RDFS + "comment"), Literal(DEFAULT_GRAPH_NOTE, language="en")),
    ]
    triples += [
        Triple(service, _iri(SD + "resultFormat"), _iri(FORMATS + name)) for name in RESULT_FORMATS
    ]
    dataset, default_graph = BlankNode(), BlankNode()
    triples += [
        Triple(service, _iri(SD + "defaultDataset"), dataset),
        Triple(dataset, _iri(RDF + "type"), _iri(SD + "Dataset")),
        Triple(dataset, _iri(SD + "defaultGraph"), default_graph),
        Triple(default_graph, _iri(RDF + "type"), _iri(SD + "Graph")),
        Triple(
            default_graph,
            _iri(RDFS + "comment"),
            Literal("The union of the named graphs below.", language="en"),
        ),
    ]
    # Sizes are left to the VoID description: counting them here would make this answer slow.
    for graph in store.graphs():
        named, described = BlankNode(), BlankNode()
        triples += [
            Triple(dataset, _iri(SD + "namedGraph"), named),
            Triple(named, _iri(RDF + "type"), _iri(SD + "NamedGraph")),
            Triple(named, _iri(SD + "name"), graph),
            Triple(named, _iri(SD + "graph"), described),
            Triple(described, _iri(RDF + "type"), _iri(SD + "Graph")),
        ]
    if update_endpoint is not None:
        update = BlankNode()
        triples += [
            Triple(update, _iri(RDF + "type"), _iri(SD + "Service")),
            Triple(update, _iri(SD + "endpoint"), _iri(update_endpoint)),
            Triple(update, _iri(SD + "supportedLanguage"), _iri(SD + "SPARQL11Update")),
            Triple(update, _iri(SD + "defaultDataset"), dataset),
            Triple(update, _iri(RDFS + "comment"), Literal(WRITE_NOTE, language="en")),
        ]
    if graph_store_endpoint is not None:
        graphs = BlankNode()
        triples += [
            Triple(graphs, _iri(RDF + "type"), _iri(SD + "Service")),
            Triple(graphs, _iri(SD + "endpoint"), _iri(graph_store_endpoint)),
            Triple(graphs, _iri(DCTERMS_CONFORMS_TO), _iri(GRAPH_STORE_PROTOCOL)),
            Triple(graphs, _iri(RDFS + "comment"), Literal(WRITE_NOTE, language="en")),
        ]
    return triples


WRITE_NOTE = "Writes need the header 'Authorization: Bearer TOKEN' with the server's token."


PREFIXES = {"sd": SD, "formats": FORMATS, "rdfs": RDFS, "ent": ENTAILMENT}
