"""The ingest pipeline: sources → triples → validation gate → one atomic publish.

For each source the pipeline checksums the inputs (with the shapes, the
ontology and the software version, since each changes what is published).
An unchanged source is skipped. Changed sources are built, validated and
described with PROV-O, then all published together in one store
transaction: a refused source or any error leaves the store as it was.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyoxigraph import Literal, NamedNode, Triple

from alliance import __version__
from alliance.ingest.incremental import incremental_report
from alliance.ingest.published import neighbourhood, published_key, version_key
from alliance.ingest.source import Progress, Source, SourceError, no_progress
from alliance.namespaces import ID, alli, dcterms, graph_iri, prov, rdf, rdfs, xsd
from alliance.problems import Problem
from alliance.shapes.gate import files_checksum, validate
from alliance.shapes.report import Report, report_record
from alliance.store.base import GraphStore

log = logging.getLogger(__name__)

SOFTWARE = NamedNode(f"{ID}software/alliance/{__version__}")


class IngestRefused(Exception):
    """A source was refused: bad input (SourceError) or Violations (report)."""

    def __init__(
        self, source: str, *, error: SourceError | None = None, report: Report | None = None
    ):
        self.source = source
        self.error = error
        self.report = report
        if error is not None:
            detail = f"{len(error.problems)} problem(s) in the input:\n{error}"
        else:
            assert report is not None
            detail = f"{len(report.violations)} violation(s) of the shapes"
        super().__init__(f"source '{source}' refused, the store is unchanged: {detail}")


@dataclass
class Outcome:
    """What happened to one source."""

    source: str
    graph: NamedNode
    status: str  # "unchanged", "new", "replaced"
    triples: int = 0
    report: Report = field(default_factory=Report)
    build_seconds: float = 0.0
    validate_seconds: float = 0.0


@dataclass
class Summary:
    outcomes: list[Outcome]
    seconds: float
    publish_seconds: float = 0.0

    @property
    def changed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != "unchanged"]


def gate(
    source: Source,
    triples: list[Triple],
    store: GraphStore,
    pending: dict[NamedNode, list[Triple]],
    trusted: Callable[[Source], Report | None] | None = None,
) -> Report:
    """Validate a source's triples in the context of the dataset they will join.

    When the source was published before and only it changes, only what the change concerns
    is validated again (`alliance.ingest.incremental`), with the same results.
    """
    if trusted is not None:
        report = trusted(source)
        if report is not None:
            log.info("%s: validation certified for these exact inputs", source.name)
            return report
    graph = graph_iri(source.name)
    focus = {t.subject for t in triples if isinstance(t.subject, NamedNode)}
    context = neighbourhood(store, triples, pending=pending, own_graph=graph)
    ontology_graph = graph_iri("ontology")
    if graph == ontology_graph:
        ontology: list[Triple] = []  # the source itself is the ontology
    elif ontology_graph in pending:
        ontology = pending[ontology_graph]
    else:
        ontology = list(store.triples(ontology_graph))
    report = incremental_report(source, triples, store, pending, context=context, ontology=ontology)
    if report is not None:
        return report
    return validate([*triples, *context, *ontology], focus_nodes=focus)


def describe(
    source: Source,
    key: str,
    started: datetime,
    ended: datetime,
    count: int,
    report: Report | None = None,
) -> list[Triple]:
    """The PROV-O description of a source's graph, stored inside that graph.

    With `report` (the gate's), its JSON record (`alli:lastValidation`): stored with the data,
    it is replaced in the same transaction, so it always tells how the published graph fared.
    """
    graph = graph_iri(source.name)
    activity = NamedNode(f"{graph.value}/ingest/{started.strftime('%Y%m%dT%H%M%S%fZ')}")

    def stamp(moment: datetime) -> Literal:
        return Literal(moment.isoformat().replace("+00:00", "Z"), datatype=xsd.dateTime)

    triples = [
        Triple(graph, rdf.type, prov.Entity),
        Triple(graph, dcterms.title, Literal(source.title, language="en")),
        Triple(graph, rdfs.label, Literal(source.title, language="en")),
        Triple(graph, prov.wasGeneratedBy, activity),
        Triple(graph, prov.generatedAtTime, stamp(ended)),
        Triple(graph, alli.inputChecksum, Literal(key)),
        Triple(graph, alli.softwareVersion, Literal(__version__)),
        Triple(graph, alli.tripleCount, Literal(str(count), datatype=xsd.integer)),
        Triple(activity, rdf.type, prov.Activity),
        Triple(activity, rdfs.label, Literal(f"ingest of {source.name}", language="en")),
        Triple(activity, prov.startedAtTime, stamp(started)),
        Triple(activity, prov.endedAtTime, stamp(ended)),
        Triple(activity, prov.wasAssociatedWith, SOFTWARE),
        Triple(SOFTWARE, rdf.type, prov.SoftwareAgent),
        Triple(SOFTWARE, rdfs.label, Literal(f"Alliance {__version__}", language="en")),
        Triple(SOFTWARE, alli.softwareVersion, Literal(__version__)),
    ]
    if report is not None:
        record = json.dumps(report_record(report), ensure_ascii=False, sort_keys=True)
        triples.append(Triple(graph, alli.lastValidation, Literal(record)))
    for primary in source.primary_sources():
        triples.append(Triple(graph, prov.hadPrimarySource, primary))
    for path in sorted(source.inputs()):
        entity = NamedNode(f"{graph.value}/input/{path.name}")
        triples += [
            Triple(graph, prov.wasDerivedFrom, entity),
            Triple(activity, prov.used, entity),
            Triple(entity, rdf.type, prov.Entity),
            Triple(entity, rdfs.label, Literal(path.name)),
            Triple(entity, alli.inputChecksum, Literal(files_checksum([path]))),
        ]
    return triples


def ingest(
    store: GraphStore,
    sources: Iterable[Source],
    *,
    force: bool = False,
    progress: Callable[[str], Progress] | None = None,
    trusted: Callable[[Source], Report | None] | None = None,
    phase: Callable[[str], None] | None = None,
    allow_empty: bool = False,
) -> Summary:
    """Ingest `sources` into `store`; see the module docstring.

    `phase(text)` is told when a long step starts (validating, publishing).
    A source that yields no triple is refused when its graph holds some (a truncated
    download would silently empty it), unless `allow_empty`.

    `progress(name)` returns the progress callback for one source's build.
    `trusted(source)` may answer a recorded validation report for inputs
    validated beforehand (the territories snapshot), or None.
    Raises IngestRefused (store unchanged) when a source is refused.
    """
    began = time.perf_counter()
    outcomes: list[Outcome] = []
    pending: dict[NamedNode, list[Triple]] = {}
    built: list[tuple[Source, str, datetime, float]] = []  # source, key, start, build time
    published = set(store.graphs())
    for source in sources:
        graph = graph_iri(source.name)
        key = version_key(source)
        if not force and published_key(store, graph) == key:
            outcomes.append(Outcome(source.name, graph, "unchanged", store.graph_size(graph)))
            continue
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        try:
            pending[graph] = list(source.build((progress or _quiet)(source.name)))
        except SourceError as exc:
            raise IngestRefused(source.name, error=exc) from exc
        if not pending[graph] and not allow_empty and graph in published:
            held = store.graph_size(graph)
            if held:
                raise IngestRefused(source.name, error=_empty_source(source, graph, held))
        built.append((source, key, started, time.perf_counter() - t0))
    # Validate once everything is built, so each source sees the others' new state.
    checked: dict[NamedNode, tuple[Report, float]] = {}
    say = phase or (lambda text: None)
    for source, _key, _started, _seconds in built:
        graph = graph_iri(source.name)
        say(f"validating {source.name}")
        t0 = time.perf_counter()
        report = gate(source, pending[graph], store, pending, trusted)
        if report.blocking:
            raise IngestRefused(source.name, report=report)
        checked[graph] = (report, time.perf_counter() - t0)
    t0 = time.perf_counter()
    if built:
        say(f"publishing {len(built)} graph(s)")
    with store.writer() as writer:
        for source, key, started, build_seconds in built:
            graph = graph_iri(source.name)
            triples = pending[graph]
            report, validate_seconds = checked[graph]
            description = describe(source, key, started, datetime.now(UTC), len(triples), report)
            writer.replace_graph(graph, [*triples, *description])
            status = "replaced" if graph in published else "new"
            outcomes.append(
                Outcome(
                    source.name,
                    graph,
                    status,
                    len(triples),
                    report,
                    build_seconds,
                    validate_seconds,
                )
            )
    publish = time.perf_counter() - t0
    return Summary(outcomes, time.perf_counter() - began, publish)


def _empty_source(source: Source, graph: NamedNode, held: int) -> SourceError:
    names = ", ".join(path.name for path in source.inputs()) or source.name
    return SourceError(
        [
            Problem(
                names,
                f"holds no triples: ingesting it would empty the graph {graph.value}, which "
                f"holds {held:,} triples. Check the file (a truncated download?), or pass "
                "--allow-empty to empty the graph on purpose.",
            )
        ]
    )


def _quiet(name: str) -> Progress:
    return no_progress
