"""The curated facts: the bundled tables build into the graph the model promises, and broken
tables are refused with problems located where a curator would look (file, row, column)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyoxigraph import Quad, Store

from alliance.ingest.curated import FACTS_DIR, TABLES, CuratedFacts
from alliance.ingest.source import SourceError
from alliance.namespaces import sparql_prefixes

METROPOLISES = {
    "200054807",  # Aix-Marseille-Provence
    "243300316",  # Bordeaux
    "242900314",  # Brest
    "200054781",  # Grand Paris
    "200040715",  # Grenoble
    "245900410",  # Lille, the body of 2016 (merged into 200093201 in 2020)
    "200046977",  # Lyon
    "243400017",  # Montpellier
    "245400676",  # Nancy
    "244400404",  # Nantes
    "200030195",  # Nice
    "243500139",  # Rennes
    "200023414",  # Rouen
    "246700488",  # Strasbourg
    "243100518",  # Toulouse
}
ID = "https://w3id.org/alliance/id/"


@pytest.fixture(scope="module")
def store() -> Store:
    store = Store()
    store.extend(Quad(t.subject, t.predicate, t.object) for t in CuratedFacts().build())
    return store


def select(store: Store, query: str) -> list[tuple[str, ...]]:
    """Rows of a SELECT as tuples of plain values."""
    return [tuple(term.value for term in row) for row in store.query(sparql_prefixes() + query)]


# --- the bundled facts -------------------------------------------------------------------------


def test_bundled_facts_build_without_problems() -> None:
    source = CuratedFacts()
    triples = list(source.build())
    assert len(triples) == len(set(triples)) > 500
    assert [p.name for p in source.inputs()] == [t.file for t in TABLES]
    primary = [n.value for n in source.primary_sources()]
    assert primary == sorted(primary) and f"{ID}source/lab-periurbain-reciprocite" in primary
    listed = (FACTS_DIR / "sources.csv").read_text(encoding="utf-8")
    assert all(f"\n{iri.removeprefix(ID + 'source/')}," in listed for iri in primary)


def test_four_pilot_pairs_each_pair_an_urban_and_a_rural_party(store: Store) -> None:
    rows = select(
        store,
        """SELECT ?contract ?urban ?rural WHERE {
             ?contract a alli:PilotPair ;
                alli:status vocab:status\\/pilot ;
                alli:implementsInstrument id:instrument\\/contrat-de-reciprocite ;
                alli:participation ?u , ?r .
             ?u alli:partyRole vocab:party-role\\/urban ; alli:party ?urban .
             ?r alli:partyRole vocab:party-role\\/rural ; alli:party ?rural .
             ?contract alli:hasParty ?urban , ?rural .
           }""",
    )
    pairs = {(urban.removeprefix(ID), rural.removeprefix(ID)) for _, urban, rural in rows}
    assert pairs == {
        ("epci/200046977", "actor/pays-d-aurillac"),
        ("epci/242900314", "actor/pays-centre-ouest-bretagne"),
        ("epci/243100518", "actor/massif-des-pyrenees"),
        ("epci/247100290", "actor/parc-naturel-regional-du-morvan"),
    }
    assert len({contract for contract, _, _ in rows}) == len(rows) == 4
    counts = select(
        store,
        """SELECT ?contract (COUNT(?p) AS ?n) WHERE {
             ?contract a alli:PilotPair ; alli:participation ?p } GROUP BY ?contract""",
    )
    assert {n for _, n in counts} == {"2"}
    contracts = select(store, "SELECT ?c WHERE { ?c a alli:PilotPair , alli:ReciprocityContract }")
    assert contracts == []  # a designated pair is not a signed contract


def test_fifteen_metropolises_signed_the_pact(store: Store) -> None:
    rows = select(
        store,
        """SELECT DISTINCT ?body ?date ?place WHERE {
             ?s alli:signedAgreement id:agreement\\/pacte-etat-metropoles ;
                alli:signedOnBehalfOf ?body ; dcterms:date ?date ; alli:atEvent ?e ;
                alli:signatoryPost/org:postIn ?body .
             ?e schema:location ?place .
             id:agreement\\/pacte-etat-metropoles alli:participation ?p .
             ?p alli:party ?body ; alli:partyRole vocab:party-role\\/metropolis .
           }""",
    )
    assert {body.removeprefix(f"{ID}epci/") for body, _, _ in rows} == METROPOLISES
    assert {(date, place) for _, date, place in rows} == {("2016-07-06", f"{ID}commune/69123")}
    named = select(
        store,
        """SELECT ?body ?name ?post WHERE {
             ?s alli:signedAgreement id:agreement\\/pacte-etat-metropoles ;
                alli:signedOnBehalfOf ?body ; alli:signedBy/foaf:name ?name ;
                alli:signatoryPost/rdfs:label ?post . FILTER(lang(?post) = "fr") }""",
    )
    assert set(named) == {
        (f"{ID}actor/etat", "Manuel Valls", "Premier ministre"),
        (f"{ID}actor/france-urbaine", "Jean-Luc Moudenc", "Présidence de France urbaine"),
    }


def test_cir_decision_date_and_part_three(store: Store) -> None:
    rows = select(
        store,
        """SELECT ?date ?n ?label WHERE {
             id:instrument\\/contrat-de-reciprocite alli:launchedBy ?d ; alli:launchedWithin ?part .
             ?d a alli:Decision ; dcterms:date ?date .
             ?part a alli:DecisionPart ; dcterms:isPartOf ?d ; alli:partNumber ?n ;
                rdfs:label ?label .
             FILTER(?d = id:decision\\/cir-2015-03-13 && lang(?label) = "en") }""",
    )
    assert len(rows) == 1
    date, number, label = rows[0]
    assert (date, number) == ("2015-03-13", "3")
    assert "networking territories" in label


def test_four_cooperation_domains(store: Store) -> None:
    rows = select(
        store,
        """SELECT ?domain WHERE {
             id:instrument\\/contrat-de-reciprocite alli:cooperationDomain ?domain }""",
    )
    assert {d.rsplit("/", 1)[1] for (d,) in rows} == {
        "short-food-circuits",
        "telemedicine",
        "distance-learning",
        "waste-treatment-recovery",
    }


def test_persons_present_without_signing(store: Store) -> None:
    rows = select(
        store,
        """SELECT ?name WHERE {
             ?event a alli:SigningCeremony ; alli:inPresenceOf ?person .
             ?person foaf:name ?name .
             FILTER NOT EXISTS { ?signature alli:signedBy ?person } }""",
    )
    assert {name for (name,) in rows} == {"Jean-Michel Baylet", "Estelle Grelier"}


def test_every_fact_has_a_source_and_bilingual_labels(store: Store) -> None:
    unsourced = select(
        store,
        "SELECT ?s WHERE { ?s a ?c . FILTER(?c != foaf:Document) "
        "FILTER NOT EXISTS { ?s dcterms:source ?d } }",
    )
    assert unsourced == []
    for lang in ("fr", "en"):
        unlabelled = select(
            store,
            f"SELECT ?s WHERE {{ ?s a ?c . FILTER NOT EXISTS {{ ?s rdfs:label ?l . "
            f'FILTER(lang(?l) = "{lang}") }} }}',
        )
        assert unlabelled == []


def test_pact_commitments_and_further_sources(store: Store) -> None:
    rows = select(
        store,
        """SELECT ?c (COUNT(DISTINCT ?by) AS ?n) WHERE {
             ?c alli:inAgreement id:agreement\\/pacte-etat-metropoles ; alli:committedBy ?by ;
                alli:statement ?fr , ?en . FILTER(lang(?fr) = "fr" && lang(?en) = "en") }
           GROUP BY ?c""",
    )
    assert sorted(int(n) for _, n in rows) == [1, 15, 16, 16]
    linked = store.query(  # reciprocity, the objective, the further sources, the pôles
        sparql_prefixes() + "ASK { ?a alli:reciprocalOf ?b . ?b alli:reciprocalOf ?a . "
        "?c alli:serves id:objective\\/alliance-des-territoires ; a alli:Commitment . "
        "id:source\\/lab-periurbain-reciprocite dcterms:references ?doc , ?kit . "
        "id:agreement\\/pacte-etat-metropoles rdfs:seeAlso ?doc . "
        "id:decision\\/cir-2015-03-13 rdfs:seeAlso ?kit . "
        "id:objective\\/alliance-des-territoires alli:facilitatedBy ?pole . "
        "?pole alli:instrumentKind vocab:instrument-kind\\/metropolitan-pole }"
    )
    assert bool(linked)


# --- broken inputs ------------------------------------------------------------------------------


def replace(folder: Path, file: str, old: str, new: str) -> int:
    """Replace `old` on the one line that holds it; return that line's number (= its row here,
    since the bundled tables hold no line breaks inside cells)."""
    path = folder / file
    lines = path.read_text(encoding="utf-8").split("\n")
    hits = [i for i, line in enumerate(lines) if old in line]
    assert len(hits) == 1, f"{old!r} is not on exactly one line of {file}"
    lines[hits[0]] = lines[hits[0]].replace(old, new, 1)
    path.write_text("\n".join(lines), encoding="utf-8")
    return hits[0] + 1


def append(folder: Path, file: str, line: str) -> int:
    """Append a line; return its row number."""
    path = folder / file
    text = path.read_text(encoding="utf-8")
    path.write_text(text + line + "\n", encoding="utf-8")
    return len(text.rstrip("\n").split("\n")) + 1


def to_latin1(folder: Path, file: str, old: str) -> int:
    """Re-encode the line holding `old` in Latin-1, as an old spreadsheet export would."""
    path = folder / file
    lines = path.read_bytes().split(b"\n")
    hits = [i for i, line in enumerate(lines) if old.encode() in line]
    lines[hits[0]] = lines[hits[0]].decode("utf-8").encode("latin-1", errors="replace")
    path.write_bytes(b"\n".join(lines))
    return hits[0] + 1


@dataclass(frozen=True)
class Case:
    """One thing broken in a copy of the bundled tables, and the problem that must name it."""

    break_it: Callable[[Path], int]  # returns the row it broke
    file: str
    field: str | None
    message: str


PILOT = "contrat-reciprocite-lyon-aurillac"
CASES = {
    "unknown party": Case(
        lambda d: replace(d, "parties.csv", ",pays-d-aurillac,", ",pays-d-aurilac,"),
        "parties.csv",
        "party",
        "unknown party 'pays-d-aurilac'",
    ),
    "bad SIREN": Case(
        lambda d: replace(d, "parties.csv", "epci:247100290", "epci:24710029"),
        "parties.csv",
        "party",
        "'24710029' is not a SIREN: expected 9 digits",
    ),
    "SIREN not in the reference data": Case(
        lambda d: replace(d, "parties.csv", "epci:247100290", "epci:999999999"),
        "parties.csv",
        "party",
        "no EPCI with SIREN 999999999 in the reference territories",
    ),
    "signature before the decision that created the instrument": Case(
        lambda d: append(
            d,
            "signatures.csv",
            f"{PILOT},epci:200046977,,,2014-06-01,,lab-periurbain-reciprocite,,,,,",
        ),
        "signatures.csv",
        "date",
        "signature dated 2014-06-01, before the decision 'cir-2015-03-13' (2015-03-13)",
    ),
    "unknown cooperation domain": Case(
        lambda d: replace(d, "instruments.csv", ";telemedicine;", ";telemedecine;"),
        "instruments.csv",
        "cooperation_domains",
        "unknown concept 'telemedecine' in vocab:cooperation-domain",
    ),
    "malformed row: extra cell": Case(
        lambda d: replace(d, "parties.csv", ",pays-d-aurillac,rural,", ",pays-d-aurillac,rural,x,"),
        "parties.csv",
        None,
        "malformed row: it has 10 cells but the header has 9",
    ),
    "malformed row: unclosed quote": Case(
        lambda d: replace(d, "parties.csv", ",pays-d-aurillac,", ',"pays-d-aurillac,'),
        "parties.csv",
        None,
        "unclosed or stray double quote",
    ),
    "missing source": Case(
        lambda d: replace(d, "objectives.csv", ",lab-periurbain-reciprocite,", ",,"),
        "objectives.csv",
        "source",
        "every row needs a source; expected a list of the id of a row of sources.csv",
    ),
    "unknown source": Case(
        lambda d: replace(d, "objectives.csv", ",lab-periurbain-reciprocite,", ",lab-periurbain,"),
        "objectives.csv",
        "source",
        "unknown id 'lab-periurbain': no row of sources.csv has this id",
    ),
    "unknown party role": Case(
        lambda d: replace(
            d, "parties.csv", ",pays-d-aurillac,rural,", ",pays-d-aurillac,countryside,"
        ),
        "parties.csv",
        "role",
        "unknown concept 'countryside' in vocab:party-role",
    ),
    "duplicate id": Case(
        lambda d: append(
            d, "actors.csv", "etat,state,État,State,Encore,Again,lab-periurbain-reciprocite,,,,,,"
        ),
        "actors.csv",
        "id",
        "duplicate id 'etat': row 2 already has it",
    ),
    "invalid UTF-8": Case(
        lambda d: to_latin1(d, "actors.csv", "Massif des Pyrénées"),
        "actors.csv",
        "label_fr",
        "not valid UTF-8: byte 0xe9 at byte offset",
    ),
    "bad date": Case(
        lambda d: replace(d, "decisions.csv", ",2015-03-13,", ",13/03/2015,"),
        "decisions.csv",
        "date",
        "'13/03/2015' is not a date: write it as YYYY-MM-DD",
    ),
    "unknown commune": Case(
        lambda d: replace(d, "events.csv", "commune:69123", "commune:69999"),
        "events.csv",
        "location",
        "no commune with code (COG) 69999",
    ),
    "unknown column": Case(
        lambda d: replace(d, "people.csv", "id,name,posts,", "id,nom,posts,"),
        "people.csv",
        "nom",
        "unknown column 'nom'",
    ),
    "inference without its reason": Case(
        lambda d: append(
            d,
            "claims.csv",
            "x,agreement:pacte-etat-metropoles,a,b,,lab-periurbain-reciprocite,inferred,,,,",
        ),
        "claims.csv",
        "reason_fr",
        "an inferred fact needs its reason, published with it",
    ),
    "reason without an inference": Case(
        lambda d: append(
            d,
            "claims.csv",
            "x,agreement:pacte-etat-metropoles,a,b,,lab-periurbain-reciprocite,,,car,,",
        ),
        "claims.csv",
        "basis",
        "a reason is given but basis is 'stated': set basis to inferred",
    ),
    "unknown claim basis": Case(
        lambda d: append(
            d,
            "claims.csv",
            "x,agreement:pacte-etat-metropoles,a,b,,lab-periurbain-reciprocite,opinion,,,,",
        ),
        "claims.csv",
        "basis",
        "unknown concept 'opinion' in vocab:claim-basis",
    ),
    "claim about an unknown agreement": Case(
        lambda d: append(
            d, "claims.csv", "x,agreement:pacte-etat,a,b,,lab-periurbain-reciprocite,,,,,"
        ),
        "claims.csv",
        "about",
        "unknown id 'pacte-etat' in 'agreement:pacte-etat': no row of agreements.csv has this id",
    ),
    "month that does not exist": Case(
        lambda d: append(
            d,
            "claims.csv",
            "x,agreement:pacte-etat-metropoles,a,b,2016-13,lab-periurbain-reciprocite,,,,,",
        ),
        "claims.csv",
        "date",
        "'2016-13' is not a date: write YYYY-MM-DD, or YYYY-MM or YYYY",
    ),
    "signatory is not a party": Case(
        lambda d: replace(d, "signatures.csv", ",france-urbaine,", ",pays-d-aurillac,"),
        "signatures.csv",
        "on_behalf_of",
        "'pays-d-aurillac' signs but is not a party of 'pacte-etat-metropoles'",
    ),
}


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of the bundled tables, to break."""
    folder = tmp_path / "facts"
    shutil.copytree(FACTS_DIR, folder, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    return folder


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_broken_input_is_refused_with_a_located_problem(broken: Path, case: Case) -> None:
    row = case.break_it(broken)
    with pytest.raises(SourceError) as refused:
        list(CuratedFacts(broken).build())
    located = [
        p
        for p in refused.value.problems
        if (p.file, p.row, p.field) == (case.file, row, case.field)
    ]
    assert located, f"no problem at {case.file} row {row} field {case.field}: {refused.value}"
    assert any(case.message in p.message for p in located), str(refused.value)


def test_every_problem_is_reported_not_only_the_first(broken: Path) -> None:
    replace(broken, "parties.csv", "epci:247100290", "epci:999999999")
    replace(broken, "instruments.csv", ";telemedicine;", ";telemedecine;")
    replace(broken, "objectives.csv", ",lab-periurbain-reciprocite,", ",,")
    with pytest.raises(SourceError) as refused:
        CuratedFacts(broken).load()
    assert {p.file for p in refused.value.problems} == {
        "parties.csv",
        "instruments.csv",
        "objectives.csv",
    }


def test_unknown_table_file_is_reported(broken: Path) -> None:
    (broken / "contracts.csv").write_text("id\n", encoding="utf-8")
    with pytest.raises(SourceError) as refused:
        CuratedFacts(broken).load()
    assert [p.file for p in refused.value.problems] == ["contracts.csv"]
