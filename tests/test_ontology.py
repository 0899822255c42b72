"""The ontology and SKOS files: they parse, follow docs/model.md and are labelled fr + en."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from alliance.ontology import ONTOLOGY_FILE, VOCAB_DIR, ontology_files

ROOT = Path(__file__).resolve().parents[1]
MODEL_MD = ROOT / "docs" / "model.md"

ONTOLOGY_IRI = URIRef("https://w3id.org/alliance/ontology")
ALLI = Namespace("https://w3id.org/alliance/ontology#")
VOCAB = "https://w3id.org/alliance/vocab/"
DCTERMS = Namespace("http://purl.org/dc/terms/")
VANN = Namespace("http://purl.org/vocab/vann/")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
IGEO = Namespace("http://rdf.insee.fr/def/geo#")
ORG = Namespace("http://www.w3.org/ns/org#")
PROV = Namespace("http://www.w3.org/ns/prov#")
GEO = Namespace("http://www.opengis.net/ont/geosparql#")
SCHEMA = Namespace("https://schema.org/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")

#: Prefixes whose terms docs/model.md uses and the ontology must declare.
MODEL_PREFIXES: dict[str, str] = {
    "alli": str(ALLI),
    "igeo": str(IGEO),
    "org": str(ORG),
    "prov": str(PROV),
    "dcterms": str(DCTERMS),
    "skos": str(SKOS),
    "geo": str(GEO),
    "sf": "http://www.opengis.net/ont/sf#",
    "schema": str(SCHEMA),
    "foaf": str(FOAF),
    "odrl": str(ODRL),
}

#: Terms the brief lists as used by the data, beyond those named in docs/model.md.
DATA_TERMS: list[str] = [
    "igeo:Commune", "igeo:Departement", "igeo:Region", "igeo:Intercommunalite",
    "igeo:codeINSEE", "igeo:nom", "igeo:subdivisionDirecteDe",
    "org:FormalOrganization", "org:Post", "org:holds", "org:postIn", "org:memberOf",
    "foaf:Person", "foaf:Document", "foaf:name",
    "dcterms:source", "dcterms:description", "dcterms:date", "dcterms:title",
    "dcterms:publisher", "dcterms:license", "dcterms:isPartOf", "dcterms:issued",
    "dcterms:references",
    "schema:Event", "schema:location", "schema:startDate",
    "geo:Feature", "geo:hasGeometry", "geo:hasDefaultGeometry", "geo:asWKT", "sf:Point",
    "prov:Entity", "prov:Activity", "prov:wasDerivedFrom", "prov:hadPrimarySource",
    "prov:wasGeneratedBy", "prov:generatedAtTime", "prov:used", "prov:startedAtTime",
    "prov:endedAtTime", "prov:wasAssociatedWith", "prov:SoftwareAgent",
    "skos:Concept", "skos:ConceptScheme", "skos:prefLabel", "skos:definition", "skos:inScheme",
    "skos:notation", "skos:hasTopConcept", "skos:topConceptOf",
]  # fmt: skip

DECLARATION_TYPES = {
    OWL.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
    RDFS.Datatype,
}

#: The SKOS schemes and their concepts, as docs/model.md lists them.
SCHEMES: dict[str, set[str]] = {
    "cooperation-domain": {
        "short-food-circuits", "telemedicine", "distance-learning", "waste-treatment-recovery",
        "economic-development", "employment-integration", "energy-transition", "environment",
        "health", "culture", "public-services", "agriculture-food", "tourism", "mobility",
        "teleworking", "higher-education-research", "urban-renewal", "digital-city",
        "maritime-economy",
    },
    "instrument-kind": {
        "reciprocity-contract", "metropolitan-pact", "interministerial-committee",
        "metropolitan-pole", "investment-fund", "rurality-contract", "metropolitan-innovation-pact",
    },
    "territory-kind": {
        "commune", "departement", "region", "metropole", "communaute-urbaine",
        "communaute-agglomeration", "communaute-communes", "pays", "parc-naturel-regional",
        "massif", "periurban-area",
    },
    "status": {"decided", "experimental", "pilot", "signed", "generalisation-envisaged"},
    "claim-basis": {"stated", "reported-view", "inferred"},
    "party-role": {
        "urban", "rural", "periurban", "state", "metropolis", "association-of-authorities",
        "region",
    },
    "milestone-kind": {
        "designation", "protocol", "signature", "announcement", "follow-up", "review",
    },
}  # fmt: skip

EPCI_NOTATIONS = {
    "metropole": "ME",
    "communaute-urbaine": "CU",
    "communaute-agglomeration": "CA",
    "communaute-communes": "CC",
}

#: rdfs:subClassOf axioms the model states.
SUBCLASSES: list[tuple[URIRef, URIRef]] = [
    (ALLI.Territory, GEO.Feature),
    (IGEO.Commune, ALLI.Territory),
    (IGEO.Departement, ALLI.Territory),
    (IGEO.Region, ALLI.Territory),
    (ALLI.EPCI, IGEO.Intercommunalite),
    (ALLI.EPCI, ORG.FormalOrganization),
    (ALLI.EPCI, ALLI.Territory),
    (ALLI.Metropole, ALLI.EPCI),
    (ALLI.CommunauteUrbaine, ALLI.EPCI),
    (ALLI.CommunauteAgglomeration, ALLI.EPCI),
    (ALLI.CommunauteCommunes, ALLI.EPCI),
    (ALLI.Pays, ALLI.Territory),
    (ALLI.Pays, ORG.FormalOrganization),
    (ALLI.ParcNaturelRegional, ALLI.Territory),
    (ALLI.ParcNaturelRegional, ORG.FormalOrganization),
    (ALLI.Massif, ALLI.Territory),
    (ALLI.State, ORG.FormalOrganization),
    (ALLI.AssociationOfAuthorities, ORG.FormalOrganization),
    (ALLI.CooperationAgreement, PROV.Entity),
    (ALLI.ReciprocityContract, ALLI.CooperationAgreement),
    (ALLI.MetropolitanPact, ALLI.CooperationAgreement),
    (ALLI.Signature, PROV.Activity),
    (ALLI.SigningCeremony, SCHEMA.Event),
    (ALLI.Decision, SCHEMA.Event),
]


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_FILE)


@pytest.fixture(scope="module")
def everything() -> Graph:
    graph = Graph()
    for path in ontology_files():
        graph.parse(path)
    return graph


def expand(curie: str) -> URIRef:
    prefix, local = curie.split(":", 1)
    return URIRef(MODEL_PREFIXES[prefix] + local)


def langs(graph: Graph, subject: Node, predicate: URIRef) -> list[str | None]:
    return [o.language for o in graph.objects(subject, predicate) if isinstance(o, Literal)]


def declared_terms(graph: Graph) -> set[URIRef]:
    return {
        s for t in DECLARATION_TYPES for s in graph.subjects(RDF.type, t) if isinstance(s, URIRef)
    }


def model_terms() -> set[str]:
    """Every prefixed term of an ontology namespace that docs/model.md mentions."""
    text = MODEL_MD.read_text(encoding="utf-8")
    pattern = r"\b(" + "|".join(MODEL_PREFIXES) + r"):([A-Za-z][A-Za-z0-9]*)"
    return {f"{p}:{local}" for p, local in re.findall(pattern, text)}


# --------------------------------------------------------------------------- files


def test_files_exist_and_parse() -> None:
    files = ontology_files()
    assert files[0] == ONTOLOGY_FILE
    assert {p.stem for p in files[1:]} == set(SCHEMES)
    assert all(p.parent == VOCAB_DIR for p in files[1:])
    for path in files:
        assert len(Graph().parse(path)) > 0, path


# --------------------------------------------------------------------------- header


def test_header(ontology: Graph) -> None:
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ontology
    assert sorted(langs(ontology, ONTOLOGY_IRI, DCTERMS.title)) == ["en", "fr"]
    assert sorted(langs(ontology, ONTOLOGY_IRI, DCTERMS.description)) == ["en", "fr"]
    assert sorted(langs(ontology, ONTOLOGY_IRI, RDFS.comment)) == ["en", "fr"]
    assert ontology.value(ONTOLOGY_IRI, DCTERMS.creator) == Literal("Alliance project")
    assert isinstance(ontology.value(ONTOLOGY_IRI, DCTERMS.license), URIRef)
    assert ontology.value(ONTOLOGY_IRI, OWL.versionInfo) == Literal("0.1.0")
    assert ontology.value(ONTOLOGY_IRI, VANN.preferredNamespacePrefix) == Literal("alli")
    assert ontology.value(ONTOLOGY_IRI, VANN.preferredNamespaceUri) == Literal(str(ALLI))


def test_header_documents_design_decisions(ontology: Graph) -> None:
    comment = {o.language: str(o) for o in ontology.objects(ONTOLOGY_IRI, RDFS.comment)}
    assert "One resource stands for both an authority and its territory" in comment["en"]
    assert "Une seule ressource" in comment["fr"]
    for vocabulary in (
        "igeo",
        "org",
        "PROV-O",
        "DCTERMS",
        "SKOS",
        "GeoSPARQL",
        "schema.org",
        "FOAF",
        "ODRL",
    ):
        assert vocabulary in comment["en"], vocabulary


# --------------------------------------------------------------------------- declarations


def test_every_declared_term_has_fr_and_en_label_and_comment(ontology: Graph) -> None:
    problems = []
    for term in sorted(declared_terms(ontology)):
        for predicate in (RDFS.label, RDFS.comment):
            found = langs(ontology, term, predicate)
            if sorted(found) != ["en", "fr"]:
                problems.append(f"{term} {predicate}: {found}")
    assert not problems, "\n".join(problems)


def test_every_declared_term_is_defined_by_its_vocabulary(ontology: Graph) -> None:
    for term in declared_terms(ontology):
        defined_by = ontology.value(term, RDFS.isDefinedBy)
        assert isinstance(defined_by, URIRef), term
        if term.startswith(str(ALLI)):
            assert defined_by == ONTOLOGY_IRI, term
        else:
            assert not defined_by.startswith("https://w3id.org/alliance"), term


def test_every_model_term_is_declared(ontology: Graph) -> None:
    declared = declared_terms(ontology)
    terms = model_terms() | set(DATA_TERMS)
    assert len(terms) > 80
    missing = sorted(t for t in terms if expand(t) not in declared)
    assert not missing, f"terms of docs/model.md not declared in the ontology: {missing}"


def test_every_alli_term_used_is_declared(everything: Graph) -> None:
    declared = declared_terms(everything)
    used = {
        node
        for triple in everything
        for node in triple
        if isinstance(node, URIRef) and node.startswith(str(ALLI))
    }
    assert used - declared == set()


def test_properties_have_the_right_kind(ontology: Graph) -> None:
    datatype = {
        ALLI.siren, ALLI.municipalPopulation, ALLI.partNumber, ALLI.statement,
        ALLI.inputChecksum, ALLI.softwareVersion, ALLI.populationVintage, ALLI.tripleCount,
        ALLI.lastValidation, ALLI.validFrom, ALLI.validUntil, ALLI.changeDate,
        ALLI.changeKind, ALLI.describesDate, ALLI.memberCount, ALLI.statedMemberCount,
        ALLI.unresolvedMemberCode, ALLI.basisReason, ALLI.perimeterUnknown, ALLI.versionCode,
        ALLI.versionName, ALLI.referenceYear, ALLI.claimStatement, ALLI.legalBasis, ALLI.since,
        ALLI.until, ALLI.describesPeriod,
    }  # fmt: skip
    alli_props = {
        s for s in declared_terms(ontology)
        if s.startswith(str(ALLI)) and (s, RDF.type, OWL.Class) not in ontology
    }  # fmt: skip
    assert datatype <= alli_props
    for prop in alli_props:
        expected = OWL.DatatypeProperty if prop in datatype else OWL.ObjectProperty
        assert (prop, RDF.type, expected) in ontology, prop


def test_domains_and_ranges_are_declared(ontology: Graph) -> None:
    known = declared_terms(ontology) | {RDF.langString}
    xsd = "http://www.w3.org/2001/XMLSchema#"
    for predicate in (RDFS.domain, RDFS.range):
        for subject, obj in ontology.subject_objects(predicate):
            assert obj in known or str(obj).startswith(xsd), (subject, predicate, obj)


@pytest.mark.parametrize(("sub", "sup"), SUBCLASSES, ids=lambda n: str(n).rsplit("#", 1)[-1])
def test_subclass_axioms(ontology: Graph, sub: URIRef, sup: URIRef) -> None:
    assert (sub, RDFS.subClassOf, sup) in ontology


def test_other_axioms(ontology: Graph) -> None:
    assert (ALLI.memberOf, RDFS.subPropertyOf, ORG.memberOf) in ontology
    assert (ALLI.Commitment, SKOS.closeMatch, ODRL.Duty) in ontology


def test_parties_have_no_range(ontology: Graph) -> None:
    """A massif can be a party without being an organisation: no range may say otherwise."""
    for prop in (
        ALLI.hasParty,
        ALLI.party,
        ALLI.committedBy,
        ALLI.committedTo,
        ALLI.signedOnBehalfOf,
    ):
        assert ontology.value(prop, RDFS.range) is None, prop


# --------------------------------------------------------------------------- SKOS


@pytest.mark.parametrize("scheme_name", sorted(SCHEMES))
def test_scheme(scheme_name: str) -> None:
    graph = Graph().parse(VOCAB_DIR / f"{scheme_name}.ttl")
    scheme = URIRef(VOCAB + scheme_name)
    assert list(graph.subjects(RDF.type, SKOS.ConceptScheme)) == [scheme]
    assert sorted(langs(graph, scheme, SKOS.prefLabel)) == ["en", "fr"]
    assert sorted(langs(graph, scheme, SKOS.definition)) == ["en", "fr"]

    concepts = set(graph.subjects(RDF.type, SKOS.Concept))
    assert concepts == {URIRef(f"{scheme}/{name}") for name in SCHEMES[scheme_name]}
    assert set(graph.objects(scheme, SKOS.hasTopConcept)) == concepts
    for concept in concepts:
        assert sorted(langs(graph, concept, SKOS.prefLabel)) == ["en", "fr"], concept
        assert sorted(langs(graph, concept, SKOS.definition)) == ["en", "fr"], concept
        assert (concept, SKOS.inScheme, scheme) in graph
        assert (concept, SKOS.topConceptOf, scheme) in graph


def test_epci_natures_have_notations() -> None:
    graph = Graph().parse(VOCAB_DIR / "territory-kind.ttl")
    notations = {str(s).rsplit("/", 1)[-1]: str(o) for s, o in graph.subject_objects(SKOS.notation)}
    assert notations == EPCI_NOTATIONS


def test_concept_texts_are_distinct(everything: Graph) -> None:
    """Each definition is written for its concept: no copy-paste between concepts."""
    seen: dict[tuple[str, str | None], Node] = {}
    for subject, obj in everything.subject_objects(SKOS.definition):
        assert isinstance(obj, Literal)
        key = (str(obj), obj.language)
        assert key not in seen or seen[key] == subject, (subject, seen.get(key), obj)
        seen[key] = subject
