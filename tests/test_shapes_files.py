"""The SHACL shapes: well-formed, documented fr + en, and catching what they promise to catch."""

from __future__ import annotations

from collections.abc import Iterator

import pyshacl
import pytest
from rdflib import OWL, RDF, SH, SKOS, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from alliance.ontology import VOCAB_DIR, ontology_files
from alliance.shapes import SHAPES_FILE, shapes_files

ALSH = Namespace("https://w3id.org/alliance/shapes#")
ALLI = Namespace("https://w3id.org/alliance/ontology#")
ID = "https://w3id.org/alliance/id/"
VOCAB = "https://w3id.org/alliance/vocab/"

TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
LOGICAL = (SH["or"], SH["and"], SH.xone)
#: Parameters that make a shape constraint-bearing.
CONSTRAINTS = {
    SH["class"], SH.datatype, SH.nodeKind, SH.minCount, SH.maxCount, SH.minInclusive,
    SH.maxInclusive, SH.pattern, SH.languageIn, SH.uniqueLang, SH["in"], SH.hasValue,
    SH.qualifiedValueShape, SH["or"], SH["and"], SH.xone, SH["not"], SH.node, SH.sparql,
}  # fmt: skip

#: Properties whose values are concepts, and the scheme an sh:in list on them must equal.
CONCEPT_PATHS = {
    ALLI.cooperationDomain: "cooperation-domain",
    ALLI.instrumentKind: "instrument-kind",
    ALLI.territoryKind: "territory-kind",
    ALLI.suitedFor: "territory-kind",
    ALLI.status: "status",
    ALLI.partyRole: "party-role",
}

#: The shapes others write tests and queries against, with their severity.
CONTRACT: dict[str, URIRef] = {
    "Commune-code": SH.Violation,
    "Commune-epci": SH.Violation,
    "Commune-epciPresent": SH.Warning,
    "Commune-population": SH.Violation,
    "Departement-code": SH.Violation,
    "Region-code": SH.Violation,
    "EPCI-siren": SH.Violation,
    "EPCI-nature": SH.Violation,
    "Geometry-wkt": SH.Violation,
    "Siren": SH.Violation,
    "HasSource": SH.Violation,
    "LabelFr": SH.Violation,
    "LabelEn": SH.Warning,
    "ReciprocityContract-urban": SH.Violation,
    "ReciprocityContract-ruralOrPeriurban": SH.Violation,
    "MetropolitanPact-state": SH.Violation,
    "MetropolitanPact-metropolis": SH.Violation,
    "CommitmentByPartyShape": SH.Violation,
    "SignatureAfterDecisionShape": SH.Violation,
    "SignatoryIsPartyShape": SH.Violation,
    "PartiesListedShape": SH.Violation,
}


@pytest.fixture(scope="module")
def shapes() -> Graph:
    graph = Graph()
    for path in shapes_files():
        graph.parse(path)
    return graph


@pytest.fixture(scope="module")
def ontology() -> Graph:
    graph = Graph()
    for path in ontology_files():
        graph.parse(path)
    return graph


def texts(graph: Graph, subject: Node, predicate: URIRef) -> list[str | None]:
    return sorted(
        (o.language or "") for o in graph.objects(subject, predicate) if isinstance(o, Literal)
    )


def list_items(graph: Graph, head: Node) -> list[Node]:
    return list(Collection(graph, head))


def all_shapes(graph: Graph) -> set[Node]:
    """Every node shape or property shape, declared or referenced."""
    found: set[Node] = set(graph.subjects(RDF.type, SH.NodeShape))
    found |= set(graph.subjects(RDF.type, SH.PropertyShape))
    found |= set(graph.subjects(SH.path, None))
    for predicate in (SH.property, SH.node, SH.qualifiedValueShape, SH["not"]):
        found |= set(graph.objects(None, predicate))
    for predicate in LOGICAL:
        for head in graph.objects(None, predicate):
            found |= set(list_items(graph, head))
    return found


def constraint_bearing(graph: Graph, shape: Node) -> bool:
    return any(p in CONSTRAINTS for p in graph.predicates(shape, None))


def targeted(graph: Graph, shape: Node) -> bool:
    return any(graph.value(shape, p) is not None for p in TARGETS)


# --------------------------------------------------------------------------- structure


def test_files(shapes: Graph) -> None:
    assert shapes_files() == [SHAPES_FILE]
    assert len(shapes) > 500


def test_every_shape_has_an_iri_in_our_namespace(shapes: Graph) -> None:
    bad = [s for s in all_shapes(shapes) if not (isinstance(s, URIRef) and s.startswith(ALSH))]
    assert not bad, f"blank-node or foreign shapes: {bad}"


def test_every_shape_is_typed(shapes: Graph) -> None:
    for shape in all_shapes(shapes):
        kind = SH.PropertyShape if shapes.value(shape, SH.path) is not None else SH.NodeShape
        assert (shape, RDF.type, kind) in shapes, shape


def test_every_shape_has_name_description_and_messages_fr_en(shapes: Graph) -> None:
    problems = []
    for shape in sorted(all_shapes(shapes)):
        for predicate in (SH.name, SH.description):
            if texts(shapes, shape, predicate) != ["en", "fr"]:
                problems.append(f"{shape} {predicate}")
        if constraint_bearing(shapes, shape) and texts(shapes, shape, SH.message) != ["en", "fr"]:
            problems.append(f"{shape} sh:message")
    assert not problems, "\n".join(problems)


def test_no_orphan_shape(shapes: Graph) -> None:
    referenced: set[Node] = set(shapes.objects(None, SH.property))
    referenced |= set(shapes.objects(None, SH.qualifiedValueShape))
    for predicate in LOGICAL:
        for head in shapes.objects(None, predicate):
            referenced |= set(list_items(shapes, head))
    orphans = [s for s in all_shapes(shapes) if not targeted(shapes, s) and s not in referenced]
    assert not orphans


def test_active_constraints_have_a_severity(shapes: Graph) -> None:
    """Shapes that report (targeted, or property shapes of targeted node shapes) say how much."""
    for shape in active_shapes(shapes):
        if constraint_bearing(shapes, shape):
            assert shapes.value(shape, SH.severity) in (SH.Violation, SH.Warning, SH.Info), shape


def test_sparql_constraints(shapes: Graph) -> None:
    holders = set(shapes.subjects(SH.sparql, None))
    assert {str(h).rsplit("#", 1)[-1] for h in holders} == {
        "CommitmentByPartyShape",
        "SignatureAfterDecisionShape",
        "SignatoryIsPartyShape",
        "PartiesListedShape",
    }
    for holder in holders:
        assert targeted(shapes, holder), holder
        constraint = shapes.value(holder, SH.sparql)
        assert isinstance(constraint, URIRef) and constraint.startswith(ALSH)
        assert (constraint, RDF.type, SH.SPARQLConstraint) in shapes
        assert texts(shapes, constraint, SH.message) == ["en", "fr"]
        assert shapes.value(constraint, SH.prefixes) is not None
        assert "$this" in str(shapes.value(constraint, SH.select))


def test_no_sparql_on_territories(shapes: Graph) -> None:
    """The ~35k communes are checked with SHACL Core only, by property shapes with a target."""
    territory_classes = {
        URIRef("http://rdf.insee.fr/def/geo#" + name)
        for name in ("Commune", "Departement", "Region")
    } | {ALLI.EPCI}
    for shape in shapes.subjects(SH.targetClass, None):
        if shapes.value(shape, SH.targetClass) in territory_classes:
            assert shapes.value(shape, SH.sparql) is None, shape
            assert shapes.value(shape, SH.property) is None, shape


def test_contract_shapes_exist_with_their_severity(shapes: Graph) -> None:
    for name, severity in CONTRACT.items():
        assert shapes.value(ALSH[name], SH.severity) == severity, name


def test_targets_and_paths_use_declared_terms(shapes: Graph, ontology: Graph) -> None:
    declared = set(ontology.subjects(RDF.type, OWL.Class))
    for shape, cls in shapes.subject_objects(SH.targetClass):
        assert cls in declared, (shape, cls)
    for shape, cls in shapes.subject_objects(SH["class"]):
        assert cls in declared, (shape, cls)
    properties = {
        s
        for t in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
        for s in ontology.subjects(RDF.type, t)
    }
    for shape, path in shapes.subject_objects(SH.path):
        inverse = shapes.value(path, SH.inversePath)
        predicate = inverse if inverse is not None else path
        assert predicate in properties, (shape, predicate)


def scheme_concepts() -> dict[str, set[Node]]:
    concepts: dict[str, set[Node]] = {}
    for path in VOCAB_DIR.glob("*.ttl"):
        graph = Graph().parse(path)
        concepts[path.stem] = set(graph.subjects(RDF.type, SKOS.Concept))
    return concepts


def active_shapes(graph: Graph) -> set[Node]:
    """Targeted shapes and the property shapes of targeted node shapes."""
    active: set[Node] = {s for s in all_shapes(graph) if targeted(graph, s)}
    for node_shape in list(active):
        active |= set(graph.objects(node_shape, SH.property))
    return active


def test_concept_lists_match_the_schemes(shapes: Graph) -> None:
    """An sh:in on a concept-valued property lists exactly its scheme (narrower in helpers)."""
    concepts = scheme_concepts()
    known = set().union(*concepts.values())
    active = active_shapes(shapes)
    for shape, head in shapes.subject_objects(SH["in"]):
        items = set(list_items(shapes, head))
        vocab_items = {i for i in items if str(i).startswith(VOCAB)}
        assert vocab_items <= known, (shape, vocab_items - known)
        path = shapes.value(shape, SH.path)
        if path in CONCEPT_PATHS:
            scheme = concepts[CONCEPT_PATHS[path]]
            assert items == scheme if shape in active else items <= scheme, shape
    for shape, value in shapes.subject_objects(SH.hasValue):
        if str(value).startswith(VOCAB):
            assert value in known, (shape, value)


def test_shapes_graph_is_valid_shacl(shapes: Graph) -> None:
    conforms, _, text = pyshacl.validate(
        Graph(), shacl_graph=shapes, meta_shacl=True, advanced=True, inference="none"
    )
    assert conforms, text


def test_vocabularies_conform_to_the_concept_shapes(shapes: Graph, ontology: Graph) -> None:
    conforms, _, text = pyshacl.validate(
        ontology, shacl_graph=shapes, inference="none", advanced=True
    )
    assert conforms, text


# --------------------------------------------------------------------------- behaviour

DATA = """
@base <https://w3id.org/alliance/id/> .
@prefix alli:    <https://w3id.org/alliance/ontology#> .
@prefix cb:      <https://w3id.org/alliance/vocab/claim-basis/> .
@prefix mk:      <https://w3id.org/alliance/vocab/milestone-kind/> .
@prefix cd:      <https://w3id.org/alliance/vocab/cooperation-domain/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf:    <http://xmlns.com/foaf/0.1/> .
@prefix geo:     <http://www.opengis.net/ont/geosparql#> .
@prefix igeo:    <http://rdf.insee.fr/def/geo#> .
@prefix ik:      <https://w3id.org/alliance/vocab/instrument-kind/> .
@prefix org:     <http://www.w3.org/ns/org#> .
@prefix pr:      <https://w3id.org/alliance/vocab/party-role/> .
@prefix prov:    <http://www.w3.org/ns/prov#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema:  <https://schema.org/> .
@prefix sf:      <http://www.opengis.net/ont/sf#> .
@prefix st:      <https://w3id.org/alliance/vocab/status/> .
@prefix tk:      <https://w3id.org/alliance/vocab/territory-kind/> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .

# A made-up but well-formed slice of the graph: names and dates are for testing only.

<source/doc> a foaf:Document ; foaf:page <https://example.org/doc> ;
    rdfs:label "Document d'essai"@fr , "Test document"@en ; dcterms:title "Document d'essai"@fr .
<source/cited> a foaf:Document ; rdfs:label "Document cité"@fr , "Cited document"@en ;
    dcterms:title "Document cité"@fr .
<source/doc> dcterms:references <source/cited> .

<milestone/signature-essai> a alli:Milestone ; rdfs:label "Signature"@fr , "Signing"@en ;
    alli:milestoneOf <agreement/essai> ; alli:milestoneKind mk:signature ;
    dcterms:date "2016-11"^^xsd:gYearMonth ; dcterms:source <source/doc> ; alli:basis cb:stated .
<amount/essai> a alli:MonetaryAmount ; rdfs:label "Montant"@fr , "Amount"@en ;
    alli:amountOf <agreement/essai> ; schema:value "7400000"^^xsd:decimal ;
    schema:currency "EUR" ; alli:referenceYear "2017"^^xsd:gYear ;
    dcterms:source <source/doc> ; alli:basis cb:stated .
<claim/essai> a alli:Claim ; alli:claimAbout <agreement/essai> ;
    alli:claimStatement "Déduit"@fr , "Inferred"@en ; dcterms:source <source/doc> ;
    alli:basis cb:inferred ; alli:basisReason "Parce que"@fr , "Because"@en .

<region/84> a igeo:Region ; igeo:codeINSEE "84" ; igeo:nom "Région d'essai" ;
    alli:territoryKind tk:region .
<departement/69> a igeo:Departement ; igeo:codeINSEE "69" ; igeo:nom "Département d'essai" ;
    igeo:subdivisionDirecteDe <region/84> .
<epci/200046977> a alli:EPCI , alli:Metropole , igeo:Intercommunalite , org:FormalOrganization ;
    alli:siren "200046977" ; alli:epciNature tk:metropole ; igeo:nom "Métropole d'essai" ;
    rdfs:label "Métropole d'essai"@fr ; alli:territoryKind tk:metropole .
<epci/200000001> a alli:EPCI , alli:CommunauteAgglomeration ;
    alli:siren "200000001" ; alli:epciNature tk:communaute-agglomeration ;
    igeo:nom "Agglomération d'essai" .
<commune/69123> a igeo:Commune ; igeo:codeINSEE "69123" ; igeo:nom "Commune d'essai" ;
    igeo:subdivisionDirecteDe <departement/69> ; alli:memberOf <epci/200046977> ;
    alli:municipalPopulation 500000 ; alli:territoryKind tk:commune ;
    geo:hasGeometry <commune/69123/mairie> ; geo:hasDefaultGeometry <commune/69123/mairie> .
<commune/69123/mairie> a sf:Point ; geo:asWKT "POINT(4.8 45.7)"^^geo:wktLiteral .

<actor/pays-essai> a alli:Pays , org:FormalOrganization ; alli:territoryKind tk:pays ;
    rdfs:label "Pays d'essai"@fr , "Test pays"@en ; dcterms:source <source/doc> .
<actor/etat> a alli:State ; rdfs:label "État"@fr , "State"@en ; dcterms:source <source/doc> .

<decision/cir> a alli:Decision ; rdfs:label "Comité d'essai"@fr , "Test committee"@en ;
    dcterms:description "Une décision d'essai."@fr , "A test decision."@en ;
    dcterms:date "2015-03-13"^^xsd:date ; schema:location <commune/69123> ;
    dcterms:source <source/doc> .
<decision/cir/part/3> a alli:DecisionPart ; rdfs:label "Volet 3"@fr , "Part 3"@en ;
    dcterms:isPartOf <decision/cir> ; alli:partNumber 3 ; dcterms:source <source/doc> .
<instrument/contrat> a alli:PolicyInstrument ; rdfs:label "Contrat"@fr , "Contract"@en ;
    dcterms:description "Un instrument d'essai."@fr , "A test instrument."@en ;
    dcterms:source <source/doc> ; alli:instrumentKind ik:reciprocity-contract ;
    alli:status st:experimental ; alli:launchedBy <decision/cir> ;
    alli:launchedWithin <decision/cir/part/3> ; alli:cooperationDomain cd:telemedicine ;
    alli:suitedFor tk:periurban-area ; alli:serves <objective/alliance> .
<objective/alliance> a alli:PolicyObjective ; rdfs:label "Alliance"@fr , "Alliance"@en ;
    dcterms:description "Un objectif d'essai."@fr , "A test objective."@en ;
    dcterms:source <source/doc> ; alli:facilitatedBy <instrument/contrat> .

<agreement/essai> a alli:ReciprocityContract ;
    rdfs:label "Contrat d'essai"@fr , "Test contract"@en ;
    dcterms:description "Un contrat d'essai."@fr , "A test contract."@en ;
    dcterms:source <source/doc> ; dcterms:date "2016-11-04"^^xsd:date ;
    alli:hasParty <epci/200046977> , <actor/pays-essai> ;
    alli:participation <agreement/essai/party/epci-200046977> ,
        <agreement/essai/party/pays-essai> ;
    alli:status st:pilot ; alli:implementsInstrument <instrument/contrat> ;
    alli:cooperationDomain cd:short-food-circuits ; alli:serves <objective/alliance> .
<agreement/essai/party/epci-200046977> a alli:Participation ;
    rdfs:label "Métropole, partie urbaine"@fr , "Metropolis, urban party"@en ;
    dcterms:source <source/doc> ; alli:party <epci/200046977> ; alli:partyRole pr:urban .
<agreement/essai/party/pays-essai> a alli:Participation ;
    rdfs:label "Pays, partie rurale"@fr , "Pays, rural party"@en ;
    dcterms:source <source/doc> ; alli:party <actor/pays-essai> ; alli:partyRole pr:rural .

<agreement/pacte> a alli:MetropolitanPact ; rdfs:label "Pacte d'essai"@fr , "Test pact"@en ;
    dcterms:description "Un pacte d'essai."@fr , "A test pact."@en ;
    dcterms:source <source/doc> ; alli:hasParty <actor/etat> , <epci/200046977> ;
    alli:participation <agreement/pacte/party/etat> , <agreement/pacte/party/epci-200046977> .
<agreement/pacte/party/etat> a alli:Participation ;
    rdfs:label "État, partie"@fr , "State, party"@en ; dcterms:source <source/doc> ;
    alli:party <actor/etat> ; alli:partyRole pr:state .
<agreement/pacte/party/epci-200046977> a alli:Participation ;
    rdfs:label "Métropole, partie"@fr , "Metropolis, party"@en ; dcterms:source <source/doc> ;
    alli:party <epci/200046977> ; alli:partyRole pr:metropolis .

<agreement/essai/signature/epci-200046977> a alli:Signature ;
    rdfs:label "Signature de la métropole"@fr , "Signature by the metropolis"@en ;
    dcterms:source <source/doc> ; alli:signedAgreement <agreement/essai> ;
    alli:signedOnBehalfOf <epci/200046977> ; alli:signedBy <person/jeanne-essai> ;
    alli:signatoryPost <post/presidence-essai> ; alli:atEvent <event/signature-essai> ;
    dcterms:date "2016-11-04"^^xsd:date .
<event/signature-essai> a alli:SigningCeremony ;
    rdfs:label "Cérémonie d'essai"@fr , "Test ceremony"@en ; dcterms:source <source/doc> ;
    dcterms:date "2016-11-04"^^xsd:date ; schema:location <commune/69123> ;
    alli:inPresenceOf <person/paul-essai> .
<person/jeanne-essai> a foaf:Person ; foaf:name "Jeanne Essai" ;
    rdfs:label "Jeanne Essai"@fr , "Jeanne Essai"@en ; dcterms:source <source/doc> ;
    org:holds <post/presidence-essai> .
<person/paul-essai> a foaf:Person ; foaf:name "Paul Essai" ;
    rdfs:label "Paul Essai"@fr , "Paul Essai"@en ; dcterms:source <source/doc> .
<post/presidence-essai> a org:Post ;
    rdfs:label "Présidence d'essai"@fr , "Test presidency"@en ; dcterms:source <source/doc> ;
    org:postIn <epci/200046977> .

<commitment/urbain> a alli:Commitment ;
    rdfs:label "Engagement urbain"@fr , "Urban commitment"@en ; dcterms:source <source/doc> ;
    alli:inAgreement <agreement/essai> ; alli:committedBy <epci/200046977> ;
    alli:committedTo <actor/pays-essai> ;
    alli:statement "Acheter des produits locaux."@fr , "Buy local produce."@en ;
    alli:cooperationDomain cd:short-food-circuits ; alli:reciprocalOf <commitment/rural> ;
    alli:serves <objective/alliance> .
<commitment/rural> a alli:Commitment ;
    rdfs:label "Engagement rural"@fr , "Rural commitment"@en ; dcterms:source <source/doc> ;
    alli:inAgreement <agreement/essai> ; alli:committedBy <actor/pays-essai> ;
    alli:committedTo <epci/200046977> ;
    alli:statement "Fournir des produits."@fr , "Supply produce."@en ;
    alli:reciprocalOf <commitment/urbain> .

<graph/facts> a prov:Entity ;
    alli:inputChecksum
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef alliance/0.1.0" ;
    prov:wasDerivedFrom <graph/facts/input/a.csv> ; prov:hadPrimarySource <source/doc> ;
    prov:wasGeneratedBy <activity/ingest-essai> ;
    prov:generatedAtTime "2026-01-01T00:00:00Z"^^xsd:dateTime ; alli:softwareVersion "0.1.0" ;
    alli:tripleCount 120 .
<graph/facts/input/a.csv> a prov:Entity ;
    alli:inputChecksum "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210" .
"""

PREFIXES = """
PREFIX cb: <https://w3id.org/alliance/vocab/claim-basis/>
BASE <https://w3id.org/alliance/id/>
PREFIX alli:    <https://w3id.org/alliance/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX geo:     <http://www.opengis.net/ont/geosparql#>
PREFIX igeo:    <http://rdf.insee.fr/def/geo#>
PREFIX pr:      <https://w3id.org/alliance/vocab/party-role/>
PREFIX rdfs:    <http://www.w3.org/2000/01/rdf-schema#>
PREFIX tk:      <https://w3id.org/alliance/vocab/territory-kind/>
PREFIX xsd:     <http://www.w3.org/2001/XMLSchema#>
"""

V, W = "Violation", "Warning"
SIGNATURE = "agreement/essai/signature/epci-200046977"

#: (case, SPARQL update applied to DATA, expected results as (focus, shape, severity)).
CASES: list[tuple[str, str, set[tuple[str, str, str]]]] = [
    ("conforming", "", set()),
    (
        "periurban instead of rural is fine",
        "DELETE DATA { <agreement/essai/party/pays-essai> alli:partyRole pr:rural } ;"
        "INSERT DATA { <agreement/essai/party/pays-essai> alli:partyRole pr:periurban }",
        set(),
    ),
    (
        "Corsican COG is fine",
        'DELETE DATA { <commune/69123> igeo:codeINSEE "69123" } ;'
        'INSERT DATA { <commune/69123> igeo:codeINSEE "2A004" }',
        set(),
    ),
    (
        "outside source without an address",
        "DELETE DATA { <source/doc> foaf:page <https://example.org/doc> }",
        {("source/doc", "OutsideSourceAddress", V)},
    ),
    (
        "inference without its reason",
        'DELETE DATA { <claim/essai> alli:basisReason "Parce que"@fr , "Because"@en }',
        {("claim/essai", "InferenceReason", V)},
    ),
    (
        "claim without a source",
        "DELETE DATA { <claim/essai> dcterms:source <source/doc> }",
        {("claim/essai", "HasSource", V)},
    ),
    (
        "milestone without a basis",
        "DELETE DATA { <milestone/signature-essai> alli:basis cb:stated }",
        {("milestone/signature-essai", "ClaimBasis", V)},
    ),
    (
        "amount without its currency",
        'DELETE DATA { <amount/essai> schema:currency "EUR" }',
        {("amount/essai", "Amount-currency", V)},
    ),
    (
        "no rural party",
        "DELETE DATA { <agreement/essai/party/pays-essai> alli:partyRole pr:rural } ;"
        "INSERT DATA { <agreement/essai/party/pays-essai> alli:partyRole pr:urban }",
        {("agreement/essai", "ReciprocityContract-ruralOrPeriurban", V)},
    ),
    (
        "no urban party",
        "DELETE DATA { <agreement/essai/party/epci-200046977> alli:partyRole pr:urban } ;"
        "INSERT DATA { <agreement/essai/party/epci-200046977> alli:partyRole pr:periurban }",
        {("agreement/essai", "ReciprocityContract-urban", V)},
    ),
    (
        "pact without the State",
        "DELETE DATA { <agreement/pacte/party/etat> alli:partyRole pr:state } ;"
        "INSERT DATA { <agreement/pacte/party/etat> alli:partyRole pr:metropolis }",
        {("agreement/pacte", "MetropolitanPact-state", V)},
    ),
    (
        "commitment by a non-party",
        "DELETE DATA { <commitment/urbain> alli:committedBy <epci/200046977> } ;"
        "INSERT DATA { <commitment/urbain> alli:committedBy <actor/etat> }",
        {("commitment/urbain", "CommitmentByPartyShape", V)},
    ),
    (
        "signature before the decision",
        f'DELETE DATA {{ <{SIGNATURE}> dcterms:date "2016-11-04"^^xsd:date }} ;'
        f'INSERT DATA {{ <{SIGNATURE}> dcterms:date "2015-03-12"^^xsd:date }}',
        {(SIGNATURE, "SignatureAfterDecisionShape", V)},
    ),
    (
        "signature before the decision, known through the decision part only",
        "DELETE DATA { <instrument/contrat> alli:launchedBy <decision/cir> } ;"
        f'DELETE DATA {{ <{SIGNATURE}> dcterms:date "2016-11-04"^^xsd:date }} ;'
        f'INSERT DATA {{ <{SIGNATURE}> dcterms:date "2014-12-31"^^xsd:date }}',
        {(SIGNATURE, "SignatureAfterDecisionShape", V)},
    ),
    (
        "signature on the day of the decision is fine",
        f'DELETE DATA {{ <{SIGNATURE}> dcterms:date "2016-11-04"^^xsd:date }} ;'
        f'INSERT DATA {{ <{SIGNATURE}> dcterms:date "2015-03-13"^^xsd:date }}',
        set(),
    ),
    (
        "signature for a non-party",
        f"DELETE DATA {{ <{SIGNATURE}> alli:signedOnBehalfOf <epci/200046977> }} ;"
        f"INSERT DATA {{ <{SIGNATURE}> alli:signedOnBehalfOf <actor/etat> }}",
        {(SIGNATURE, "SignatoryIsPartyShape", V)},
    ),
    (
        "missing source",
        "DELETE DATA { <commitment/urbain> dcterms:source <source/doc> }",
        {("commitment/urbain", "HasSource", V)},
    ),
    (
        "source that is not a document",
        "DELETE DATA { <actor/pays-essai> dcterms:source <source/doc> } ;"
        "INSERT DATA { <actor/pays-essai> dcterms:source <actor/etat> }",
        {("actor/pays-essai", "HasSource", V)},
    ),
    (
        "bad SIREN",
        'DELETE DATA { <epci/200046977> alli:siren "200046977" } ;'
        'INSERT DATA { <epci/200046977> alli:siren "20004697" }',
        {("epci/200046977", "EPCI-siren", V)},
    ),
    (
        "bad SIREN on a curated actor",
        'INSERT DATA { <actor/pays-essai> alli:siren "2000469771" }',
        {("actor/pays-essai", "Siren", V)},
    ),
    (
        "bad COG",
        'DELETE DATA { <commune/69123> igeo:codeINSEE "69123" } ;'
        'INSERT DATA { <commune/69123> igeo:codeINSEE "6912" }',
        {("commune/69123", "Commune-code", V)},
    ),
    (
        "bad département code",
        'DELETE DATA { <departement/69> igeo:codeINSEE "69" } ;'
        'INSERT DATA { <departement/69> igeo:codeINSEE "2C" }',
        {("departement/69", "Departement-code", V)},
    ),
    (
        "bad région code",
        'DELETE DATA { <region/84> igeo:codeINSEE "84" } ;'
        'INSERT DATA { <region/84> igeo:codeINSEE "084" }',
        {("region/84", "Region-code", V)},
    ),
    (
        "EPCI nature outside the four natures",
        "DELETE DATA { <epci/200046977> alli:epciNature tk:metropole } ;"
        "INSERT DATA { <epci/200046977> alli:epciNature tk:pays }",
        {("epci/200046977", "EPCI-nature", V), ("epci/200046977", "Metropole-nature", V)},
    ),
    (
        "EPCI with two natures",
        "INSERT DATA { <epci/200000001> alli:epciNature tk:communaute-communes }",
        {("epci/200000001", "EPCI-nature", V)},
    ),
    (
        "commune in no EPCI",
        "DELETE DATA { <commune/69123> alli:memberOf <epci/200046977> }",
        {("commune/69123", "Commune-epciPresent", W)},
    ),
    (
        "commune in two EPCI",
        "INSERT DATA { <commune/69123> alli:memberOf <epci/200000001> }",
        {("commune/69123", "Commune-epci", V)},
    ),
    (
        "negative population",
        "DELETE DATA { <commune/69123> alli:municipalPopulation 500000 } ;"
        "INSERT DATA { <commune/69123> alli:municipalPopulation -1 }",
        {("commune/69123", "Commune-population", V)},
    ),
    (
        "WKT as a plain string",
        'DELETE { ?g geo:asWKT ?w } INSERT { ?g geo:asWKT "POINT(4.8 45.7)" } '
        "WHERE { BIND(<commune/69123/mairie> AS ?g) ?g geo:asWKT ?w }",
        {("commune/69123/mairie", "Geometry-wkt", V)},
    ),
    (
        "missing French label",
        "DELETE { <agreement/essai> rdfs:label ?l } "
        "WHERE { <agreement/essai> rdfs:label ?l FILTER (lang(?l) = 'fr') }",
        {("agreement/essai", "LabelFr", V)},
    ),
    (
        "missing English label",
        "DELETE { <agreement/essai> rdfs:label ?l } "
        "WHERE { <agreement/essai> rdfs:label ?l FILTER (lang(?l) = 'en') }",
        {("agreement/essai", "LabelEn", W)},
    ),
    (
        "participation party not listed as a party",
        "DELETE DATA { <agreement/essai> alli:hasParty <actor/pays-essai> }",
        {
            ("agreement/essai", "PartiesListedShape", V),
            ("agreement/essai", "Agreement-parties", V),
            ("commitment/rural", "CommitmentByPartyShape", V),
        },
    ),
    (
        "commitment without a French statement",
        "DELETE { <commitment/urbain> alli:statement ?s } "
        "WHERE { <commitment/urbain> alli:statement ?s FILTER (lang(?s) = 'fr') }",
        {("commitment/urbain", "Commitment-statementFr", V)},
    ),
    (
        "party that is neither an organisation nor a territory",
        "INSERT DATA { <commitment/urbain> alli:committedTo <source/doc> }",
        {("commitment/urbain", "Commitment-to", V)},
    ),
    (
        "status outside the status scheme",
        "INSERT DATA { <agreement/essai> alli:status tk:commune }",
        {("agreement/essai", "Agreement-status", V)},
    ),
    (
        "decision part numbered 0",
        "DELETE DATA { <decision/cir/part/3> alli:partNumber 3 } ;"
        "INSERT DATA { <decision/cir/part/3> alli:partNumber 0 }",
        {("decision/cir/part/3", "DecisionPart-number", V)},
    ),
    (
        "bad checksum",
        "DELETE WHERE { <graph/facts> alli:inputChecksum ?c } ;"
        'INSERT DATA { <graph/facts> alli:inputChecksum "md5:abc" }',
        {("graph/facts", "InputChecksum", V)},
    ),
    (
        "graph without a checksum",
        "DELETE WHERE { <graph/facts> alli:inputChecksum ?c }",
        {("graph/facts", "GraphDescription-checksum", V)},
    ),
]


def results(graph: Graph) -> Iterator[tuple[Node, Node, Node, set[Literal]]]:
    for result in graph.subjects(RDF.type, SH.ValidationResult):
        yield (
            graph.value(result, SH.focusNode),
            graph.value(result, SH.sourceShape),
            graph.value(result, SH.resultSeverity),
            {m for m in graph.objects(result, SH.resultMessage) if isinstance(m, Literal)},
        )


def check_messages(shapes: Graph, shape: Node, messages: set[Literal]) -> None:
    """A result carries its shape's fr and en messages.

    pySHACL (0.40) rebuilds the messages of SHACL-SPARQL results without their language tag,
    so for those only the texts are compared.
    """
    declared = {m for m in shapes.objects(shape, SH.message) if isinstance(m, Literal)}
    assert sorted(m.language for m in declared) == ["en", "fr"], shape
    if shapes.value(shape, SH.sparql) is not None:
        assert {str(m) for m in messages} == {str(m) for m in declared}, shape
    else:
        assert messages == declared, shape


@pytest.mark.parametrize(("update", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validation(
    shapes: Graph, ontology: Graph, update: str, expected: set[tuple[str, str, str]]
) -> None:
    data = Graph().parse(data=DATA, format="turtle")
    if update:
        data.update(PREFIXES + update)
    conforms, report, text = pyshacl.validate(
        data, shacl_graph=shapes, ont_graph=ontology, inference="none", advanced=True
    )
    found = set()
    for focus, shape, severity, messages in results(report):
        assert isinstance(shape, URIRef), f"blank source shape in\n{text}"
        check_messages(shapes, shape, messages)
        found.add(
            (
                str(focus).removeprefix(ID),
                str(shape).removeprefix(str(ALSH)),
                str(severity).rsplit("#", 1)[-1],
            )
        )
    assert found == expected, text
    assert conforms == (not expected)
