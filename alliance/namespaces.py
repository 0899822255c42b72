"""The fixed namespaces of the Alliance graph: the public contract of the service."""

from pyoxigraph import NamedNode

ALLI = "https://w3id.org/alliance/ontology#"
ONTOLOGY_IRI = "https://w3id.org/alliance/ontology"
ID = "https://w3id.org/alliance/id/"
#: The project's SHACL shapes (shapes/shapes.ttl).
SHAPES_NS = "https://w3id.org/alliance/shapes#"
VOCAB = "https://w3id.org/alliance/vocab/"

IGEO = "http://rdf.insee.fr/def/geo#"
ORG = "http://www.w3.org/ns/org#"
PROV = "http://www.w3.org/ns/prov#"
DCTERMS = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
GEO = "http://www.opengis.net/ont/geosparql#"
SF = "http://www.opengis.net/ont/sf#"
SCHEMA = "https://schema.org/"
FOAF = "http://xmlns.com/foaf/0.1/"
TIME = "http://www.w3.org/2006/time#"
ELI = "http://data.europa.eu/eli/ontology#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SH = "http://www.w3.org/ns/shacl#"

PREFIXES: dict[str, str] = {
    "alli": ALLI,
    "id": ID,
    "vocab": VOCAB,
    "igeo": IGEO,
    "org": ORG,
    "prov": PROV,
    "dcterms": DCTERMS,
    "skos": SKOS,
    "geo": GEO,
    "sf": SF,
    "schema": SCHEMA,
    "foaf": FOAF,
    "time": TIME,
    "eli": ELI,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "sh": SH,
}


def sparql_prefixes() -> str:
    """PREFIX declarations for every namespace above, to prepend to a query."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


class Namespace:
    """An IRI prefix whose attributes and items are pyoxigraph NamedNodes.

    Not a str subclass: `dcterms.title` must be a term, not str.title.
    """

    __slots__ = ("base",)

    def __init__(self, base: str):
        self.base = base

    def __getattr__(self, name: str) -> NamedNode:
        if name.startswith("__"):
            raise AttributeError(name)
        return NamedNode(self.base + name)

    def __getitem__(self, name: str) -> NamedNode:
        return NamedNode(self.base + name)

    def __str__(self) -> str:
        return self.base


alli = Namespace(ALLI)
idns = Namespace(ID)
vocab = Namespace(VOCAB)
igeo = Namespace(IGEO)
org = Namespace(ORG)
prov = Namespace(PROV)
dcterms = Namespace(DCTERMS)
skos = Namespace(SKOS)
geo = Namespace(GEO)
sf = Namespace(SF)
schema = Namespace(SCHEMA)
foaf = Namespace(FOAF)
rdf = Namespace(RDF)
rdfs = Namespace(RDFS)
owl = Namespace(OWL)
xsd = Namespace(XSD)


def graph_iri(name: str) -> NamedNode:
    """The named graph that holds the source called `name`."""
    return NamedNode(f"{ID}graph/{name}")
