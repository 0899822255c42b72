"""Turning a resource's statements into what its HTML page shows: names, links, sections.

Everything here produces plain strings and numbers; the template escapes them (nothing is
ever marked safe), so a label holding markup shows as text. Links follow one rule: IRIs this
server can answer for (under the public base, the vocabularies, the ontology, the shapes)
point to the local page, other http(s) IRIs point to themselves, and any other scheme
(`javascript:` is a valid IRI) is shown without a link.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from pyoxigraph import BlankNode, Literal, NamedNode

from alliance.namespaces import (
    ALLI,
    DCTERMS,
    ONTOLOGY_IRI,
    PREFIXES,
    RDF,
    SHAPES_NS,
    VOCAB,
    XSD,
    alli,
    igeo,
    skos,
)
from alliance.server.linked_data import describe
from alliance.server.linked_data.describe import Labels, Queryable, Statement, Term
from alliance.server.linked_data.mapsvg import PointMap, parse_point, point_map

SHAPES_IRI = "https://w3id.org/alliance/shapes"
#: Incoming statements listed on a page; the total is always given.
INCOMING_LIMIT = 100
#: Members listed in a members section (the largest EPCI has a few hundred communes).
MEMBERS_LIMIT = 2000
#: Incoming links that get a section of their own: (predicate, section id, title).
MEMBER_SECTIONS: list[tuple[NamedNode, str, str]] = [
    (alli.memberOf, "members", "Member communes"),
    (igeo.subdivisionDirecteDe, "subdivisions", "Subdivisions"),
    (skos.inScheme, "concepts", "Concepts in this scheme"),
]
#: Predicates shown first, in this order; the rest follow by prefixed name.
FIRST = [f"{RDF}type", *describe.LABEL_PREDICATES, f"{DCTERMS}description"]


@dataclass(frozen=True)
class Shown:
    """A term as a page shows it."""

    text: str
    href: str | None = None
    iri: str | None = None
    #: a second, smaller text: the prefixed name of a labelled IRI, a literal's datatype
    note: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class Row:
    predicate: Shown
    value: Shown
    graph: Shown | None
    sources: list[Shown]
    #: first row of its predicate (the template shows the predicate once)
    first: bool


@dataclass(frozen=True)
class IncomingRow:
    subject: Shown
    predicate: Shown
    graph: Shown | None


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    items: list[Shown]
    total: int


@dataclass(frozen=True)
class Alternate:
    label: str
    href: str
    media_type: str


@dataclass
class Page:
    iri: str
    title: str
    title_lang: str | None
    title_en: str | None
    types: list[Shown]
    rows: list[Row]
    incoming: list[IncomingRow]
    incoming_total: int
    incoming_query: str
    sections: list[Section]
    map: PointMap | None
    alternates: list[Alternate] = field(default_factory=list)
    facts: list[tuple[str, Shown]] = field(default_factory=list)


class Display:
    """Names and links for terms, given the public base and where this server is mounted."""

    def __init__(self, base: str, root: str = ""):
        self.base = base
        self.root = root
        self.labels: dict[NamedNode, Labels] = {}
        self.namespaces = sorted(
            {**PREFIXES, "id": base}.items(), key=lambda item: len(item[1]), reverse=True
        )

    def load_labels(self, source: Queryable, iris: Iterable[Term | None]) -> None:
        wanted = {t for t in iris if isinstance(t, NamedNode) and t not in self.labels}
        self.labels.update(describe.labels(source, wanted))

    def href(self, iri: str) -> str | None:
        if iri.startswith(self.base) and len(iri) > len(self.base):
            return f"{self.root}/id/{iri[len(self.base) :]}"
        if iri.startswith(VOCAB) and len(iri) > len(VOCAB):
            return f"{self.root}/vocab/{iri[len(VOCAB) :]}"
        if iri in (ONTOLOGY_IRI, ALLI):
            return f"{self.root}/ontology"
        if iri.startswith(ALLI):
            return f"{self.root}/ontology#{quote(iri[len(ALLI) :])}"
        if iri in (SHAPES_IRI, SHAPES_NS):
            return f"{self.root}/shapes"
        if iri.startswith(SHAPES_NS):
            return f"{self.root}/shapes#{quote(iri[len(SHAPES_NS) :])}"
        if iri.split(":", 1)[0].lower() in ("http", "https"):
            return iri
        return None

    def prefixed(self, iri: str) -> str:
        for prefix, namespace in self.namespaces:
            if iri.startswith(namespace) and len(iri) > len(namespace):
                return f"{prefix}:{iri[len(namespace) :]}"
        return iri

    def graph(self, graph: NamedNode | None) -> Shown | None:
        """A named graph by its short name (`territories`), the full IRI as a tooltip."""
        if graph is None:
            return None
        name = graph.value.rstrip("/").rsplit("/", 1)[-1] or graph.value
        return Shown(name, self.href(graph.value), graph.value)

    def compact(self, term: Term) -> Shown:
        """A term without its secondary text (for narrow columns)."""
        shown = self.term(term)
        return Shown(shown.text, shown.href, shown.iri, None, shown.lang)

    def term(self, term: Term | None, *, lang: str = "fr") -> Shown:
        if term is None:
            return Shown("(default graph)")
        if isinstance(term, NamedNode):
            name = self.labels.get(term)
            label = name.pick(lang) if name else None
            short = self.prefixed(term.value)
            if label:
                return Shown(label, self.href(term.value), term.value, note=short)
            return Shown(short, self.href(term.value), term.value)
        if isinstance(term, BlankNode):
            return Shown(f"_:{term.value}")
        if isinstance(term, Literal):
            datatype = term.datatype.value
            note = None
            if term.language:
                note = f"@{term.language}"
            elif datatype != f"{XSD}string":
                note = self.prefixed(datatype)
            return Shown(term.value, note=note, lang=term.language)
        return Shown(str(term))


def _order(display: Display, predicate: NamedNode) -> tuple[int, str]:
    iri = predicate.value
    rank = FIRST.index(iri) if iri in FIRST else len(FIRST)
    return rank, display.prefixed(iri)


def build_page(
    source: Queryable,
    iri: NamedNode,
    found: list[Statement],
    display: Display,
    *,
    sparql_href: str,
) -> Page:
    """Everything the resource template shows about `iri`."""
    own = describe.labels_from(found)
    graphs = {s.graph for s in found if s.graph is not None}
    primary = describe.primary_sources(source, graphs)
    # A statement's source: the resource's own dcterms:source in that graph, else the graph's.
    own_sources: dict[NamedNode | None, list[NamedNode]] = {}
    for s in found:
        if s.predicate.value == f"{DCTERMS}source" and isinstance(s.object, NamedNode):
            own_sources.setdefault(s.graph, []).append(s.object)

    sections: list[Section] = []
    part_of = describe.part_of(source, iri)
    member_lists: list[tuple[str, str, list[NamedNode], int]] = []
    for predicate, section_id, title in MEMBER_SECTIONS:
        items, total = describe.members(source, iri, predicate, limit=MEMBERS_LIMIT)
        if total:
            member_lists.append((section_id, title, items, total))
    history = describe.in_time(source, iri)
    steps = describe.timeline(source, iri)
    cited = describe.cited_sources(source, iri) if steps or _is_agreement(found) else []
    takes_part = describe.agreements_of(source, iri) if _can_take_part(found) else []
    incoming, incoming_total = describe.incoming(
        source, iri, limit=INCOMING_LIMIT, exclude=[p for p, _, _ in MEMBER_SECTIONS]
    )

    display.load_labels(
        source,
        [
            *(s.predicate for s in found),
            *(s.object for s in found),
            *graphs,
            *(src for sources in primary.values() for src in sources),
            *(t for t, types in part_of for t in [t, *types]),
            *(m for _, _, items, _ in member_lists for m in items),
            *(i.subject for i in incoming),
            *(i.predicate for i in incoming),
            *(i.graph for i in incoming),
            *(t.item for t in history),
            *(s.item for s in steps),
            *(c.source for c in cited),
            *(t for p in takes_part for t in (p.agreement, p.kind, p.via) if t is not None),
        ],
    )

    rows: list[Row] = []
    previous = None
    ordered = sorted(
        found,
        key=lambda s: (_order(display, s.predicate), display.term(s.object).text.casefold()),
    )
    for s in ordered:
        sources = own_sources.get(s.graph) or primary.get(s.graph, [])
        rows.append(
            Row(
                predicate=display.term(s.predicate),
                value=display.term(s.object),
                graph=display.graph(s.graph),
                sources=[display.compact(src) for src in sources],
                first=s.predicate != previous,
            )
        )
        previous = s.predicate

    if part_of:
        items = []
        direct = {s.object for s in found}
        # Nearest first (EPCI, département), then what they lie in (région).
        part_of.sort(key=lambda item: (item[0] not in direct, display.term(item[0]).text))
        for territory, types in part_of:
            shown = display.term(territory)
            kinds = ", ".join(display.term(t).text for t in _most_specific(types))
            items.append(Shown(shown.text, shown.href, shown.iri, note=kinds or shown.note))
        sections.append(Section("part-of", "Part of", items, len(items)))
    for section_id, title, items, total in member_lists:
        shown = sorted((display.term(m) for m in items), key=lambda s: s.text.casefold())
        sections.append(Section(section_id, title, shown, total))

    for section_id, title, shown_items in (
        ("in-time", "In time", [_in_time(display, t) for t in history]),
        ("timeline", "Timeline", [_step(display, s) for s in steps]),
        ("sources", "Sources", [_cited(display, c) for c in cited]),
        ("agreements", "Agreements", [_takes_part(display, p) for p in takes_part]),
    ):
        if shown_items:
            sections.append(Section(section_id, title, shown_items, len(shown_items)))

    wkt = describe.point(found, source, iri)
    position = parse_point(wkt) if wkt else None
    title, title_lang = own.pick_lang("fr")
    title = title or display.prefixed(iri.value)
    title_en = own.en if own.en and own.en != title else None
    types = [display.term(s.object) for s in found if s.predicate.value == f"{RDF}type"]
    return Page(
        iri=iri.value,
        title=title,
        title_lang=title_lang or None,
        title_en=title_en,
        types=_unique(types),
        rows=rows,
        incoming=[
            IncomingRow(display.term(i.subject), display.term(i.predicate), display.graph(i.graph))
            for i in incoming
        ],
        incoming_total=incoming_total,
        incoming_query=sparql_href,
        sections=sections,
        map=point_map(*position) if position else None,
    )


def _in_time(display: Display, line: describe.InTime) -> Shown:
    """A version, change or perimeter of the territory, with its dates in the note."""
    span = f"{line.start} – {line.end or '…'}" if line.start else None
    if line.what == "version":
        note = f"version in force {span}" if span else "version"
    elif line.what in ("predecessor", "successor"):
        note = f"{line.what} on {line.on}: {line.kind}" if line.on else line.what
    else:
        when = f"on {line.on}" if line.on else span or "undated"
        count = f"{line.count} communes" if line.count else "communes unknown"
        note = f"perimeter {when}: {count}" + (f" ({line.basis})" if line.basis else "")
    shown = display.term(line.item)
    return Shown(shown.text, shown.href, shown.iri, note=note)


BASIS_WORDS = {"stated": "stated", "reported-view": "a reported view", "inferred": "inferred"}


def _step(display: Display, step: describe.Step) -> Shown:
    """A milestone or signature, its date, kind and basis in the note."""
    basis = f", {BASIS_WORDS.get(step.basis, step.basis)}" if step.basis else ""
    shown = display.term(step.item)
    return Shown(shown.text, shown.href, shown.iri, note=f"{step.date}: {step.kind}{basis}")


def _cited(display: Display, cited: describe.Cited) -> Shown:
    """A source document, with what it supports and on what footing."""
    where = ", ".join(x for x in (cited.publisher, cited.date) if x) or "undated"
    kinds = " / ".join(BASIS_WORDS.get(b, b) for b in cited.bases) or "stated"
    plural = "s" if cited.statements > 1 else ""
    note = f"{where}; {cited.statements} statement{plural}: {kinds}"
    shown = display.term(cited.source)
    return Shown(shown.text, shown.href, shown.iri, note=note)


def _takes_part(display: Display, part: describe.TakesPart) -> Shown:
    """An agreement the territory takes part in, directly or through a party it belongs to."""
    how = f"through {display.term(part.via).text}" if part.via is not None else "directly"
    kind = display.term(part.kind).text
    note = f"{kind}, {part.date or 'undated'}, {how}"
    shown = display.term(part.agreement)
    return Shown(shown.text, shown.href, shown.iri, note=note)


#: Types whose resources can take part in agreements, directly or through membership.
PARTY_TYPES = {
    f"{ALLI}EPCI", f"{ALLI}FormerEPCI", f"{ALLI}Pays", f"{ALLI}ParcNaturelRegional",
    f"{ALLI}Massif", f"{ALLI}State", f"{ALLI}AssociationOfAuthorities",
    "http://rdf.insee.fr/def/geo#Commune", "http://rdf.insee.fr/def/geo#Departement",
    "http://rdf.insee.fr/def/geo#Region",
}  # fmt: skip


def _types(found: list[Statement]) -> set[str]:
    return {s.object.value for s in found if s.predicate.value == f"{RDF}type"}


def _can_take_part(found: list[Statement]) -> bool:
    return bool(_types(found) & PARTY_TYPES)  # every EPCI is also typed alli:EPCI


def _is_agreement(found: list[Statement]) -> bool:
    agreements = {"ReciprocityContract", "MetropolitanPact", "MetropolitanInnovationPact",
                  "CooperationAgreement", "PilotPair"}  # fmt: skip
    return any(t.removeprefix(ALLI) in agreements for t in _types(found))


def _unique(items: list[Shown]) -> list[Shown]:
    seen: dict[Shown, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


#: Types too general to name a territory when a more specific one is there.
GENERAL_TYPES = {
    f"{ALLI}EPCI",
    f"{ALLI}Territory",
    "http://www.w3.org/ns/org#FormalOrganization",
    "http://rdf.insee.fr/def/geo#Intercommunalite",
}


def _most_specific(types: list[NamedNode]) -> list[NamedNode]:
    specific = [t for t in types if t.value not in GENERAL_TYPES]
    return (specific or types)[:1]
