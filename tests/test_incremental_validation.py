"""Validating only what a changed source touches gives the results of a full validation.

When the curated facts change, ingest's gate (`alliance.ingest.pipeline.gate`) validates only
the source's own subjects, with the other graphs' triples about the nodes the source mentions
and the ontology; and since the store holds the facts as published with their validation
record, only the subjects whose shapes read a changed triple are validated again
(`alliance.ingest.incremental`, routes from `alliance.shapes.reach`), the others keep their
recorded results. Hypothesis generates changes to the bundled facts, as triples (drop some,
change a party's role, remove a source, swap two dates, add a commitment by a non-party,
retarget a participation to a random EPCI of the territories), and each time the gate's results
must equal those of pySHACL over the whole dataset: the published ontology and territories
graphs plus the changed facts, every triple of them.

The full run stays affordable because its shapes are narrowed, never its data. The gate keeps
only results whose focus node is a subject of the source (the pipeline publishes per source;
the territories' results are their certificate's), so the full run's results are compared on
those focus nodes. SHACL computes the results of each shape that has targets on that shape's
own focus nodes (nested shapes are only reached from their parent's focus nodes), so a shape
whose targets include none of the source's subjects, and which no other shape refers to, adds
no result about them: it is switched off (`sh:deactivated true`). Only the territories' ~35k
nodes' shapes go, which leaves a full-data run of about a second instead of half a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyoxigraph import Literal, NamedNode, Triple
from rdflib import Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.namespace import RDF, RDFS, SH

from alliance.ingest.curated import CuratedFacts
from alliance.ingest.incremental import incremental_report
from alliance.ingest.pipeline import gate, neighbourhood
from alliance.ingest.source import Progress, no_progress
from alliance.namespaces import ALLI, DCTERMS, ID, VOCAB, graph_iri
from alliance.shapes.gate import results_graph, shapes_graph, to_rdflib, validate
from alliance.shapes.reach import project_reach, reach
from alliance.shapes.report import Report, read_report
from alliance.store import GraphStore

FACTS = graph_iri("facts")
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
PARTY_ROLE = NamedNode(f"{ALLI}partyRole")
PARTY = NamedNode(f"{ALLI}party")
SOURCE = NamedNode(f"{DCTERMS}source")
DATE = NamedNode(f"{DCTERMS}date")
COMMITTED_BY = NamedNode(f"{ALLI}committedBy")
RDF_TYPE = NamedNode(str(RDF.type))
#: The party-role scheme's concepts, and one that is none of them.
ROLES = [
    NamedNode(f"{VOCAB}party-role/{name}")
    for name in ("urban", "rural", "periurban", "state", "metropolis", "no-such-role")
]


@dataclass
class TriplesSource:
    """A `Source` (ingest/source.py) that yields the triples it is given, as a curated graph."""

    triples: list[Triple]
    name: str = "facts"
    title: str = "curated facts, changed by a test"

    def inputs(self) -> list:
        return []

    def primary_sources(self) -> list[NamedNode]:
        return []

    def build(self, progress: Progress = no_progress) -> Iterator[Triple]:
        yield from self.triples


@dataclass(frozen=True)
class Change:
    """What a generated change does to the facts: triples taken away, triples added."""

    what: str
    removed: frozenset[Triple] = field(default_factory=frozenset)
    added: frozenset[Triple] = field(default_factory=frozenset)


def apply(base: list[Triple], changes: list[Change]) -> list[Triple]:
    removed = {t for c in changes for t in c.removed}
    added = [t for c in changes for t in c.added]
    kept = [t for t in base if t not in removed]
    seen = set(kept)
    return kept + [t for t in dict.fromkeys(added) if t not in seen]


# --- the data -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def facts() -> list[Triple]:
    """The bundled curated facts, as ingest builds them (what the store's facts graph holds)."""
    return list(CuratedFacts().build())


@pytest.fixture(scope="module")
def epcis(store: GraphStore) -> list[NamedNode]:
    rows = store.query(f"SELECT ?e WHERE {{ ?e a <{ALLI}EPCI> }} ORDER BY ?e LIMIT 200")
    return [row["e"] for row in rows]


@dataclass
class FullRun:
    """pySHACL over every triple of the ontology and territories graphs plus the given facts."""

    data: Graph  # the published ontology and territories graphs, as rdflib triples
    shapes: Graph

    def results(self, facts: list[Triple]) -> Report:
        subjects = {URIRef(t.subject.value) for t in facts if isinstance(t.subject, NamedNode)}
        extra = [t for t in to_rdflib(facts) if t not in self.data]
        for triple in extra:
            self.data.add(triple)
        try:
            report = read_report(results_graph(self.data, self.narrowed(subjects)))
        finally:
            for triple in extra:
                self.data.remove(triple)
        return Report([r for r in report.results if r.focus in {s.n3() for s in subjects}])

    def narrowed(self, subjects: set[URIRef]) -> Graph:
        """The shapes, those that cannot produce a result about `subjects` deactivated."""
        referred = set(self.shapes.objects())
        targeted = {s for p in TARGETS for s in self.shapes.subjects(p, None)}
        shapes = Graph()
        shapes += self.shapes
        for prefix, namespace in self.shapes.namespaces():
            shapes.bind(prefix, namespace)
        for shape in targeted - referred:
            if not self.targets_any(shape, subjects):
                shapes.add((shape, SH.deactivated, RdfLiteral(True)))
        return shapes

    def targets_any(self, shape: URIRef, subjects: set[URIRef]) -> bool:
        data, shapes = self.data, self.shapes
        for cls in shapes.objects(shape, SH.targetClass):
            classes = set(data.transitive_subjects(RDFS.subClassOf, cls))
            if any((s, RDF.type, c) in data for s in subjects for c in classes):
                return True
        if any(n in subjects for n in shapes.objects(shape, SH.targetNode)):
            return True
        for predicate in shapes.objects(shape, SH.targetSubjectsOf):
            if any((s, predicate, None) in data for s in subjects):
                return True
        for predicate in shapes.objects(shape, SH.targetObjectsOf):
            if any((None, predicate, s) in data for s in subjects):
                return True
        return False


ALLI_NS = "https://w3id.org/alliance/ontology#"


@pytest.fixture(scope="module")
def full_run(store: GraphStore) -> FullRun:
    published = [graph_iri("ontology"), graph_iri("territories")]
    triples = [t for g in published for t in store.triples(g)]
    # Of the history graph, the bodies gone since 2020 that dated facts name (Lille's 2016
    # signatory): its 360k version triples would make each full run minutes long, and no
    # shape reaches them from the facts.
    history = list(store.triples(graph_iri("territory-history")))
    former = {t.subject for t in history if t.object == NamedNode(f"{ALLI_NS}FormerEPCI")}
    triples += [t for t in history if t.subject in former]
    data = to_rdflib(triples)
    return FullRun(data, shapes_graph())


def check(store: GraphStore, full_run: FullRun, changed: list[Triple]) -> Report:
    """The gate's report on the changed facts, once proven equal to the full run's."""
    incremental = gate(TriplesSource(changed), changed, store, {FACTS: changed})
    full = full_run.results(changed)
    assert set(incremental.results) == set(full.results), (
        f"gate only: {sorted(set(incremental.results) - set(full.results))}\n"
        f"full run only: {sorted(set(full.results) - set(incremental.results))}"
    )
    return incremental


# --- strategies: changes to the facts, as triples -------------------------------------------------


def changes(facts: list[Triple], epcis: list[NamedNode]) -> st.SearchStrategy[Change]:
    def having(predicate: NamedNode) -> list[Triple]:
        return [t for t in facts if t.predicate == predicate]

    commitments = sorted(
        {
            t.subject
            for t in facts
            if t.predicate == RDF_TYPE and t.object.value.endswith("Commitment")
        },
        key=str,
    )
    drop = st.lists(st.sampled_from(facts), min_size=1, max_size=4).map(
        lambda ts: Change("drop", removed=frozenset(ts))
    )
    role = st.tuples(st.sampled_from(having(PARTY_ROLE)), st.sampled_from(ROLES)).map(
        lambda pair: Change(
            "role",
            removed=frozenset([pair[0]]),
            added=frozenset([Triple(pair[0].subject, PARTY_ROLE, pair[1])]),
        )
    )
    source = st.sampled_from(having(SOURCE)).map(lambda t: Change("source", removed=frozenset([t])))
    dates = having(DATE)
    swap = st.tuples(st.sampled_from(dates), st.sampled_from(dates)).map(
        lambda pair: Change(
            "swap dates",
            removed=frozenset(pair),
            added=frozenset(
                [
                    Triple(pair[0].subject, DATE, pair[1].object),
                    Triple(pair[1].subject, DATE, pair[0].object),
                ]
            ),
        )
    )
    non_party = st.tuples(st.sampled_from(commitments), st.sampled_from(epcis)).map(
        lambda pair: Change(
            "commitment by a non-party", added=frozenset([Triple(pair[0], COMMITTED_BY, pair[1])])
        )
    )
    retarget = st.tuples(st.sampled_from(having(PARTY)), st.sampled_from(epcis)).map(
        lambda pair: Change(
            "participation retargeted",
            removed=frozenset([pair[0]]),
            added=frozenset([Triple(pair[0].subject, PARTY, pair[1])]),
        )
    )
    return st.one_of(drop, role, source, swap, non_party, retarget)


# --- the proof ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_generated_changes_validate_as_a_full_run(
    store: GraphStore, full_run: FullRun, facts: list[Triple], epcis: list[NamedNode]
) -> None:
    @settings(
        max_examples=8,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(changes(facts, epcis), min_size=1, max_size=3))
    def run(generated: list[Change]) -> None:
        check(store, full_run, apply(facts, generated))

    run()


def first(facts: list[Triple], predicate: NamedNode, subject_part: str = "") -> Triple:
    return next(t for t in facts if t.predicate == predicate and subject_part in t.subject.value)


@pytest.mark.slow
def test_unchanged_facts_conform_in_both(store: GraphStore, full_run: FullRun, facts) -> None:
    assert not check(store, full_run, facts).results


def replaced(old: Triple, new: Triple) -> list[Change]:
    return [Change("replace", removed=frozenset([old]), added=frozenset([new]))]


@pytest.mark.slow
def test_each_kind_of_change_is_found_by_both(
    store: GraphStore, full_run: FullRun, facts: list[Triple], epcis: list[NamedNode]
) -> None:
    """One fixed change of each kind: both find the expected results (not just none)."""

    def shapes_found(changed: list[Change]) -> set[str]:
        report = check(store, full_run, apply(facts, changed))
        return {(r.source_shape or "").rsplit("#", 1)[-1].rstrip(">") for r in report.results}

    rural = first(facts, PARTY_ROLE, "brest-cob-2016/party/pays-centre-ouest-bretagne")
    urban = Triple(rural.subject, PARTY_ROLE, ROLES[0])
    assert "ReciprocityContract-ruralOrPeriurban" in shapes_found(replaced(rural, urban))

    party = first(facts, PARTY, "brest-cob-2016/party/pays-centre-ouest-bretagne")
    moved = Triple(party.subject, PARTY, epcis[0])
    assert "PartiesListedShape" in shapes_found(replaced(party, moved))

    commitment = first(facts, COMMITTED_BY).subject
    extra = Triple(commitment, COMMITTED_BY, epcis[1])
    assert "CommitmentByPartyShape" in shapes_found([Change("add", added=frozenset([extra]))])

    cited = first(facts, SOURCE, "agreement/")
    assert "HasSource" in shapes_found([Change("drop", removed=frozenset([cited]))])

    # The pact's signatures, dated before the decision that launched the instrument the pact
    # is now said to implement: the constraint reads four hops from the signature.
    signature = first(facts, DATE, "signature/")
    agreement = first(facts, NamedNode(f"{ALLI}signedAgreement"), signature.subject.value).object
    implements = Triple(
        agreement,
        NamedNode(f"{ALLI}implementsInstrument"),
        NamedNode(f"{ID}instrument/contrat-de-reciprocite"),
    )
    assert isinstance(signature.object, Literal)
    early = Triple(
        signature.subject, DATE, Literal("1900-01-01", datatype=signature.object.datatype)
    )
    changed = [*replaced(signature, early), Change("add", added=frozenset([implements]))]
    assert "SignatureAfterDecisionShape" in shapes_found(changed)


def incremental(store: GraphStore, changed: list[Triple], pending: dict) -> Report | None:
    source = TriplesSource(changed)
    context = neighbourhood(store, changed, pending=pending, own_graph=FACTS)
    ontology = list(store.triples(graph_iri("ontology")))
    return incremental_report(source, changed, store, pending, context=context, ontology=ontology)


def test_a_change_is_validated_incrementally(store: GraphStore, facts: list[Triple]) -> None:
    """The gate's fast path is taken, and agrees with validating every subject again."""
    rural = first(facts, PARTY_ROLE, "brest-cob-2016/party/pays-centre-ouest-bretagne")
    changed = apply(facts, replaced(rural, Triple(rural.subject, PARTY_ROLE, ROLES[0])))
    report = incremental(store, changed, {FACTS: changed})
    assert report is not None and report.blocking
    context = neighbourhood(store, changed, pending={FACTS: changed}, own_graph=FACTS)
    ontology = list(store.triples(graph_iri("ontology")))
    subjects = {t.subject for t in changed}
    everything = validate([*changed, *context, *ontology], focus_nodes=subjects)
    assert set(report.results) == set(everything.results)


def test_what_cannot_be_traced_is_validated_in_full(store: GraphStore, facts: list[Triple]) -> None:
    sub_class = NamedNode(str(RDFS.subClassOf))
    hierarchy = [*facts, Triple(NamedNode(f"{ALLI}Pays"), sub_class, NamedNode(f"{ALLI}State"))]
    assert incremental(store, hierarchy, {FACTS: hierarchy}) is None
    other = {FACTS: facts, graph_iri("ontology"): []}  # another source changes too
    assert incremental(store, facts, other) is None


def test_routes_of_the_project_shapes() -> None:
    routes = project_reach().routes
    assert routes is not None
    participation, party = (f"{ALLI}participation", True), (f"{ALLI}party", True)
    assert ((f"{ALLI}participation", False), (str(RDF.type), True)) in routes  # ^ then sh:class
    assert (participation, party) in routes  # the parties-listed SPARQL constraint
    assert ((f"{ALLI}signedAgreement", True), (f"{ALLI}implementsInstrument", True),
            (f"{ALLI}launchedWithin", True), (f"{DCTERMS}isPartOf", True),
            (f"{DCTERMS}date", True)) in routes  # fmt: skip


@pytest.mark.parametrize(
    "constraint",
    [
        "sh:path [ sh:zeroOrMorePath ex:p ]",
        'sh:sparql [ sh:select "SELECT $this WHERE { ?x ex:p ?y }" ]',
        'sh:sparql [ sh:select "SELECT $this WHERE { $this ?p ?y }" ]',
        "sh:closed true",
    ],
)
def test_what_the_analysis_cannot_bound(constraint: str) -> None:
    shapes = Graph().parse(
        data="@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .\n"
        f"ex:S a sh:NodeShape ; sh:targetClass ex:C ; {constraint} .",
        format="turtle",
    )
    assert reach(shapes).routes is None
    assert (
        reach(shapes).affected([("http://example.org/a", "http://example.org/p", None)], dict)
        is None
    )


def test_the_source_wrapper_is_a_source() -> None:
    source = TriplesSource([Triple(NamedNode(f"{ID}x"), RDF_TYPE, NamedNode(f"{ALLI}Pays"))])
    assert list(source.build()) == source.triples
    assert (source.name, source.inputs(), source.primary_sources()) == ("facts", [], [])
