"""Turning checked rows into triples: the IRIs the model mints, and one method per table."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from pyoxigraph import Literal, NamedNode, Triple

from alliance.ingest.curated.checks import Facts
from alliance.ingest.curated.reading import Row
from alliance.ingest.curated.schema import ACTOR_KINDS, AGREEMENT_KINDS, RESOURCE_PREFIXES
from alliance.namespaces import (
    VOCAB,
    alli,
    dcterms,
    foaf,
    idns,
    org,
    rdf,
    rdfs,
    schema,
    xsd,
)


def concept(scheme: str, name: str) -> NamedNode:
    return NamedNode(f"{VOCAB}{scheme}/{name}")


def agent_iri(ref: str) -> NamedNode:
    """`epci:SIREN` → id:epci/SIREN (and likewise); a curated actor's id → id:actor/{id}."""
    prefix, sep, code = ref.partition(":")
    return idns[f"{prefix}/{code}"] if sep else idns[f"actor/{ref}"]


def agent_slug(ref: str) -> str:
    """The last IRI segment of a participation or signature: `epci:200046977` → epci-200046977."""
    prefix, sep, code = ref.partition(":")
    return f"{prefix}-{code.lower()}" if sep else ref


def part_iri(decision: str, number: str) -> NamedNode:
    return idns[f"decision/{decision}/part/{int(number)}"]


# --- building -------------------------------------------------------------------------------------


def fr(text: str) -> Literal:
    return Literal(text, language="fr")


def en(text: str) -> Literal:
    return Literal(text, language="en")


def xsd_date(text: str) -> Literal:
    return Literal(text, datatype=xsd.date)


def partial_date(text: str) -> Literal:
    """A date as precise as its source: xsd:date, xsd:gYearMonth or xsd:gYear."""
    datatype = {10: xsd.date, 7: xsd.gYearMonth, 4: xsd.gYear}[len(text)]
    return Literal(text, datatype=datatype)


def resource_iri(ref: str) -> NamedNode:
    """`agreement:ID` → id:agreement/ID (and likewise); `epci:SIREN` → id:epci/SIREN."""
    prefix, _, ident = ref.partition(":")
    if prefix in RESOURCE_PREFIXES:
        return idns[f"{RESOURCE_PREFIXES[prefix][1]}/{ident}"]
    return agent_iri(ref)


def shortened(text: str, limit: int = 80) -> str:
    """A statement cut to a label's length, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class Emitter:
    """Turns checked facts into triples, one method per table."""

    def __init__(self, facts: Facts):
        self.facts = facts

    def link(
        self, subject: NamedNode, predicate: NamedNode, objects: Iterable[NamedNode]
    ) -> Iterator[Triple]:
        for obj in objects:
            yield Triple(subject, predicate, obj)

    def common(self, subject: NamedNode, row: Row, kind: NamedNode) -> Iterator[Triple]:
        """Type, labels, descriptions and sources: what every curated resource has."""
        yield Triple(subject, rdf.type, kind)
        if "label_fr" in row.cells:
            yield Triple(subject, rdfs.label, fr(row.one("label_fr")))
            yield Triple(subject, rdfs.label, en(row.one("label_en")))
        if "description_fr" in row.cells:
            yield Triple(subject, dcterms.description, fr(row.one("description_fr")))
            yield Triple(subject, dcterms.description, en(row.one("description_en")))
        yield from self.link(subject, dcterms.source, map(self.source, row.many("source")))
        yield from self.claim_basis(subject, row)

    def claim_basis(self, subject: NamedNode, row: Row) -> Iterator[Triple]:
        """What the row's claim rests on; an inference carries its reason, a view its holder."""
        basis = row.one("basis") or "stated"
        yield Triple(subject, alli.basis, concept("claim-basis", basis))
        if row.one("reason_fr"):
            yield Triple(subject, alli.basisReason, fr(row.one("reason_fr")))
        if row.one("reason_en"):
            yield Triple(subject, alli.basisReason, en(row.one("reason_en")))
        yield from self.refs(subject, alli.viewOf, row, "view_of", "person")

    @staticmethod
    def source(slug: str) -> NamedNode:
        return idns[f"source/{slug}"]

    def concepts(
        self, subject: NamedNode, predicate: NamedNode, row: Row, column: str, scheme: str
    ) -> Iterator[Triple]:
        for name in row.many(column):
            yield Triple(subject, predicate, concept(scheme, name))

    def refs(
        self, subject: NamedNode, predicate: NamedNode, row: Row, column: str, base: str
    ) -> Iterator[Triple]:
        for slug in row.many(column):
            yield Triple(subject, predicate, idns[f"{base}/{slug}"])

    def date(
        self,
        subject: NamedNode,
        row: Row,
        column: str = "date",
        predicate: NamedNode = dcterms.date,
    ) -> Iterator[Triple]:
        if row.one(column):
            yield Triple(subject, predicate, partial_date(row.one(column)))

    def party_label(self, ref: str, language: str) -> str:
        """A party's name: its curated label, or its official name in the reference data."""
        prefix, sep, code = ref.partition(":")
        codes = self.facts.codes
        if not sep:
            return self.facts.index["actors"][ref].one(f"label_{language}")
        if prefix == "epci":
            return (codes.epci.get(code) or codes.former_epci[code])[0]
        names = {"commune": codes.communes, "departement": codes.departements}
        return names.get(prefix, codes.regions)[code]

    def agreement_label(self, slug: str, language: str) -> str:
        return self.facts.index["agreements"][slug].one(f"label_{language}")

    # one method per table, named after it ------------------------------------------------

    def sources(self, row: Row) -> Iterator[Triple]:
        doc = self.source(row.one("id"))
        yield Triple(doc, rdf.type, foaf.Document)
        yield Triple(doc, dcterms["title"], fr(row.one("title")))  # .title is a str method
        yield Triple(doc, rdfs.label, fr(row.one("title")))
        yield Triple(doc, rdfs.label, en(row.one("title_en")))
        if row.one("publisher"):
            yield Triple(doc, dcterms.publisher, Literal(row.one("publisher")))
        yield from self.date(doc, row)
        if row.one("url"):
            yield Triple(doc, foaf.page, NamedNode(row.one("url")))
        yield from self.refs(doc, dcterms.references, row, "references", "source")

    def actors(self, row: Row) -> Iterator[Triple]:
        actor = agent_iri(row.one("id"))
        cls, territory_kind = ACTOR_KINDS[row.one("kind")]
        yield from self.common(actor, row, cls)
        if territory_kind:
            yield Triple(actor, alli.territoryKind, concept("territory-kind", territory_kind))
        yield from self.link(actor, alli.inDepartement, map(agent_iri, row.many("departements")))

    def posts(self, row: Row) -> Iterator[Triple]:
        post = idns[f"post/{row.one('id')}"]
        yield from self.common(post, row, org.Post)
        yield Triple(post, org.postIn, agent_iri(row.one("post_in")))

    def people(self, row: Row) -> Iterator[Triple]:
        person = idns[f"person/{row.one('id')}"]
        yield from self.common(person, row, foaf.Person)
        yield Triple(person, foaf.name, Literal(row.one("name")))
        yield Triple(person, rdfs.label, fr(row.one("name")))
        yield Triple(person, rdfs.label, en(row.one("name")))
        yield from self.refs(person, org.holds, row, "posts", "post")

    def objectives(self, row: Row) -> Iterator[Triple]:
        objective = idns[f"objective/{row.one('id')}"]
        yield from self.common(objective, row, alli.PolicyObjective)
        yield from self.refs(objective, alli.facilitatedBy, row, "facilitated_by", "instrument")

    def decisions(self, row: Row) -> Iterator[Triple]:
        decision = idns[f"decision/{row.one('id')}"]
        yield from self.common(decision, row, alli.Decision)
        yield from self.date(decision, row)
        if row.one("location"):
            yield Triple(decision, schema.location, agent_iri(row.one("location")))
        yield from self.refs(decision, rdfs.seeAlso, row, "see_also", "source")

    def decision_parts(self, row: Row) -> Iterator[Triple]:
        part = part_iri(row.one("decision"), row.one("number"))
        yield from self.common(part, row, alli.DecisionPart)
        yield Triple(part, dcterms.isPartOf, idns[f"decision/{row.one('decision')}"])
        number = Literal(str(int(row.one("number"))), datatype=xsd.integer)
        yield Triple(part, alli.partNumber, number)

    def instruments(self, row: Row) -> Iterator[Triple]:
        instrument = idns[f"instrument/{row.one('id')}"]
        yield from self.common(instrument, row, alli.PolicyInstrument)
        yield Triple(instrument, alli.instrumentKind, concept("instrument-kind", row.one("kind")))
        yield from self.concepts(instrument, alli.status, row, "status", "status")
        yield from self.refs(instrument, alli.launchedBy, row, "launched_by", "decision")
        if row.one("launched_within_part"):
            part = part_iri(row.one("launched_by"), row.one("launched_within_part"))
            yield Triple(instrument, alli.launchedWithin, part)
        yield from self.concepts(
            instrument, alli.cooperationDomain, row, "cooperation_domains", "cooperation-domain"
        )
        yield from self.refs(
            instrument,
            alli.generalisationEnvisagedIn,
            row,
            "generalisation_envisaged_in",
            "agreement",
        )
        yield from self.concepts(instrument, alli.suitedFor, row, "suited_for", "territory-kind")
        yield from self.refs(instrument, alli.serves, row, "serves", "objective")
        if row.one("legal_basis_fr"):
            yield Triple(instrument, alli.legalBasis, fr(row.one("legal_basis_fr")))
        if row.one("legal_basis_en"):
            yield Triple(instrument, alli.legalBasis, en(row.one("legal_basis_en")))

    def agreements(self, row: Row) -> Iterator[Triple]:
        agreement = idns[f"agreement/{row.one('id')}"]
        yield from self.common(agreement, row, AGREEMENT_KINDS[row.one("kind")])
        yield from self.date(agreement, row)
        yield from self.concepts(agreement, alli.status, row, "status", "status")
        yield from self.refs(
            agreement, alli.implementsInstrument, row, "implements_instrument", "instrument"
        )
        yield from self.concepts(
            agreement, alli.cooperationDomain, row, "cooperation_domains", "cooperation-domain"
        )
        yield from self.refs(agreement, alli.serves, row, "serves", "objective")
        yield from self.refs(agreement, rdfs.seeAlso, row, "see_also", "source")
        yield from self.refs(agreement, alli.follows, row, "follows", "agreement")

    def parties(self, row: Row) -> Iterator[Triple]:
        slug, party = row.one("agreement"), row.one("party")
        agreement = idns[f"agreement/{slug}"]
        participation = idns[f"agreement/{slug}/party/{agent_slug(party)}"]
        yield Triple(agreement, alli.hasParty, agent_iri(party))
        yield Triple(agreement, alli.participation, participation)
        yield from self.common(participation, row, alli.Participation)
        yield Triple(participation, alli.party, agent_iri(party))
        yield Triple(participation, alli.partyRole, concept("party-role", row.one("role")))
        of_fr, of_en = self.agreement_label(slug, "fr"), self.agreement_label(slug, "en")
        label_fr = f"{self.party_label(party, 'fr')}, partie à « {of_fr} »"
        label_en = f"{self.party_label(party, 'en')}, party to “{of_en}”"
        yield Triple(participation, rdfs.label, fr(label_fr))
        yield Triple(participation, rdfs.label, en(label_en))

    def events(self, row: Row) -> Iterator[Triple]:
        event = idns[f"event/{row.one('id')}"]
        yield from self.common(event, row, alli.SigningCeremony)
        yield from self.date(event, row)
        if row.one("location"):
            yield Triple(event, schema.location, agent_iri(row.one("location")))
        yield from self.refs(event, alli.inPresenceOf, row, "in_presence_of", "person")

    def signatures(self, row: Row) -> Iterator[Triple]:
        slug, party = row.one("agreement"), row.one("on_behalf_of")
        signature = idns[f"agreement/{slug}/signature/{agent_slug(party)}"]
        yield from self.common(signature, row, alli.Signature)
        yield Triple(signature, alli.signedAgreement, idns[f"agreement/{slug}"])
        yield Triple(signature, alli.signedOnBehalfOf, agent_iri(party))
        yield from self.refs(signature, alli.signedBy, row, "signed_by", "person")
        yield from self.refs(signature, alli.signatoryPost, row, "signatory_post", "post")
        yield from self.date(signature, row)
        yield from self.refs(signature, alli.atEvent, row, "event", "event")
        label_fr = f"Signature de « {self.agreement_label(slug, 'fr')} » pour "
        label_en = f"Signature of “{self.agreement_label(slug, 'en')}” on behalf of "
        yield Triple(signature, rdfs.label, fr(label_fr + self.party_label(party, "fr")))
        yield Triple(signature, rdfs.label, en(label_en + self.party_label(party, "en")))

    def commitments(self, row: Row) -> Iterator[Triple]:
        commitment = idns[f"commitment/{row.one('id')}"]
        yield from self.common(commitment, row, alli.Commitment)
        yield Triple(commitment, alli.inAgreement, idns[f"agreement/{row.one('agreement')}"])
        yield Triple(commitment, alli.statement, fr(row.one("statement_fr")))
        yield Triple(commitment, alli.statement, en(row.one("statement_en")))
        yield from self.link(commitment, alli.committedBy, map(agent_iri, row.many("committed_by")))
        yield from self.link(commitment, alli.committedTo, map(agent_iri, row.many("committed_to")))
        yield from self.concepts(
            commitment, alli.cooperationDomain, row, "cooperation_domains", "cooperation-domain"
        )
        yield from self.refs(commitment, alli.serves, row, "serves", "objective")
        for other in row.many("reciprocal_of"):  # mutual: one side written is enough
            yield Triple(commitment, alli.reciprocalOf, idns[f"commitment/{other}"])
            yield Triple(idns[f"commitment/{other}"], alli.reciprocalOf, commitment)

    def milestones(self, row: Row) -> Iterator[Triple]:
        milestone = idns[f"milestone/{row.one('id')}"]
        yield from self.common(milestone, row, alli.Milestone)
        yield Triple(milestone, alli.milestoneOf, idns[f"agreement/{row.one('agreement')}"])
        yield Triple(milestone, alli.milestoneKind, concept("milestone-kind", row.one("kind")))
        yield from self.date(milestone, row)
        if row.one("location"):
            yield Triple(milestone, schema.location, agent_iri(row.one("location")))
        yield from self.refs(milestone, alli.involves, row, "people", "person")

    def amounts(self, row: Row) -> Iterator[Triple]:
        amount = idns[f"amount/{row.one('id')}"]
        yield from self.common(amount, row, alli.MonetaryAmount)
        yield Triple(amount, alli.amountOf, resource_iri(row.one("about")))
        yield Triple(amount, schema.value, Literal(row.one("value"), datatype=xsd.decimal))
        yield Triple(amount, schema.currency, Literal(row.one("currency")))
        yield Triple(amount, alli.referenceYear, Literal(row.one("year"), datatype=xsd.gYear))

    def claims(self, row: Row) -> Iterator[Triple]:
        claim = idns[f"claim/{row.one('id')}"]
        yield from self.common(claim, row, alli.Claim)
        yield from self.link(claim, alli.claimAbout, map(resource_iri, row.many("about")))
        yield Triple(claim, alli.claimStatement, fr(row.one("statement_fr")))
        yield Triple(claim, alli.claimStatement, en(row.one("statement_en")))
        yield from self.date(claim, row)
        yield Triple(claim, rdfs.label, en(shortened(row.one("statement_en"))))
        yield Triple(claim, rdfs.label, fr(shortened(row.one("statement_fr"))))

    def perimeters(self, row: Row) -> Iterator[Triple]:
        territory = row.one("territory")
        composition = idns[f"actor/{territory}/composition/{row.one('id')}"]
        yield from self.common(composition, row, alli.Composition)
        yield Triple(composition, alli.compositionOf, idns[f"actor/{territory}"])
        members = row.many("members")
        yield from self.link(composition, alli.hasMemberTerritory, map(agent_iri, members))
        if not members:
            yield Triple(composition, alli.perimeterUnknown, Literal("true", datatype=xsd.boolean))
        if row.one("member_count"):
            count = Literal(row.one("member_count"), datatype=xsd.integer)
            yield Triple(composition, alli.memberCount, count)
        yield from self.date(composition, row, "from", alli.since)
        yield from self.date(composition, row, "until", alli.until)
        yield from self.date(composition, row, "describes", alli.describesPeriod)

    def tenures(self, row: Row) -> Iterator[Triple]:
        person, post = row.one("person"), row.one("post")
        tail = f"{row.one('from') or 'undated'}/{row.many('source')[0]}"
        tenure = idns[f"person/{person}/tenure/{post}/{tail}"]
        yield from self.common(tenure, row, alli.Tenure)
        yield Triple(tenure, alli.heldBy, idns[f"person/{person}"])
        yield Triple(tenure, alli.ofPost, idns[f"post/{post}"])
        yield from self.date(tenure, row, "from", alli.since)
        yield from self.date(tenure, row, "until", alli.until)
        name = self.facts.index["people"][person].one("name")
        post_row = self.facts.index["posts"][post]
        span = f"{row.one('from') or '?'} – {row.one('until') or '…'}"
        yield Triple(tenure, rdfs.label, fr(f"{name}, {post_row.one('label_fr')} ({span})"))
        yield Triple(tenure, rdfs.label, en(f"{name}, {post_row.one('label_en')} ({span})"))

    def for_table(self, name: str) -> Callable[[Row], Iterator[Triple]]:
        """The method that turns a row of table `name` into triples."""
        return {
            "sources": self.sources,
            "actors": self.actors,
            "posts": self.posts,
            "people": self.people,
            "objectives": self.objectives,
            "decisions": self.decisions,
            "decision-parts": self.decision_parts,
            "instruments": self.instruments,
            "agreements": self.agreements,
            "parties": self.parties,
            "events": self.events,
            "signatures": self.signatures,
            "commitments": self.commitments,
            "milestones": self.milestones,
            "amounts": self.amounts,
            "claims": self.claims,
            "perimeters": self.perimeters,
            "tenures": self.tenures,
        }[name]
