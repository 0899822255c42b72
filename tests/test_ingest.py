"""The ingest pipeline on the real bundled sources: idempotence, refusal, atomicity, PROV."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import Literal, NamedNode, Triple

from alliance.cli import main
from alliance.ingest.curated import CuratedFacts
from alliance.ingest.pipeline import IngestRefused, Summary, ingest
from alliance.ingest.rdf_files import file_source
from alliance.ingest.reference.certificate import certified_report
from alliance.ingest.source import SourceError
from alliance.namespaces import ID, graph_iri, sparql_prefixes
from alliance.problems import Problem
from alliance.store import GraphStore, open_store

FACTS_DIR = Path(__file__).resolve().parents[1] / "ingest" / "facts"
FACTS = graph_iri("facts")
TERRITORIES = graph_iri("territories")


def fingerprint(store: GraphStore) -> str:
    """A digest of every published quad, to prove a store unchanged."""
    out = io.BytesIO()
    store.dump(out)
    return hashlib.sha256(b"".join(sorted(out.getvalue().splitlines()))).hexdigest()


@pytest.fixture
def store_copy(bundled_store_dir: Path, tmp_path: Path) -> GraphStore:
    """A private copy of the bundled store that a test may change."""
    target = tmp_path / "store"
    shutil.copytree(bundled_store_dir, target)
    return open_store(target)


@pytest.fixture
def facts_copy(tmp_path: Path) -> Path:
    target = tmp_path / "facts"
    shutil.copytree(FACTS_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_first_ingest_publishes_every_bundled_graph(store: GraphStore) -> None:
    assert {g.value for g in store.graphs()} == {
        f"{ID}graph/ontology",
        f"{ID}graph/territories",
        f"{ID}graph/territory-history",
        f"{ID}graph/facts",
    }


def test_unchanged_input_changes_nothing(bundled_summary: Summary) -> None:
    assert [o.status for o in bundled_summary.outcomes] == ["unchanged"] * 4
    assert not bundled_summary.changed


def test_every_graph_is_described_with_prov(store: GraphStore) -> None:
    rows = list(
        store.query(
            sparql_prefixes()
            + """
            SELECT ?g ?checksum ?when ?version ?primary ?input WHERE {
              GRAPH ?g {
                ?g a prov:Entity ; alli:inputChecksum ?checksum ;
                   prov:generatedAtTime ?when ; prov:wasGeneratedBy ?activity ;
                   prov:wasDerivedFrom ?input ; prov:hadPrimarySource ?primary .
                ?activity prov:wasAssociatedWith ?software .
                ?software alli:softwareVersion ?version .
              }
            }
            """,
            union_default_graph=False,
        )
    )
    by_graph = {r["g"].value for r in rows}
    assert by_graph == {g.value for g in store.graphs()}
    assert all(r["checksum"].value.startswith("sha256:") for r in rows)
    facts_primary = {r["primary"].value for r in rows if r["g"] == FACTS}
    assert f"{ID}source/lab-periurbain-reciprocite" in facts_primary
    facts_inputs = {r["input"].value.rsplit("/", 1)[-1] for r in rows if r["g"] == FACTS}
    assert {"agreements.csv", "signatures.csv", "commitments.csv"} <= facts_inputs


@pytest.mark.slow
def test_broken_curated_input_is_refused_and_the_store_unchanged(
    store_copy: GraphStore, facts_copy: Path
) -> None:
    before = fingerprint(store_copy)
    parties = facts_copy / "parties.csv"
    text = parties.read_text(encoding="utf-8")
    parties.write_text(text.replace("pays-d-aurillac", "pays-d-atlantis", 1), encoding="utf-8")
    with pytest.raises(IngestRefused) as refused:
        ingest(store_copy, [CuratedFacts(facts_copy)], trusted=certified_report)
    assert refused.value.error is not None
    problem = refused.value.error.problems[0]
    assert (problem.file, problem.field) == ("parties.csv", "party")
    assert "pays-d-atlantis" in problem.message
    assert fingerprint(store_copy) == before


@pytest.mark.slow
def test_shape_violations_refuse_a_source(store_copy: GraphStore, tmp_path: Path) -> None:
    """An RDF file whose reciprocity contract has no rural party is refused by the gate."""
    before = fingerprint(store_copy)
    data = tmp_path / "contract.ttl"
    data.write_text(
        """
        @prefix alli: <https://w3id.org/alliance/ontology#> .
        @prefix dcterms: <http://purl.org/dc/terms/> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <https://w3id.org/alliance/id/agreement/lonely> a alli:ReciprocityContract ;
          rdfs:label "Contrat sans campagne"@fr, "Contract without countryside"@en ;
          dcterms:source <https://w3id.org/alliance/id/source/lab-periurbain-reciprocite> ;
          alli:hasParty <https://w3id.org/alliance/id/epci/200046977> .
        """,
        encoding="utf-8",
    )
    with pytest.raises(IngestRefused) as refused:
        ingest(store_copy, [file_source(data)], trusted=certified_report)
    report = refused.value.report
    assert report is not None and report.blocking
    focus = {r.focus for r in report.violations}
    assert focus == {"<https://w3id.org/alliance/id/agreement/lonely>"}
    assert fingerprint(store_copy) == before


def test_malformed_rdf_file_names_line_and_column(tmp_path: Path) -> None:
    data = tmp_path / "broken.ttl"
    data.write_text('<http://a> <http://b> "c" .\n<http://a> <http://b> oops .\n')
    with pytest.raises(SourceError) as error:
        list(file_source(data).build())
    problem = error.value.problems[0]
    assert problem.file == "broken.ttl" and problem.line == 2 and problem.column is not None


def test_changed_source_replaces_only_its_graph(store_copy: GraphStore, facts_copy: Path) -> None:
    territories_before = store_copy.graph_size(TERRITORIES)
    actors = facts_copy / "actors.csv"
    actors.write_text(
        actors.read_text(encoding="utf-8").replace("Pays d'Aurillac", "Pays d'Aurillac (test)"),
        encoding="utf-8",
    )
    summary = ingest(store_copy, [CuratedFacts(facts_copy)], trusted=certified_report)
    assert [(o.source, o.status) for o in summary.outcomes] == [("facts", "replaced")]
    labels = {
        r["l"].value
        for r in store_copy.query(
            "SELECT ?l { <https://w3id.org/alliance/id/actor/pays-d-aurillac> "
            "<http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(lang(?l) = 'fr') }"
        )
    }
    assert labels == {"Pays d'Aurillac (test)"}
    assert store_copy.graph_size(TERRITORIES) == territories_before


class _FailsHalfway:
    """A real source wrapper whose input turns out broken after some triples were built."""

    name = "facts"
    title = "facts that fail halfway"

    def __init__(self, inner: CuratedFacts):
        self.inner = inner

    def inputs(self) -> list[Path]:
        return self.inner.inputs()

    def primary_sources(self) -> list[NamedNode]:
        return self.inner.primary_sources()

    def build(self, progress=None):  # noqa: ANN001, ANN201 - Source protocol
        for count, triple in enumerate(self.inner.build()):
            if count == 100:
                raise SourceError([Problem("agreements.csv", "disk vanished", row=7)])
            yield triple


@pytest.mark.slow
def test_source_failing_halfway_leaves_previous_graph(
    store_copy: GraphStore, facts_copy: Path
) -> None:
    before = fingerprint(store_copy)
    (facts_copy / "actors.csv").write_text(
        (facts_copy / "actors.csv").read_text(encoding="utf-8").replace("Morvan", "Morvan (x)"),
        encoding="utf-8",
    )
    with pytest.raises(IngestRefused):
        ingest(store_copy, [_FailsHalfway(CuratedFacts(facts_copy))], trusted=certified_report)
    assert fingerprint(store_copy) == before


@pytest.mark.slow
def test_error_inside_a_write_transaction_publishes_nothing(store_copy: GraphStore) -> None:
    before = fingerprint(store_copy)
    with pytest.raises(RuntimeError), store_copy.writer() as writer:
        writer.replace_graph(
            FACTS, [Triple(NamedNode("http://a"), NamedNode("http://b"), Literal("c"))]
        )
        raise RuntimeError("crash before publish")
    assert fingerprint(store_copy) == before


def test_cli_ingest_reports_unchanged_and_refusals(
    bundled_store_dir: Path, tmp_path: Path, facts_copy: Path
) -> None:
    target = tmp_path / "cli-store"
    shutil.copytree(bundled_store_dir, target)
    runner = CliRunner()
    unchanged = runner.invoke(main, ["ingest", "--store", str(target)])
    assert unchanged.exit_code == 0, unchanged.output
    assert "nothing changed" in unchanged.output
    (facts_copy / "signatures.csv").write_text(
        (facts_copy / "signatures.csv")
        .read_text(encoding="utf-8")
        .replace("2016-07-06", "2014-07-06"),
        encoding="utf-8",
    )
    refused = runner.invoke(main, ["ingest", "--store", str(target), f"facts={facts_copy}"])
    assert refused.exit_code == 1
    assert "refused" in refused.output and "signatures.csv" in refused.output


def test_territories_certificate_is_current() -> None:
    from alliance.ingest.territories import Territories

    assert certified_report(Territories()) is not None, (
        "ingest/reference/validation.json is stale: run `alliance snapshot certify` "
        "after changing the snapshot, the shapes or the ontology"
    )


def test_an_empty_rdf_file_does_not_empty_its_graph_unless_told(tmp_path: Path) -> None:
    """A truncated download must not silently wipe a graph: refused, then --allow-empty."""
    store_dir = tmp_path / "store"
    data = tmp_path / "notes.ttl"
    data.write_text('<http://example.org/a> <http://example.org/says> "kept" .\n')
    runner = CliRunner()
    first = runner.invoke(main, ["ingest", "--store", str(store_dir), str(data)])
    assert first.exit_code == 0, first.output
    graph = graph_iri("file-notes")
    data.write_text("")
    refused = runner.invoke(main, ["ingest", "--store", str(store_dir), str(data)])
    assert refused.exit_code == 1, refused.output
    assert "refused, the store is unchanged" in refused.output
    assert "notes.ttl: holds no triples" in refused.output and "--allow-empty" in refused.output
    with open_store(store_dir) as store:
        assert [
            r["o"].value
            for r in store.query(
                f"SELECT ?o {{ GRAPH {graph} {{ ?s ?p ?o }} FILTER(isLiteral(?o) && ?o = 'kept') }}"
            )
        ]
    allowed = runner.invoke(main, ["ingest", "--store", str(store_dir), "--allow-empty", str(data)])
    assert allowed.exit_code == 0, allowed.output
    with open_store(store_dir) as store:
        kept = store.query(f"ASK {{ GRAPH {graph} {{ ?s <http://example.org/says> ?o }} }}")
        assert not bool(kept)


def test_rdf_xml_declaring_entities_is_refused_before_parsing(tmp_path: Path) -> None:
    bomb = Path(__file__).parent / "corpus" / "bad" / "rdf" / "billion-laughs.rdf"
    for command in (
        ["ingest", "--store", str(tmp_path / "store"), str(bomb)],
        ["validate", str(bomb)],
    ):
        result = CliRunner().invoke(main, command)
        assert result.exit_code in (1, 2), result.output
        assert "billion-laughs.rdf, line 2, column 1" in result.output
        assert "DOCTYPE" in result.output
    assert not (tmp_path / "store" / "CURRENT").exists()
